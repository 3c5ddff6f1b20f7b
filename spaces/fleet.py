"""Processes of one fleet tell each other when they pushed, so that the others pull at once
instead of at their next timer (``TURSO_SYNC_INTERVAL``): a write reaches every process in
about the time of a push and a pull.

Over the channel layer every process shares (Redis): after each push that worked
(``syncops.signals.pushed``) a process sends ``fleet.pushed`` to one group, and a listener
thread in every served process (started by thoughtspace/asgi.py) asks its worker for a pull
when a message comes from another process. Without Redis (one process) or in local and remote
modes (no replica to pull) nothing starts. A lost message costs only the wait for the timer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from spaces.live import INSTANCE_ID, PUBLISH_TIMEOUT

logger = logging.getLogger("spaces")
GROUP = "fleet.pushed"
REJOIN_SECONDS = 3600.0  # the group forgets members after a day (channels_redis group_expiry)
_started = threading.Event()


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.DB_MODE in ("replica", "offline")


def announce_push(sender: Any = None, **kwargs: Any) -> None:
    """``pushed`` receiver: tell the other processes (bounded; never raises)."""
    if not enabled():
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send)(layer)
    except Exception:
        logger.warning("Could not tell the other processes about a push", exc_info=True)


async def _send(layer: Any) -> None:
    message = {"type": "fleet.pushed", "origin": INSTANCE_ID}
    await asyncio.wait_for(layer.group_send(GROUP, message), timeout=PUBLISH_TIMEOUT)


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

    from syncops.runtime import request_pull

    # A layer of its own: a channels_redis layer receives on one event loop only, and the
    # server's (daphne's) receives for the WebSockets.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel = await layer.new_channel()
    while True:
        await layer.group_add(GROUP, channel)
        try:
            async with asyncio.timeout(REJOIN_SECONDS):
                while True:
                    message = await layer.receive(channel)
                    if message.get("origin") != INSTANCE_ID:
                        request_pull()  # sets an event: no database, nothing that blocks
        except TimeoutError:
            continue  # join the group again before it forgets this channel
