"""Writes that lost to another replica, recorded as ``Conflict`` rows (by spaces.reconcile,
after each pull), restored or dismissed by people.

Conflict ids are the lost write's history id (or the id of the row that lost), so whichever
replica notices a loss records the same row, and every replica ends with the same list.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.dateparse import parse_datetime

from spaces import services
from spaces.errors import Conflict as ConflictError
from spaces.events import emit_on_commit
from spaces.models import Conflict, ConflictResolution, HistoryEntry, Space, Thought

logger = logging.getLogger("spaces")
Action = HistoryEntry.Action
Kind = Conflict.Kind
CONTENT_FIELDS = ("title", "body", "kind", "metadata", "parent", "position")


def content(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (snapshot or {}).get(name) for name in CONTENT_FIELDS}


# --- recording and resolving ---------------------------------------------------------------


def conflict_record(
    *,
    history_id: str,
    space: Space | None,
    kind: str,
    action: str,
    thought_key: str,
    lost: dict[str, Any] | None,
    kept: dict[str, Any] | None,
    detail: str,
    actor_name: str,
    lost_at: str | None,
) -> Conflict:
    """Record that the write ``history_id`` lost (once: the id is the lost write's)."""
    with transaction.atomic():
        conflict, created = Conflict.objects.get_or_create(
            id=history_id,
            defaults={
                "space": space,
                "kind": kind,
                "action": action,
                "thought_key": thought_key,
                "lost": lost,
                "kept": kept,
                "detail": detail[:500],
                "actor_name": actor_name,
                "lost_at": parse_datetime(lost_at) if lost_at else None,
            },
        )
        if created and space is not None:
            emit_on_commit(
                {
                    "type": "conflict.recorded",
                    "space_id": space.pk,
                    "key": thought_key or None,
                    "conflict_id": conflict.pk,
                    "actor": actor_name,
                    "data": {"kind": kind, "detail": conflict.detail},
                }
            )
    if created:
        logger.warning("Conflict in space %s: %s", getattr(space, "pk", None), detail)
    return conflict


def conflict_restore(*, conflict: Conflict, actor: Any) -> Any:
    """Make the lost version current again, as a new ordinary write; returns what it wrote."""
    _check_open(conflict)
    space, lost = conflict.space, conflict.lost or {}
    if space is None:
        raise ConflictError("This conflict is about an account: dismiss it once you have looked.")
    with transaction.atomic():
        if conflict.action == Action.SPACE_UPDATED:
            result: Any = services.space_update(
                space=space, actor=actor, changes={k: lost[k] for k in ("title", "description")}
            )
        elif conflict.action == Action.SPACE_SHARED:
            person = get_user_model().objects.filter(pk=lost.get("user_id", 0)).first()
            if person is None:
                raise ConflictError("The account this access was for no longer exists.")
            result = services.space_share(
                space=space, actor=actor, username=person.get_username(), role=lost.get("role")
            )
        elif conflict.action == Action.LINK_CREATED:
            _bring_back(space, [lost.get("source", ""), lost.get("target", "")], actor)
            result = services.link_create(
                space=space,
                actor=actor,
                source=lost.get("source", ""),
                target=lost.get("target", ""),
                label=lost.get("label", ""),
            )
        elif conflict.action == Action.NODE_DELETED:
            thought = space.thoughts.filter(key=conflict.thought_key).first()
            if thought is not None:
                services.thought_delete(thought=thought, actor=actor)
            result = None
        elif conflict.kind == Kind.DUPLICATE_KEY:
            raise ConflictError(
                f"Nothing to restore: the thought is kept as {(conflict.kept or {}).get('key')!r}; "
                "dismiss the conflict once you have looked at both."
            )
        else:
            _bring_back(space, [lost.get("parent") or ""], actor)
            result = _restore_thought(space=space, lost=lost, actor=actor)
        _resolve(conflict, actor=actor, status=Conflict.Status.RESTORED)
    return result


def _bring_back(space: Space, keys: list[str], actor: Any) -> None:
    """Recreate thoughts among ``keys`` that were deleted (a link or child made on another
    replica refers to them), as they were when deleted."""
    for key in keys:
        if not key or space.thoughts.filter(key=key).exists():
            continue
        deleted = (
            HistoryEntry.objects.filter(space=space, action=Action.NODE_DELETED, thought_key=key)
            .order_by("-id")
            .first()
        )
        if deleted is not None and deleted.before:
            _restore_thought(space=space, lost=deleted.before, actor=actor)


def _restore_thought(*, space: Space, lost: dict[str, Any], actor: Any) -> Thought:
    changes = content(lost)
    parent = changes.pop("parent")
    if parent and not space.thoughts.filter(key=parent).exists():
        parent = None  # its parent is gone too: restore it at the top level
    thought = space.thoughts.filter(id=lost.get("id")).first()
    if thought is not None:
        return services.thought_update(
            thought=thought, actor=actor, changes={**changes, "parent": parent}
        )
    key = lost.get("key", "")
    if space.thoughts.filter(key=key).exists():
        raise ConflictError(
            f"A thought with key {key!r} exists again; restore needs its key free. Rename or "
            "delete that thought first, or dismiss this conflict."
        )
    return services.thought_create(
        space=space, actor=actor, key=key, parent=parent, thought_id=lost.get("id"), **changes
    )


def conflict_dismiss(*, conflict: Conflict, actor: Any) -> Conflict:
    """Leave things as they are and close the conflict."""
    _check_open(conflict)
    with transaction.atomic():
        _resolve(conflict, actor=actor, status=Conflict.Status.DISMISSED)
    return conflict


def _check_open(conflict: Conflict) -> None:
    if not conflict.is_open:
        raise ConflictError(f"This conflict was {conflict.status} already.")


def _resolve(conflict: Conflict, *, actor: Any, status: str) -> None:
    conflict.resolution = ConflictResolution.objects.create(
        conflict=conflict, status=status, resolved_by=actor
    )
    if conflict.space is None:
        return
    services._record(
        space=conflict.space,
        action=Action.CONFLICT_RESOLVED,
        actor=actor,
        thought_key=conflict.thought_key,
        after={"conflict": conflict.pk, "status": status},
    )
