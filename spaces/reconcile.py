"""How the domain's lost writes are reconciled (syncops.reconcile calls these after a pull).

Every write of the domain writes a ``HistoryEntry`` in its transaction, so the history row is
the unit reconciled: the row changes of a thought, link, space or membership made in the same
transaction are decided by their history entry (``history_policy``), which knows what the write
meant. What became of it, by what it did:

- it is there (or later history built on it): done;
- another replica changed the same version of the thought, space or share (two history entries
  with one base) and the row holds the other change: a *concurrent edit* conflict (for access,
  the safer role stays: a revocation or a lower role wins, and the higher grant is the conflict);
- the thought was deleted elsewhere by someone who had not seen the change: *edit of deleted*;
- a created thought vanished because its key was taken on another replica: it is created again
  under its own id with a suffixed key, and a *duplicate key* conflict says so;
- the change is not there and nothing competed with it (the remote was reset, or the engine
  dropped it): it is replayed as a new write; a replay the data no longer allows is a *dropped*
  conflict, never a silent loss.

Rows that refer to a thought deleted on another replica (a link to it, a child of it) become
*dangling* conflicts that can bring the thought back. Two replicas that created one username
keep both accounts: the later is renamed the same way on every replica, with a conflict.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models
from django.utils.dateparse import parse_datetime

from spaces import services
from spaces.conflicts import Action, Kind, conflict_record, content
from spaces.errors import Conflict as ConflictError
from spaces.errors import InvalidInput
from spaces.models import (
    AgentSession,
    ApiToken,
    Conflict,
    ConflictResolution,
    HistoryEntry,
    Invitation,
    Link,
    Membership,
    Proposal,
    Role,
    SignupSetting,
    Space,
    Thought,
    ThoughtEmbedding,
)
from syncops import reconcile as syncops_reconcile
from syncops import tombstones
from syncops.policies import Change, on_orphan, register
from syncops.reconcile import derived, insert_row, replay_row

logger = logging.getLogger("spaces")
HISTORY = HistoryEntry._meta.db_table
# Rows whose changes are decided by the history entry written in the same transaction.
COVERED = (Thought, Link, Space, Membership)
ROLE_RANK = {None: 0, Role.VIEWER: 1, Role.EDITOR: 2}


@dataclass
class Outcome:
    """What the domain's policies found in one reconciliation: for logs and tests."""

    confirmed: int = 0
    as_written: int = 0  # row changes found as written: decided without the rules
    replayed: int = 0
    conflicts: list[str] = field(default_factory=list)


_outcome = Outcome()


def reconcile() -> Outcome:
    """Reconcile the journal now (syncops.reconcile) and say what the domain's policies did."""
    global _outcome
    _outcome = Outcome()
    _outcome.as_written = syncops_reconcile.reconcile().as_written
    return _outcome


def register_policies() -> None:
    """Declare the policy of every table the domain owns, and of the accounts."""
    register(HistoryEntry, history_policy, settled=_settled)
    for covered in COVERED:
        register(covered, covered_by_history)
    for model in (
        ApiToken,
        AgentSession,
        Proposal,
        Conflict,
        ConflictResolution,
        Invitation,  # the membership it gives is a space.shared history entry
        SignupSetting,  # an append-only log: the newest row decides
    ):
        register(model, replay_row)
    register(ThoughtEmbedding, derived, journal=False)  # computed again from the thought
    register(get_user_model(), user_policy)
    on_orphan(Link, "source", dangling_link)
    on_orphan(Link, "target", dangling_link)
    on_orphan(Thought, "parent", orphaned_child)


# --- the policies -----------------------------------------------------------------------------


# A change that won may have overwritten another replica's change of the same version, which
# that replica can no longer see (it confirmed its own before ours arrived): these actions
# are always decided by their rules, which record it.
_WINNER_RECORDS = frozenset(
    {Action.NODE_UPDATED, Action.NODE_DELETED, Action.SPACE_UPDATED, Action.SPACE_SHARED}
)


def _settled(change: Change) -> bool:
    return (change.after or {}).get("action") not in _WINNER_RECORDS


def covered_by_history(change: Change, txn: Sequence[Change]) -> bool:
    """Decided by the history entry of the same transaction; without one, replayed as a row."""
    if any(other.table == HISTORY and other.op == "insert" for other in txn):
        return True
    return replay_row(change, txn)


