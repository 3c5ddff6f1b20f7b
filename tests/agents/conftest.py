"""Fixtures for agents: token clients in each mode, a space with thoughts and a link."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from spaces import services
from spaces.models import Link, Space, Thought
from tests.conftest import ApiClient


class AgentClient(ApiClient):
    """An API client whose bearer token has the given mode."""

    def __init__(self, user: User, mode: str = "direct", name: str = "agent") -> None:
        super().__init__(None)
        self.token, raw = services.token_create(user=user, name=name, mode=mode)
        self.headers["Authorization"] = f"Bearer {raw}"


@pytest.fixture
def agent_as() -> Any:
    return AgentClient


@pytest.fixture
def thoughts(space: Space, owner: User) -> list[Thought]:
    return [
        services.thought_create(space=space, actor=owner, key="idea", title="Idea"),
        services.thought_create(space=space, actor=owner, key="other", title="Other"),
    ]


@pytest.fixture
def link(space: Space, owner: User, thoughts: list[Thought]) -> Link:
    return services.link_create(space=space, actor=owner, source="idea", target="other")
