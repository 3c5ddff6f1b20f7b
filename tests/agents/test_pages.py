"""The proposals pages, approving and rejecting from them with CSRF, the token page's modes,
create_token --mode and the agent guide."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from spaces import services
from spaces.models import ApiToken, Proposal, Thought


def logged_in(user: Any, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def proposal(agent_as, owner, space, thoughts) -> Proposal:
    response = agent_as(owner, "confirm", name="modeler").patch(
        f"/api/spaces/{space.pk}/thoughts/idea", {"title": "Better idea"}
    )
    return Proposal.objects.get(pk=response.json()["id"])


def test_the_space_page_has_a_pending_count_badge(owner, space, proposal):
    page = logged_in(owner).get(f"/spaces/{space.pk}/").content.decode()
    assert re.search(r'id="proposal-count"[^>]*>1<', page)


def test_the_proposals_page_lists_pending_proposals_with_their_diff(owner, space, proposal):
    page = logged_in(owner).get(f"/spaces/{space.pk}/proposals/").content.decode()
    assert proposal.summary in page and "Better idea" in page and "modeler" in page
    assert f"/proposals/{proposal.pk}/approve/" in page
    assert re.search(r'id="proposal-count"[^>]*>1<', page)


def test_the_overview_groups_proposals_by_space(editor, space, proposal):
    page = logged_in(editor).get("/proposals/").content.decode()
    assert space.title in page and proposal.summary in page


def test_a_viewer_sees_proposals_without_buttons(viewer, space, proposal):
    page = logged_in(viewer).get(f"/spaces/{space.pk}/proposals/").content.decode()
    assert proposal.summary in page and "/approve/" not in page


def test_approving_from_the_page_needs_csrf_and_applies(owner, space, proposal):
    client = logged_in(owner, csrf=True)
    url = f"/proposals/{proposal.pk}/approve/"
    assert client.post(url).status_code == 403
    token = csrf_token(client.get(f"/spaces/{space.pk}/proposals/").content.decode())
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == f"/spaces/{space.pk}/proposals/"
    assert Thought.objects.get(key="idea").title == "Better idea"


def test_rejecting_from_the_page_keeps_the_thought(owner, space, proposal):
    client = logged_in(owner, csrf=True)
    token = csrf_token(client.get("/proposals/").content.decode())
    client.post(f"/proposals/{proposal.pk}/reject/", {"csrfmiddlewaretoken": token, "reason": "no"})
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposal.decision_note == "no"
    assert Thought.objects.get(key="idea").title == "Idea"


def test_a_stale_approval_from_the_page_shows_why(owner, space, thoughts, proposal):
    services.thought_update(thought=thoughts[0], actor=owner, changes={"body": "meanwhile"})
    response = logged_in(owner).post(f"/proposals/{proposal.pk}/approve/", follow=True)
    assert "proposed against an older state" in response.content.decode()
    assert Thought.objects.get(key="idea").title == "Idea"


def test_viewers_get_403_and_strangers_404_on_decisions(viewer, stranger, proposal):
    assert logged_in(viewer).post(f"/proposals/{proposal.pk}/approve/").status_code == 403
    assert logged_in(stranger).post(f"/proposals/{proposal.pk}/reject/").status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == "pending"


@pytest.mark.parametrize("mode", ApiToken.Mode.values)
def test_the_token_page_creates_tokens_of_each_mode(owner, mode):
    client = logged_in(owner)
    assert f'value="{mode}"' in client.get("/tokens/").content.decode()
    client.post("/tokens/new/", {"name": f"{mode}-agent", "mode": mode})
    assert ApiToken.objects.get(name=f"{mode}-agent").mode == mode


@pytest.mark.parametrize("mode", ApiToken.Mode.values)
def test_create_token_takes_a_mode(owner, mode):
    out = StringIO()
    call_command("create_token", "olivia", "--mode", mode, stdout=out)
    token = services.token_authenticate(raw=out.getvalue().split()[-1])
    assert token is not None and token.mode == mode


def test_the_agent_guide_is_linked_and_explains_the_flow(owner):
    assert "/agents/" in logged_in(owner).get("/spaces/").content.decode()
    page = Client().get("/agents/").content.decode()
    for needle in ("If-Match", "X-Agent-Session", "202", "/api/proposals/{id}/approve"):
        assert needle in page
    assert "Never rewrite a whole space" in page


def test_every_endpoint_is_described_in_the_openapi_schema(owner):
    schema = logged_in(owner).get("/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert operation.get("description"), f"{method.upper()} {path} has no description"


def test_the_admin_lists_sessions_and_proposals_per_space(admin_client, space, proposal):
    assert proposal.summary in admin_client.get("/admin/spaces/proposal/").content.decode()
    page = admin_client.get(f"/admin/spaces/agentsession/?space={space.pk}").content.decode()
    assert proposal.agent_session_id in page
    detail = admin_client.get(f"/admin/spaces/agentsession/{proposal.agent_session_id}/change/")
    assert proposal.summary in detail.content.decode()
