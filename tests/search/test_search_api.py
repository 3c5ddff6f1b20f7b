"""GET /api/spaces/{id}/search and .../thoughts/{key}/related: ranked results, and the same
access rules as the other endpoints (404 for spaces you cannot see, 401 without auth)."""

from __future__ import annotations

import pytest

from spaces.embeddings import HashEmbedder
from spaces.models import ApiToken

pytestmark = pytest.mark.django_db


def search_url(space, query=""):
    return f"/api/spaces/{space.id}/search?q={query}"


def related_url(space, key):
    return f"/api/spaces/{space.id}/thoughts/{key}/related"


def test_search_answers_ranked_thoughts(labelled_space, owner, api_as):
    response = api_as(owner).get(search_url(labelled_space, "tomato seeds"))

    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "tomato seeds"
    assert body["embedder"] == HashEmbedder.key
    first = body["items"][0]
    assert first["key"] == "tomatoes"
    assert first["title"] == "Start tomato seedlings indoors"
    assert first["snippet"].startswith("Sow tomato seeds")
    assert first["score"] >= first["similarity"] > 0
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_search_marks_text_matches(labelled_space, owner, api_as):
    items = api_as(owner).get(search_url(labelled_space, "whetstone")).json()["items"]

    assert items[0]["key"] == "knives"
    assert items[0]["text_match"] is True


def test_search_honours_limit(labelled_space, owner, api_as):
    response = api_as(owner).get(search_url(labelled_space, "plan") + "&limit=2")

    assert len(response.json()["items"]) <= 2


@pytest.mark.parametrize("query", ["", "x" * 501])
def test_a_missing_or_too_long_query_answers_422(labelled_space, owner, api_as, query):
    assert api_as(owner).get(search_url(labelled_space, query)).status_code == 422


def test_viewers_and_read_tokens_may_search(labelled_space, viewer, api_as):
    from django.test import Client

    from spaces import services

    assert api_as(viewer).get(search_url(labelled_space, "budget")).status_code == 200
    _, raw = services.token_create(user=viewer, mode=ApiToken.Mode.READ)
    headers = {"Authorization": f"Bearer {raw}"}
    response = Client().get(search_url(labelled_space, "budget"), headers=headers)
    assert response.status_code == 200


def test_search_of_a_space_you_cannot_see_answers_404(labelled_space, stranger, api_as):
    response = api_as(stranger).get(search_url(labelled_space, "budget"))

    assert response.status_code == 404
    assert response.json() == {"detail": "Space not found."}


def test_search_without_authentication_answers_401(labelled_space, api_as):
    assert api_as(None).get(search_url(labelled_space, "budget")).status_code == 401


def test_related_answers_the_closest_other_thoughts(labelled_space, owner, api_as):
    response = api_as(owner).get(related_url(labelled_space, "compost"))

    assert response.status_code == 200
    body = response.json()
    assert body["key"] == "compost"
    keys = [item["key"] for item in body["items"]]
    assert keys and "compost" not in keys
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(item["reasons"] for item in body["items"])


def test_related_of_an_unknown_thought_answers_404(labelled_space, owner, api_as):
    response = api_as(owner).get(related_url(labelled_space, "nothing-here"))

    assert response.status_code == 404


def test_related_in_a_space_you_cannot_see_answers_404(labelled_space, stranger, api_as):
    assert api_as(stranger).get(related_url(labelled_space, "compost")).status_code == 404


def test_related_without_authentication_answers_401(labelled_space, api_as):
    assert api_as(None).get(related_url(labelled_space, "compost")).status_code == 401
