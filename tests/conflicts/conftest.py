"""Conflicts as the journal's reconciliation records them, made here directly."""

from __future__ import annotations

from typing import Any

import pytest

from spaces import conflicts, services
from spaces.ids import new_id
from spaces.models import Conflict, Space, Thought


@pytest.fixture
def thought(space: Space, owner: Any) -> Thought:
    return services.thought_create(space=space, actor=owner, key="idea", title="Kept title")


def record(
    space: Space, kind: str, *, lost: dict | None, kept: dict | None, **extra: Any
) -> Conflict:
    return conflicts.conflict_record(
        history_id=new_id(),
        space=space,
        kind=kind,
        action=extra.pop("action", "node.updated"),
        thought_key=extra.pop("thought_key", (lost or kept or {}).get("key", "")),
        lost=lost,
        kept=kept,
        detail=extra.pop("detail", "edgar and olivia changed 'idea' from the same version."),
        actor_name="edgar",
        lost_at=None,
    )


@pytest.fixture
def concurrent_edit(space: Space, thought: Thought) -> Conflict:
    lost = {**thought.snapshot(), "title": "Lost title", "body": "lost <b>body</b>"}
    return record(space, Conflict.Kind.CONCURRENT_EDIT, lost=lost, kept=thought.snapshot())
