"""Links between thoughts, and the history of a space."""

import pytest


@pytest.fixture
def client_with_thoughts(space, editor, api_as):
    client = api_as(editor)
    for key in ("a", "b"):
        client.post(f"/api/spaces/{space.id}/thoughts", {"key": key, "title": key})
    return client


def test_create_list_and_delete_a_link(space, client_with_thoughts):
    url = f"/api/spaces/{space.id}/links"
    response = client_with_thoughts.post(url, {"source": "a", "target": "b", "label": "supports"})
    assert response.status_code == 201
    link = response.json()
    assert (link["source"], link["target"], link["label"]) == ("a", "b", "supports")
    assert client_with_thoughts.get(url).json()["count"] == 1
    assert client_with_thoughts.delete(f"{url}/{link['id']}").status_code == 204
    assert client_with_thoughts.delete(f"{url}/{link['id']}").status_code == 404


def test_a_duplicate_link_answers_409(space, client_with_thoughts):
    url = f"/api/spaces/{space.id}/links"
    client_with_thoughts.post(url, {"source": "a", "target": "b"})
    assert client_with_thoughts.post(url, {"source": "a", "target": "b"}).status_code == 409


def test_links_to_unknown_thoughts_answer_422(space, client_with_thoughts):
    url = f"/api/spaces/{space.id}/links"
    assert client_with_thoughts.post(url, {"source": "a", "target": "zzz"}).status_code == 422


def test_history_lists_changes_newest_first(space, client_with_thoughts):
    client_with_thoughts.patch(f"/api/spaces/{space.id}/thoughts/a", {"title": "A!"})
    body = client_with_thoughts.get(f"/api/spaces/{space.id}/history").json()
    actions = [entry["action"] for entry in body["items"]]
    assert actions[:3] == ["node.updated", "node.created", "node.created"]
    assert body["items"][0]["actor"] == "edgar" and body["items"][0]["after"]["title"] == "A!"


def test_history_of_an_invisible_space_is_404(space, stranger, api_as):
    assert api_as(stranger).get(f"/api/spaces/{space.id}/history").status_code == 404
