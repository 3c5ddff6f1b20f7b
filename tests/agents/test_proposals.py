"""Approving and rejecting proposals through the API: who may, what history records, and how
a stale proposal is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from spaces import services
from spaces.models import HistoryEntry, Proposal, Space, Thought


@pytest.fixture
def confirm(agent_as, owner) -> Any:
    return agent_as(owner, "confirm", name="modeler")


def propose_title(confirm: Any, space: Space, title: str = "Better idea") -> str:
    response = confirm.patch(f"/api/spaces/{space.pk}/thoughts/idea", {"title": title})
    assert response.status_code == 202
    return response.json()["id"]


def test_approval_applies_the_change_and_credits_agent_and_approver(
    confirm, api_as, editor, space, thoughts
):
    proposal_id = propose_title(confirm, space)
    response = api_as(editor).post(f"/api/proposals/{proposal_id}/approve")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["decided_by"] == "edgar"
    assert Thought.objects.get(key="idea").title == "Better idea"
    entry = HistoryEntry.objects.get(action="node.updated")
    assert entry.actor.username == "edgar" and entry.proposal_id == proposal_id
    assert entry.agent_session_id == Proposal.objects.get().agent_session_id
    history = api_as(editor).get(f"/api/spaces/{space.pk}/history").json()["items"][0]
    assert history["proposal"] == proposal_id
    assert history["credit"] == "edgar, approving a proposal by olivia's agent “modeler”"


def test_approving_a_new_thought_creates_it(confirm, api_as, owner, space):
    response = confirm.post(f"/api/spaces/{space.pk}/thoughts", {"key": "k", "title": "K"})
    api_as(owner).post(f"/api/proposals/{response.json()['id']}/approve")
    assert Thought.objects.get(key="k").title == "K"


def test_approving_a_new_space_makes_the_proposer_its_owner(confirm, api_as, owner):
    proposal_id = confirm.post("/api/spaces", {"title": "Agent's space"}).json()["id"]
    assert api_as(owner).post(f"/api/proposals/{proposal_id}/approve").status_code == 200
    assert Space.objects.get(title="Agent's space").owner == owner


def test_rejection_changes_nothing_and_tells_the_agent_why(
    confirm, api_as, editor, space, thoughts
):
    proposal_id = propose_title(confirm, space)
    response = api_as(editor).post(f"/api/proposals/{proposal_id}/reject", {"reason": "No."})
    assert response.status_code == 200
    assert Thought.objects.get(key="idea").title == "Idea"
    seen = confirm.get(f"/api/proposals/{proposal_id}").json()
    assert seen["status"] == "rejected" and seen["decision_note"] == "No."


def test_a_stale_proposal_is_refused_with_409_and_stays_pending(
    confirm, api_as, owner, space, thoughts
):
    proposal_id = propose_title(confirm, space)
    services.thought_update(thought=thoughts[0], actor=owner, changes={"body": "meanwhile"})
    response = api_as(owner).post(f"/api/proposals/{proposal_id}/approve")
    assert response.status_code == 409
    assert "version 1 and is now at version 2" in response.json()["detail"]
    assert Thought.objects.get(key="idea").title == "Idea"
    assert Proposal.objects.get().status == "pending"


def test_a_proposal_to_delete_a_thought_deleted_meanwhile_is_refused(
    confirm, api_as, owner, space, thoughts
):
    proposal_id = confirm.delete(f"/api/spaces/{space.pk}/thoughts/idea").json()["id"]
    services.thought_delete(thought=thoughts[0], actor=owner)
    response = api_as(owner).post(f"/api/proposals/{proposal_id}/approve")
    assert response.status_code == 409 and "no longer exists" in response.json()["detail"]


def test_a_decided_proposal_cannot_be_decided_again(confirm, api_as, owner, space, thoughts):
    proposal_id = propose_title(confirm, space)
    client = api_as(owner)
    assert client.post(f"/api/proposals/{proposal_id}/approve").status_code == 200
    assert client.post(f"/api/proposals/{proposal_id}/approve").status_code == 409
    assert client.post(f"/api/proposals/{proposal_id}/reject").status_code == 409
    assert HistoryEntry.objects.filter(action="node.updated").count() == 1


def test_viewers_get_403_and_strangers_404(confirm, api_as, viewer, stranger, space, thoughts):
    proposal_id = propose_title(confirm, space)
    for action in ("approve", "reject"):
        assert api_as(viewer).post(f"/api/proposals/{proposal_id}/{action}").status_code == 403
        assert api_as(stranger).post(f"/api/proposals/{proposal_id}/{action}").status_code == 404
    assert Proposal.objects.get().status == "pending"


def test_only_the_owner_approves_deleting_the_space(confirm, api_as, editor, owner, space):
    proposal_id = confirm.delete(f"/api/spaces/{space.pk}").json()["id"]
    assert api_as(editor).post(f"/api/proposals/{proposal_id}/approve").status_code == 403
    assert api_as(owner).post(f"/api/proposals/{proposal_id}/approve").status_code == 200
    assert not Space.objects.exists()


@pytest.mark.parametrize("mode", ["confirm", "read"])
def test_only_people_and_direct_tokens_decide(confirm, agent_as, owner, space, thoughts, mode):
    proposal_id = propose_title(confirm, space)
    response = agent_as(owner, mode).post(f"/api/proposals/{proposal_id}/approve")
    assert response.status_code == 403
    assert (
        agent_as(owner, "direct").post(f"/api/proposals/{proposal_id}/approve").status_code == 200
    )


def test_a_person_approves_with_the_session_and_csrf(confirm, owner, space, thoughts):
    proposal_id = propose_title(confirm, space)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = f"/api/proposals/{proposal_id}/approve"
    assert client.post(url).status_code == 403
    client.get("/admin/login/")
    response = client.post(url, headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert response.status_code == 200


def test_the_list_shows_proposals_of_visible_spaces(confirm, api_as, viewer, stranger, space):
    confirm.post(f"/api/spaces/{space.pk}/thoughts", {"key": "k", "title": "K"})
    confirm.post("/api/spaces", {"title": "Private idea"})
    assert api_as(viewer).get("/api/proposals?status=pending").json()["count"] == 1
    assert api_as(stranger).get("/api/proposals").json()["count"] == 0
    mine = confirm.get(f"/api/proposals?space_id={space.pk}").json()["items"]
    assert [p["operation"] for p in mine] == ["thought.create"]
    assert confirm.get("/api/proposals?status=approved").json()["count"] == 0
