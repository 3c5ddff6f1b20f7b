"""Live updates: every committed change goes to the channel group of its space, and from there
to each open WebSocket of that space, on this instance or any other sharing the channel layer.

``relay_change`` is connected to ``spaces.events.change_committed`` (see ``SpacesConfig``), so
an event is published only after its transaction commits, never for rolled-back work.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils.module_loading import import_string
from ulid import ULID

logger = logging.getLogger(__name__)

# Tells this process's messages from other instances' on a shared (Redis) channel layer.
INSTANCE_ID = str(ULID())
MESSAGE_TYPE = "space.event"  # handled by SpaceConsumer.space_event
_RECENT_RELAYS = 256
PUBLISH_TIMEOUT = 2.0  # seconds


def group_name(space_id: str) -> str:
    """The channel group of a space's open pages and clients."""
    return f"space.{space_id}"


# Sockets opened with a credential are in its group; revoking it closes them at once.
REVOKED_TYPE = "credential.revoked"  # handled by SpaceConsumer.credential_revoked


def token_group(token_id: str) -> str:
    return f"auth.token.{token_id}"


def session_group(session_key: str) -> str:
    """The group of a login session's sockets, named by a digest (the key is a secret)."""
    return f"auth.session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


def close_sockets(group: str) -> None:
    """Close every open socket of a credential that no longer holds (a revoked token, an
    ended login session), on this instance or any other sharing the channel layer."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_publish)(layer, group, {"type": REVOKED_TYPE})
    except Exception:
        # The sockets still check their credential again within CREDENTIAL_RECHECK seconds.
        logger.exception("Could not close the sockets of %s", group)


def session_ended(sender: Any = None, *, request: Any = None, **kwargs: Any) -> None:
    """``user_logged_out``: the session's sockets close with it."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        close_sockets(session_group(session_key))


def relay_change(sender: Any = None, *, event: dict[str, Any], **kwargs: Any) -> None:
    """Publish a committed change to its space's group; a failure is logged, not raised,
    because the change is committed already and pages catch up when they reconnect."""
    layer = get_channel_layer()
    if layer is None or not event.get("space_id"):
        return
    message = {
        "type": MESSAGE_TYPE,
        "event": {**event, "type": str(event["type"])},  # plain str: TextChoices → msgpack
        "origin": INSTANCE_ID,
        "relay_id": str(ULID()),
    }
    try:
        async_to_sync(_publish)(layer, group_name(str(event["space_id"])), message)
    except Exception:
        logger.exception("Could not publish the live event %s", event.get("type"))


async def _publish(layer: Any, group: str, message: dict[str, Any]) -> None:
    # Bounded: an unreachable Redis must not hold the request that made the change.
    await asyncio.wait_for(layer.group_send(group, message), timeout=PUBLISH_TIMEOUT)


def before_relay(event: dict[str, Any]) -> None:
    """Make this instance's database hold ``event``'s change before its clients hear of it.

    Called once per event that another instance made. It runs ``settings.LIVE_BEFORE_RELAY``
    (a dotted path to ``hook(event) -> None``, e.g. a pull from the remote primary in the
    replica and offline modes) when one is set. Unset it does nothing: in local mode every
    instance opens the same database file, so the change is there already.
    """
    hook_path = getattr(settings, "LIVE_BEFORE_RELAY", None)
    if hook_path:
        import_string(hook_path)(event)


def pull_until_present(event: dict[str, Any], *, timeout: float = 3.0) -> None:
    """A ``LIVE_BEFORE_RELAY`` hook for the syncing modes: pull from the remote until this
    instance holds the event's history entry (the writer may still be pushing it)."""
    from spaces.models import HistoryEntry
    from syncops.runtime import pull_now

    history_id = event.get("history_id")
    deadline = time.monotonic() + timeout
    while True:
        pull_now()
        if not history_id or HistoryEntry.objects.filter(pk=history_id).exists():
            return
        if time.monotonic() >= deadline:
            logger.warning("Relaying %s before its change arrived here", event.get("type"))
            return
        time.sleep(0.05)


_pending: OrderedDict[str, asyncio.Future[None]] = OrderedDict()


async def ensure_local(message: dict[str, Any]) -> None:
    """Run ``before_relay`` once per foreign event, however many consumers here relay it."""
    if message.get("origin") == INSTANCE_ID:
        return
    relay_id = str(message.get("relay_id", ""))
    future = _pending.get(relay_id)
    if future is None:
        future = asyncio.ensure_future(
            sync_to_async(before_relay, thread_sensitive=False)(message["event"])
        )
        _pending[relay_id] = future
        while len(_pending) > _RECENT_RELAYS:
            _pending.popitem(last=False)
    try:
        await asyncio.shield(future)
    except Exception:
        # The event is still relayed: the page refetches, and the sync state shows the error.
        logger.exception("before_relay failed for %s", message["event"].get("type"))
