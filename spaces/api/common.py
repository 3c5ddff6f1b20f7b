"""What every endpoint of the JSON API shares: the error responses, and ``perform``, which
makes a change as the caller or, for a token in ``confirm`` mode, proposes it (202); a
``read`` token's change is refused."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest

from spaces import proposals, selectors
from spaces.errors import (
    Forbidden,
    PreconditionFailed,
)
from spaces.models import ApiToken, Proposal, Thought
from spaces.schemas import (
    Error,
    ProposalOut,
)

ERRORS = {
    **{status: Error for status in (400, 401, 403, 404, 409, 412, 413, 422, 429)},
    503: Error,  # the database cannot take the request now (with Retry-After)
}
CONFLICT_STATUS = "^(open|restored|dismissed|all)$"
READ_ERRORS = {status: Error for status in (401, 404, 422, 429, 503)}
PROPOSED = {202: ProposalOut}  # what a token in confirm mode gets instead of the change
CONFIRM_NOTE = " A token in confirm mode gets 202 with a proposal instead; a read token 403."


class Proposed(Exception):
    """The change was recorded as a proposal instead of being made: answered 202."""

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(proposal.summary)
        self.proposal = proposal


def perform(
    request: HttpRequest,
    operation: str,
    *,
    space: Any,
    target: str = "",
    payload: dict[str, Any] | None = None,
    base_version: int | None = None,
) -> Any:
    """Make the change as the caller, or propose it for a token in confirm mode (202)."""
    token: ApiToken | None = getattr(request, "api_token", None)
    agent_session = getattr(request, "agent_session", None)
    if token is not None and token.mode == ApiToken.Mode.READ:
        raise Forbidden("This token is read-only: it can read but not change anything.")
    if token is not None and token.mode == ApiToken.Mode.CONFIRM:
        raise Proposed(
            proposals.proposal_create(
                operation=operation,
                space=space,
                proposed_by=request.user,
                token=token,
                agent_session=agent_session,
                target=target,
                payload=payload,
                base_version=base_version,
            )
        )
    return proposals.perform(
        operation=operation,
        space=space,
        actor=request.user,
        target=target,
        payload=payload,
        base_version=base_version,
        agent_session=agent_session,
    )


def space_for(request: HttpRequest, space_id: str, **access: bool) -> Any:
    return selectors.space_get(user=request.user, space_id=space_id, **access)


def expected_version(request: HttpRequest, thought: Thought) -> int | None:
    """The version named by ``If-Match`` (None when absent or ``*``); 412 when it is another."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag == thought.etag:
            return thought.version
        thought_id, _, version = tag.strip('"').rpartition(".")
        if thought_id == thought.id and version.isdigit():
            return int(version)
    raise PreconditionFailed(
        f"If-Match {header} does not match thought {thought.key!r} (ETag {thought.etag}): "
        "it changed since you read it. Fetch it again and retry."
    )


def with_role(space: Any, user: Any) -> Any:
    space.role = space.role_of(user)
    return space
