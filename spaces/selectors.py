"""Reads: the spaces a user may see, and a space's thoughts, links and history."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from spaces.errors import Forbidden, NotFound
from spaces.models import HistoryEntry, Link, Space, Thought


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


def thought_list(*, space: Space) -> QuerySet[Thought]:
    return space.thoughts.select_related("parent").order_by("position", "key")


def thought_get(*, space: Space, key: str) -> Thought:
    thought = space.thoughts.select_related("parent").filter(key=key).first()
    if thought is None:
        raise NotFound(f"Thought {key!r} not found in this space.")
    return thought


def link_list(*, space: Space) -> QuerySet[Link]:
    return space.links.select_related("source", "target")


def history_list(*, space: Space) -> QuerySet[HistoryEntry]:
    return space.history.select_related("actor")
