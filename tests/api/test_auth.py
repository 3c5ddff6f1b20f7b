"""Sessions need CSRF on mutations; tokens are stored hashed and record their last use."""

import hashlib

from django.test import Client

from spaces import services
from spaces.models import ApiToken, Space


def test_session_mutations_need_a_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/spaces", {"title": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert not Space.objects.exists()
    assert client.get("/api/spaces").status_code == 200


def test_session_mutation_with_csrf_token_works(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get("/admin/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/spaces",
        {"title": "x"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_tokens_are_stored_hashed_and_touched(owner, api_as):
    token, raw = services.token_create(user=owner, name="cli")
    assert (
        raw not in token.token_hash and token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    )
    assert (
        Client().get("/api/spaces", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    )
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_revoked_tokens_answer_401(owner):
    token, raw = services.token_create(user=owner)
    services.token_revoke(token=token)
    assert (
        Client().get("/api/spaces", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    )


def test_openapi_docs_are_served_without_a_cdn(owner):
    client = Client()
    client.force_login(owner)
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"cdn.jsdelivr" not in page.content and b"/static/ninja/" in page.content
    schema = client.get("/api/openapi.json").json()
    assert "/api/spaces/{space_id}/thoughts/{node_key}" in schema["paths"]
