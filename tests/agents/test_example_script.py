"""scripts/agent_example.py runs against a live server, in direct and confirm mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.contrib.auth.models import User

from spaces import services
from spaces.models import AgentSession, Proposal, Space, Thought

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "agent_example.py"


def run_script(base_url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", base_url, "--token", token, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_example_works_on_a_space_with_a_direct_token(live_server):
    user = User.objects.create_user("agent-owner", password="pw-agent-123")
    _token, raw = services.token_create(user=user, name="example", mode="direct")
    result = run_script(live_server.url, raw)
    assert result.returncode == 0, result.stdout + result.stderr
    space = Space.objects.get(title="Agent example")
    assert sorted(space.thoughts.values_list("key", flat=True)) == ["answer", "question"]
    assert Thought.objects.get(key="answer").metadata == {"status": "proposed-by-agent"}
    assert space.links.count() == 1
    assert AgentSession.objects.get().status == "ended"


def test_the_example_proposes_everything_with_a_confirm_token(live_server):
    user = User.objects.create_user("agent-owner", password="pw-agent-123")
    space = services.space_create(owner=user, title="Watched")
    _token, raw = services.token_create(user=user, name="example", mode="confirm")
    result = run_script(live_server.url, raw, "--space-id", space.pk)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not space.thoughts.exists()
    assert Proposal.objects.filter(space=space, status="pending").count() == 3
    assert "wait for approval" in result.stdout
