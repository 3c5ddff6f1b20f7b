"""At most THOUGHTSPACE_MAX_CONCURRENT_REQUESTS requests of a process run at once; health
checks never wait, and a request waiting for something else gives its turn up."""

from __future__ import annotations

import threading
import time

from django.http import HttpResponse
from django.test import RequestFactory

from tests.sync.instances import wait_until
from thoughtspace import concurrency
from thoughtspace.concurrency import ConcurrencyLimitMiddleware


class Views:
    """A view that holds each request until told to go, counting how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.go = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, request) -> HttpResponse:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if request.GET.get("wait") == "elsewhere":
                with concurrency.released():
                    self.go.wait(5)
            else:
                self.go.wait(5)
        finally:
            with self.lock:
                self.running -= 1
        return HttpResponse("ok")


def run(middleware, paths: list[str]) -> list[threading.Thread]:
    factory = RequestFactory()
    threads = [threading.Thread(target=middleware, args=(factory.get(p),)) for p in paths]
    for thread in threads:
        thread.start()
    return threads


def test_requests_past_the_limit_wait_their_turn(settings):
    settings.MAX_CONCURRENT_REQUESTS = 2
    views = Views()
    middleware = ConcurrencyLimitMiddleware(views)
    threads = run(middleware, ["/spaces/"] * 5)
    wait_until(lambda: views.running == 2)
    time.sleep(0.1)
    assert views.running == 2  # the other three wait
    health = run(middleware, ["/healthz", "/readyz", "/metrics"])
    wait_until(lambda: views.running == 5)  # never wait for a turn
    views.go.set()
    for thread in threads + health:
        thread.join(5)
    assert views.most == 5 and views.running == 0


def test_a_request_waiting_elsewhere_gives_its_turn_up(settings):
    settings.MAX_CONCURRENT_REQUESTS = 1
    views = Views()
    middleware = ConcurrencyLimitMiddleware(views)
    first = run(middleware, ["/spaces/?wait=elsewhere"])
    wait_until(lambda: views.running == 1)
    second = run(middleware, ["/spaces/"])
    wait_until(lambda: views.running == 2)  # the first one's turn went to it
    views.go.set()
    for thread in first + second:
        thread.join(5)
    assert views.running == 0


def test_zero_means_no_limit(settings):
    settings.MAX_CONCURRENT_REQUESTS = 0
    views = Views()
    threads = run(ConcurrencyLimitMiddleware(views), ["/spaces/"] * 6)
    wait_until(lambda: views.running == 6)
    views.go.set()
    for thread in threads:
        thread.join(5)
