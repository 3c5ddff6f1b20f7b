"""Agent sessions: group an agent's calls, touched on activity without a write per request."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import OperationalError
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from spaces.errors import InvalidInput
from spaces.ids import new_id
from spaces.models import AGENT_SESSION_IDLE_TIMEOUT, AgentSession, ApiToken

# Every write is also a sync: a busy agent's session is written at most once a minute.
AGENT_SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
LABEL_MAX = 100

logger = logging.getLogger("spaces")
_CURRENT = ("id", "label", "created_at", "last_seen_at")  # read with the token


def with_current_session(tokens: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    """``tokens``, each with its current session's fields (``current_session_*``) read in
    the same query: a request that authenticates needs both, and to a distant primary (remote
    mode) every query is a round trip."""
    latest = _active(AgentSession.objects.filter(token=OuterRef("pk"))).order_by(
        "-last_seen_at", "-id"
    )
    return tokens.annotate(
        **{f"current_session_{name}": Subquery(latest.values(name)[:1]) for name in _CURRENT}
    )


def _active(sessions: QuerySet[AgentSession]) -> QuerySet[AgentSession]:
    fresh_after = timezone.now() - AGENT_SESSION_IDLE_TIMEOUT
    return sessions.filter(ended_at__isnull=True, last_seen_at__gt=fresh_after)


def _current_of(token: ApiToken) -> AgentSession | None:
    """The session ``with_current_session`` read along with ``token``."""
    if getattr(token, "current_session_id", None) is None:
        return None
    session = AgentSession(
        user_id=token.user_id,
        token=token,
        ended_at=None,
        **{name: getattr(token, f"current_session_{name}") for name in _CURRENT},
    )
    session._state.adding = False
    session._state.db = token._state.db
    return session


def agent_session_create(*, token: ApiToken, label: str = "") -> AgentSession:
    if not isinstance(label, str) or len(label) > LABEL_MAX:
        raise InvalidInput(f"label must be a string of at most {LABEL_MAX} characters.")
    return AgentSession.objects.create(user=token.user, token=token, label=label)


def agent_session_touch(*, session: AgentSession) -> None:
    """Record activity, writing only when the last write is a minute old or more."""
    now = timezone.now()
    if now - session.last_seen_at >= AGENT_SESSION_TOUCH_INTERVAL:
        try:
            AgentSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        except OperationalError:
            # A bookkeeping write must not turn a read into an error while writes are refused.
            logger.warning("Could not record the activity of agent session %s", session.pk)
            return
        session.last_seen_at = now


def agent_session_end(*, session: AgentSession) -> AgentSession:
    if session.ended_at is None:
        session.ended_at = timezone.now()
        AgentSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            ended_at=session.ended_at
        )
    return session


def agent_session_for_request(
    *, token: ApiToken, header: str | None, start: bool = True
) -> AgentSession | None:
    """The session a token's request belongs to, touched; a new one when there is none and
    ``start`` (a change: reads and read-only tokens never start one, so they cannot fill
    the table), or None when the database refuses writes now (a read goes on without one).

    ``X-Agent-Session`` may carry a session id (as answered in that header) or the agent's
    own label; without it the token's latest active session is used. Ended or expired
    sessions are never resumed: a new one is started (with the same label).
    """
    header = (header or "").strip()[:LABEL_MAX]
    active = _active(AgentSession.objects.filter(token=token))
    if header:
        session = active.filter(pk=header).first() or active.filter(label=header).first()
        label = "" if _looks_like_id(header) else header
    elif hasattr(token, "current_session_id"):  # read with the token
        session, label = _current_of(token), ""
    else:
        session = active.order_by("-last_seen_at", "-id").first()
        label = ""
    if session is None:
        if not start:
            return None
        try:
            session = agent_session_create(token=token, label=label)
        except OperationalError:
            logger.warning("Could not start an agent session for token %s", token.prefix)
            return None
        session.started_by_this_request = True  # type: ignore[attr-defined]
        return session
    session.token = token  # the caller's token is already loaded: spare a query
    agent_session_touch(session=session)
    return session


def _looks_like_id(value: str) -> bool:
    return len(value) == len(new_id()) and value.isalnum() and value.isupper()


def agent_session_start(
    *, token: ApiToken, current: AgentSession | None, label: str
) -> AgentSession:
    """An explicit start: the session this very request started (labelled), or a new one."""
    if current is not None and getattr(current, "started_by_this_request", False):
        if label:
            current.label = label[:LABEL_MAX]
            AgentSession.objects.filter(pk=current.pk).update(label=current.label)
        return current
    return agent_session_create(token=token, label=label)
