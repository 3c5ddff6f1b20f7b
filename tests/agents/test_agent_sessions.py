"""Agent sessions: started by a token's first change (or explicitly) or named by
X-Agent-Session, joined by reads, touched at most once a minute, ended with DELETE or by
expiry, and credited in history."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from spaces.models import AgentSession, HistoryEntry, Proposal

SESSION_TABLE = AgentSession._meta.db_table


def session_updates(queries: CaptureQueriesContext) -> int:
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("UPDATE") and SESSION_TABLE in q["sql"]
    )


def change(client, space, key: str = "a", **headers: str):
    """A change through the API (what starts a session)."""
    url = f"/api/spaces/{space.pk}/thoughts"
    response = client.post(url, {"key": key, "title": key}, **headers)
    assert response.status_code in (201, 202), response.content
    return response


def test_a_tokens_first_change_starts_a_session_named_in_the_answer(agent_as, owner, space):
    client = agent_as(owner)
    assert "X-Agent-Session" not in client.get("/api/spaces")  # a read starts none
    response = change(client, space)
    session = AgentSession.objects.get()
    assert response["X-Agent-Session"] == session.pk
    assert session.user == owner and session.status == "active"
    assert client.get("/api/spaces")["X-Agent-Session"] == session.pk  # reads join it


def test_browsers_get_no_session(owner, space):
    client = Client()
    client.force_login(owner)
    assert "X-Agent-Session" not in client.get("/api/spaces")
    assert not AgentSession.objects.exists()


def test_calls_without_the_header_reuse_the_tokens_active_session(agent_as, owner, space):
    client = agent_as(owner)
    first = change(client, space, "a")["X-Agent-Session"]
    assert change(client, space, "b")["X-Agent-Session"] == first
    assert AgentSession.objects.count() == 1


def test_a_label_in_the_header_groups_calls_into_its_own_session(agent_as, owner, space):
    client = agent_as(owner)
    a = change(client, space, "a", **{"X-Agent-Session": "run-a"})["X-Agent-Session"]
    b = change(client, space, "b", **{"X-Agent-Session": "run-b"})["X-Agent-Session"]
    assert a != b
    assert client.get("/api/spaces", **{"X-Agent-Session": "run-a"})["X-Agent-Session"] == a
    assert client.get("/api/spaces", **{"X-Agent-Session": a})["X-Agent-Session"] == a
    assert AgentSession.objects.get(pk=a).label == "run-a"


def test_reads_and_read_only_tokens_start_no_session(agent_as, owner, space):
    """A session row per read (one per new label) would let any token fill the table."""
    client = agent_as(owner)
    for number in range(3):
        response = client.get("/api/spaces", **{"X-Agent-Session": f"label {number}"})
        assert "X-Agent-Session" not in response
    reader = agent_as(owner, "read")
    assert reader.post("/api/agent-sessions", {"label": "mine"}).status_code == 403
    assert not AgentSession.objects.exists()


def test_touches_write_at_most_once_a_minute(agent_as, owner, space):
    client = agent_as(owner)
    session_id = client.post("/api/agent-sessions", {"label": "busy"}).json()["id"]
    headers = {"X-Agent-Session": session_id}
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            assert client.get(f"/api/spaces/{space.pk}/thoughts", **headers).status_code == 200
    assert session_updates(queries) == 0

    a_minute_ago = timezone.now() - timedelta(seconds=61)
    AgentSession.objects.filter(pk=session_id).update(last_seen_at=a_minute_ago)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(10):
            client.get(f"/api/spaces/{space.pk}/thoughts", **headers)
    assert session_updates(queries) == 1
    assert AgentSession.objects.get(pk=session_id).last_seen_at > a_minute_ago


def test_delete_ends_the_session_and_the_next_call_starts_another(agent_as, owner, space):
    client = agent_as(owner)
    session_id = client.post("/api/agent-sessions", {"label": "once"}).json()["id"]
    response = client.delete(f"/api/agent-sessions/{session_id}")
    assert response.status_code == 200 and response.json()["status"] == "ended"
    later = change(client, space, **{"X-Agent-Session": session_id})["X-Agent-Session"]
    assert later != session_id


def test_an_idle_session_expires(agent_as, owner, space):
    client = agent_as(owner)
    first = change(client, space, "a")["X-Agent-Session"]
    AgentSession.objects.update(last_seen_at=timezone.now() - timedelta(hours=1))
    assert AgentSession.objects.get(pk=first).status == "expired"
    assert "X-Agent-Session" not in client.get("/api/spaces")  # nothing active to join
    assert change(client, space, "b")["X-Agent-Session"] != first


def test_another_users_session_cannot_be_ended(agent_as, owner, editor, space):
    session_id = change(agent_as(owner), space)["X-Agent-Session"]
    assert agent_as(editor).delete(f"/api/agent-sessions/{session_id}").status_code == 404
    assert AgentSession.objects.get(pk=session_id).ended_at is None


def test_direct_changes_and_proposals_name_the_session(agent_as, owner, space):
    direct, confirm = agent_as(owner, "direct"), agent_as(owner, "confirm")
    url = f"/api/spaces/{space.pk}/thoughts"
    made = direct.post(url, {"key": "a", "title": "A"}, **{"X-Agent-Session": "s1"})
    proposed = confirm.post(url, {"key": "b", "title": "B"}, **{"X-Agent-Session": "s2"})
    entry = HistoryEntry.objects.get(action="node.created", thought_key="a")
    assert entry.agent_session_id == made["X-Agent-Session"]
    assert Proposal.objects.get().agent_session_id == proposed["X-Agent-Session"]
    assert proposed.json()["agent_session"] == proposed["X-Agent-Session"]


def test_sessions_are_listed_per_space_on_the_proposals_page(agent_as, owner, space):
    agent_as(owner, "confirm").post(
        f"/api/spaces/{space.pk}/thoughts", {"key": "b", "title": "B"}, **{"X-Agent-Session": "s2"}
    )
    client = Client()
    client.force_login(owner)
    page = client.get(f"/spaces/{space.pk}/proposals/").content.decode()
    assert 'id="agent-sessions"' in page and "s2" in page


def test_a_change_reads_its_token_and_session_in_one_query(agent_as, owner, space):
    """To a distant primary every query is a round trip (remote mode): the token's current
    session comes with the token, and a change reads nothing else of either."""
    client = agent_as(owner)
    first = change(client, space, "a")["X-Agent-Session"]
    with CaptureQueriesContext(connection) as queries:
        assert change(client, space, "b")["X-Agent-Session"] == first
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    assert sum(SESSION_TABLE in sql for sql in reads) == 1
    assert any(SESSION_TABLE in sql and "spaces_apitoken" in sql for sql in reads)
    session = AgentSession.objects.get(pk=first)
    assert HistoryEntry.objects.get(thought_key="b").agent_session_id == session.pk
