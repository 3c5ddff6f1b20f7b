"""Shapes the pages display: a thought with its links and fold (spaces.outline lists them),
history diffs, conflicts side by side.

Templates only loop over these; every decision about structure is made here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from spaces.models import Conflict, HistoryEntry, Link, Thought


@dataclass
class ThoughtNode:
    thought: Thought
    children: list[ThoughtNode] = field(default_factory=list)
    outgoing: list[Link] = field(default_factory=list)
    incoming: list[Link] = field(default_factory=list)
    edit_url: str = ""
    delete_url: str = ""
    detail_url: str = ""
    children_url: str = ""
    child_count: int = 0  # children in the space, listed in ``children`` or not
    expanded: bool = False  # ``children`` holds its first children

    @property
    def more_children(self) -> int:
        return self.child_count - len(self.children) if self.expanded else 0

    @property
    def metadata_json(self) -> str:
        return json.dumps(self.thought.metadata, indent=2, ensure_ascii=False)


def key_url(name: str, space_id: str) -> Callable[[str], str]:
    """``key -> reverse(name, args=[space_id, key])`` without a reverse() per thought: a page
    of a thousand thoughts spent a third of its time there. Keys (KEY_RE) need no quoting."""
    marker = "0key0"
    head, tail = reverse(name, args=[space_id, marker]).split(marker)
    return lambda key: f"{head}{key}{tail}"


HIDDEN_FIELDS = ("id", "version")


@dataclass
class FieldChange:
    """One field of a history entry; ``before`` is None for a creation, ``after`` for a deletion."""

    name: str
    before: str | None
    after: str | None


@dataclass
class HistoryRow:
    entry: HistoryEntry
    changes: list[FieldChange]


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def field_changes(before: dict | None, after: dict | None) -> list[FieldChange]:
    """The fields that differ between two states (either may be None: created or deleted)."""
    if before is not None and after is not None:
        names = dict.fromkeys([*before, *after])
        return [
            FieldChange(name, _show(before.get(name)), _show(after.get(name)))
            for name in names
            if name not in HIDDEN_FIELDS and before.get(name) != after.get(name)
        ]
    # A creation or deletion: list the fields it had, leaving out the empty ones.
    values = after if after is not None else before or {}
    shown = [
        (n, _show(v)) for n, v in values.items() if n not in HIDDEN_FIELDS and v not in ("", {})
    ]
    if after is not None:
        return [FieldChange(name, None, value) for name, value in shown]
    return [FieldChange(name, value, None) for name, value in shown]


def history_rows(entries: Iterable[HistoryEntry]) -> list[HistoryRow]:
    """Each entry with the fields it changed (or, for a create or delete, the fields it had)."""
    return [HistoryRow(entry, field_changes(entry.before, entry.after)) for entry in entries]


@dataclass
class ConflictCard:
    """A conflict with its fields side by side: ``before`` is the lost value, ``after`` the
    kept one (None where that side has no thought)."""

    conflict: Conflict
    rows: list[FieldChange]


def conflict_cards(conflicts: Iterable[Conflict]) -> list[ConflictCard]:
    return [ConflictCard(c, field_changes(c.lost, c.kept)) for c in conflicts]
