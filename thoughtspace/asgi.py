"""ASGI entry point for daphne: HTTP through Django, and the live-update WebSockets."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thoughtspace.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from spaces.routing import websocket_urlpatterns  # noqa: E402
from syncops.runtime import start_server  # noqa: E402

# The server owns its replica: it syncs in the background and answers `manage.py sync`.
start_server()


def origin_or_bearer(inner: Any) -> Any:
    """Browsers always send an Origin, which must be an allowed host (no cross-site socket can
    ride on a session cookie). A handshake without an Origin is not a browser's: it may still
    connect with a bearer token, and SpaceConsumer then ignores any cookie it sent."""
    checked = AllowedHostsOriginValidator(inner)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        names = {name.lower() for name, _ in scope.get("headers", [])}
        if b"origin" not in names and b"authorization" in names:
            return await inner(scope, receive, send)
        return await checked(scope, receive, send)

    return app


websocket_app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))

# Static files are served by the app itself (no CDN, no separate web server needed).
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": origin_or_bearer(websocket_app),
    }
)
