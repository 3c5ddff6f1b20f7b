"""The spaces endpoints: listing, creating, reading, changing, deleting, sharing."""

from spaces.models import HistoryEntry, Space


def test_create_space_answers_201_with_its_id(owner, api_as):
    response = api_as(owner).post("/api/spaces", {"title": "Plans", "description": "d"})
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Plans" and body["role"] == "owner" and len(body["id"]) == 26
    assert Space.objects.get(pk=body["id"]).owner == owner


def test_list_is_paginated_and_holds_only_visible_spaces(space, stranger, viewer, api_as):
    assert api_as(stranger).get("/api/spaces").json() == {"items": [], "count": 0}
    body = api_as(viewer).get("/api/spaces").json()
    assert body["count"] == 1 and body["items"][0]["id"] == space.id


def test_unauthenticated_requests_answer_401(space, api_as):
    response = api_as(None).get("/api/spaces")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_a_bad_token_answers_401(space, api_as):
    client = api_as(None)
    client.headers["Authorization"] = "Bearer ts_not-a-token"
    assert client.get("/api/spaces").status_code == 401


def test_spaces_you_cannot_see_answer_404(space, stranger, api_as):
    client = api_as(stranger)
    assert client.get(f"/api/spaces/{space.id}").status_code == 404
    assert client.patch(f"/api/spaces/{space.id}", {"title": "x"}).status_code == 404
    assert client.delete(f"/api/spaces/{space.id}").status_code == 404
    assert client.get("/api/spaces/01NOTASPACE").json() == {"detail": "Space not found."}


def test_viewers_cannot_change_a_space(space, viewer, api_as):
    response = api_as(viewer).patch(f"/api/spaces/{space.id}", {"title": "Mine"})
    assert response.status_code == 403
    space.refresh_from_db()
    assert space.title == "Ideas"


def test_editors_change_title_and_history_records_it(space, editor, api_as):
    response = api_as(editor).patch(f"/api/spaces/{space.id}", {"title": "Better ideas"})
    assert response.status_code == 200 and response.json()["title"] == "Better ideas"
    entry = HistoryEntry.objects.filter(space=space, action="space.updated").get()
    assert entry.before["title"] == "Ideas" and entry.actor == editor


def test_only_the_owner_deletes(space, owner, editor, api_as):
    assert api_as(editor).delete(f"/api/spaces/{space.id}").status_code == 403
    assert api_as(owner).delete(f"/api/spaces/{space.id}").status_code == 204
    assert not Space.objects.filter(pk=space.id).exists()


def test_owner_shares_and_unshares(space, owner, stranger, api_as):
    client = api_as(owner)
    url = f"/api/spaces/{space.id}/members"
    assert client.post(url, {"username": "sam", "role": "viewer"}).status_code == 204
    assert api_as(stranger).get(f"/api/spaces/{space.id}").json()["role"] == "viewer"
    assert client.post(url, {"username": "sam", "role": None}).status_code == 204
    assert api_as(stranger).get(f"/api/spaces/{space.id}").status_code == 404
    assert client.post(url, {"username": "nobody", "role": "viewer"}).status_code == 422


def test_empty_or_oversized_titles_answer_422(owner, api_as):
    client = api_as(owner)
    assert client.post("/api/spaces", {"title": ""}).status_code == 422
    assert client.post("/api/spaces", {"title": "x" * 201}).status_code == 422
    assert not Space.objects.exists()
