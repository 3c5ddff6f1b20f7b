"""API middleware: refuse oversized request bodies with 413 before anything reads them, and
name the agent session of a token's request in the ``X-Agent-Session`` response header."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class ApiBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    {
                        "detail": f"The request body is {length} bytes; the limit is "
                        f"{settings.API_MAX_BODY_BYTES}."
                    },
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
