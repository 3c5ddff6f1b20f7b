"""The JSON API (django-ninja) under /api/, one module per resource: spaces, thoughts, links,
history, conflicts, search, agents (proposals and agent sessions) and archive (export, import,
restore). Endpoints parse, check access through selectors and make their change through
``common.perform``. Errors become ``{"detail": ...}`` responses in the handlers below.
"""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError

from spaces.api import agents, archive, conflicts, history, links, search, spaces, thoughts
from spaces.api.common import Proposed
from spaces.auth import API_AUTH
from spaces.errors import ServiceError, TooManyRequests, not_applied, unavailable_answer
from spaces.schemas import JsonObjects, ProposalOut

# The modules split from one: their operation ids stay what they were (spaces_api_<name>).
_FIRST_MODULES = {m.__name__ for m in (spaces, thoughts, links, history, conflicts, search)}


class ThoughtSpaceAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        view = operation.view_func
        if view.__module__ in _FIRST_MODULES:
            return f"spaces_api_{view.__name__}"
        return super().get_openapi_operation_id(operation)


api = ThoughtSpaceAPI(
    title="ThoughtSpace API",
    version="1.0",
    description=(
        "Spaces of thoughts (nodes) and links. Authenticate with `Authorization: Bearer <token>` "
        "(create one on the Tokens page or with `manage.py create_token`). Change one thought "
        "at a time; send `If-Match` with the thought's ETag to avoid overwriting newer edits; "
        "never rewrite a whole space. A token in `confirm` mode gets 202 and a proposal for "
        "every change (nothing changes until a person approves it); a `read` token gets 403. "
        "Send `X-Agent-Session` to group your calls; the agent guide is at /agents/."
    ),
    auth=API_AUTH,
    parser=JsonObjects(),
    urls_namespace="api",
)

for module in (spaces, thoughts, links, history, conflicts, search, agents, archive):
    api.add_router("/", module.router)


# --- errors ------------------------------------------------------------------------------


def unknown_endpoint(request: HttpRequest) -> HttpResponse:
    """Any /api/ path no endpoint serves."""
    return JsonResponse(
        {"detail": f"No endpoint at {request.path}: the endpoints are listed at /api/docs."},
        status=404,
    )


@api.exception_handler(Proposed)
def proposed(request: HttpRequest, exc: Proposed) -> HttpResponse:
    body = ProposalOut.from_orm(exc.proposal).model_dump(mode="json")
    response = api.create_response(request, body, status=202)
    response["Location"] = f"/api/proposals/{exc.proposal.pk}"
    return response


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=exc.status)
    if isinstance(exc, TooManyRequests):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja's own refusals; a body the parser refused keeps the parser's message."""
    if isinstance(exc.__cause__, ServiceError):
        return service_error(request, exc.__cause__)
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(DataError)
def unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
    """A value the database cannot store (the input checks missed it): the input's fault."""
    return api.create_response(
        request, {"detail": f"This input cannot be stored: {exc}"}, status=422
    )


@api.exception_handler(OperationalError)
def unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """The database cannot take the request now (busy, its primary unreachable, its files
    being rebuilt): 503 with ``Retry-After``."""
    not_applied(request, exc)
    detail, retry_after = unavailable_answer(exc)
    response = api.create_response(request, {"detail": detail}, status=503)
    response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Authentication required: send 'Authorization: Bearer <token>' or log in."},
        status=401,
    )
