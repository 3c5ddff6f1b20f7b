"""At most ``THOUGHTSPACE_MAX_CONCURRENT_REQUESTS`` requests of a process run at once; the
others wait their turn before any of their work starts.

A process runs Python one thread at a time. Past a few requests at once, more of them only
make each slower, and the one holding the database's write lock (or the sync worker applying
a pull) waits its turn among them all: under 50 users, three processes on two cores, a pull
waited 0.1-0.6 s for the write lock held by a request that was itself waiting to run, and a
write took 0.97 s (p95) to reach every process; with four requests at a time, 0.59 s, with as
many requests a second (docs/BENCHMARKS.md, "Fleet load"). Health checks and metrics never
wait (a balancer must see a busy process as alive), and a request that waits for something
else (a 404 waiting for a pull, ``released``) gives its turn up meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpRequest, HttpResponse

EXEMPT = ("/healthz", "/readyz", "/metrics")  # static files are served before Django
_held = threading.local()  # the slots the request on this thread holds a turn of


class ConcurrencyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        limit = settings.MAX_CONCURRENT_REQUESTS
        self.slots = threading.Semaphore(limit) if limit else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.slots is None or request.path.startswith(EXEMPT):
            return self.get_response(request)
        with self.slots:
            _held.slots = self.slots
            try:
                return self.get_response(request)
            finally:
                _held.slots = None


@contextmanager
def released() -> Iterator[None]:
    """Give this request's turn up while it waits for something other requests may need
    their turns for; take one again after."""
    slots = getattr(_held, "slots", None)
    if slots is None:
        yield
        return
    _held.slots = None
    slots.release()
    try:
        yield
    finally:
        slots.acquire()
        _held.slots = slots
