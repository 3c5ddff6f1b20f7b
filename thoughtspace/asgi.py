"""ASGI entry point for daphne: HTTP through Django, and the live-update WebSockets."""

import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thoughtspace.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402

from spaces import fleet  # noqa: E402
from spaces.routing import websocket_urlpatterns  # noqa: E402
from syncops.runtime import start_server  # noqa: E402

# The server owns its replica: it syncs in the background and answers `manage.py sync`; with
# Redis, it pulls as soon as another process of the fleet pushed.
start_server()
fleet.start_listener()


def origin_or_bearer(inner: Any) -> Any:
    """Browsers always send an Origin, which must be this very site: the scheme, host and
    port the socket connects to (as Django's CSRF check compares them), or one of
    ``CSRF_TRUSTED_ORIGINS``, on an allowed host. No cross-site socket can ride on a session
    cookie, not even from another port of the same host. A handshake without an Origin is not
    a browser's: it may still connect with a bearer token, and SpaceConsumer then ignores any
    cookie it sent."""
    denied = WebsocketDenier()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = {
            bytes(name).decode("latin1").lower(): bytes(value).decode("latin1")
            for name, value in scope["headers"]
        }
        origin = headers.get("origin")
        if origin is None and "authorization" in headers:
            return await inner(scope, receive, send)
        if origin is not None and same_site(origin, headers.get("host", ""), scope):
            return await inner(scope, receive, send)
        return await denied(scope, receive, send)

    return app


def same_site(origin: str, host: str, scope: dict[str, Any]) -> bool:
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return origin == f"{scheme}://{host}" or origin in settings.CSRF_TRUSTED_ORIGINS


class BodyTooBig(Exception):
    pass


def api_body_limit(inner: Any) -> Any:
    """An /api/ request body over ``API_MAX_BODY_BYTES`` is refused with 413 as it streams
    in, whatever its framing: spaces.middleware reads ``Content-Length``, which a chunked
    body does not have, and Django would otherwise read such a body whole."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if not scope["path"].startswith("/api/"):
            return await inner(scope, receive, send)
        limit = settings.API_BODY_LIMITS.get(scope["path"], settings.API_MAX_BODY_BYTES)
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooBig
            return message

        try:
            return await inner(scope, counted, send)
        except BodyTooBig:
            body = json.dumps({"detail": f"The request body is over the limit of {limit} bytes."})
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body.encode()})

    return app


websocket_app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))

# Static files are served by the app itself (no CDN, no separate web server needed).
application = ProtocolTypeRouter(
    {
        "http": api_body_limit(ASGIStaticFilesHandler(django_asgi_app)),
        "websocket": origin_or_bearer(websocket_app),
    }
)
