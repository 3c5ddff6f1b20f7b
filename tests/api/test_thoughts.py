"""The thoughts endpoints: create, read with ETag, patch and delete with If-Match."""

import pytest

from spaces.models import HistoryEntry, Link, Thought


@pytest.fixture
def thoughts_url(space):
    return f"/api/spaces/{space.id}/thoughts"


def create(client, url, key="idea", **fields):
    return client.post(url, {"key": key, "title": fields.pop("title", key.title()), **fields})


def test_create_answers_201_with_id_key_title_and_etag(editor, api_as, thoughts_url):
    response = create(api_as(editor), thoughts_url, "idea", body="b", metadata={"w": 1})
    assert response.status_code == 201
    body = response.json()
    assert body["key"] == "idea" and body["title"] == "Idea" and body["version"] == 1
    assert response["ETag"] == f'"{body["id"]}.1"'


def test_a_duplicate_key_answers_409_and_changes_nothing(editor, api_as, thoughts_url):
    client = api_as(editor)
    create(client, thoughts_url, "idea")
    response = create(client, thoughts_url, "idea", title="Other")
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert Thought.objects.get().title == "Idea"
    assert HistoryEntry.objects.filter(action="node.created").count() == 1


@pytest.mark.parametrize("key", ["", "has space", "-lead", "a/b", "x" * 81, "<script>"])
def test_bad_keys_answer_422(editor, api_as, thoughts_url, key):
    assert create(api_as(editor), thoughts_url, key, title="t").status_code == 422
    assert not Thought.objects.exists()


def test_oversized_metadata_answers_422(editor, api_as, thoughts_url):
    response = create(api_as(editor), thoughts_url, "m", metadata={"x": "y" * 17_000})
    assert response.status_code == 422
    assert "metadata" in response.json()["detail"]


def test_an_oversized_request_body_answers_413(editor, api_as, thoughts_url):
    response = create(api_as(editor), thoughts_url, "big", body="x" * 70_000)
    assert response.status_code == 413
    assert not Thought.objects.exists()


def test_malformed_json_answers_400(editor, api_as, thoughts_url):
    response = api_as(editor).post(thoughts_url, '{"key": "a", ')
    assert response.status_code == 400
    assert not Thought.objects.exists()


def test_viewers_get_403_on_every_mutation(space, editor, viewer, api_as, thoughts_url):
    create(api_as(editor), thoughts_url, "idea")
    client = api_as(viewer)
    assert create(client, thoughts_url, "new").status_code == 403
    assert client.patch(f"{thoughts_url}/idea", {"title": "x"}).status_code == 403
    assert client.delete(f"{thoughts_url}/idea").status_code == 403
    assert client.get(f"{thoughts_url}/idea").status_code == 200


def test_patch_changes_only_the_fields_sent_and_bumps_version(editor, api_as, thoughts_url):
    client = api_as(editor)
    create(client, thoughts_url, "idea", body="keep", metadata={"a": 1})
    response = client.patch(f"{thoughts_url}/idea", {"metadata": {"a": 2}})
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"a": 2} and body["body"] == "keep" and body["version"] == 2
    entry = HistoryEntry.objects.get(action="node.updated")
    assert entry.base_version == 1 and entry.before["metadata"] == {"a": 1}


def test_patch_with_a_stale_if_match_answers_412(editor, owner, api_as, thoughts_url):
    client = api_as(editor)
    etag = create(client, thoughts_url, "idea")["ETag"]
    assert (
        client.patch(f"{thoughts_url}/idea", {"title": "A"}, **{"If-Match": etag}).status_code
        == 200
    )
    stale = api_as(owner).patch(f"{thoughts_url}/idea", {"title": "B"}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert Thought.objects.get().title == "A"


def test_get_returns_the_current_etag(editor, api_as, thoughts_url):
    client = api_as(editor)
    create(client, thoughts_url, "idea")
    client.patch(f"{thoughts_url}/idea", {"title": "New"})
    response = client.get(f"{thoughts_url}/idea")
    assert response["ETag"].endswith('.2"')
    assert (
        client.patch(
            f"{thoughts_url}/idea", {"body": "x"}, **{"If-Match": response["ETag"]}
        ).status_code
        == 200
    )


def test_delete_with_a_stale_if_match_answers_412(editor, api_as, thoughts_url):
    client = api_as(editor)
    etag = create(client, thoughts_url, "idea")["ETag"]
    client.patch(f"{thoughts_url}/idea", {"title": "changed"})
    assert client.delete(f"{thoughts_url}/idea", **{"If-Match": etag}).status_code == 412
    assert Thought.objects.filter(key="idea").exists()


def test_delete_removes_the_thought_and_its_links(space, editor, api_as, thoughts_url):
    client = api_as(editor)
    for key in ("a", "b", "c"):
        create(client, thoughts_url, key)
    client.post(f"/api/spaces/{space.id}/links", {"source": "a", "target": "b"})
    client.post(f"/api/spaces/{space.id}/links", {"source": "c", "target": "a"})
    client.post(f"/api/spaces/{space.id}/links", {"source": "b", "target": "c"})
    assert client.delete(f"{thoughts_url}/a").status_code == 204
    assert sorted(Thought.objects.values_list("key", flat=True)) == ["b", "c"]
    assert Link.objects.count() == 1
    assert client.get(f"{thoughts_url}/a").status_code == 404


def test_parent_must_exist_and_cycles_are_refused(editor, api_as, thoughts_url):
    client = api_as(editor)
    assert create(client, thoughts_url, "child", parent="ghost").status_code == 422
    create(client, thoughts_url, "root")
    assert create(client, thoughts_url, "child", parent="root").json()["parent"] == "root"
    response = client.patch(f"{thoughts_url}/root", {"parent": "child"})
    assert response.status_code == 422 and "cycle" in response.json()["detail"]
    assert client.patch(f"{thoughts_url}/child", {"parent": None}).json()["parent"] is None


def test_list_is_paginated(editor, api_as, thoughts_url):
    client = api_as(editor)
    for index in range(5):
        create(client, thoughts_url, f"t{index}", position=index)
    body = client.get(f"{thoughts_url}?limit=2&offset=1").json()
    assert body["count"] == 5 and [t["key"] for t in body["items"]] == ["t1", "t2"]


def test_xss_payloads_are_stored_verbatim_as_json(editor, api_as, thoughts_url):
    payload = "<script>alert(1)</script>"
    response = create(api_as(editor), thoughts_url, "x", title=payload)
    assert response.json()["title"] == payload
    assert response["Content-Type"].startswith("application/json")
