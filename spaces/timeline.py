"""A space as it was at any moment, read from its history, and going back to it.

``state_at`` replays the space's history up to a moment: the thoughts (as their snapshots),
the links and the space's title and description. It follows what the services do beside the
history entry: a deleted thought's children move up to its parent and its links go with it;
a thought or link made against a thought already deleted elsewhere is moved up or dropped as
reconciliation does. A write that lost to a concurrent one on another replica (its history
entry is a ``Conflict``'s id) never happened in this account, as it did not on the space.

``restore_to`` writes the differences between that state and today's as ordinary changes
(services, history, live updates, sync), in one transaction: it can itself be undone by a
restore to the moment before it. Shares are not rolled back: who may see a space is not a
matter of its content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from spaces import services
from spaces.errors import InvalidInput, NotFound
from spaces.events import coalesced
from spaces.models import Conflict, HistoryEntry, Space, Thought

Action = HistoryEntry.Action
CHUNK = 1000


@dataclass
class SpaceState:
    title: str = ""
    description: str = ""
    thoughts: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> snapshot
    links: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def ordered(self) -> list[dict[str, Any]]:
        """The thoughts in page order (position, then key)."""
        return sorted(self.thoughts.values(), key=lambda t: (t["position"], t["key"]))


def _link_key(snapshot: dict[str, Any]) -> tuple[str, str, str]:
    return (snapshot["source"], snapshot["target"], snapshot.get("label", ""))


def state_at(space: Space, at: datetime) -> SpaceState:
    """The space as its history says it was at ``at``. Refused once the space's oldest
    history was archived (docs/RELIABILITY.md): a replay missing the entries that made its
    older thoughts would show them absent, and a restore would delete them."""
    if not space.history.filter(action=Action.SPACE_CREATED).exists():
        raise InvalidInput(
            "This space's oldest history was archived, so it cannot be shown or restored as "
            "it was at a past moment (one thought can still go back to a version it has).",
            field="at",
        )
    state = SpaceState()
    moved_up: dict[str, str | None] = {}  # a deleted thought's key -> its parent then
    lost = set(Conflict.objects.filter(space=space).values_list("pk", flat=True))
    entries = space.history.filter(created_at__lte=at).order_by("created_at", "id")
    for entry in entries.iterator(chunk_size=CHUNK):
        if entry.pk in lost:
            continue
        before, after = entry.before or {}, entry.after or {}
        if entry.action in (Action.SPACE_CREATED, Action.SPACE_UPDATED):
            state.title = after.get("title", state.title)
            state.description = after.get("description", state.description)
        elif entry.action in (Action.NODE_CREATED, Action.NODE_UPDATED) and after.get("key"):
            snapshot = dict(after, created_at=entry.created_at, updated_at=entry.created_at)
            previous = state.thoughts.get(after["key"])
            if previous is not None and entry.action == Action.NODE_UPDATED:
                snapshot["created_at"] = previous["created_at"]
            state.thoughts[after["key"]] = snapshot
        elif entry.action == Action.NODE_DELETED and before.get("key"):
            key = before["key"]
            gone = state.thoughts.pop(key, None)
            moved_up[key] = (gone or before).get("parent")
            for thought in state.thoughts.values():
                if thought.get("parent") == key:
                    thought["parent"] = moved_up[key]
            state.links = {k: link for k, link in state.links.items() if key not in (k[0], k[1])}
        elif entry.action == Action.LINK_CREATED and after.get("source"):
            state.links[_link_key(after)] = after
        elif entry.action == Action.LINK_DELETED and before.get("source"):
            state.links.pop(_link_key(before), None)
    # Made against a thought deleted on another replica: moved up a level, or dropped.
    for thought in state.thoughts.values():
        parent = thought.get("parent")
        while parent is not None and parent not in state.thoughts:
            parent = moved_up.get(parent)
        thought["parent"] = parent
    state.links = {
        k: link
        for k, link in state.links.items()
        if k[0] in state.thoughts and k[1] in state.thoughts
    }
    return state


def _depth_order(thoughts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children."""

    def depth(key: str) -> int:
        n, parent = 0, thoughts[key].get("parent")
        while parent is not None and n <= len(thoughts):
            n, parent = n + 1, thoughts[parent].get("parent")
        return n

    return sorted(thoughts.values(), key=lambda t: (depth(t["key"]), t["key"]))


