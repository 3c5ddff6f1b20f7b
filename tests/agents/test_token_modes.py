"""Every token mode against every mutating endpoint: direct applies, confirm proposes (202,
nothing changes), read is refused (403, nothing changes)."""

from __future__ import annotations

from typing import Any

import pytest

from spaces.models import ApiToken, HistoryEntry, Link, Membership, Proposal, Space, Thought

ENDPOINTS = [
    # (name, method, path, body, status for a direct token)
    ("create space", "post", "/api/spaces", {"title": "New"}, 201),
    ("update space", "patch", "/api/spaces/{space}", {"title": "Renamed"}, 200),
    ("delete space", "delete", "/api/spaces/{space}", None, 204),
    (
        "share space",
        "post",
        "/api/spaces/{space}/members",
        {"username": "sam", "role": "editor"},
        204,
    ),
    ("create thought", "post", "/api/spaces/{space}/thoughts", {"key": "new", "title": "New"}, 201),
    ("update thought", "patch", "/api/spaces/{space}/thoughts/idea", {"metadata": {"a": 1}}, 200),
    ("delete thought", "delete", "/api/spaces/{space}/thoughts/idea", None, 204),
    (
        "create link",
        "post",
        "/api/spaces/{space}/links",
        {"source": "other", "target": "idea"},
        201,
    ),
    ("delete link", "delete", "/api/spaces/{space}/links/{link}", None, 204),
]
IDS = [endpoint[0] for endpoint in ENDPOINTS]


def _state() -> Any:
    return (
        sorted(Space.objects.values_list("id", "title")),
        sorted((t.key, t.version, t.title) for t in Thought.objects.all()),
        sorted(Link.objects.values_list("id", flat=True)),
        sorted(Membership.objects.values_list("user__username", "role")),
        HistoryEntry.objects.count(),
    )


def _call(client: Any, method: str, path: str, body: Any, space: Space, link: Link) -> Any:
    url = path.format(space=space.pk, link=link.pk)
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, body)


@pytest.fixture
def setup(space: Space, link: Link, stranger: Any) -> tuple[Space, Link]:
    return space, link


@pytest.mark.parametrize(("name", "method", "path", "body", "status"), ENDPOINTS, ids=IDS)
def test_a_direct_token_changes_at_once(agent_as, owner, setup, name, method, path, body, status):
    before = _state()
    response = _call(agent_as(owner, "direct"), method, path, body, *setup)
    assert response.status_code == status, response.content
    assert _state() != before
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(("name", "method", "path", "body", "status"), ENDPOINTS, ids=IDS)
def test_a_confirm_token_gets_202_with_a_proposal_and_nothing_changes(
    agent_as, owner, setup, name, method, path, body, status
):
    before = _state()
    response = _call(agent_as(owner, "confirm"), method, path, body, *setup)
    assert response.status_code == 202, response.content
    proposal = Proposal.objects.get()
    assert response.json()["id"] == proposal.pk
    assert response.json()["status"] == "pending"
    assert response["Location"] == f"/api/proposals/{proposal.pk}"
    assert _state() == before


@pytest.mark.parametrize(("name", "method", "path", "body", "status"), ENDPOINTS, ids=IDS)
def test_a_read_token_gets_403_and_nothing_changes(
    agent_as, owner, setup, name, method, path, body, status
):
    before = _state()
    response = _call(agent_as(owner, "read"), method, path, body, *setup)
    assert response.status_code == 403, response.content
    assert "read-only" in response.json()["detail"]
    assert _state() == before
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("mode", ApiToken.Mode.values)
def test_every_mode_reads_at_once(agent_as, owner, space, thoughts, mode):
    client = agent_as(owner, mode)
    assert client.get(f"/api/spaces/{space.pk}/thoughts/idea").status_code == 200
    assert client.get(f"/api/spaces/{space.pk}/thoughts").json()["count"] == 2


def test_a_viewers_confirm_token_cannot_propose(agent_as, viewer, space, thoughts):
    response = agent_as(viewer, "confirm").patch(
        f"/api/spaces/{space.pk}/thoughts/idea", {"title": "x"}
    )
    assert response.status_code == 403
    assert not Proposal.objects.exists()


def test_a_proposal_that_could_not_apply_is_refused_at_once(agent_as, owner, space, thoughts):
    client = agent_as(owner, "confirm")
    response = client.post(f"/api/spaces/{space.pk}/thoughts", {"key": "idea", "title": "Dup"})
    assert response.status_code == 409
    response = client.patch(f"/api/spaces/{space.pk}/thoughts/idea", {"parent": "nope"})
    assert response.status_code == 422
    assert not Proposal.objects.exists()


def test_a_proposal_carries_a_readable_diff(agent_as, owner, space, thoughts):
    response = agent_as(owner, "confirm").patch(
        f"/api/spaces/{space.pk}/thoughts/idea", {"title": "Better idea"}
    )
    body = response.json()
    assert body["summary"] == "Change the title of the thought “idea”"
    assert body["diff"] == [{"name": "title", "before": "Idea", "after": "Better idea"}]
    assert body["base_version"] == 1 and body["proposed_by"] == "olivia"
