"""Two daphne instances sharing one database file and one Redis: a change written through the
API of one reaches a WebSocket client of the other."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.live.servers import DemoData, api, app_env, daphnes, redis_server
from tests.live.servers import ws_url as space_ws_url


@pytest.fixture(scope="module")
def two_instances(demo_database: tuple[Path, DemoData]) -> Iterator[tuple[str, str, DemoData]]:
    db_path, demo = demo_database
    with redis_server() as redis_url, daphnes(app_env(db_path, redis_url), 2) as (a, b):
        yield a, b, demo


async def _next_event(socket, key: str) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        if event.get("key") == key:
            return event


def test_write_on_one_instance_reaches_a_client_of_the_other(two_instances):
    a, b, demo = two_instances

    async def scenario() -> dict:
        headers = {"Authorization": f"Bearer {demo.token}"}
        async with connect(space_ws_url(b, demo.space_id), additional_headers=headers) as socket:
            body = {"key": "from-a", "title": "Written on A"}
            path = f"/api/spaces/{demo.space_id}/thoughts"
            await asyncio.to_thread(api, a, demo.token, "POST", path, body)
            return await _next_event(socket, "from-a")

    event = asyncio.run(scenario())
    assert event["type"] == "node.created"
    assert event["space_id"] == demo.space_id
    assert event["data"]["title"] == "Written on A"


def test_browser_origin_and_session_work_across_instances(two_instances):
    """A session made on A opens a socket on B (both share the database's sessions)."""
    a, b, demo = two_instances

    async def scenario() -> dict:
        cookie = await asyncio.to_thread(_login, a, demo)
        headers = {"Cookie": cookie}
        url = space_ws_url(b, demo.space_id)
        async with connect(url, origin=b, additional_headers=headers) as socket:
            path = f"/api/spaces/{demo.space_id}/thoughts/replica"
            await asyncio.to_thread(api, a, demo.token, "PATCH", path, {"title": "Renamed on A"})
            return await _next_event(socket, "replica")

    event = asyncio.run(scenario())
    assert event["type"] == "node.updated"
    assert event["data"]["title"] == "Renamed on A"


def _login(base_url: str, demo: DemoData) -> str:
    """Sign in through the login form; returns the session cookie header value."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/login/").read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match
    form = {"username": demo.username, "password": demo.password, "csrfmiddlewaretoken": match[1]}
    request = urllib.request.Request(
        base_url + "/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": base_url + "/login/"},
    )
    opener.open(request).read()
    session = next(c for c in jar if c.name == "sessionid")
    return f"sessionid={session.value}"