def history_policy(change: Change, txn: Sequence[Change]) -> bool:
    if change.op != "insert" or not change.after:
        return True  # history is append-only: a delete came with its space
    payload = _payload(change.after)
    space = Space.objects.filter(pk=payload["space_id"]).first()
    action = payload["action"]
    if space is None and not tombstones.was_deleted(Space._meta.db_table, payload["space_id"]):
        # The space itself never arrived (its transaction was dropped): write it all again.
        for other in sorted(txn, key=lambda other: other.seq):
            replay_row(other, txn)
        _outcome.replayed += 1
        return True
    if space is None or action not in _BY_ACTION:
        _outcome.confirmed += 1  # the space was deleted, or nothing to decide
        return True
    try:
        return _BY_ACTION[action](str(change.row), payload, space, _outcome)
    except (KeyError, TypeError) as exc:
        # Not what the services write (a bulk import, an older version): the rules cannot
        # read it, so the entry is kept as a row like any other.
        logger.info("History entry %s has no %s: reconciled as a row", change.row, exc)
        return replay_row(change, txn)
    except (InvalidInput, ConflictError, IntegrityError) as exc:
        # The data no longer allows the write: kept as a conflict, never dropped.
        _conflict(
            str(change.row),
            payload,
            space,
            _outcome,
            kind=Kind.DROPPED,
            lost=payload.get("after") or payload.get("before"),
            kept=None,
            detail=f"{payload.get('actor_name')}'s {action} could not be put back: {exc}",
        )
        return True


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    """A history row, as the journal captured it, in the shape the rules read."""

    def loads(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return {
        "space_id": row["space_id"],
        "action": row["action"],
        "thought_key": row.get("thought_key") or "",
        "before": loads(row.get("before")),
        "after": loads(row.get("after")),
        "base_version": row.get("base_version"),
        "actor_id": row.get("actor_id"),
        "actor_name": row.get("actor_name") or "",
        "created_at": _aware(row.get("created_at")),
    }


def _aware(value: Any) -> str | None:
    """A datetime column as stored (naive UTC text), as ISO text with its zone."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def user_policy(change: Change, txn: Sequence[Change]) -> bool:
    """Accounts replay like rows; an account whose username another replica took meanwhile
    is kept under ``<name>-<id suffix>`` (the same on every replica), with a conflict."""
    User = get_user_model()
    after = change.after or {}
    if change.op != "insert" or User.objects.filter(pk=change.row).exists():
        return replay_row(change, txn)
    name = after.get("username", "")
    if not User.objects.filter(username=name).exists():
        return replay_row(change, txn)
    renamed = f"{name[:140]}-{str(change.row)[-6:]}"
    insert_row(User._meta.db_table, {**after, "username": renamed})
    conflict_record(
        history_id=f"user-{change.row}"[:26],
        space=None,
        kind=Kind.DUPLICATE_KEY,
        action="user.created",
        thought_key="",
        lost={"username": name, "id": change.row},
        kept={"username": renamed, "id": change.row},
        detail=(
            f"Two replicas created a user named {name!r} at once; the later account was kept "
            f"as {renamed!r} (it signs in with that name and its own password)."
        ),
        actor_name="",
        lost_at=None,
    )
    _outcome.conflicts.append(Kind.DUPLICATE_KEY)
    return True


def dangling_link(link: models.Model, fk: models.ForeignKey) -> bool:
    """A link made while one of its ends was deleted on another replica: a conflict that can
    bring the end back, then the link row goes (the delete won)."""
    assert isinstance(link, Link)
    keys = {"source": _key_of(link.source_id), "target": _key_of(link.target_id)}
    missing = [
        key
        for key, thought_id in (("source", link.source_id), ("target", link.target_id))
        if not Thought.objects.filter(pk=thought_id).exists()
    ]
    space = Space.objects.filter(pk=link.space_id).first()
    if space is not None:
        made = next(
            (
                entry
                for entry in HistoryEntry.objects.filter(
                    space=space, action=Action.LINK_CREATED, thought_key=keys["source"]
                )
                if (entry.after or {}).get("id") == link.pk
            ),
            None,
        )
        conflict_record(
            history_id=link.pk,
            space=space,
            kind=Kind.DANGLING,
            action=Action.LINK_CREATED,
            thought_key=keys["source"],
            lost={"id": link.pk, **keys, "label": link.label},
            kept=None,
            detail=(
                f"The link {keys['source']} → {keys['target']} was made while "
                f"{' and '.join(keys[end] for end in missing)} was deleted on another replica; "
                "restore brings the thought back with the link."
            ),
            actor_name=made.actor_name if made else "",
            lost_at=made.created_at.isoformat() if made else None,
        )
        _outcome.conflicts.append(Kind.DANGLING)
    Link.objects.filter(pk=link.pk).delete()
    return True


def orphaned_child(child: models.Model, fk: models.ForeignKey) -> bool:
    """A thought placed under a parent that was deleted on another replica: it moves up to
    where the parent's own children went (the parent's parent), and a conflict can bring the
    parent back."""
    assert isinstance(child, Thought)
    deleted = _deleted_snapshot(child.space_id, child.parent_id)
    parent_key = (deleted or {}).get("key")
    new_parent = Thought.objects.filter(
        space_id=child.space_id, key=(deleted or {}).get("parent")
    ).first()
    Thought.objects.filter(pk=child.pk).update(parent=new_parent)
    child.parent = new_parent
    kept = child.snapshot()
    placed = _last_change(child, "parent", parent_key)
    conflict_record(
        history_id=child.pk,
        space=child.space,
        kind=Kind.DANGLING,
        action=placed.action if placed else Action.NODE_UPDATED,
        thought_key=child.key,
        lost={**kept, "parent": parent_key},
        kept=kept,
        detail=(
            f"{child.key!r} was placed under {parent_key or 'a thought'!r} while that was "
            "deleted on another replica; it moved up a level, restore brings the parent back."
        ),
        actor_name=placed.actor_name if placed else "",
        lost_at=placed.created_at.isoformat() if placed else None,
    )
    _outcome.conflicts.append(Kind.DANGLING)
    return True


def _last_change(thought: Thought, name: str, value: Any) -> HistoryEntry | None:
    """The newest history entry of ``thought`` that set ``name`` to ``value``."""
    entries = HistoryEntry.objects.filter(
        space_id=thought.space_id,
        thought_key=thought.key,
        action__in=[Action.NODE_CREATED, Action.NODE_UPDATED],
    ).order_by("-id")
    for entry in entries:
        after = entry.after or {}
        if after.get("id") == thought.pk and after.get(name) == value:
            return entry
    return None


def _deleted_snapshot(space_id: str, thought_id: str | None) -> dict[str, Any] | None:
    for entry in HistoryEntry.objects.filter(space_id=space_id, action=Action.NODE_DELETED):
        if (entry.before or {}).get("id") == thought_id:
            return entry.before
    return None


def _key_of(thought_id: str) -> str:
    thought = Thought.objects.filter(pk=thought_id).first()
    if thought is not None:
        return thought.key
    for entry in HistoryEntry.objects.filter(action=Action.NODE_DELETED).only("before"):
        if (entry.before or {}).get("id") == thought_id:
            return str((entry.before or {})["key"])
    return thought_id


# --- the rules for each kind of history entry ------------------------------------------------


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


def _lineage(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """A version's content as the next change made from it saw it: without ``parent``, which
    a delete of the parent changes in its children without a version or a history entry."""
    return {name: value for name, value in content(snapshot).items() if name != "parent"}


def _followed_by_a_delete(entries: list[HistoryEntry], after: dict[str, Any]) -> bool:
    """Whether history shows a delete made from this version, or from a version built upon
    it. A version number alone does not say so: two replicas make the same number from one
    base, and a delete of the other one's had not seen this change."""
    versions, followed = [after], set()
    while versions:
        version = versions.pop()
        for entry in entries:
            if entry.pk in followed or entry.base_version != version["version"]:
                continue
            if _lineage(entry.before) != _lineage(version):
                continue
            if entry.action == Action.NODE_DELETED:
                return True
            if entry.action == Action.NODE_UPDATED and entry.after:
                followed.add(entry.pk)
                versions.append(entry.after)
    return False


