"""Who may open a space's WebSocket: a session or a bearer token with access to the space,
from an allowed Origin."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from spaces import services
from spaces.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.live.conftest import ORIGIN, bearer, communicator, run_async, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def _close_code(comm) -> int:
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    return message["code"]


def open_connections() -> float | None:
    return REGISTRY.get_sample_value("thoughtspace_websocket_connections")


@run_async
async def test_session_cookie_connects(space, viewer):
    before = open_connections()
    cookie = await sync_to_async(session_cookie)(viewer)
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_nothing(timeout=0.1)
    assert open_connections() == before + 1  # what /metrics reports
    await comm.disconnect()
    assert open_connections() == before


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
    before = open_connections()
    comm = communicator(space.pk, (b"origin", ORIGIN))
    await comm.connect()
    assert await _close_code(comm) == CLOSE_UNAUTHENTICATED
    assert open_connections() == before  # a refused one never counts


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


@run_async
@pytest.mark.parametrize(
    "origin",
    [b"http://localhost:9999", b"https://localhost:8000", b"http://localhost", b"null"],
)
async def test_another_port_or_scheme_of_the_same_host_is_refused(space, owner, origin):
    cookie = await sync_to_async(session_cookie)(owner)
    comm = communicator(space.pk, (b"origin", origin), (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected


@run_async
async def test_a_host_that_is_not_allowed_is_refused(space, owner):
    cookie = await sync_to_async(session_cookie)(owner)
    headers = [(b"host", b"evil.example"), (b"origin", b"http://evil.example")]
    comm = communicator(space.pk, *headers, (b"cookie", cookie))
    connected, _ = await comm.connect()
    assert not connected


# --- a socket lives no longer than its credential ------------------------------------------


async def _close_code_after(comm) -> int:
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close", f"still sent: {message}"
    return message["code"]


@run_async
async def test_revoking_the_token_closes_its_socket(space, owner, editor):
    from spaces.models import ApiToken

    raw = await sync_to_async(bearer)(editor)
    comm = communicator(space.pk, (b"authorization", raw))
    assert (await comm.connect())[0]
    token = await sync_to_async(ApiToken.objects.get)(user=editor)
    await sync_to_async(services.token_revoke)(token=token)
    assert await _close_code_after(comm) == CLOSE_UNAUTHENTICATED
    await sync_to_async(services.thought_create)(space=space, actor=owner, key="k", title="t")
    assert await comm.receive_nothing(timeout=0.2)


@run_async
async def test_logging_out_closes_the_sessions_socket(space, owner):
    client = Client()
    await sync_to_async(client.force_login)(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"cookie", cookie))
    assert (await comm.connect())[0]
    response = await sync_to_async(client.post)("/logout/")
    assert response.status_code in (200, 302)
    assert await _close_code_after(comm) == CLOSE_UNAUTHENTICATED


@run_async
async def test_a_revocation_that_sent_no_message_is_found_by_the_next_check(
    space, owner, editor, monkeypatch
):
    """A token revoked on another replica arrives by sync, with no message to the sockets:
    the socket checks its credential again before it sends an event."""
    from spaces import consumers
    from spaces.models import ApiToken

    monkeypatch.setattr(consumers, "CREDENTIAL_RECHECK", 0.0)
    raw = await sync_to_async(bearer)(editor)
    comm = communicator(space.pk, (b"authorization", raw))
    assert (await comm.connect())[0]
    revoked = ApiToken.objects.filter(user=editor)
    await sync_to_async(revoked.update)(revoked_at=timezone.now())  # as a pull writes it
    await sync_to_async(services.thought_create)(space=space, actor=owner, key="k", title="t")
    assert await _close_code_after(comm) == CLOSE_UNAUTHENTICATED
