"""The graph view of a space: which thoughts one view shows, and where each one stands.

A view is bounded (``VIEW_LIMIT`` nodes, whatever the space's size) and chosen on the server:
either the top levels of the tree (the top-level thoughts, then their children, level by
level) or the neighbourhood of one thought (itself, then what is one and two steps away
through parents, children and links), in page order.

Positions are computed here too, so that a view is the same picture every time: each node
takes a cell of a grid, one node per cell (no two overlap), in the order the thoughts were
created (ids are ULIDs), as close as it can to a neighbour placed before it. A node's cell
depends only on the nodes of the view created before it, so a new thought takes a free cell
and never moves the others.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db.models import Count

from spaces.models import Link, Space, Thought
from spaces.presentation import key_url

VIEW_LIMIT = 150  # nodes in one view; at most 500 (the target), fewer to stay readable
MAX_HOPS = 2  # steps away from a focused thought
CELL_WIDTH, CELL_HEIGHT = 200, 90  # px: a label of 160 px and room for edges between them


def _top_levels(space: Space, limit: int) -> list[Thought]:
    """Top-level thoughts, then their children, level by level, in page order."""
    level = list(space.thoughts.filter(parent__isnull=True).order_by("position", "key")[:limit])
    chosen = list(level)
    while level and len(chosen) < limit:
        order = {t.pk: i for i, t in enumerate(level)}
        rows = space.thoughts.filter(parent_id__in=list(order)).order_by("position", "key")
        # Sorted by parent, in page order within each (a stable sort); a parent with
        # thousands of children is read only as far as one view could use.
        children = sorted(rows[: limit * 10], key=lambda t: order[t.parent_id or ""])
        level = children[: limit - len(chosen)]
        chosen += level
    return chosen


def _neighbourhood(space: Space, focus: Thought, limit: int) -> list[Thought]:
    """``focus``, then its parent, children and linked thoughts, then theirs."""
    chosen = {focus.pk: focus}
    frontier = [focus]
    for _ in range(MAX_HOPS):
        if not frontier or len(chosen) >= limit:
            break
        ids = [t.pk for t in frontier]
        found = [t.parent_id for t in frontier if t.parent_id]
        found += (
            space.thoughts.filter(parent_id__in=ids)
            .order_by("position", "key")
            .values_list("id", flat=True)[: limit * 4]
        )
        links = space.links.filter(source_id__in=ids).values_list("target_id", flat=True)
        found += links.order_by("created_at", "id")[: limit * 4]
        links = space.links.filter(target_id__in=ids).values_list("source_id", flat=True)
        found += links.order_by("created_at", "id")[: limit * 4]
        wanted = [pk for pk in dict.fromkeys(found) if pk not in chosen][: limit - len(chosen)]
        rows = {t.pk: t for t in space.thoughts.filter(pk__in=wanted)}
        frontier = [rows[pk] for pk in wanted if pk in rows]
        chosen.update((t.pk, t) for t in frontier)
    return list(chosen.values())


def _ring(radius: int, start: int) -> Iterator[tuple[int, int]]:
    """The cells at ``radius`` (Chebyshev distance) around (0, 0), from a rotation ``start``."""
    if radius == 0:
        yield (0, 0)
        return
    cells = [(dx, -radius) for dx in range(-radius, radius)]
    cells += [(radius, dy) for dy in range(-radius, radius)]
    cells += [(dx, radius) for dx in range(radius, -radius, -1)]
    cells += [(-radius, dy) for dy in range(radius, -radius, -1)]
    start %= len(cells)
    yield from cells[start:] + cells[:start]


def layout(nodes: list[str], neighbours: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """A grid cell for each node id (see the module's docstring): ids in creation order,
    each beside the first of its ``neighbours`` placed before it, else beside the origin."""
    cells: dict[str, tuple[int, int]] = {}
    taken: set[tuple[int, int]] = set()
    for node in sorted(nodes):
        anchor = next(
            (cells[other] for other in neighbours.get(node, []) if other in cells), (0, 0)
        )
        turn = zlib.crc32(node.encode())
        radius = 0 if anchor == (0, 0) and not taken else 1
        while True:
            free = [
                (anchor[0] + dx, anchor[1] + dy)
                for dx, dy in _ring(radius, turn)
                if (anchor[0] + dx, anchor[1] + dy) not in taken
            ]
            if free:
                cells[node] = free[0]
                taken.add(free[0])
                break
            radius += 1
    return cells


def graph_view(space: Space, focus: Thought | None = None, limit: int = VIEW_LIMIT) -> dict:
    """One view of the space as JSON for static/js/graph.js (never markup): nodes with their
    position and how many of their relations lie outside the view, and the edges (links, and
    parent → child) between them."""
    thoughts = _neighbourhood(space, focus, limit) if focus else _top_levels(space, limit)
    by_id = {t.pk: t for t in thoughts}
    ids = list(by_id)
    edges: list[dict[str, Any]] = [
        {
            "id": f"parent:{t.key}",
            "source": by_id[t.parent_id].key,
            "target": t.key,
            "kind": "parent",
            "label": "",
        }
        for t in thoughts
        if t.parent_id in by_id
    ]
    links = Link.objects.filter(space=space, source_id__in=ids, target_id__in=ids)
    for link in links.order_by("created_at", "id"):
        edges.append(
            {
                "id": f"link:{link.pk}",
                "source": by_id[link.source_id].key,
                "target": by_id[link.target_id].key,
                "kind": "link",
                "label": link.label,
                "_ends": (link.source_id, link.target_id),
            }
        )
    neighbours: dict[str, list[str]] = defaultdict(list)
    for t in thoughts:
        if t.parent_id in by_id:
            neighbours[t.pk].insert(0, t.parent_id)  # beside its parent first
            neighbours[t.parent_id].append(t.pk)
    for edge in edges:
        if edge["kind"] == "link":
            source, target = edge.pop("_ends")
            neighbours[source].append(target)
            neighbours[target].append(source)
    cells = layout(ids, neighbours)
    relations = _relation_counts(space, thoughts)
    detail_url = key_url("thought-detail", space.pk)
    nodes = [
        {
            "id": t.key,
            "title": t.title,
            "kind": t.kind,
            "version": t.version,
            "url": detail_url(t.key),
            "position": _position(cells[t.pk]),
            "hidden": max(relations.get(t.pk, 0) - len(neighbours.get(t.pk, [])), 0),
        }
        for t in thoughts
    ]
    return {
        "view": {
            "focus": focus.key if focus else None,
            "shown": len(nodes),
            "thoughts": space.thoughts.count(),
            "limit": limit,
        },
        "nodes": nodes,
        "edges": edges,
    }


def _position(cell: tuple[int, int]) -> dict[str, int]:
    """A cell's place in pixels. Odd rows shift by half a cell (bricks, not a chessboard), so
    that a line between two thoughts of one column does not run through the one between."""
    column, row = cell
    return {"x": column * CELL_WIDTH + (CELL_WIDTH // 2 if row % 2 else 0), "y": row * CELL_HEIGHT}


def _relation_counts(space: Space, thoughts: list[Thought]) -> dict[str, int]:
    """Each thought's parent, children and links, counted."""
    counts: dict[str, int] = defaultdict(int)
    ids = [t.pk for t in thoughts]
    for thought in thoughts:
        counts[thought.pk] += 1 if thought.parent_id else 0
    if not ids:
        return counts
    queries = [
        (space.thoughts.filter(parent_id__in=ids), "parent_id"),
        (space.links.filter(source_id__in=ids), "source_id"),
        (space.links.filter(target_id__in=ids), "target_id"),
    ]
    for rows, column in queries:
        for pk, n in rows.values(column).annotate(n=Count("id")).values_list(column, "n"):
            counts[pk] += n
    return counts
