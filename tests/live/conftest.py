"""Fixtures for live updates: a fresh in-memory channel layer, WebSocket communicators on the
real ASGI application, and async test bodies run with asgiref (no event-loop plugin)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from spaces import services
from tests.live.servers import DemoData, app_env, daphnes, prepare_database

HOST = b"localhost:8000"
ORIGIN = b"http://" + HOST


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test body on an event loop; sync code it awaits through
    sync_to_async runs on the test's thread, with the test's database connection."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async_to_sync(test)(*args, **kwargs)

    return wrapper


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def bearer(user: User) -> bytes:
    _, raw = services.token_create(user=user, name="live tests")
    return f"Bearer {raw}".encode()


def communicator(space_id: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    """A socket to the space as a client on ``HOST`` opens it (add headers to change that)."""
    from thoughtspace.asgi import application

    named = {name for name, _ in headers}
    sent = [*headers] if b"host" in named else [(b"host", HOST), *headers]
    return WebsocketCommunicator(application, f"/ws/spaces/{space_id}/", headers=sent)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoData]:
    """A migrated database file with the demo data, for tests that run real daphne processes."""
    db_path = tmp_path_factory.mktemp("live") / "thoughtspace.db"
    return db_path, prepare_database(app_env(db_path))


@pytest.fixture(scope="module")
def server(demo_database: tuple[Path, DemoData]) -> Iterator[tuple[str, DemoData]]:
    """One daphne on the demo database, for a module's browser tests: (base URL, demo data)."""
    db_path, demo = demo_database
    with daphnes(app_env(db_path)) as (url,):
        yield url, demo


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.live.browsers import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/setup.sh chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
