"""ASGI entry point for daphne: HTTP through Django; WebSocket routes join with live updates."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thoughtspace.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

# Static files are served by the app itself (no CDN, no separate web server needed).
application = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app)})
