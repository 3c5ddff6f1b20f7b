"""Who may open a space's WebSocket: a session or a bearer token with access to the space,
from an allowed Origin."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from spaces.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.live.conftest import ORIGIN, bearer, communicator, run_async, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def _close_code(comm) -> int:
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    return message["code"]


@run_async
async def test_session_cookie_connects(space, viewer):
    cookie = await sync_to_async(session_cookie)(viewer)
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_nothing(timeout=0.1)
    await comm.disconnect()


@run_async
async def test_bearer_token_connects(space, editor):
    token = await sync_to_async(bearer)(editor)
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"authorization", token))
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_nothing(timeout=0.1)
    await comm.disconnect()


@run_async
async def test_bearer_token_connects_without_origin(space, editor):
    token = await sync_to_async(bearer)(editor)
    comm = communicator(space.pk, (b"authorization", token))
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_nothing(timeout=0.1)
    await comm.disconnect()


@run_async
async def test_anonymous_is_closed_with_4401(space):
    comm = communicator(space.pk, (b"origin", ORIGIN))
    await comm.connect()
    assert await _close_code(comm) == CLOSE_UNAUTHENTICATED


@run_async
async def test_unknown_token_is_closed_with_4401(space):
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"authorization", b"Bearer ts_nope"))
    await comm.connect()
    assert await _close_code(comm) == CLOSE_UNAUTHENTICATED


@run_async
async def test_stranger_is_closed_with_4404(space, stranger):
    cookie = await sync_to_async(session_cookie)(stranger)
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"cookie", cookie))
    await comm.connect()
    assert await _close_code(comm) == CLOSE_NOT_FOUND


@run_async
async def test_missing_space_is_closed_with_4404(owner):
    token = await sync_to_async(bearer)(owner)
    comm = communicator("01NOSUCHSPACE0000000000000", (b"authorization", token))
    await comm.connect()
    assert await _close_code(comm) == CLOSE_NOT_FOUND


@run_async
async def test_foreign_origin_is_refused(space, owner):
    cookie = await sync_to_async(session_cookie)(owner)
    comm = communicator(space.pk, (b"origin", b"http://evil.example"), (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected


@run_async
async def test_foreign_origin_is_refused_even_with_a_token(space, owner):
    token = await sync_to_async(bearer)(owner)
    comm = communicator(space.pk, (b"origin", b"http://evil.example"), (b"authorization", token))
    connected, _ = await comm.connect()
    assert not connected


@run_async
async def test_session_cookie_without_origin_is_not_enough(space, owner):
    cookie = await sync_to_async(session_cookie)(owner)
    comm = communicator(space.pk, (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected
