"""The agents' part of the JSON API: proposals to approve or reject, and agent sessions."""

# No ``from __future__ import annotations``: ninja reads these query types at runtime.
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from spaces import agents, proposals, selectors
from spaces.errors import Forbidden
from spaces.models import ApiToken
from spaces.schemas import (
    AgentSessionIn,
    AgentSessionOut,
    Error,
    NotNull,
    Pagination,
    ProposalOut,
    RejectIn,
)

router = Router()
ERRORS = {status: Error for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)}
READ_ERRORS = {status: Error for status in (401, 404, 422, 429, 503)}


StatusFilter = Literal["pending", "approved", "rejected"]


def _token(request: HttpRequest) -> Any:
    return getattr(request, "api_token", None)


# --- proposals ---------------------------------------------------------------------------


@router.get("/proposals", response={200: list[ProposalOut], **READ_ERRORS}, tags=["proposals"])
@paginate(Pagination)
def list_proposals(
    request: HttpRequest, status: StatusFilter | None = None, space_id: str | None = None
) -> Any:
    """Proposals on the spaces you can see, newest first; filter with `status=pending` and
    `space_id`. An agent polls its proposal here (or at /api/proposals/{id}) to learn
    whether it was approved or rejected, and why."""
    return selectors.proposal_list(user=request.user, status=status, space_id=space_id)


@router.get("/proposals/{proposal_id}", response={200: ProposalOut, **ERRORS}, tags=["proposals"])
def get_proposal(request: HttpRequest, proposal_id: str) -> Any:
    """One proposal: the intended change, its diff, who proposed it and its decision."""
    return selectors.proposal_get(user=request.user, proposal_id=proposal_id)


@router.post(
    "/proposals/{proposal_id}/approve",
    response={200: ProposalOut, **ERRORS},
    tags=["proposals"],
)
def approve_proposal(request: HttpRequest, proposal_id: str) -> Any:
    """Apply the proposed change as an ordinary write by you, crediting the agent in history.

    Needs edit rights on the space (the owner for deleting and sharing it), and a person or a
    `direct` token. A proposal whose target changed since it was made answers 409 and
    nothing is applied; so does one already decided.
    """
    proposal = selectors.proposal_get(user=request.user, proposal_id=proposal_id)
    proposals.proposal_approve(proposal=proposal, approver=request.user, token=_token(request))
    return proposal


@router.post(
    "/proposals/{proposal_id}/reject",
    response={200: ProposalOut, **ERRORS},
    tags=["proposals"],
)
def reject_proposal(
    request: HttpRequest, proposal_id: str, payload: RejectIn | NotNull = None
) -> Any:
    """Close the proposal without applying it; the optional `reason` is shown to the agent.
    The same people may reject as may approve."""
    proposal = selectors.proposal_get(user=request.user, proposal_id=proposal_id)
    reason = payload.reason if payload is not None else ""
    return proposals.proposal_reject(
        proposal=proposal, decider=request.user, token=_token(request), reason=reason
    )


# --- agent sessions ----------------------------------------------------------------------


def _require_token(request: HttpRequest) -> Any:
    token = _token(request)
    if token is None:
        raise Forbidden("Agent sessions belong to API tokens: call with a bearer token.")
    return token


@router.get(
    "/agent-sessions", response={200: list[AgentSessionOut], **READ_ERRORS}, tags=["agent sessions"]
)
@paginate(Pagination)
def list_agent_sessions(request: HttpRequest) -> Any:
    """Your agents' sessions, newest first."""
    return request.user.agent_sessions.select_related("token__user")  # type: ignore[union-attr]


@router.post(
    "/agent-sessions",
    response={201: AgentSessionOut, **ERRORS},
    tags=["agent sessions"],
)
def start_agent_session(request: HttpRequest, payload: AgentSessionIn) -> Any:
    """Start a session explicitly (optional: a token's first change starts one). Send its `id`
    as `X-Agent-Session` on later calls; every answer to a token names its session there."""
    token = _require_token(request)
    if token.mode == ApiToken.Mode.READ:
        raise Forbidden("A read-only token makes no changes, so it has no agent sessions.")
    session = agents.agent_session_start(
        token=token,
        current=getattr(request, "agent_session", None),
        label=payload.label,
    )
    request.agent_session = session  # type: ignore[attr-defined]
    return Status(201, session)


@router.delete(
    "/agent-sessions/{session_id}",
    response={200: AgentSessionOut, **ERRORS},
    tags=["agent sessions"],
)
def end_agent_session(request: HttpRequest, session_id: str) -> Any:
    """End a session when the agent's work is done (it also expires after 30 idle minutes).
    A later call with its id starts a new session."""
    session = selectors.agent_session_get(user=request.user, session_id=session_id)
    return agents.agent_session_end(session=session)