def _node_updated(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    before, after, base = payload["before"], payload["after"], payload["base_version"]
    thought_id, thought_key = before["id"], before["key"]
    entries = _entries(space, thought_key, thought_id)
    thought = Thought.objects.filter(pk=thought_id).first()
    siblings = [e for e in entries if e.pk != key and e.base_version == base]
    if thought is None:
        deletes = [e for e in entries if e.action == Action.NODE_DELETED]
        if deletes and _followed_by_a_delete(entries, after):
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
        # The row holds this change or one built upon it: record every change it does not
        # descend from, wherever it was made (a replica that settled its own change as current
        # sees none of this when a line of changes that never saw it arrives later).
        for lost in _lost_to(entries, current, content, _lineage):
            _entry_lost(
                lost,
                space,
                outcome,
                kind=Kind.CONCURRENT_EDIT,
                kept=current,
                detail=_overwritten(thought_key, lost.actor_name, payload["actor_name"]),
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


def _lost_to(
    entries: list[HistoryEntry],
    current: dict[str, Any],
    content: Callable[[dict[str, Any] | None], dict[str, Any]],
    lineage: Callable[[dict[str, Any] | None], dict[str, Any]],
) -> list[HistoryEntry]:
    """The changes (``entries``, of one thought or space) that the ``current`` version does
    not descend from: made on another replica from any version and overwritten without being
    seen. Not lost: a version the current one was built from (the same number and content),
    one with the current content, and one saved unchanged from a version it was built from.
    Below a version whose making history does not show, nothing is judged."""
    seen, floor = _ancestry(entries, current, lineage)
    lost = []
    for entry in entries:
        if entry.action not in (Action.NODE_UPDATED, Action.SPACE_UPDATED):
            continue
        made, base = entry.after or {}, entry.before or {}
        if made.get("version", 0) <= floor or _mark(made, lineage) in seen:
            continue
        if content(made) == content(current):
            continue
        if content(made) == content(base) and _mark(base, lineage) in seen:
            continue  # saved unchanged: what it carried is in the current version's past
        lost.append(entry)
    return lost


def _ancestry(
    entries: list[HistoryEntry],
    current: dict[str, Any],
    lineage: Callable[[dict[str, Any] | None], dict[str, Any]],
) -> tuple[set[str], int]:
    """The versions ``current`` was built from (itself, the one the change that made it was
    made from, and so on back), and the version below which history does not say (0 when it
    goes back to the creation)."""
    made: dict[Any, list[HistoryEntry]] = {}
    for entry in entries:
        made.setdefault((entry.after or {}).get("version"), []).append(entry)
    seen: set[str] = set()
    version, walked = current, set()
    while True:
        seen.add(_mark(version, lineage))
        maker = next(
            (
                e
                for e in made.get(version.get("version"), [])
                if e.pk not in walked and lineage(e.after) == lineage(version)
            ),
            None,
        )
        if maker is None:
            return seen, int(version.get("version") or 0)
        if not maker.before:  # the creation
            return seen, 0
        walked.add(maker.pk)
        version = maker.before


def _mark(version: dict[str, Any], lineage: Callable[[dict[str, Any] | None], Any]) -> str:
    """A version's number and content, as one comparable value."""
    return json.dumps([version.get("version"), lineage(version)], sort_keys=True, default=str)


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


def _entry_lost(
    entry: HistoryEntry,
    space: Space,
    outcome: Outcome,
    *,
    kind: str,
    kept: dict[str, Any] | None,
    detail: str,
) -> None:
    """Record that another change in history, ``entry``, lost (its version is kept)."""
    _conflict(
        entry.pk,
        _payload_of(entry),
        space,
        outcome,
        kind=kind,
        lost=entry.after,
        kept=kept,
        detail=detail,
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
        # The delete won: the changes no delete had seen were lost with it. Those made from
        # the version it deleted or a later one, and those made elsewhere from an earlier
        # version (the same number as one it saw, other content): its replica never held them.
        entries = _entries(space, before["key"], before["id"])
        for entry in entries:
            if entry.action != Action.NODE_UPDATED or not entry.after:
                continue
            unseen = (entry.base_version or 0) >= before["version"]
            if unseen or not _followed_by_a_delete(entries, entry.after):
                _entry_lost(
                    entry,
                    space,
                    outcome,
                    kind=Kind.EDIT_OF_DELETED,
                    kept=None,
                    detail=_edited_deleted(before["key"], entry.actor_name),
                )
        return True
    created = [
        e for e in _entries(space, before["key"], before["id"]) if e.action == Action.NODE_CREATED
    ]
    if len(created) > 1:
        outcome.confirmed += 1  # created again under its id (a restore) after the delete
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
        # deleted since, with one of its ends (a thought's delete takes its links along)
        or tombstones.was_deleted(Link._meta.db_table, after["id"])
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


def _space_updated(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    """Space title and description, decided by the rules of thought edits: the version the
    row holds stands, and each edit that lost is a conflict (its id is the loser's)."""
    after, base = payload["after"] or {}, payload["base_version"]
    current = {"title": space.title, "description": space.description, "version": space.version}
    entries = list(HistoryEntry.objects.filter(space=space, action=Action.SPACE_UPDATED))
    if base is None:  # made before spaces had versions: nothing to compare it with
        outcome.confirmed += 1
        return True
    siblings = [e for e in entries if e.pk != key and e.base_version == base]
    built_upon = any(
        e.base_version == after["version"] and _text(e.before) == _text(after) for e in entries
    )
    if _text(current) == _text(after) or built_upon:
        outcome.confirmed += 1
        for lost in _lost_to(entries, current, _text, _text):
            _space_conflict(lost.pk, _payload_of(lost), space, lost.after, current)
        return True
    if siblings or space.version != base:
        _space_conflict(key, payload, space, after, current)
        return True
    services.space_update(space=space, actor=_actor(payload), changes=_text(after))
    outcome.replayed += 1
    return True


def _text(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (snapshot or {}).get(name) for name in ("title", "description")}


def _space_conflict(
    key: str, payload: dict[str, Any], space: Space, lost: Any, kept: dict[str, Any]
) -> None:
    _conflict(
        key,
        {**payload, "action": Action.SPACE_UPDATED},
        space,
        _outcome,
        kind=Kind.CONCURRENT_EDIT,
        lost=lost,
        kept=kept,
        detail=(
            f"The space was renamed or described on two replicas at once; "
            f"{(lost or {}).get('title')!r} by {payload.get('actor_name')} lost, restore "
            "brings it back."
        ),
    )


def _space_shared(key: str, payload: dict[str, Any], space: Space, outcome: Outcome) -> bool:
    """Access: shares of one person that no other share has seen since (``seen``: what each
    author had seen) are concurrent; the safest role among them stays (no access < viewer <
    editor) on every replica, and each higher one is a conflict the owner can restore. The
    person is named by user id: a username can belong to another account on another replica."""
    before, after = payload.get("before") or {}, payload["after"] or {}
    if "seen" not in before or "user_id" not in after:
        outcome.confirmed += 1  # written before shares recorded what they followed
        return True
    user_id = after["user_id"]
    shares = [
        entry
        for entry in HistoryEntry.objects.filter(
            space=space, action=Action.SPACE_SHARED, after__user_id=user_id
        )
        if entry.pk != key
    ]
    seen = {(entry.before or {}).get("seen") for entry in shares}
    if key in seen:
        outcome.confirmed += 1  # someone changed it again after seeing this one
        return True
    # The concurrent ones: the other shares nobody has seen since (each replica's latest),
    # wherever they branched off (one made after an edit this one never saw counts too),
    # except those already decided as lost.
    seen.add(before["seen"])  # and what this one followed
    heads = [e for e in shares if e.pk not in seen and "seen" in (e.before or {})]
    decided = set(
        Conflict.objects.filter(pk__in=[e.pk for e in heads]).values_list("pk", flat=True)
    )
    candidates = [(key, payload, after)] + [
        (entry.pk, _payload_of(entry), entry.after or {})
        for entry in heads
        if entry.pk not in decided
    ]
    safest = min((c[2].get("role") for c in candidates), key=lambda r: ROLE_RANK.get(r, 0))
    person = get_user_model().objects.filter(pk=user_id).first()
    member = space.memberships.filter(user_id=user_id).first()
    if person is not None and (member.role if member else None) != safest:
        services.space_share(
            space=space, actor=_actor(payload), username=person.get_username(), role=safest
        )
        outcome.replayed += 1
    else:
        outcome.confirmed += 1
    name = person.get_username() if person is not None else after.get("user")
    for pk, lost_payload, lost_after in candidates:
        if lost_after.get("role") == safest:
            continue
        _conflict(
            pk,
            {**lost_payload, "action": Action.SPACE_SHARED},
            space,
            outcome,
            kind=Kind.CONCURRENT_EDIT,
            lost=lost_after,
            kept={"user": name, "user_id": user_id, "role": safest},
            detail=(
                f"{name}'s access was changed on two replicas at once; the safer "
                f"{safest or 'no access'} was kept over {lost_after.get('role')} by "
                f"{lost_payload.get('actor_name')}; restore grants that."
            ),
        )
    return True


_BY_ACTION = {
    Action.SPACE_UPDATED: _space_updated,
    Action.SPACE_SHARED: _space_shared,
    Action.NODE_CREATED: _node_created,
    Action.NODE_UPDATED: _node_updated,
    Action.NODE_DELETED: _node_deleted,
    Action.LINK_CREATED: _link_created,
    Action.LINK_DELETED: _link_deleted,
}
