"""Processes of one fleet tell each other when they are about to push and when they pushed,
so that the others pull at once instead of at their next timer (``TURSO_SYNC_INTERVAL``), and
know when a thing they do not hold yet may be on its way.

Over the channel layer every process shares (Redis), to one group:

- ``fleet.pushing`` when a process's worker has writes to push (``syncops.signals.pushing``,
  a moment before the push);
- ``fleet.pushed`` after each push that worked (``syncops.signals.pushed``).

A listener thread in every served process (started by thoughtspace/asgi.py) asks its worker
for a pull on ``fleet.pushed`` from another process, and keeps which processes have writes
on their way: a 404 waits for those (spaces.middleware.NotFoundAfterPullMiddleware). Without
Redis (one process) or in local and remote modes (no replica to pull) nothing starts. A lost
message costs only the wait for the timer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from spaces.live import INSTANCE_ID, PUBLISH_TIMEOUT

logger = logging.getLogger("spaces")
GROUP = "fleet.pushed"
REJOIN_SECONDS = 3600.0  # the group forgets members after a day (channels_redis group_expiry)
# A process that said it would push and has not pushed this long after is failing to push
# (its remote is down, it stopped): waiting for it would not help.
STALE_SECONDS = 5.0
_started = threading.Event()
_pending: dict[str, float] = {}  # process -> time.monotonic() of its latest fleet.pushing
_pending_changed = threading.Condition()
# The listener's event loop and channel layer while it runs: announcements are sent there.
_listening: tuple[asyncio.AbstractEventLoop, Any] | None = None


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.DB_MODE in ("replica", "offline")


def announce_pushing(sender: Any = None, **kwargs: Any) -> None:
    """``pushing`` receiver: tell the other processes (bounded; never raises)."""
    _announce("fleet.pushing")


def announce_push(sender: Any = None, **kwargs: Any) -> None:
    """``pushed`` receiver: tell the other processes (bounded; never raises)."""
    _announce("fleet.pushed")


def _announce(kind: str) -> None:
    if not enabled():
        return
    try:
        # Called on the sync worker's thread, which runs no loop. On the listener's loop when
        # it runs: its connections to Redis stay open (a loop of its own per message would
        # connect anew each time, twice a push). Else on a loop of its own, not async_to_sync's
        # executor, which refuses work once the interpreter is shutting down (the last push of
        # a stopping process went unannounced).
        listening = _listening
        if listening is not None and listening[0].is_running():
            loop, layer = listening
            asyncio.run_coroutine_threadsafe(_send(layer, kind), loop).result(PUBLISH_TIMEOUT + 1)
            return
        layer = get_channel_layer()
        if layer is not None:
            asyncio.run(_send(layer, kind))
    except Exception:
        logger.warning("Could not tell the other processes (%s)", kind, exc_info=True)


async def _send(layer: Any, kind: str) -> None:
    message = {"type": kind, "origin": INSTANCE_ID}
    await asyncio.wait_for(layer.group_send(GROUP, message), timeout=PUBLISH_TIMEOUT)


def wait_for_pushes(timeout: float) -> None:
    """Wait (``timeout`` at most) until every other process that has said it is about to
    push has pushed; at once when none has."""

    def none_pending() -> bool:
        fresh = time.monotonic() - STALE_SECONDS
        return not any(said > fresh for said in _pending.values())

    with _pending_changed:
        _pending_changed.wait_for(none_pending, timeout)


def _heard(message: dict[str, Any]) -> None:
    origin = message.get("origin")
    if not isinstance(origin, str) or origin == INSTANCE_ID:
        return
    with _pending_changed:
        if message.get("type") == "fleet.pushing":
            now = time.monotonic()
            for stale in [o for o, said in _pending.items() if said < now - STALE_SECONDS]:
                del _pending[stale]  # processes that stopped are forgotten
            _pending[origin] = now
        else:
            _pending.pop(origin, None)
            _pending_changed.notify_all()
    if message.get("type") == "fleet.pushed":
        from syncops.runtime import request_pull

        request_pull()  # sets an event: no database, nothing that blocks


def start_listener() -> None:
    """Listen for other processes' pushes, on a daemon thread (once per process)."""
    if not enabled() or _started.is_set():
        return
    _started.set()
    threading.Thread(target=_listen_forever, name="spaces-fleet", daemon=True).start()


def _listen_forever() -> None:
    while True:
        try:
            asyncio.run(_listen())
        except Exception:
            logger.warning("The fleet listener stopped; starting again in 5 s", exc_info=True)
        threading.Event().wait(5.0)


async def _listen() -> None:
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers

    global _listening
    # A layer of its own: a channels_redis layer receives on one event loop only, and the
    # server's (daphne's) receives for the WebSockets.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel = await layer.new_channel()
    _listening = (asyncio.get_running_loop(), layer)
    while True:
        await layer.group_add(GROUP, channel)
        try:
            async with asyncio.timeout(REJOIN_SECONDS):
                while True:
                    _heard(await layer.receive(channel))
        except TimeoutError:
            continue  # join the group again before it forgets this channel
