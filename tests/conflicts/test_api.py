"""GET /api/spaces/{id}/conflicts and restoring or dismissing a conflict."""

from __future__ import annotations

from spaces import services
from spaces.models import Conflict, HistoryEntry, Thought
from tests.conflicts.conftest import record


def url(space, suffix=""):
    return f"/api/spaces/{space.id}/conflicts{suffix}"


def test_the_list_shows_open_conflicts_with_both_versions(viewer, api_as, space, concurrent_edit):
    response = api_as(viewer).get(url(space))
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert item["id"] == concurrent_edit.id and item["kind"] == "concurrent_edit"
    assert item["lost"]["title"] == "Lost title" and item["kept"]["title"] == "Kept title"
    assert item["status"] == "open" and item["actor"] == "edgar"


def test_a_space_you_cannot_see_answers_404(stranger, api_as, space, concurrent_edit):
    assert api_as(stranger).get(url(space)).status_code == 404
    path = url(space, f"/{concurrent_edit.id}/dismiss")
    assert api_as(stranger).post(path).status_code == 404


def test_a_bad_status_filter_answers_422(viewer, api_as, space):
    assert api_as(viewer).get(url(space) + "?status=maybe").status_code == 422


def test_viewers_and_unauthenticated_callers_cannot_resolve(viewer, api_as, space, concurrent_edit):
    assert api_as(viewer).post(url(space, f"/{concurrent_edit.id}/restore")).status_code == 403
    assert api_as(None).post(url(space, f"/{concurrent_edit.id}/restore")).status_code == 401
    concurrent_edit.refresh_from_db()
    assert concurrent_edit.is_open


def test_a_read_or_confirm_token_cannot_resolve(editor, client, space, concurrent_edit):
    for mode in ("read", "confirm"):
        _, raw = services.token_create(user=editor, mode=mode)
        response = client.post(
            url(space, f"/{concurrent_edit.id}/dismiss"), headers={"Authorization": f"Bearer {raw}"}
        )
        assert response.status_code == 403


def test_restore_writes_the_lost_version_as_a_new_change(
    editor, api_as, space, thought, concurrent_edit
):
    response = api_as(editor).post(url(space, f"/{concurrent_edit.id}/restore"))
    assert response.status_code == 200 and response.json()["status"] == "restored"
    thought.refresh_from_db()
    assert (thought.title, thought.body, thought.version) == ("Lost title", "lost <b>body</b>", 2)
    actions = list(HistoryEntry.objects.filter(space=space).values_list("action", flat=True)[:2])
    assert actions == ["conflict.resolved", "node.updated"]
    again = api_as(editor).post(url(space, f"/{concurrent_edit.id}/restore"))
    assert again.status_code == 409 and "restored already" in again.json()["detail"]
    assert api_as(editor).get(url(space)).json()["count"] == 0
    assert api_as(editor).get(url(space) + "?status=all").json()["count"] == 1


def test_restoring_an_edit_of_a_deleted_thought_brings_it_back_under_its_id(
    editor, owner, api_as, space, thought
):
    lost = {**thought.snapshot(), "title": "Edited elsewhere"}
    services.thought_delete(thought=thought, actor=owner)
    conflict = record(space, Conflict.Kind.EDIT_OF_DELETED, lost=lost, kept=None)
    assert api_as(editor).post(url(space, f"/{conflict.id}/restore")).status_code == 200
    restored = Thought.objects.get(space=space, key="idea")
    assert restored.id == thought.id and restored.title == "Edited elsewhere"


def test_restore_refuses_when_the_key_was_taken_again(editor, owner, api_as, space, thought):
    lost = {**thought.snapshot(), "title": "Edited elsewhere"}
    services.thought_delete(thought=thought, actor=owner)
    services.thought_create(space=space, actor=owner, key="idea", title="A new one")
    conflict = record(space, Conflict.Kind.EDIT_OF_DELETED, lost=lost, kept=None)
    response = api_as(editor).post(url(space, f"/{conflict.id}/restore"))
    assert response.status_code == 409 and "key free" in response.json()["detail"]
    assert Thought.objects.get(space=space, key="idea").title == "A new one"


def test_a_duplicate_key_conflict_can_only_be_dismissed(editor, api_as, space, thought):
    kept = {**thought.snapshot(), "key": "idea-abc123"}
    conflict = record(space, Conflict.Kind.DUPLICATE_KEY, lost=thought.snapshot(), kept=kept)
    response = api_as(editor).post(url(space, f"/{conflict.id}/restore"))
    assert response.status_code == 409 and "idea-abc123" in response.json()["detail"]
    response = api_as(editor).post(url(space, f"/{conflict.id}/dismiss"))
    assert response.status_code == 200 and response.json()["status"] == "dismissed"
    assert response.json()["resolved_by"] == "edgar"


def test_recording_the_same_loss_twice_keeps_one_conflict(space, concurrent_edit):
    again = record(space, Conflict.Kind.CONCURRENT_EDIT, lost=None, kept=None)
    assert again.id != concurrent_edit.id
    from spaces.conflicts import conflict_record

    same = conflict_record(
        history_id=concurrent_edit.id,
        space=space,
        kind="dropped",
        action="node.updated",
        thought_key="idea",
        lost=None,
        kept=None,
        detail="other words",
        actor_name="x",
        lost_at=None,
    )
    assert same.kind == "concurrent_edit" and Conflict.objects.count() == 2
