"""Proposals: mutations an agent in ``confirm`` mode asks for, applied when a person approves.

Every mutation the API offers is an *operation* here, mapping its name and arguments to one
service function. A direct call (``perform``) and an approved proposal (``proposal_approve``)
run the same operation, so an approval does exactly what the agent would have done itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone

from spaces import selectors, services
from spaces.attribution import credited
from spaces.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from spaces.events import emit_on_commit
from spaces.models import AgentSession, ApiToken, Proposal, Space

Access = Literal["edit", "manage", "self"]
State = dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    """One kind of mutation: what access it needs, how to apply it, what state it depends on."""

    name: str
    access: Access  # edit: editors and the owner; manage: the owner; self: the proposer only
    effect: Literal["create", "update", "delete"]
    # (space, actor, target, payload, base_version) -> the service's result
    apply: Callable[[Space | None, Any, str, dict[str, Any], int | None], Any]
    # (space, target, payload) -> the target's current state; a proposal is stale when it moved
    state: Callable[[Space | None, str, dict[str, Any]], State]
    # (target, payload, state) -> a one-line description
    describe: Callable[[str, dict[str, Any], State], str]


def _space_state(space: Space | None, target: str, payload: dict[str, Any]) -> State:
    assert space is not None
    space.refresh_from_db(fields=["title", "description"])
    return {"title": space.title, "description": space.description}


def _share_state(space: Space | None, target: str, payload: dict[str, Any]) -> State:
    assert space is not None
    member = space.memberships.filter(user__username=payload.get("username")).first()
    return {"username": payload.get("username"), "role": member.role if member else None}


def _thought_state(space: Space | None, target: str, payload: dict[str, Any]) -> State:
    assert space is not None
    key = target or payload.get("key", "")
    thought = space.thoughts.select_related("parent").filter(key=key).first()
    return thought.snapshot() if thought else None


def _link_state(space: Space | None, target: str, payload: dict[str, Any]) -> State:
    assert space is not None
    link = space.links.select_related("source", "target").filter(pk=target).first()
    return link.snapshot() if link else None


def _no_state(space: Space | None, target: str, payload: dict[str, Any]) -> State:
    return None


def _in(space: Space | None) -> Space:
    assert space is not None, "only space.create has no space"
    return space


def _thought(space: Space | None, key: str) -> Any:
    return selectors.thought_get(space=_in(space), key=key)


def _fields(payload: dict[str, Any]) -> str:
    return ", ".join(sorted(payload)) or "nothing"


def _share_text(t: str, p: dict[str, Any], s: State) -> str:
    if p.get("role"):
        return f"Give {p.get('username')} the {p['role']} role"
    return f"Remove {p.get('username')}'s access"


def _link_text(t: str, p: dict[str, Any], s: State) -> str:
    label = f" ({p['label']})" if p.get("label") else ""
    return f"Link {p.get('source')} → {p.get('target')}{label}"


def _link_delete_text(t: str, p: dict[str, Any], s: State) -> str:
    if s is None:
        return f"Delete link {t}"
    label = f" ({s['label']})" if s.get("label") else ""
    return f"Delete link {s['source']} → {s['target']}{label}"


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in [
        Operation(
            "space.create",
            "self",
            "create",
            lambda sp, actor, t, p, v: services.space_create(owner=actor, **p),
            _no_state,
            lambda t, p, s: f"Create the space “{p.get('title')}”",
        ),
        Operation(
            "space.update",
            "edit",
            "update",
            lambda sp, actor, t, p, v: services.space_update(space=_in(sp), actor=actor, changes=p),
            _space_state,
            lambda t, p, s: f"Change the space's {_fields(p)}",
        ),
        Operation(
            "space.delete",
            "manage",
            "delete",
            lambda sp, actor, t, p, v: services.space_delete(space=_in(sp), actor=actor),
            _space_state,
            lambda t, p, s: f"Delete the space “{(s or {}).get('title')}” and everything in it",
        ),
        Operation(
            "space.share",
            "manage",
            "update",
            lambda sp, actor, t, p, v: services.space_share(space=_in(sp), actor=actor, **p),
            _share_state,
            _share_text,
        ),
        Operation(
            "thought.create",
            "edit",
            "create",
            lambda sp, actor, t, p, v: services.thought_create(space=_in(sp), actor=actor, **p),
            _thought_state,
            lambda t, p, s: f"Add the thought “{p.get('key')}”: {p.get('title')}",
        ),
        Operation(
            "thought.update",
            "edit",
            "update",
            lambda sp, actor, t, p, v: services.thought_update(
                thought=_thought(sp, t), actor=actor, changes=p, expected_version=v
            ),
            _thought_state,
            lambda t, p, s: f"Change the {_fields(p)} of the thought “{t}”",
        ),
        Operation(
            "thought.delete",
            "edit",
            "delete",
            lambda sp, actor, t, p, v: services.thought_delete(
                thought=_thought(sp, t), actor=actor, expected_version=v
            ),
            _thought_state,
            lambda t, p, s: f"Delete the thought “{t}” and its links",
        ),
        Operation(
            "link.create",
            "edit",
            "create",
            lambda sp, actor, t, p, v: services.link_create(space=_in(sp), actor=actor, **p),
            _no_state,
            _link_text,
        ),
        Operation(
            "link.delete",
            "edit",
            "delete",
            lambda sp, actor, t, p, v: services.link_delete(space=_in(sp), actor=actor, link_id=t),
            _link_state,
            _link_delete_text,
        ),
    ]
}


def _operation(name: str) -> Operation:
    if name not in OPERATIONS:
        raise InvalidInput(f"Unknown operation {name!r}.")
    return OPERATIONS[name]


def perform(
    *,
    operation: str,
    space: Space | None,
    actor: Any,
    target: str = "",
    payload: dict[str, Any] | None = None,
    base_version: int | None = None,
    agent_session: AgentSession | None = None,
) -> Any:
    """Apply the operation now (a person or a ``direct`` token), credited to the session."""
    op = _operation(operation)
    with credited(agent_session=agent_session):
        return op.apply(space, actor, target, payload or {}, base_version)


class AlreadyDecided(Conflict):
    pass


class _DryRunDone(Exception):
    pass


def _dry_run(op: Operation, proposal: Proposal, actor: Any) -> None:
    """Apply the change and roll it back: a proposal that could not apply is refused at once."""
    # A fresh copy of the space: applying changes (or, deleting, un-sets) the instance's fields.
    space = Space.objects.get(pk=proposal.space_id) if proposal.space_id else None
    try:
        with transaction.atomic():
            p = proposal
            op.apply(space, actor, p.target, p.payload, p.base_version)
            raise _DryRunDone
    except _DryRunDone:
        pass


def _preview(op: Operation, before: State, payload: dict[str, Any]) -> State:
    if op.effect == "delete":
        return None
    if op.effect == "create" or before is None:
        return dict(payload)
    return {**before, **payload}


def _pending_count(space: Space | None) -> int:
    if space is None:
        return 0
    return space.proposals.filter(status=Proposal.Status.PENDING).count()


def _emit(event_type: str, proposal: Proposal) -> None:
    if proposal.space_id is None:
        return
    emit_on_commit(
        {
            "type": event_type,
            "space_id": proposal.space_id,
            "proposal_id": proposal.pk,
            "summary": proposal.summary,
            "status": proposal.status,
            "pending": _pending_count(proposal.space),
        }
    )


def proposal_create(
    *,
    operation: str,
    space: Space | None,
    proposed_by: Any,
    token: ApiToken | None = None,
    agent_session: AgentSession | None = None,
    target: str = "",
    payload: dict[str, Any] | None = None,
    base_version: int | None = None,
) -> Proposal:
    """Record the intended change without applying it; 422/409 if it could not apply now.

    The caller has already checked that ``proposed_by`` may make this change.
    """
    op = _operation(operation)
    payload = payload or {}
    before = op.state(space, target, payload)
    proposal = Proposal(
        space=space,
        operation=op.name,
        target=target,
        payload=payload,
        base_version=base_version,
        before=before,
        after=_preview(op, before, payload),
        summary=op.describe(target, payload, before)[:300],
        proposed_by=proposed_by,
        token=token,
        agent_session=agent_session,
    )
    with transaction.atomic():
        _dry_run(op, proposal, proposed_by)
        proposal.save(force_insert=True)
        _emit("proposal.created", proposal)
    return proposal


def _check_decider(proposal: Proposal, user: Any, token: ApiToken | None) -> Space | None:
    """The proposal's space if ``user`` may decide it: 404 unseen, 403 without the right."""
    if token is not None and token.mode != ApiToken.Mode.DIRECT:
        raise Forbidden(
            f"A token in {token.mode} mode cannot approve or reject proposals: "
            "a person, or a token in direct mode, must decide."
        )
    op = _operation(proposal.operation)
    if proposal.space_id is None:
        if proposal.proposed_by_id != user.pk:
            raise NotFound("Proposal not found.")
        return None
    return selectors.space_get(
        user=user, space_id=proposal.space_id, edit=True, manage=op.access == "manage"
    )


