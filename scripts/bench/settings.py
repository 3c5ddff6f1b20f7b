"""The product's settings plus a ``Server-Timing`` header, so that the benchmark can tell the
server's time from the client's. Used by every instance the benchmark starts."""

from thoughtspace.settings import *  # noqa: F403
from thoughtspace.settings import MIDDLEWARE

MIDDLEWARE = ["scripts.bench.timing.ServerTimingMiddleware", *MIDDLEWARE]
# The level in every line, so that the soak can count the warnings and errors of a run.
LOGGING = {
    **LOGGING,  # noqa: F405
    "formatters": {"levelled": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "levelled"}},
}
