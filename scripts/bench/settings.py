"""The product's settings plus a ``Server-Timing`` header, so that the benchmark can tell the
server's time from the client's. Used by every instance the benchmark starts."""

from thoughtspace.settings import *  # noqa: F403
from thoughtspace.settings import MIDDLEWARE

MIDDLEWARE = ["scripts.bench.timing.ServerTimingMiddleware", *MIDDLEWARE]