def _stale_detail(before: State, now: State) -> str:
    if before is None:
        return "it exists now"
    if now is None:
        return "it no longer exists"
    if "version" in before and "version" in now and before["version"] != now["version"]:
        return f"it was at version {before['version']} and is now at version {now['version']}"
    changed = sorted(k for k in {*before, *now} if before.get(k) != now.get(k))
    return f"its {', '.join(changed)} changed"


def _decide(proposal: Proposal, status: str, user: Any, note: str) -> None:
    """Mark the proposal decided, unless someone else decided it first."""
    now = timezone.now()
    updated = Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.PENDING).update(
        status=status, decided_by=user, decided_at=now, decision_note=note
    )
    if not updated:
        raise AlreadyDecided("This proposal was decided by someone else meanwhile.")
    _mark(proposal, status, user, now, note)


def _mark(proposal: Proposal, status: str, user: Any, when: Any, note: str) -> None:
    proposal.status, proposal.decided_by, proposal.decided_at = status, user, when
    proposal.decision_note = note


def _require_pending(proposal: Proposal) -> None:
    if proposal.status != Proposal.Status.PENDING:
        raise AlreadyDecided(f"This proposal was already {proposal.status}.")


def proposal_approve(*, proposal: Proposal, approver: Any, token: ApiToken | None = None) -> Any:
    """Apply the proposal as an ordinary write by ``approver``, crediting its agent.

    Refused with 409, and nothing applied, when the target changed since it was proposed.
    Returns what the operation returned (the thought, link or space, or None).
    """
    space = _check_decider(proposal, approver, token)
    _require_pending(proposal)
    op = _operation(proposal.operation)
    now = op.state(space, proposal.target, proposal.payload)
    if now != proposal.before:
        raise Conflict(
            f"Not applied: “{proposal.summary}” was proposed against an older state — "
            f"{_stale_detail(proposal.before, now)}. Reject it and ask the agent to propose "
            "again from the current state."
        )
    try:
        with transaction.atomic():
            _decide(proposal, Proposal.Status.APPROVED, approver, "")
            with credited(agent_session=proposal.agent_session, proposal=proposal):
                result = op.apply(
                    space, approver, proposal.target, proposal.payload, proposal.base_version
                )
            _emit("proposal.approved", proposal)
    except AlreadyDecided:
        raise
    except ServiceError as exc:
        # The decision was rolled back with the change: the proposal stays pending.
        _mark(proposal, Proposal.Status.PENDING, None, None, "")
        raise Conflict(f"Not applied: “{proposal.summary}” no longer fits — {exc.message}") from exc
    return result


def proposal_reject(
    *, proposal: Proposal, decider: Any, token: ApiToken | None = None, reason: str = ""
) -> Proposal:
    """Close the proposal without applying it; ``reason`` is shown to the agent."""
    _check_decider(proposal, decider, token)
    _require_pending(proposal)
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason must be a string of at most 500 characters.", field="reason")
    with transaction.atomic():
        _decide(proposal, Proposal.Status.REJECTED, decider, reason)
        _emit("proposal.rejected", proposal)
    return proposal
