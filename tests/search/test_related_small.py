"""Related thoughts in a small space: the demo's six thoughts each find others (linked,
family, shared words, meaning), each says why in words, and the page shows the score the API
gives."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from spaces import indexing, search
from spaces.models import Space

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", verbosity=0)
    space = Space.objects.get()
    indexing.embed_thoughts(space=space)
    return space


def test_every_demo_thought_has_related_thoughts_with_reasons(demo):
    for thought in demo.thoughts.all():
        related = search.related_thoughts(thought=thought)
        assert related, f"nothing related to {thought.key}"
        assert all(hit.reasons for hit in related)


def test_the_reasons_name_the_ties(demo):
    sync = demo.thoughts.get(key="sync")
    reasons = {hit.thought.key: hit.reasons for hit in search.related_thoughts(thought=sync)}
    assert "linked to (can cause)" in reasons["conflicts"]
    assert "its parent" in reasons["replica"]
    conflicts = demo.thoughts.get(key="conflicts")
    reasons = {hit.thought.key: hit.reasons for hit in search.related_thoughts(thought=conflicts)}
    assert "links here (records)" in reasons["history"]
    assert "its parent" in reasons["history"]


def test_the_page_shows_the_score_the_api_gives(demo):
    client = Client()
    client.force_login(demo.owner)
    url = reverse("thought-detail", args=[demo.pk, "sync"])
    html = client.get(url).content.decode()
    page = dict(re.findall(r'data-thought-key="([^"]+)">.*?data-score="([^"]+)"', html, re.S))
    api = client.get(f"/api/spaces/{demo.pk}/thoughts/sync/related").json()["items"]
    assert page and {i["key"]: i["score"] for i in api} == {k: float(v) for k, v in page.items()}
    assert "linked to (can cause)" in html
