"""Shapes the pages display: a space's thoughts as a tree with their links, history diffs.

Templates only loop over these; every decision about structure is made here.
"""

from __future__ import annotations

import json
from collections import defaultdict
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

    @property
    def metadata_json(self) -> str:
        return json.dumps(self.thought.metadata, indent=2, ensure_ascii=False)


def key_url(name: str, space_id: str) -> Callable[[str], str]:
    """``key -> reverse(name, args=[space_id, key])`` without a reverse() per thought: a page
    of a thousand thoughts spent a third of its time there. Keys (KEY_RE) need no quoting."""
    marker = "0key0"
    head, tail = reverse(name, args=[space_id, marker]).split(marker)
    return lambda key: f"{head}{key}{tail}"


def thought_tree(
    thoughts: Iterable[Thought], links: Iterable[Link], *, space_id: str
) -> list[ThoughtNode]:
    """Top-level thoughts with their descendants, in the order given (position, then key)."""
    edit_url, delete_url = key_url("thought-edit", space_id), key_url("thought-delete", space_id)
    detail_url = key_url("thought-detail", space_id)
    nodes = {
        t.pk: ThoughtNode(
            t,
            edit_url=edit_url(t.key),
            delete_url=delete_url(t.key),
            detail_url=detail_url(t.key),
        )
        for t in thoughts
    }
    for link in links:
        if link.source_id in nodes:
            nodes[link.source_id].outgoing.append(link)
        if link.target_id in nodes:
            nodes[link.target_id].incoming.append(link)
    children: dict[str | None, list[ThoughtNode]] = defaultdict(list)
    for node in nodes.values():
        parent_id = node.thought.parent_id
        children[parent_id if parent_id in nodes else None].append(node)
    roots = children[None]
    reached: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        reached.add(node.thought.pk)
        node.children = children.get(node.thought.pk, [])
        stack.extend(node.children)
    # A parent cycle (which the services refuse) would hide thoughts: show them at top level.
    roots.extend(node for pk, node in nodes.items() if pk not in reached)
    return roots


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


def graph_data(space_id: str, thoughts: Iterable[Thought], links: Iterable[Link]) -> dict:
    """The space as a graph for static/js/graph.js: thoughts as nodes (by key), links and
    parent → child as edges. Sent as JSON: never markup."""
    thoughts = list(thoughts)
    keys = {t.pk: t.key for t in thoughts}
    nodes = [
        {
            "id": t.key,
            "title": t.title,
            "kind": t.kind,
            "version": t.version,
            "url": reverse("thought-detail", args=[space_id, t.key]),
        }
        for t in thoughts
    ]
    edges = [
        {
            "id": f"parent:{t.key}",
            "source": keys[t.parent_id],
            "target": t.key,
            "kind": "parent",
            "label": "",
        }
        for t in thoughts
        if t.parent_id in keys
    ]
    edges += [
        {
            "id": f"link:{link.pk}",
            "source": keys[link.source_id],
            "target": keys[link.target_id],
            "kind": "link",
            "label": link.label,
        }
        for link in links
        if link.source_id in keys and link.target_id in keys
    ]
    return {"nodes": nodes, "edges": edges}


@dataclass
class ConflictCard:
    """A conflict with its fields side by side: ``before`` is the lost value, ``after`` the
    kept one (None where that side has no thought)."""

    conflict: Conflict
    rows: list[FieldChange]


def conflict_cards(conflicts: Iterable[Conflict]) -> list[ConflictCard]:
    return [ConflictCard(c, field_changes(c.lost, c.kept)) for c in conflicts]
