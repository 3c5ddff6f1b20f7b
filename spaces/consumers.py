"""The WebSocket of a space, ``/ws/spaces/{space_id}/``: one JSON event per committed change.

Browsers authenticate with their session cookie; other clients send
``Authorization: Bearer <token>`` in the handshake. A refused connection is accepted and then
closed with a code the client can read: 4401 (not authenticated) or 4404 (no such space, or
no access to it). A socket lives no longer than its credential: revoking the token or ending
the login session closes it with 4401 at once (spaces.live.close_sockets), and the credential
is checked again at most every ``CREDENTIAL_RECHECK`` seconds of events, for revocations
that reach this instance only through sync.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from spaces import live, selectors, services
from spaces.errors import NotFound
from spaces.models import ApiToken
from thoughtspace.metrics import WEBSOCKETS

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CREDENTIAL_RECHECK = 60.0  # seconds


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
def _token(raw: str) -> ApiToken | None:
    return services.token_authenticate(raw=raw)


@database_sync_to_async
def _still_valid(user: Any, token_id: str | None, session_key: str | None) -> bool:
    """Whether the credential the socket opened with still holds."""
    if token_id is not None:
        return ApiToken.objects.filter(
            pk=token_id, revoked_at__isnull=True, user__is_active=True
        ).exists()
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return bool(
        session_key
        and store.get(SESSION_KEY) == str(user.pk)
        and type(user).objects.filter(pk=user.pk, is_active=True).exists()
    )


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
    token_id: str | None = None
    session_key: str | None = None
    credential_group: str = ""
    checked_at: float = 0.0
    counted = False  # in the connections gauge

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
            await self.channel_layer.group_add(self.credential_group, self.channel_name)
            self.checked_at = time.monotonic()
            await self.accept()
            WEBSOCKETS.inc()
            self.counted = True

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code``: a browser cannot read a refused handshake's status."""
        self.group = self.credential_group = ""
        await self.accept()
        await self.close(code=code)

    async def _authenticate(self) -> Any:
        raw = bearer_token(self.scope)
        if raw is not None:
            token = await _token(raw)
            if token is None:
                return None
            self.token_id = token.pk
            self.credential_group = live.token_group(token.pk)
            return token.user
        # Without an Origin this is not a browser (see thoughtspace.asgi): cookies don't count.
        if _header(self.scope, b"origin") is None:
            return None
        user = self.scope.get("user")
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if user is None or not user.is_authenticated or not session_key:
            return None
        self.session_key = session_key
        self.credential_group = live.session_group(session_key)
        return user

    async def disconnect(self, code: int) -> None:
        if self.counted:  # accepted, and this is its first close
            WEBSOCKETS.dec()
            self.counted = False
        for group in (self.group, self.credential_group):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.credential_group = ""

    async def credential_revoked(self, message: dict[str, Any]) -> None:
        """The token was revoked or the login session ended: nothing more is sent."""
        await self.disconnect(CLOSE_UNAUTHENTICATED)
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; anything they send is ignored."""

    async def space_event(self, message: dict[str, Any]) -> None:
        """A committed change of this space, from this instance or another one."""
        await live.ensure_local(message)
        if not self.group:
            return  # closed already
        if time.monotonic() - self.checked_at > CREDENTIAL_RECHECK:
            self.checked_at = time.monotonic()
            if not await _still_valid(self.user, self.token_id, self.session_key):
                await self.credential_revoked({})
                return
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
