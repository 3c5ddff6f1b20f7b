"""Writes that lost to another replica: found by reconciling the write journal after each
pull, recorded as ``Conflict`` rows, restored or dismissed by people.

The Turso sync engine resolves concurrent writes row by row (last push wins) and drops a
transaction the remote refuses (a thought key another replica took first), without a trace.
So every local write is also journaled outside the replica (syncops.journal). Once a push
has carried it and a pull has brought the remote's state back, ``reconcile()`` decides what
became of each journaled write, by what it did:

- it is there (or later history built on it): done;
- another replica changed the same version of the thought (two history entries with one
  base version) and the row holds the other change: a *concurrent edit* conflict;
- the thought was deleted elsewhere by someone who had not seen the change: an *edit of
  deleted* conflict;
- a created thought vanished because its key was taken on another replica: it is created
  again under its own id with a suffixed key, and a *duplicate key* conflict says so;
- the change simply is not there and nothing competed with it (the remote was reset, or
  the engine dropped it): it is replayed as a new write.

Conflict ids are the lost write's history id, so whichever replica notices a loss records
the same row, and every replica ends with the same list.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import close_old_connections, transaction
from django.utils.dateparse import parse_datetime

from spaces import services
from spaces.errors import Conflict as ConflictError
from spaces.errors import InvalidInput
from spaces.events import emit_on_commit
from spaces.models import Conflict, ConflictResolution, HistoryEntry, Link, Space, Thought
from syncops import journal

logger = logging.getLogger("spaces")
Action = HistoryEntry.Action
Kind = Conflict.Kind
CONTENT_FIELDS = ("title", "body", "kind", "metadata", "parent", "position")
_reconcile_lock = threading.Lock()


@dataclass
class Outcome:
    """What reconciling the journal found: counts by outcome, for logs and tests."""

    confirmed: int = 0
    replayed: int = 0
    conflicts: list[str] = field(default_factory=list)
    kept: int = 0  # undecided, kept for the next pull


def content(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (snapshot or {}).get(name) for name in CONTENT_FIELDS}


# --- recording and resolving ---------------------------------------------------------------


def conflict_record(
    *,
    history_id: str,
    space: Space,
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
        if created:
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
        logger.warning("Conflict in space %s: %s", space.pk, detail)
    return conflict


def conflict_restore(*, conflict: Conflict, actor: Any) -> Any:
    """Make the lost version current again, as a new ordinary write; returns what it wrote."""
    _check_open(conflict)
    space, lost = conflict.space, conflict.lost or {}
    with transaction.atomic():
        if conflict.action == Action.LINK_CREATED:
            result: Any = services.link_create(
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
            result = _restore_thought(space=space, lost=lost, actor=actor)
        _resolve(conflict, actor=actor, status=Conflict.Status.RESTORED)
    return result


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
    services._record(
        space=conflict.space,
        action=Action.CONFLICT_RESOLVED,
        actor=actor,
        thought_key=conflict.thought_key,
        after={"conflict": conflict.pk, "status": status},
    )


# --- reconciling the journal -----------------------------------------------------------------


def on_pulled(sender: Any = None, **kwargs: Any) -> None:
    """After every pull: reconcile, on a thread of its own (its connections close with it)."""
    worker = threading.Thread(target=_reconcile_and_close, name="spaces-reconcile")
    worker.start()
    worker.join()


def _reconcile_and_close() -> None:
    try:
        reconcile()
    except Exception:
        logger.exception("Reconciling the write journal failed; it is retried after the next pull")
    finally:
        close_old_connections()


def reconcile() -> Outcome:
    """Decide what became of every journaled write a push has carried (see the module doc)."""
    outcome = Outcome()
    with _reconcile_lock:
        for entry in journal.pushed():
            try:
                decided = _reconcile(entry.key, entry.payload, outcome)
            except (InvalidInput, ConflictError) as exc:
                logger.warning("Could not replay %s (%s): %s", entry.key, entry.payload, exc)
                decided = True  # a replay the data no longer allows; the journal cannot help
            if decided:
                journal.resolve(entry.key)
            else:
                outcome.kept += 1
    if outcome.conflicts or outcome.replayed:
        logger.warning(
            "Journal reconciled: %d confirmed, %d replayed, %d conflict(s)",
            outcome.confirmed,
            outcome.replayed,
            len(outcome.conflicts),
        )
    return outcome


def _reconcile(key: str, payload: dict[str, Any], outcome: Outcome) -> bool:
    space = Space.objects.filter(pk=payload.get("space_id")).first()
    action = payload.get("action")
    if space is None or action not in _BY_ACTION:
        outcome.confirmed += 1  # the space is gone, or a space-level change: nothing to keep
        return True
    return _BY_ACTION[action](key, payload, space, outcome)


def _actor(payload: dict[str, Any]) -> Any:
    actor_id = payload.get("actor_id")
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else None


def _entries(space: Space, key: str, thought_id: str) -> list[HistoryEntry]:
    """History of one thought (by id: a key can be reused after a delete)."""
    entries = HistoryEntry.objects.filter(
        space=space,
        thought_key=key,
        action__in=[Action.NODE_CREATED, Action.NODE_UPDATED, Action.NODE_DELETED],
    )
    return [e for e in entries if (e.after or e.before or {}).get("id") == thought_id]


def _conflict(
    key: str, payload: dict[str, Any], space: Space, outcome: Outcome, **values: Any
) -> None:
    conflict_record(
        history_id=key,
        space=space,
        action=payload["action"],
        thought_key=payload.get("thought_key", ""),
        actor_name=payload.get("actor_name", ""),
        lost_at=payload.get("created_at"),
        **values,
    )
    outcome.conflicts.append(values["kind"])


def _node_created(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    after = payload["after"]
    thought_id, thought_key = after["id"], after["key"]
    if Thought.objects.filter(pk=thought_id).exists() or any(
        e.action == Action.NODE_DELETED for e in _entries(space, thought_key, thought_id)
    ):
        outcome.confirmed += 1
        return True
    fields = {**content(after), "parent": None}
    parent = after.get("parent")
    if parent and space.thoughts.filter(key=parent).exists():
        fields["parent"] = parent
    taken_by = space.thoughts.filter(key=thought_key).first()
    if taken_by is None:  # never reached the remote and nothing competed: write it again
        services.thought_create(
            space=space, actor=_actor(payload), key=thought_key, thought_id=thought_id, **fields
        )
        outcome.replayed += 1
        return True
    kept = services.thought_create(
        space=space,
        actor=_actor(payload),
        key=_free_key(space, thought_key, thought_id),
        thought_id=thought_id,
        **fields,
    )
    _conflict(
        key,
        payload,
        space,
        outcome,
        kind=Kind.DUPLICATE_KEY,
        lost=after,
        kept=kept.snapshot(),
        detail=(
            f"{payload.get('actor_name')} created {thought_key!r} while another replica created "
            f"a different thought with the same key; theirs keeps {thought_key!r}, this one is "
            f"kept as {kept.key!r}."
        ),
    )
    return True


def _free_key(space: Space, key: str, thought_id: str) -> str:
    """``key`` with a suffix from the thought's id: the same on every replica."""
    suffix = thought_id[-6:].lower()
    candidate = f"{key[: 80 - len(suffix) - 1]}-{suffix}"
    number = 2
    while space.thoughts.filter(key=candidate).exists():
        tail = f"{suffix}-{number}"
        candidate = f"{key[: 80 - len(tail) - 1]}-{tail}"
        number += 1
    return candidate