def _touched_since(space: Space, at: datetime) -> set[str]:
    """The keys of the thoughts a change after ``at`` made, edited, moved, deleted or linked:
    no other thought's row can differ from what it was then, except a child of one of them
    (moved up when its parent was deleted)."""
    touched: set[str] = set()
    later = space.history.filter(created_at__gt=at).values_list("thought_key", "before", "after")
    for key, before, after in later.iterator(chunk_size=CHUNK):
        touched.add(key)
        for snapshot in (before or {}, after or {}):
            touched.update(snapshot[end] for end in ("source", "target") if snapshot.get(end))
    touched.discard("")
    return touched


def _chunks(keys: set[str]) -> Iterator[list[str]]:
    ordered = sorted(keys)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def restore_to(space: Space, at: datetime, *, actor: Any) -> int:
    """Make the space what it was at ``at``, as ordinary changes; the number written. Open
    pages hear one ``space.restored`` event (they reload) rather than one per change."""
    if at > datetime.now(tz=at.tzinfo):
        raise InvalidInput("That moment is in the future.", field="at")
    past = state_at(space, at)
    if not past.title:
        raise InvalidInput("The space did not exist yet at that moment.", field="at")
    summary = {"type": "space.restored", "space_id": space.pk, "data": {"at": at.isoformat()}}
    with transaction.atomic(), coalesced(summary):
        return _restore(Space.objects.get(pk=space.pk), past, _touched_since(space, at), actor)


def _restore(space: Space, past: SpaceState, touched: set[str], actor: Any) -> int:
    changes = 0
    if (space.title, space.description) != (past.title, past.description):
        services.space_update(
            space=space, actor=actor, changes={"title": past.title, "description": past.description}
        )
        changes += 1
    # Only the touched thoughts and their children (then and now) can differ.
    candidates = touched | {k for k, t in past.thoughts.items() if t.get("parent") in touched}
    for keys in _chunks(touched):
        candidates.update(space.thoughts.filter(parent__key__in=keys).values_list("key", flat=True))
    now: dict[str, Thought] = {}
    for keys in _chunks(candidates):
        now.update((t.key, t) for t in space.thoughts.select_related("parent").filter(key__in=keys))
    # Parents first: each thought's new parent already has its own parent of then, so no
    # step makes a cycle the restored state does not have.
    for snapshot in _depth_order(past.thoughts):
        if snapshot["key"] not in candidates:
            continue
        if _bring_back(space, now.get(snapshot["key"]), snapshot, actor) is not None:
            changes += 1
    for key, current in now.items():
        if key not in past.thoughts:
            current.refresh_from_db()
            services.thought_delete(thought=current, actor=actor)
            changes += 1
    have_links = {
        (source, target, label): pk
        for pk, source, target, label in space.links.values_list(
            "pk", "source__key", "target__key", "label"
        )
    }
    for link_key, pk in have_links.items():
        if link_key not in past.links:
            services.link_delete(space=space, actor=actor, link_id=pk)
            changes += 1
    for source, target, label in past.links:
        if (source, target, label) not in have_links:
            services.link_create(
                space=space, actor=actor, source=source, target=target, label=label
            )
            changes += 1
    return changes


