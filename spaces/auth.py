"""API authentication: bearer tokens for clients, the session (with CSRF) for browsers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from ninja.security import HttpBearer, SessionAuth

from spaces.agents import agent_session_for_request
from spaces.errors import TooManyRequests
from spaces.models import ApiToken
from spaces.services import token_authenticate

AGENT_SESSION_HEADER = "X-Agent-Session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class BearerToken(HttpBearer):
    """``Authorization: Bearer ts_...``; the request then acts as the token's user, within
    the agent session named by ``X-Agent-Session`` (or the token's current one)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(raw=token)
        if api_token is None:
            return None
        usage = get_usage(
            request,
            group="api-token",
            key=lambda group, request: api_token.pk,
            rate=settings.API_TOKEN_RATE,
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            raise TooManyRequests(
                f"This token made more than {settings.API_TOKEN_RATE} requests: "
                f"wait {usage['time_left']} s and retry.",
                retry_after=max(1, usage["time_left"]),
            )
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        request.agent_session = agent_session_for_request(  # type: ignore[attr-defined]
            token=api_token,
            header=request.headers.get(AGENT_SESSION_HEADER),
            start=request.method not in SAFE_METHODS and api_token.mode != ApiToken.Mode.READ,
        )
        return api_token.user


class BrowserSession(SessionAuth):
    """The login session of the pages, with Django's CSRF check. A request without a
    logged-in session is unauthenticated (401): the CSRF check guards a session, and an
    anonymous request has none to abuse."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)


API_AUTH = [BearerToken(), BrowserSession()]
