"""The history page lists a space's changes, newest first, with what each changed."""

import pytest
from django.urls import reverse

from spaces import services

pytestmark = pytest.mark.django_db


def test_it_lists_the_entries_newest_first(owner_client, space, thought):
    services.thought_update(thought=thought, actor=space.owner, changes={"title": "Buy more seeds"})
    html = owner_client.get(reverse("space-history", args=[space.pk])).content.decode()
    updated_at = html.index("node.updated")
    assert updated_at < html.index("node.created") < html.index("space.created")


def test_it_shows_the_actor_and_the_changed_field(owner_client, editor, space, thought):
    services.thought_update(thought=thought, actor=editor, changes={"title": "Buy more seeds"})
    html = owner_client.get(reverse("space-history", args=[space.pk])).content.decode()
    assert "by edgar" in html
    assert "<del>Buy seeds</del> → <ins>Buy more seeds</ins>" in html


def test_a_viewer_may_read_the_history(viewer_client, space):
    assert viewer_client.get(reverse("space-history", args=[space.pk])).status_code == 200


def test_it_is_paginated(owner_client, space, thought):
    for n in range(55):
        services.thought_update(thought=thought, actor=space.owner, changes={"position": n + 1})
    first = owner_client.get(reverse("space-history", args=[space.pk])).content.decode()
    assert "Page 1 of 2" in first
    second = owner_client.get(reverse("space-history", args=[space.pk]) + "?page=2")
    assert b"space.created" in second.content


def test_a_creation_lists_the_fields_it_set(owner_client, space, thought):
    html = owner_client.get(reverse("space-history", args=[space.pk])).content.decode()
    assert "<dd><ins>Buy seeds</ins></dd>" in html
    assert "<dt>body</dt>" not in html
