"""Export, import and restore through the API: a space goes out and comes back the same, a bad
archive changes nothing and says where it is wrong, and a space goes back to any moment."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from spaces import services
from spaces.models import ApiToken, Space, Thought


@pytest.fixture
def filled(space, owner):
    """A space with a tree, metadata, positions, odd text and labelled links."""
    make = services.thought_create
    make(space=space, actor=owner, key="root", title="Root", body="# Heading\n\nText\n")
    make(
        space=space,
        actor=owner,
        key="child",
        title="Child",
        parent="root",
        position=3,
        metadata={"tags": ["a", "b"], "n": 1.5, "nested": {"x": None}},
    )
    make(
        space=space,
        actor=owner,
        key="grand.child",
        title="Grandchild ü ✓",
        parent="child",
        kind="task",
        body="",
    )
    make(space=space, actor=owner, key="lone", title="Lone", body="line 1\r\nline 2\n\n")
    services.link_create(space=space, actor=owner, source="root", target="lone", label="see")
    services.link_create(space=space, actor=owner, source="grand.child", target="root")
    return space


def graph(space: Space) -> dict[str, Any]:
    thoughts = {
        t.key: (t.title, t.body, t.kind, t.metadata, t.parent.key if t.parent else None, t.position)
        for t in space.thoughts.select_related("parent")
    }
    links = set(space.links.values_list("source__key", "target__key", "label"))
    return {"thoughts": thoughts, "links": links}


def export(client: Any, space: Space, fmt: str = "json") -> bytes:
    response = client.get(f"/api/spaces/{space.id}/export?format={fmt}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content) if response.streaming else response.content


def send(client: Any, body: bytes, query: str = "", **kwargs: Any) -> Any:
    return client.client.post(
        f"/api/imports{query}",
        data=body,
        content_type="application/x-ndjson",
        headers=client.headers,
        **kwargs,
    )


def test_an_exported_space_imports_as_the_same_graph(filled, owner, api_as):
    client = api_as(owner)
    archive = export(client, filled)
    lines = [json.loads(line) for line in archive.splitlines()]
    assert lines[0] == {
        "type": "header",
        "format": "thoughtspace-space",
        "schema": 1,
        "thoughts": 4,
    }
    order = [r["key"] for r in lines if r["type"] == "thought"]
    assert order.index("root") < order.index("child") < order.index("grand.child")  # parents first
    response = send(client, archive)
    assert response.status_code == 201, response.content
    copy = Space.objects.get(pk=response.json()["space_id"])
    assert copy.title == filled.title and copy.description == filled.description
    assert graph(copy) == graph(filled)
    # Every imported thought went through the services: one history entry each, by importer.
    assert copy.history.filter(action="node.created").count() == 4
    assert copy.history.filter(action="link.created").count() == 2


def test_an_archive_imported_where_its_thoughts_are_gone_keeps_their_ids(filled, owner, api_as):
    client = api_as(owner)
    archive = export(client, filled)
    ids = dict(filled.thoughts.values_list("key", "pk"))
    filled.delete()  # as on a fresh instance: no thought has those ids
    copy = Space.objects.get(pk=send(client, archive).json()["space_id"])
    assert dict(copy.thoughts.values_list("key", "pk")) == ids


def test_an_archived_id_that_is_not_exactly_an_id_is_not_kept(filled, owner, api_as):
    client = api_as(owner)
    lines = [json.loads(line) for line in export(client, filled).splitlines()]
    for line in lines:
        if line.get("type") == "thought":
            line["id"] += "\n"
    filled.delete()
    archive = b"\n".join(json.dumps(line).encode() for line in lines)
    copy = Space.objects.get(pk=send(client, archive).json()["space_id"])
    ids = list(copy.thoughts.values_list("pk", flat=True))
    assert ids and all(len(pk) == 26 and pk.isalnum() for pk in ids)


def test_a_bad_archive_names_its_line_and_writes_nothing(filled, owner, api_as):
    client = api_as(owner)
    lines = export(client, filled).splitlines()
    before = (Space.objects.count(), Thought.objects.count())
    broken = b"\n".join([*lines[:3], b'{"type": "thought", "key": "x"', *lines[3:]])
    response = send(client, broken)
    assert response.status_code == 422
    assert "line 4" in response.json()["detail"] and "not JSON" in response.json()["detail"]
    too_long = json.dumps({"type": "thought", "key": "long", "title": "x" * 201}).encode()
    response = send(client, b"\n".join([*lines[:-1], too_long]))
    assert response.status_code == 422 and f"line {len(lines)}" in response.json()["detail"]
    assert "title" in response.json()["detail"]
    response = send(client, b'{"hello": 1}\n')
    assert response.status_code == 422 and "not a ThoughtSpace archive" in response.json()["detail"]
    assert (Space.objects.count(), Thought.objects.count()) == before


def test_merging_into_a_space_never_overwrites_and_reports_each_difference(filled, owner, api_as):
    client = api_as(owner)
    archive = export(client, filled)
    services.thought_update(
        thought=filled.thoughts.get(key="lone"), actor=owner, changes={"title": "Changed here"}
    )
    services.thought_delete(thought=filled.thoughts.get(key="grand.child"), actor=owner)
    response = send(client, archive, f"?into={filled.id}")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["created"] == 1 and report["unchanged"] == 2
    assert report["conflicts"] == ["'lone' differs from the space's in title; the space's is kept"]
    assert filled.thoughts.get(key="lone").title == "Changed here"
    assert filled.thoughts.get(key="grand.child").parent.key == "child"


def test_a_dry_run_counts_and_writes_nothing(filled, owner, api_as):
    client = api_as(owner)
    archive = export(client, filled)
    before = (Space.objects.count(), Thought.objects.count())
    response = send(client, archive, "?dry_run=true")
    assert response.status_code == 200 and response.json()["created"] == 4
    assert response.json()["dry_run"] is True
    assert (Space.objects.count(), Thought.objects.count()) == before


def test_who_may_export_import_and_restore(filled, owner, viewer, stranger, api_as):
    archive = export(api_as(owner), filled)
    assert api_as(stranger).get(f"/api/spaces/{filled.id}/export").status_code == 404
    assert send(api_as(viewer), archive, f"?into={filled.id}").status_code == 403
    assert send(api_as(stranger), archive, f"?into={filled.id}").status_code == 404
    assert send(api_as(None), archive).status_code == 401
    confirm = api_as(owner)
    _, raw = services.token_create(user=owner, mode=ApiToken.Mode.CONFIRM)
    confirm.headers["Authorization"] = f"Bearer {raw}"
    assert send(confirm, archive).status_code == 403
    at = {"at": datetime.now(UTC).isoformat()}
    assert api_as(viewer).post(f"/api/spaces/{filled.id}/restore", at).status_code == 403
    assert api_as(stranger).post(f"/api/spaces/{filled.id}/restore", at).status_code == 404


def test_a_markdown_export_imports_as_the_same_graph(filled, owner, api_as):
    client = api_as(owner)
    zipped = export(client, filled, "markdown")
    response = client.client.post(
        "/api/imports?format=markdown",
        data=zipped,
        content_type="application/zip",
        headers=client.headers,
    )
    assert response.status_code == 201, response.content
    copy = Space.objects.get(pk=response.json()["space_id"])
    assert graph(copy) == graph(filled)


def test_the_space_as_it_was_and_back_to_it(filled, owner, api_as):
    client = api_as(owner)
    url = f"/api/spaces/{filled.id}"
    then = datetime.now(UTC)
    before = graph(filled)
    time.sleep(0.01)
    client.patch(f"{url}/thoughts/lone", {"title": "Edited"})
    client.delete(f"{url}/thoughts/child")
    client.post(f"{url}/thoughts", {"key": "new", "title": "New"})
    past = client.get(f"{url}/thoughts?at={then.isoformat().replace('+00:00', 'Z')}").json()
    assert {t["key"]: t["title"] for t in past["items"]} == {
        "root": "Root",
        "child": "Child",
        "grand.child": "Grandchild ü ✓",
        "lone": "Lone",
    }
    assert {t["key"]: t["parent"] for t in past["items"]}["grand.child"] == "child"
    assert client.get(f"{url}/thoughts?at=2026-01-01T00:00:00").status_code == 422  # no zone
    response = client.post(f"{url}/restore", {"at": then.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json()["changes"] >= 4
    assert graph(filled) == before
    again = client.post(f"{url}/restore", {"at": datetime.now(UTC).isoformat()})
    assert again.json() == {"changes": 0}


def test_one_thought_back_from_a_history_entry(filled, owner, api_as):
    client = api_as(owner)
    url = f"/api/spaces/{filled.id}"
    client.patch(f"{url}/thoughts/lone", {"title": "Edited"})
    created = filled.history.get(thought_key="lone", action="node.created")
    response = client.post(f"{url}/history/{created.id}/restore")
    assert response.status_code == 200 and response.json()["title"] == "Lone"
    assert client.post(f"{url}/history/NOPE/restore").status_code == 404


def test_the_export_page_and_the_import_page(filled, owner):
    browser = Client()
    browser.force_login(owner)
    response = browser.get(f"/spaces/{filled.id}/export/?format=json")
    archive = b"".join(response.streaming_content)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("ideas.thoughtspace.jsonl", archive)
    response = browser.post("/spaces/import/", {"archive": upload, "into": ""})
    assert response.status_code == 302
    copy = Space.objects.exclude(pk=filled.pk).get(title=filled.title)
    assert graph(copy) == graph(filled)
    bad = SimpleUploadedFile("bad.jsonl", b'{"type": "header"}\n')
    page = browser.post("/spaces/import/", {"archive": bad, "into": ""})
    assert page.status_code == 200 and b"Nothing was imported" in page.content


def test_the_pages_show_the_space_as_it_was_and_bring_it_back(filled, owner, viewer):
    browser = Client()
    browser.force_login(owner)
    then = datetime.now(UTC)
    time.sleep(0.01)
    services.thought_update(
        thought=filled.thoughts.get(key="lone"), actor=owner, changes={"title": "Edited"}
    )
    at = then.strftime("%Y-%m-%dT%H:%M:%S.%f")
    page = browser.get(f"/spaces/{filled.id}/at/", {"at": at})
    assert page.status_code == 200
    assert b'id="past-lone"><strong>Lone</strong>' in page.content
    assert b"Restore the space to this moment" in page.content
    response = browser.post(f"/spaces/{filled.id}/restore/", {"at": at})
    assert response.status_code == 302
    assert filled.thoughts.get(key="lone").title == "Lone"
    history = browser.get(f"/spaces/{filled.id}/history/")
    assert b"Restore this version" in history.content and b"See the space then" in history.content
    edit = filled.history.filter(thought_key="lone", action="node.updated").order_by("id").first()
    response = browser.post(f"/spaces/{filled.id}/history/{edit.id}/restore/")
    assert response.status_code == 302 and filled.thoughts.get(key="lone").title == "Edited"
    reader = Client()
    reader.force_login(viewer)
    assert b"Restore the space" not in reader.get(f"/spaces/{filled.id}/at/", {"at": at}).content
    assert reader.post(f"/spaces/{filled.id}/restore/", {"at": at}).status_code == 403


def test_an_import_may_be_larger_than_other_api_bodies(owner, api_as, settings):
    client = api_as(owner)
    lines = [b'{"type": "header", "format": "thoughtspace-space", "schema": 1}']
    lines.append(b'{"type": "space", "title": "Big"}')
    lines += [
        json.dumps({"type": "thought", "key": f"k{n}", "title": "x", "body": "y" * 500}).encode()
        for n in range(200)
    ]
    body = b"\n".join(lines)
    assert len(body) > settings.API_MAX_BODY_BYTES
    assert send(client, body).status_code == 201
    settings.API_BODY_LIMITS = {"/api/imports": 1000}
    assert send(client, body).status_code == 413


def test_an_export_leaves_out_no_thought_caught_in_a_cycle_of_parents(filled, owner, api_as):
    # Two replicas moving a and b under each other at once can leave such a cycle.
    a = services.thought_create(space=filled, actor=owner, key="a", title="A")
    b = services.thought_create(space=filled, actor=owner, key="b", title="B", parent="a")
    Thought.objects.filter(pk=a.pk).update(parent=b)
    lines = [json.loads(line) for line in export(api_as(owner), filled).splitlines()]
    keys = {r["key"] for r in lines if r["type"] == "thought"}
    assert keys == set(filled.thoughts.values_list("key", flat=True))
    # The import cuts the cycle where it finds it and says so; nothing is left out.
    response = send(api_as(owner), export(api_as(owner), filled))
    assert response.status_code == 201, response.content
    assert any("its own ancestor" in c for c in response.json()["conflicts"])
    copy = Space.objects.get(pk=response.json()["space_id"])
    assert set(copy.thoughts.values_list("key", flat=True)) == keys
    zipped = export(api_as(owner), filled, "markdown")
    client = api_as(owner)
    response = client.client.post(
        "/api/imports?format=markdown",
        data=zipped,
        headers=client.headers,
        content_type="application/zip",
    )
    assert response.status_code == 201, response.content
    copy = Space.objects.get(pk=response.json()["space_id"])
    assert set(copy.thoughts.values_list("key", flat=True)) == keys
