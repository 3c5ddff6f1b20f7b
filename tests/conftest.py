"""Shared fixtures: users, a space with members, API clients with bearer tokens."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from spaces import services
from spaces.models import Space


@pytest.fixture(scope="session", autouse=True)
def _sync_workers_stop_first(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Stop the background sync workers (their last push included) while the test databases
    still exist and may be used, not at exit after pytest closed them: that left tracebacks
    in the log that read like failures."""
    yield
    from syncops import runtime

    with django_db_blocker.unblock():
        runtime.shutdown()


@pytest.fixture
def owner(db: Any) -> User:
    return User.objects.create_user("olivia", password="pw-olivia-123")


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_user("edgar", password="pw-edgar-123")


@pytest.fixture
def viewer(db: Any) -> User:
    return User.objects.create_user("vera", password="pw-vera-123")


@pytest.fixture
def stranger(db: Any) -> User:
    return User.objects.create_user("sam", password="pw-sam-123")


@pytest.fixture
def space(owner: User, editor: User, viewer: User) -> Space:
    space = services.space_create(owner=owner, title="Ideas", description="A test space")
    services.space_share(space=space, actor=owner, username=editor.username, role="editor")
    services.space_share(space=space, actor=owner, username=viewer.username, role="viewer")
    return space


class ApiClient:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, raw = services.token_create(user=user, name="tests")
            self.headers["Authorization"] = f"Bearer {raw}"

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        data = json.dumps(body) if body is not None and not isinstance(body, str) else body
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers={**self.headers, **headers}
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers={**self.headers, **headers})

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("post", path, body, **headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.request("patch", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.request("delete", path, None, **headers)


@pytest.fixture
def api_as() -> Any:
    return ApiClient


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that touches the database may also use the local ``syncops`` file: in
    offline mode (scripts/with_remote.py) each write is journaled there."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and "databases" in marker.kwargs:
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        if marker is None and "db" not in getattr(item, "fixturenames", ()):
            continue  # no database (fixturenames holds every fixture it uses, indirectly too)
        databases = pytest.mark.django_db(**{**kwargs, "databases": ["default", "syncops"]})
        item.add_marker(databases, append=False)  # ahead of the marker it copies