def restore_version(space: Space, entry_id: str, *, actor: Any) -> Thought:
    """Bring one thought back to what the history entry ``entry_id`` recorded of it (the
    state after the change; for a delete, the thought as it was deleted)."""
    entry = space.history.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("History entry not found in this space.")
    snapshot = entry.before if entry.action == Action.NODE_DELETED else entry.after
    if entry.action not in (Action.NODE_CREATED, Action.NODE_UPDATED, Action.NODE_DELETED):
        raise InvalidInput("Only a thought's history entries can be restored.")
    if not snapshot or not snapshot.get("key"):
        raise InvalidInput("This history entry holds no version of a thought to restore.")
    parent = snapshot.get("parent")
    if parent is not None and not space.thoughts.filter(key=parent).exists():
        snapshot = dict(snapshot, parent=None)  # its parent of then is gone: back at the top
    with transaction.atomic():
        current = space.thoughts.select_related("parent").filter(key=snapshot["key"]).first()
        restored = _bring_back(space, current, snapshot, actor)
    if restored is None:  # it is that version already
        assert current is not None  # _bring_back makes a thought that is gone
        return current
    return restored


def _bring_back(
    space: Space, current: Thought | None, snapshot: dict[str, Any], actor: Any
) -> Thought | None:
    """Make ``current`` (or, when it is gone, a new thought under its old id if free) what
    ``snapshot`` recorded, as an ordinary change; None when it is that already."""
    metadata, position = snapshot.get("metadata") or {}, snapshot.get("position") or 0
    if current is None:
        reuse = not Thought.objects.filter(pk=snapshot.get("id")).exists()
        return services.thought_create(
            space=space,
            actor=actor,
            key=snapshot["key"],
            title=snapshot["title"],
            body=snapshot.get("body", ""),
            kind=snapshot.get("kind", "note"),
            metadata=metadata,
            parent=snapshot.get("parent"),
            position=position,
            thought_id=snapshot.get("id") if reuse else None,
        )
    wanted = {name: snapshot.get(name) for name in services.THOUGHT_FIELDS} | {
        "metadata": metadata,
        "position": position,
    }
    have = current.snapshot()
    differs = {name: value for name, value in wanted.items() if have[name] != value}
    if not differs:
        return None
    return services.thought_update(
        thought=current, actor=actor, changes=differs, expected_version=current.version
    )


def undo_delete(space: Space, entry_id: str, *, actor: Any) -> Thought | None:
    """Take back a delete (the Undo of a page's toast), as ordinary changes in one transaction.

    A thought's delete: the thought comes back (restore_version), with the links it had then
    whose other end is still there, and the children it had then that are still where the
    delete moved them (a child moved since stays where it is). What it "had then" is the
    space replayed from its history up to the delete (``state_at``), which knows the links and
    children that earlier deletes took along without entries of their own. A link's delete:
    the link comes back, if both its ends are there. Returns the thought brought back, or
    None for a link."""
    entry = space.history.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("History entry not found in this space.")
    before = entry.before or {}
    if entry.action == Action.LINK_DELETED and before.get("source"):
        source, target, label = _link_key(before)
        if not space.links.filter(source__key=source, target__key=target, label=label).exists():
            services.link_create(
                space=space, actor=actor, source=source, target=target, label=label
            )
        return None
    if entry.action != Action.NODE_DELETED or not before.get("key"):
        raise InvalidInput("Only the delete of a thought or of a link can be undone.")
    key = before["key"]
    if space.thoughts.filter(key=key).exists():
        raise InvalidInput(f"A thought {key!r} exists again: this delete cannot be undone.")
    then = state_at(space, entry.created_at - timedelta(microseconds=1))
    links = [link for link in then.links if key in link[:2]]
    moved_to = (then.thoughts.get(key) or before).get("parent")
    children = [k for k, t in then.thoughts.items() if t.get("parent") == key]
    with transaction.atomic():
        thought = restore_version(space, entry_id, actor=actor)
        where = {"parent__key": moved_to} if moved_to else {"parent__isnull": True}
        for child in space.thoughts.filter(key__in=children, **where):
            services.thought_update(
                thought=child, actor=actor, changes={"parent": key}, expected_version=child.version
            )
        ends = {end for link in links for end in link[:2]}
        there = set(space.thoughts.filter(key__in=ends).values_list("key", flat=True))
        for source, target, label in links:
            if source in there and target in there:
                services.link_create(
                    space=space, actor=actor, source=source, target=target, label=label
                )
    return thought
