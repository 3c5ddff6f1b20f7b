"""The WebSocket of a space, ``/ws/spaces/{space_id}/``: one JSON event per committed change.

Browsers authenticate with their session cookie; other clients send
``Authorization: Bearer <token>`` in the handshake. A refused connection is accepted and then
closed with a code the client can read: 4401 (not authenticated) or 4404 (no such space, or
no access to it).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from spaces import live, selectors, services
from spaces.errors import NotFound

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin1")
    return None


def bearer_token(scope: dict[str, Any]) -> str | None:
    """The raw token of an ``Authorization: Bearer ...`` handshake header, if any."""
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, raw = value.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return raw.strip()


@database_sync_to_async
def _user_for_token(raw: str) -> Any:
    token = services.token_authenticate(raw=raw)
    return token.user if token is not None else None


@database_sync_to_async
def _may_see(user: Any, space_id: str) -> bool:
    try:
        selectors.space_get(user=user, space_id=space_id)
    except NotFound:
        return False
    return True


class SpaceConsumer(AsyncJsonWebsocketConsumer):
    """Joins the space's group after checking access, then forwards the group's events."""

    space_id: str
    group: str
    user: Any

    async def connect(self) -> None:
        self.space_id = self.scope["url_route"]["kwargs"]["space_id"]
        self.group = live.group_name(self.space_id)
        self.user = await self._authenticate()
        if self.user is None:
            await self._refuse(CLOSE_UNAUTHENTICATED)
        elif not await _may_see(self.user, self.space_id):
            await self._refuse(CLOSE_NOT_FOUND)
        else:
            # Joined before the handshake completes: no change can fall between the two.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.accept()

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code``: a browser cannot read a refused handshake's status."""
        self.group = ""
        await self.accept()
        await self.close(code=code)

    async def _authenticate(self) -> Any:
        raw = bearer_token(self.scope)
        if raw is not None:
            return await _user_for_token(raw)
        # Without an Origin this is not a browser (see thoughtspace.asgi): cookies don't count.
        if _header(self.scope, b"origin") is None:
            return None
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated else None

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", ""):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; anything they send is ignored."""

    async def space_event(self, message: dict[str, Any]) -> None:
        """A committed change of this space, from this instance or another one."""
        await live.ensure_local(message)
        event = message["event"]
        await self.send_json(event)
        if event.get("type") == "space.deleted" or await self._lost_access(event):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_NOT_FOUND)

    async def _lost_access(self, event: dict[str, Any]) -> bool:
        data = event.get("data") or {}
        if event.get("type") != "space.shared" or data.get("role") is not None:
            return False
        if data.get("user") != self.user.get_username():
            return False
        return not await _may_see(self.user, self.space_id)
