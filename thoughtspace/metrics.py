"""``/metrics`` for Prometheus: requests by route and status, WebSocket connections, open
conflicts, and the sync figures of ``syncops.metrics``.

Only trusted scrapers read it: with ``THOUGHTSPACE_METRICS_TOKEN`` set, a request must carry
``Authorization: Bearer <token>``; without, it must come from an address of
``THOUGHTSPACE_METRICS_ALLOW`` (default: this machine). Anyone else gets 404, as for a page
that is not there.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from syncops.metrics import SyncCollector

REQUEST_SECONDS = Histogram(
    "thoughtspace_http_request_duration_seconds",
    "HTTP requests by route (the URL pattern), method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge("thoughtspace_websocket_connections", "Open live-update WebSocket connections.")


class ConflictCollector(Collector):
    def collect(self) -> Iterator[Any]:
        from spaces.models import Conflict

        family = GaugeMetricFamily(
            "thoughtspace_conflicts_open", "Conflicts neither restored nor dismissed."
        )
        family.add_metric([], Conflict.objects.filter(resolution__isnull=True).count())
        yield family


_registered = False


def register() -> None:
    """Add the collectors that read the database at scrape time (once, at the first scrape)."""
    global _registered
    if not _registered:
        REGISTRY.register(SyncCollector())
        REGISTRY.register(ConflictCollector())
        _registered = True


class RequestMetricsMiddleware:
    """Times every request by its route's pattern (``/api/spaces/{space_id}``), never its
    path, so the series stay few."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_SECONDS.labels(route, request.method or "", str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


def _trusted(request: HttpRequest) -> bool:
    token = settings.THOUGHTSPACE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.THOUGHTSPACE_METRICS_ALLOW)


def metrics(request: HttpRequest) -> HttpResponse:
    if request.method != "GET" or not _trusted(request):
        raise Http404
    register()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