def _node_updated(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    before, after, base = payload["before"], payload["after"], payload["base_version"]
    thought_id, thought_key = before["id"], before["key"]
    entries = _entries(space, thought_key, thought_id)
    thought = Thought.objects.filter(pk=thought_id).first()
    siblings = [e for e in entries if e.pk != key and e.base_version == base]
    if thought is None:
        deletes = [e for e in entries if e.action == Action.NODE_DELETED]
        if deletes and all((e.base_version or 0) > base for e in deletes):
            outcome.confirmed += 1  # deleted later, by someone who had seen this change
            return True
        _conflict(
            key,
            payload,
            space,
            outcome,
            kind=Kind.EDIT_OF_DELETED if deletes else Kind.DROPPED,
            lost=after,
            kept=None,
            detail=(
                _edited_deleted(thought_key, payload.get("actor_name", ""))
                if deletes
                else f"The change of {thought_key!r} by {payload.get('actor_name')} and the "
                "thought itself are gone from the remote; restore brings this version back."
            ),
        )
        return True
    current = thought.snapshot()
    built_upon = any(
        e.base_version == after["version"] and content(e.before) == content(after) for e in entries
    )
    if content(current) == content(after) or built_upon:
        outcome.confirmed += 1
        for sibling in siblings:  # this change won: record the ones it overwrote
            if sibling.action == Action.NODE_UPDATED and content(sibling.after) != content(after):
                _conflict(
                    sibling.pk,
                    _payload_of(sibling),
                    space,
                    outcome,
                    kind=Kind.CONCURRENT_EDIT,
                    lost=sibling.after,
                    kept=current,
                    detail=_overwritten(thought_key, sibling.actor_name, payload["actor_name"]),
                )
        return True
    if siblings or thought.version != base:
        winner = siblings[0].actor_name if siblings else "another replica"
        _conflict(
            key,
            payload,
            space,
            outcome,
            kind=Kind.CONCURRENT_EDIT,
            lost=after,
            kept=current,
            detail=_overwritten(thought_key, payload.get("actor_name", ""), winner),
        )
        return True
    services.thought_update(thought=thought, actor=_actor(payload), changes=content(after))
    outcome.replayed += 1
    return True


def _edited_deleted(key: str, editor: str) -> str:
    return (
        f"{editor} changed {key!r} while it was deleted on another replica; the thought "
        "stays deleted, restore brings back this version."
    )


def _overwritten(key: str, loser: str, winner: str) -> str:
    return (
        f"{loser} and {winner} changed {key!r} from the same version on two replicas; "
        f"{winner}'s change was kept, restore brings back {loser}'s."
    )


def _payload_of(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "action": entry.action,
        "thought_key": entry.thought_key,
        "actor_name": entry.actor_name,
        "created_at": entry.created_at.isoformat(),
    }


def _node_deleted(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    before = payload["before"]
    thought = Thought.objects.filter(pk=before["id"]).first()
    if thought is None:
        outcome.confirmed += 1
        # The delete won: changes made elsewhere to the same version were lost with it.
        for entry in _entries(space, before["key"], before["id"]):
            if entry.action == Action.NODE_UPDATED and entry.base_version == before["version"]:
                _conflict(
                    entry.pk,
                    _payload_of(entry),
                    space,
                    outcome,
                    kind=Kind.EDIT_OF_DELETED,
                    lost=entry.after,
                    kept=None,
                    detail=_edited_deleted(before["key"], entry.actor_name),
                )
        return True
    if thought.version == before["version"]:
        services.thought_delete(thought=thought, actor=_actor(payload))  # never arrived
        outcome.replayed += 1
        return True
    _conflict(
        key,
        payload,
        space,
        outcome,
        kind=Kind.CONCURRENT_EDIT,
        lost=None,
        kept=thought.snapshot(),
        detail=(
            f"{payload.get('actor_name')} deleted {before['key']!r} while it was changed on "
            "another replica; the changed thought was kept, restore deletes it."
        ),
    )
    return True


def _link_created(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    after = payload["after"]
    ends = {t.key: t for t in space.thoughts.filter(key__in=[after["source"], after["target"]])}
    deleted_later = HistoryEntry.objects.filter(
        space=space, action=Action.LINK_DELETED, thought_key=after["source"]
    )
    if (
        Link.objects.filter(pk=after["id"]).exists()
        or any((e.before or {}).get("id") == after["id"] for e in deleted_later)
        or space.links.filter(
            source__key=after["source"], target__key=after["target"], label=after["label"]
        ).exists()
    ):
        outcome.confirmed += 1
        return True
    if len(ends) == 2:
        services.link_create(
            space=space,
            actor=_actor(payload),
            source=after["source"],
            target=after["target"],
            label=after["label"],
        )
        outcome.replayed += 1
        return True
    missing = sorted({after["source"], after["target"]} - set(ends))
    _conflict(
        key,
        payload,
        space,
        outcome,
        kind=Kind.DROPPED,
        lost=after,
        kept=None,
        detail=(
            f"The link {after['source']} → {after['target']} by {payload.get('actor_name')} "
            f"was lost: {', '.join(missing)} was deleted on another replica."
        ),
    )
    return True


def _link_deleted(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    link_id = payload["before"]["id"]
    if Link.objects.filter(pk=link_id).exists():
        services.link_delete(space=space, actor=_actor(payload), link_id=link_id)
        outcome.replayed += 1
    else:
        outcome.confirmed += 1
    return True


_BY_ACTION = {
    Action.NODE_CREATED: _node_created,
    Action.NODE_UPDATED: _node_updated,
    Action.NODE_DELETED: _node_deleted,
    Action.LINK_CREATED: _link_created,
    Action.LINK_DELETED: _link_deleted,
}
