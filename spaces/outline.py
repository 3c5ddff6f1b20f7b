"""The part of a space a page shows: its top levels, and the subtrees a person opened.

A space page costs the same at 10 thoughts and at 10,000: the first screen lists the top level
and opens subtrees, level by level, while they fit in ``FIRST_SCREEN`` thoughts; every other
subtree is folded, with the number of thoughts in it, and arrives when opened (one htmx
request for its children). A page that refreshes after a live event, or after one of its own
edits, sends the keys of the subtrees it has open (``open=``) and how many top-level thoughts
it lists (``roots=``), and gets the same part back, never more than ``MAX_SHOWN`` thoughts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from spaces.models import Link, Space, Thought
from spaces.presentation import ThoughtNode, key_url

FIRST_SCREEN = 15  # thoughts the first screen shows before it folds subtrees
PAGE = 50  # top-level thoughts, or children of one thought, listed at once
MAX_SHOWN = 1000  # thoughts one answer lists, whatever the page asks for
MAX_OPEN = 500  # open subtrees one request may name
RECENT = 5  # recently changed thoughts listed beside the tree


@dataclass
class OutlineState:
    """What a page has open: None for a first screen (the server decides), else the keys."""

    open_keys: frozenset[str] | None = None
    roots: int = PAGE

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> OutlineState:
        """Read ``open`` (comma-separated keys) and ``roots`` (a count) from a request's GET
        or POST; bad values fall back to the first screen's."""
        roots_text = str(params.get("roots", "") or "")[:7]
        roots = int(roots_text) if roots_text.isascii() and roots_text.isdigit() else PAGE
        roots = min(max(roots, PAGE), MAX_SHOWN)
        if "open" not in params:
            return cls(None, roots)
        keys = [k for k in str(params.get("open", "")).split(",") if k][:MAX_OPEN]
        return cls(frozenset(keys), roots)


@dataclass
class Outline:
    roots: list[ThoughtNode]
    more_roots: int  # top-level thoughts not listed yet
    thoughts: int  # in the whole space
    links: int
    shown: int  # thoughts listed

    @property
    def next_roots(self) -> int:
        return len(self.roots) + PAGE


class _Nodes:
    """Makes ThoughtNodes with their URLs (one reverse() per kind, not per thought)."""

    def __init__(self, space_id: str) -> None:
        self.urls = {
            name: key_url(f"thought-{name}", space_id)
            for name in ("edit", "delete", "detail", "children")
        }

    def __call__(self, thought: Thought) -> ThoughtNode:
        urls = {name: url(thought.key) for name, url in self.urls.items()}
        return ThoughtNode(
            thought,
            edit_url=urls["edit"],
            delete_url=urls["delete"],
            detail_url=urls["detail"],
            children_url=urls["children"],
        )


def _child_counts(space: Space, parent_ids: list[str]) -> dict[str, int]:
    if not parent_ids:
        return {}
    rows = (
        space.thoughts.filter(parent_id__in=parent_ids)
        .values("parent_id")
        .annotate(n=Count("id"))
        .values_list("parent_id", "n")
    )
    return dict(rows)


def _children(space: Space, parents: list[ThoughtNode]) -> dict[str, list[Thought]]:
    """The first PAGE children of each parent, in page order."""
    found: dict[str, list[Thought]] = {node.thought.pk: [] for node in parents}
    small = [n.thought.pk for n in parents if n.child_count <= PAGE]
    if small:
        rows = space.thoughts.filter(parent_id__in=small).order_by("parent_id", "position", "key")
        for thought in rows:
            found[thought.parent_id].append(thought)  # type: ignore[index]
    for node in parents:
        if node.child_count > PAGE:
            rows = space.thoughts.filter(parent_id=node.thought.pk).order_by("position", "key")
            found[node.thought.pk] = list(rows[:PAGE])
    return found


def expand(space: Space, level: list[ThoughtNode], state: OutlineState) -> int:
    """Open subtrees below ``level``, level by level (see the module's docstring); returns
    how many thoughts are listed below it."""
    make = _Nodes(space.pk)
    shown = len(level)
    added = 0
    while level:
        counts = _child_counts(space, [node.thought.pk for node in level])
        opening = []
        for node in level:
            node.child_count = counts.get(node.thought.pk, 0)
            if not node.child_count:
                continue
            size = min(node.child_count, PAGE)
            if state.open_keys is None:
                wanted = shown + size <= FIRST_SCREEN
            else:
                wanted = node.thought.key in state.open_keys and shown + size <= MAX_SHOWN
            if wanted:
                opening.append(node)
                shown += size
        children = _children(space, opening)
        level = []
        for node in opening:
            node.expanded = True
            node.children = [make(thought) for thought in children[node.thought.pk]]
            level.extend(node.children)
            added += len(node.children)
    return added


def attach_links(space: Space, nodes: Iterable[ThoughtNode]) -> None:
    """Each listed thought's links in and out (the other end may be anywhere in the space)."""
    by_id = {node.thought.pk: node for node in nodes}
    if not by_id:
        return
    ids = list(by_id)
    links = (
        Link.objects.filter(space=space)
        .filter(Q(source_id__in=ids) | Q(target_id__in=ids))
        .select_related("source", "target")
    )
    for link in links:
        if link.source_id in by_id:
            by_id[link.source_id].outgoing.append(link)
        if link.target_id in by_id:
            by_id[link.target_id].incoming.append(link)


def walk(nodes: Iterable[ThoughtNode]) -> list[ThoughtNode]:
    """Every node listed, depth first."""
    found: list[ThoughtNode] = []
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(node.children[::-1])
    return found


def outline(space: Space, state: OutlineState | None = None) -> Outline:
    """The top level of ``space`` and the subtrees ``state`` opens, with their links."""
    state = state or OutlineState()
    make = _Nodes(space.pk)
    top = space.thoughts.filter(parent__isnull=True).order_by("position", "key")
    roots = [make(thought) for thought in top[: state.roots]]
    total_roots = top.count() if len(roots) == state.roots else len(roots)
    expand(space, roots, state)
    listed = walk(roots)
    attach_links(space, listed)
    return Outline(
        roots=roots,
        more_roots=total_roots - len(roots),
        thoughts=space.thoughts.count(),
        links=space.links.count(),
        shown=len(listed),
    )


def subtree(space: Space, parent: Thought, state: OutlineState | None = None) -> ThoughtNode:
    """``parent`` opened: its first children, themselves folded unless ``state`` opens them."""
    if state is None or state.open_keys is None:
        state = OutlineState(frozenset())  # nothing below it was open
    make = _Nodes(space.pk)
    node = make(parent)
    node.child_count = _child_counts(space, [parent.pk]).get(parent.pk, 0)
    node.expanded = True
    node.children = [make(thought) for thought in _children(space, [node])[parent.pk]]
    expand(space, node.children, state)
    attach_links(space, walk(node.children))
    return node


def recent(space: Space, limit: int = RECENT) -> list[Thought]:
    """The thoughts changed last, newest first (from the space's recent history)."""
    keys: list[str] = []
    entries = space.history.exclude(thought_key="").order_by("-id")
    for key in entries.values_list("thought_key", flat=True)[: limit * 10]:
        if key not in keys:
            keys.append(key)
    found = {t.key: t for t in space.thoughts.filter(key__in=keys)}
    return [found[key] for key in keys if key in found][:limit]
