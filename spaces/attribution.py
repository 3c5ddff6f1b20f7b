"""Which agent session and proposal the changes being made belong to.

The services credit every history entry they write to the current attribution, so a change
made by an agent, or approved from its proposal, names the agent without every service
taking extra arguments. Set it only with ``credited()``, which always restores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Credit:
    agent_session: Any = None  # an AgentSession, or None
    proposal: Any = None  # a Proposal, or None


NO_CREDIT = Credit()
_current: ContextVar[Credit | None] = ContextVar("thoughtspace_credit", default=None)


def current_credit() -> Credit:
    return _current.get() or NO_CREDIT


@contextmanager
def credited(*, agent_session: Any = None, proposal: Any = None) -> Iterator[None]:
    """Within the block, history entries name ``agent_session`` and ``proposal``."""
    reset = _current.set(Credit(agent_session=agent_session, proposal=proposal))
    try:
        yield
    finally:
        _current.reset(reset)
