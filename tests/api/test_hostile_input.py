"""Input an attacker (or a fuzzer) sends: every one is a clear 4xx, never a 500, and none
changes anything it should not. Each case is one a schemathesis run or a hand-made request
found answering 500 or being accepted."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from spaces import indexing, services
from spaces.models import Space, Thought

pytestmark = pytest.mark.django_db


def raw(client, method: str, path: str, body: str) -> object:
    """A request whose body is sent exactly as given (JSON text of any type)."""
    return client.request(method, path, body)


# --- bodies that are not JSON objects ------------------------------------------------------


@pytest.mark.parametrize("body", ['"changed by a string"', "[null, null]", "42", "null", "true"])
def test_a_body_that_is_not_a_json_object_is_refused_with_422(space, owner, api_as, body):
    client = api_as(owner)
    response = raw(client, "patch", f"/api/spaces/{space.id}", body)
    assert response.status_code == 422, response.content
    assert "JSON object" in response.json()["detail"]
    space.refresh_from_db()
    assert space.title == "Ideas"
    before = Space.objects.count()
    assert raw(client, "post", "/api/spaces", body).status_code == 422
    assert raw(client, "post", f"/api/spaces/{space.id}/thoughts", body).status_code == 422
    assert Space.objects.count() == before and not Thought.objects.exists()


def test_a_body_that_is_not_json_at_all_is_refused_with_422(space, owner, api_as):
    response = raw(api_as(owner), "post", "/api/spaces", "{not json")
    assert response.status_code in (400, 422) and "detail" in response.json()


def test_a_boolean_is_no_position(space, owner, api_as):
    client = api_as(owner)
    body = {"key": "idea", "title": "Idea", "position": True}
    response = client.post(f"/api/spaces/{space.id}/thoughts", body)
    assert response.status_code == 422, response.content
    assert not Thought.objects.exists()
    services.thought_create(space=space, actor=owner, key="idea", title="Idea")
    response = client.patch(f"/api/spaces/{space.id}/thoughts/idea", {"position": False})
    assert response.status_code == 422


# --- text the database refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/thoughts", {"key": "nul", "title": "a\x00b"}),
        ("post", "/thoughts", {"key": "nul", "title": "t", "body": "a\x00b"}),
        ("patch", "", {"title": "a\x00b"}),
        ("post", "/links", {"source": "one", "target": "two", "label": "a\x00b"}),
        ("post", "/members", {"username": "a\x00b", "role": "viewer"}),
    ],
)
def test_a_nul_character_is_refused_with_422(space, owner, api_as, method, path, body):
    for key in ("one", "two"):
        services.thought_create(space=space, actor=owner, key=key, title=key)
    response = getattr(api_as(owner), method)(f"/api/spaces/{space.id}{path}", body)
    assert response.status_code == 422, response.content
    assert "NUL" in response.json()["detail"]


def test_a_nul_character_in_a_search_is_refused_with_422(space, owner, api_as):
    response = api_as(owner).get(f"/api/spaces/{space.id}/search?q=a%00b")
    assert response.status_code == 422


# --- numbers out of range --------------------------------------------------------------------


@pytest.mark.parametrize("offset", [2**63, 2**64 + 1, -1])
def test_an_offset_out_of_range_is_refused_with_422(space, owner, api_as, offset):
    client = api_as(owner)
    for path in ("/api/spaces", f"/api/spaces/{space.id}/thoughts"):
        response = client.get(f"{path}?offset={offset}")
        assert response.status_code == 422, (path, response.content)


def test_a_large_offset_in_range_answers_an_empty_page(space, owner, api_as):
    body = api_as(owner).get(f"/api/spaces/{space.id}/thoughts?offset={2**31}").json()
    assert body["items"] == []


# --- search over any stored text ---------------------------------------------------------------


def test_a_thought_whose_text_embeds_to_nothing_does_not_break_its_space(space, owner, api_as):
    """Text without a single word embeds to the zero vector, whose cosine distance is NULL:
    search, related thoughts and the thought's page must still answer."""
    quiet = services.thought_create(space=space, actor=owner, key="quiet", title="!!!", body="???")
    other = services.thought_create(space=space, actor=owner, key="tomato", title="Tomato seeds")
    indexing.embed_thoughts(thought_ids=[quiet.pk, other.pk])
    client = api_as(owner)
    response = client.get(f"/api/spaces/{space.id}/search?q=tomato")
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["key"] == "tomato"
    for key in ("quiet", "tomato"):
        assert client.get(f"/api/spaces/{space.id}/thoughts/{key}/related").status_code == 200
    web = Client()
    web.force_login(owner)
    assert web.get(f"/spaces/{space.id}/thoughts/quiet/").status_code == 200


@pytest.mark.parametrize("query", ["a", "!!!", "[", "_", "%", "😀", "\\"])
def test_any_query_answers(space, owner, api_as, query):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="An idea")
    indexing.embed_thoughts(thought_ids=[thought.pk])
    client = api_as(owner)
    response = client.client.get(
        f"/api/spaces/{space.id}/search", {"q": query}, headers=client.headers
    )
    assert response.status_code == 200, response.content


# --- who may do what ---------------------------------------------------------------------------


def test_an_anonymous_write_answers_401_not_a_csrf_failure(space):
    response = Client(enforce_csrf_checks=True).post(
        "/api/spaces", json.dumps({"title": "x"}), content_type="application/json"
    )
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_an_unknown_api_path_answers_json_404(owner, api_as):
    response = api_as(owner).get("/api/no/such/thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
