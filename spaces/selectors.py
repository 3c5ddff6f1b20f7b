"""Reads: the spaces a user may see; a space's thoughts, links and history; proposals and
agent sessions."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from spaces.errors import Forbidden, NotFound
from spaces.models import (
    AgentSession,
    Conflict,
    HistoryEntry,
    Link,
    Proposal,
    Space,
    Thought,
)


def space_list(*, user: Any) -> QuerySet[Space]:
    """Spaces the user owns or is a member of."""
    if not user.is_authenticated:
        return Space.objects.none()
    return (
        Space.objects.filter(Q(owner=user) | Q(memberships__user=user))
        .distinct()
        .select_related("owner")
    )


def space_get(*, user: Any, space_id: str, edit: bool = False, manage: bool = False) -> Space:
    """The space if the user may see it (404 otherwise); 403 when they may see but not edit."""
    space = Space.objects.select_related("owner").filter(pk=space_id).first()
    role = space.role_of(user) if space else None
    if space is None or role is None:
        raise NotFound("Space not found.")
    if manage and role != "owner":
        raise Forbidden("Only the owner of this space can do that.")
    if edit and role not in ("owner", "editor"):
        raise Forbidden("You have read-only access to this space.")
    space.user_role = role  # type: ignore[attr-defined]
    return space


def thought_list(*, space: Space, with_parents: bool = True) -> QuerySet[Thought]:
    """The space's thoughts in page order; ``with_parents=False`` when only ``parent_id`` is
    read (the space page builds its tree from ids: the join doubled its model instances)."""
    thoughts = space.thoughts.order_by("position", "key")
    return thoughts.select_related("parent") if with_parents else thoughts


def thought_get(*, space: Space, key: str) -> Thought:
    thought = space.thoughts.select_related("parent").filter(key=key).first()
    if thought is None:
        raise NotFound(f"Thought {key!r} not found in this space.")
    return thought


def link_list(*, space: Space) -> QuerySet[Link]:
    return space.links.select_related("source", "target")


def history_list(*, space: Space) -> QuerySet[HistoryEntry]:
    return space.history.select_related(
        "actor", "agent_session__token__user", "proposal__token__user", "proposal__proposed_by"
    )


def proposal_list(
    *, user: Any, status: str | None = None, space_id: str | None = None
) -> QuerySet[Proposal]:
    """Proposals on the spaces the user can see, and the new spaces the user proposed."""
    proposals = Proposal.objects.filter(
        Q(space__in=space_list(user=user)) | Q(space__isnull=True, proposed_by=user)
    ).select_related("space", "proposed_by", "decided_by", "token__user", "agent_session")
    if status:
        proposals = proposals.filter(status=status)
    if space_id:
        proposals = proposals.filter(space_id=space_id)
    return proposals


def proposal_get(*, user: Any, proposal_id: str) -> Proposal:
    proposal = proposal_list(user=user).filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound("Proposal not found.")
    return proposal


def pending_proposal_count(*, space: Space) -> int:
    return space.proposals.filter(status=Proposal.Status.PENDING).count()


def agent_session_list(*, space: Space) -> QuerySet[AgentSession]:
    """Agent sessions that proposed or changed something in the space, newest first."""
    return (
        AgentSession.objects.filter(Q(history__space=space) | Q(proposals__space=space))
        .distinct()
        .select_related("token__user", "user")
    )


def agent_session_get(*, user: Any, session_id: str) -> AgentSession:
    session = AgentSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        raise NotFound("Agent session not found.")
    return session


def conflict_list(*, space: Space, status: str | None = "open") -> QuerySet[Conflict]:
    """The space's conflicts, newest first; ``status`` None for all of them."""
    conflicts = space.conflicts.select_related("resolution__resolved_by")
    if status == Conflict.Status.OPEN:
        return conflicts.filter(resolution__isnull=True)
    return conflicts.filter(resolution__status=status) if status else conflicts


def conflict_get(*, space: Space, conflict_id: str) -> Conflict:
    conflict = space.conflicts.filter(pk=conflict_id).first()
    if conflict is None:
        raise NotFound("Conflict not found in this space.")
    return conflict


def open_conflict_count(*, space: Space, thought_key: str | None = None) -> int:
    conflicts = space.conflicts.filter(resolution__isnull=True)
    return conflicts.filter(thought_key=thought_key).count() if thought_key else conflicts.count()
