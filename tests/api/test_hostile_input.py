"""Input an attacker (or a fuzzer) sends: every one is a clear 4xx, never a 500, and none
changes anything it should not. Each case is one a schemathesis run or a hand-made request
found answering 500 or being accepted."""

from __future__ import annotations

import json
import re
import sys

import jsonschema_rs
import pytest
from django.test import Client

from spaces import indexing, services
from spaces.models import NOT_BLANK_PATTERN, Space, Thought

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


# --- titles of whitespace ---------------------------------------------------------------------


def test_the_title_pattern_finds_exactly_the_characters_strip_keeps_in_every_reading():
    """The service strips titles; the schema's pattern must keep what strip() keeps whether it
    is read by Python (Unicode or ASCII classes) or by a JSON Schema validator's engine."""
    readings = [
        re.compile(NOT_BLANK_PATTERN).search,
        re.compile(NOT_BLANK_PATTERN, re.ASCII).search,
    ]
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": NOT_BLANK_PATTERN})
    readings.append(validator.is_valid)
    everything = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    kept = [c for c in everything if c.strip()]
    for reads in readings:
        assert [c for c in everything if reads(c)] == kept, reads


@pytest.mark.parametrize("title", [" ", "\u000b", "\t\n", "\u3000", "\u001d", "\u0085"])
def test_a_title_of_only_whitespace_is_refused_and_the_schema_says_so(space, owner, api_as, title):
    client = api_as(owner)
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("SpaceIn", "SpacePatch", "ThoughtIn", "ThoughtPatch"):
        pattern = schemas[name]["properties"]["title"]["pattern"]
        assert re.search(pattern, title) is None and re.search(pattern, " Idea ")
    services.thought_create(space=space, actor=owner, key="idea", title="Idea")
    for method, path, body in [
        ("post", "/api/spaces", {"title": title}),
        ("patch", f"/api/spaces/{space.id}", {"title": title}),
        ("post", f"/api/spaces/{space.id}/thoughts", {"key": "other", "title": title}),
        ("patch", f"/api/spaces/{space.id}/thoughts/idea", {"title": title}),
    ]:
        response = getattr(client, method)(path, body)
        assert response.status_code == 422, (path, response.content)
    space.refresh_from_db()
    assert space.title == "Ideas" and Thought.objects.get().title == "Idea"
    response = client.patch(f"/api/spaces/{space.id}/thoughts/idea", {"title": " Idea 2 "})
    assert response.status_code == 200 and response.json()["title"] == "Idea 2"


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


# --- bodies without a Content-Length ---------------------------------------------------------


def asgi_post(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple:
    """POST through the ASGI application as daphne hands it a chunked body: no
    Content-Length, the body in several messages. Returns (status, body)."""
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from thoughtspace.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def run() -> tuple:
        app = ApplicationCommunicator(application, scope)
        for number, chunk in enumerate(chunks):
            more = number < len(chunks) - 1
            await app.send_input({"type": "http.request", "body": chunk, "more_body": more})
        start = await app.receive_output(timeout=10)
        body = await app.receive_output(timeout=10)
        return start["status"], json.loads(body["body"])

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_over_the_limit_answers_413(owner):
    _, secret = services.token_create(user=owner)
    auth = [(b"authorization", f"Bearer {secret}".encode())]
    body = json.dumps({"title": "big", "description": "x" * 80_000}).encode()
    chunks = [body[i : i + 16_384] for i in range(0, len(body), 16_384)]
    status, answer = asgi_post("/api/spaces", chunks, auth)
    assert status == 413 and "limit" in answer["detail"]
    assert not Space.objects.filter(title="big").exists()
    small = json.dumps({"title": "small"}).encode()
    status, answer = asgi_post("/api/spaces", [small[:5], small[5:]], auth)
    assert status == 201 and answer["title"] == "small"


def test_a_misspelt_field_is_refused_not_ignored(space, owner, api_as):
    response = api_as(owner).patch(f"/api/spaces/{space.id}", {"titel": "Typo"})
    assert response.status_code == 422
    assert "titel" in json.dumps(response.json())


def test_a_token_over_its_rate_answers_429_with_retry_after(space, owner, api_as, settings):
    settings.API_TOKEN_RATE = "5/m"
    client = api_as(owner)
    answers = [client.get(f"/api/spaces/{space.id}").status_code for _ in range(7)]
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]
    refused = client.get(f"/api/spaces/{space.id}")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "5/m" in refused.json()["detail"]
    assert api_as(owner).get(f"/api/spaces/{space.id}").status_code == 200  # its own count
