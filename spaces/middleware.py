"""Middleware: refuse oversized API request bodies with 413 before anything reads them, name
the agent session of a token's request in the ``X-Agent-Session`` response header, and answer
a page the database cannot serve now with a 503 page that says why, and believe a 404 in
replica and offline modes only after a pull."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import format_html

from spaces import fleet
from spaces.errors import not_applied, unavailable_answer
from syncops import runtime
from thoughtspace import concurrency

logger = logging.getLogger("spaces")


class ApiBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
            limit = settings.API_BODY_LIMITS.get(request.path, settings.API_MAX_BODY_BYTES)
            if length > limit:
                return JsonResponse(
                    {"detail": f"The request body is {length} bytes; the limit is {limit}."},
                    status=413,
                )
        return self.get_response(request)


class AgentSessionHeaderMiddleware:
    """Answer every token-authenticated API call with its agent session's id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "agent_session", None)
        if session is not None:
            response["X-Agent-Session"] = session.pk
        return response


class DatabaseUnavailableMiddleware:
    """A page whose database work was refused (busy, primary unreachable, files being rebuilt)
    answers 503 with ``Retry-After`` and the reason, never a server error or a driver's text.
    (The API answers the same in its exception handler.)

    A request whose write the primary rolled back whole (``errors.not_applied``: nothing of it
    was applied) runs again after a pause, twice at most, before its 503 goes out: replica
    mode's "snapshot not found" passes within a second or two."""

    RETRY_PAUSES = (0.3, 1.0)  # seconds

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for pause in self.RETRY_PAUSES:
            request.write_not_applied = False  # type: ignore[attr-defined]
            response = self.get_response(request)
            if not request.write_not_applied:  # type: ignore[attr-defined]
                return response
            logger.info(
                "%s %s: the write was not applied; trying again", request.method, request.path
            )
            time.sleep(pause)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        not_applied(request, exception)
        detail, retry_after = unavailable_answer(exception)
        try:
            body = render_to_string("503.html", {"detail": detail}, request=request)
        except Exception:  # the page's own reads failed too: say it plainly
            logger.exception("Could not render the 503 page")
            page = "<!doctype html><title>Try again in a moment</title><p>{}</p>"
            body = format_html(page, detail)
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(retry_after)
        return response


class NotFoundAfterPullMiddleware:
    """In replica and offline modes a 404 may only mean that this process has not pulled yet:
    another process on the same remote made the object a moment ago. A client that a load
    balancer moves to another process (a failover, a rolling restart) asks there for what it
    has just made. So a 404 from a view waits until the other processes that said they are
    about to push (spaces.fleet, over Redis) have pushed, then for a pull that began after
    that; the request then runs once more and its second answer goes out.

    Waiters share pulls (one pull answers every 404 that waits for it), each wait is bounded,
    and a path that no URL matches never waits. Local and remote modes read the database
    every write goes to, and do not wait."""

    WAIT_SECONDS = 2.0  # for the others' pushes, then as much again for the pull

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 404 or getattr(request, "resolver_match", None) is None:
            return response
        with concurrency.released():  # waiting holds up no other request
            fleet.wait_for_pushes(self.WAIT_SECONDS)
            pulled = runtime.fresh_pull(self.WAIT_SECONDS)
        if not pulled:
            return response
        return self.get_response(request)
