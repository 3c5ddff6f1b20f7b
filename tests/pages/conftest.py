"""Fixtures for the HTML pages: users with each role, a space, and logged-in clients."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from spaces import services
from spaces.models import Space, Thought

PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(db):
    def make(username: str):
        return get_user_model().objects.create_user(username=username, password=PASSWORD)

    return make


@pytest.fixture
def owner(make_user):
    return make_user("olivia")


@pytest.fixture
def editor(make_user):
    return make_user("edgar")


@pytest.fixture
def viewer(make_user):
    return make_user("vera")


@pytest.fixture
def stranger(make_user):
    return make_user("stan")


@pytest.fixture
def space(owner, editor, viewer) -> Space:
    space = services.space_create(owner=owner, title="Garden plans", description="Spring")
    services.space_share(space=space, actor=owner, username=editor.username, role="editor")
    services.space_share(space=space, actor=owner, username=viewer.username, role="viewer")
    return space


@pytest.fixture
def thought(space, owner) -> Thought:
    return services.thought_create(space=space, actor=owner, key="seeds", title="Buy seeds")


@pytest.fixture
def other_thought(space, owner) -> Thought:
    return services.thought_create(space=space, actor=owner, key="soil", title="Test the soil")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return client_for(owner)


@pytest.fixture
def editor_client(editor) -> Client:
    return client_for(editor)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return client_for(viewer)


@pytest.fixture
def stranger_client(stranger) -> Client:
    return client_for(stranger)


@pytest.fixture
def htmx() -> dict[str, str]:
    """Headers that make a request look like htmx's."""
    return {"HX-Request": "true"}


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
