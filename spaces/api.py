"""The JSON API (django-ninja) under /api/: spaces, thoughts, links and history.

Endpoints parse, check access through selectors and call one service; errors become
``{"detail": ...}`` responses in the handlers at the bottom of this module.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError
from ninja.pagination import LimitOffsetPagination, paginate

from spaces import selectors, services
from spaces.auth import API_AUTH
from spaces.errors import PreconditionFailed, ServiceError
from spaces.models import Thought
from spaces.schemas import (
    Error,
    HistoryOut,
    LinkIn,
    LinkOut,
    ShareIn,
    SpaceIn,
    SpaceOut,
    SpacePatch,
    ThoughtIn,
    ThoughtOut,
    ThoughtPatch,
)

api = NinjaAPI(
    title="ThoughtSpace API",
    version="1.0",
    description=(
        "Spaces of thoughts (nodes) and links. Authenticate with `Authorization: Bearer <token>` "
        "(create one on the Tokens page or with `manage.py create_token`). Change one thought "
        "at a time; send `If-Match` with the thought's ETag to avoid overwriting newer edits."
    ),
    auth=API_AUTH,
    urls_namespace="api",
)

ERRORS = {401: Error, 403: Error, 404: Error, 409: Error, 412: Error, 413: Error, 422: Error}


def _space(request: HttpRequest, space_id: str, **access: bool) -> Any:
    return selectors.space_get(user=request.user, space_id=space_id, **access)


def _expected_version(request: HttpRequest, thought: Thought) -> int | None:
    """The version named by ``If-Match`` (None when absent or ``*``); 412 when it is another."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag == thought.etag:
            return thought.version
        thought_id, _, version = tag.strip('"').rpartition(".")
        if thought_id == thought.id and version.isdigit():
            return int(version)
    raise PreconditionFailed(
        f"If-Match {header} does not match thought {thought.key!r} (ETag {thought.etag}): "
        "it changed since you read it. Fetch it again and retry."
    )


def _with_role(space: Any, user: Any) -> Any:
    space.role = space.role_of(user)
    return space


# --- spaces ------------------------------------------------------------------------------


@api.get("/spaces", response=list[SpaceOut], tags=["spaces"], summary="List your spaces")
@paginate(LimitOffsetPagination)
def list_spaces(request: HttpRequest) -> Any:
    """Spaces you own or were shared with you, most recently changed first."""
    return selectors.space_list(user=request.user)


@api.post("/spaces", response={201: SpaceOut, **ERRORS}, tags=["spaces"], summary="Create a space")
def create_space(request: HttpRequest, payload: SpaceIn) -> Any:
    space = services.space_create(owner=request.user, **payload.dict())
    return Status(201, _with_role(space, request.user))


@api.get("/spaces/{space_id}", response={200: SpaceOut, **ERRORS}, tags=["spaces"])
def get_space(request: HttpRequest, space_id: str) -> Any:
    """One space. Spaces you cannot see answer 404."""
    return _with_role(_space(request, space_id), request.user)


@api.patch("/spaces/{space_id}", response={200: SpaceOut, **ERRORS}, tags=["spaces"])
def update_space(request: HttpRequest, space_id: str, payload: SpacePatch) -> Any:
    """Change the title or description (editors and the owner)."""
    space = _space(request, space_id, edit=True)
    changes = payload.dict(exclude_unset=True)
    return _with_role(
        services.space_update(space=space, actor=request.user, changes=changes), request.user
    )


@api.delete("/spaces/{space_id}", response={204: None, **ERRORS}, tags=["spaces"])
def delete_space(request: HttpRequest, space_id: str) -> Any:
    """Delete the space with all its thoughts, links and history (the owner only)."""
    services.space_delete(space=_space(request, space_id, manage=True), actor=request.user)
    return Status(204, None)


@api.post("/spaces/{space_id}/members", response={204: None, **ERRORS}, tags=["spaces"])
def share_space(request: HttpRequest, space_id: str, payload: ShareIn) -> Any:
    """Give a user the viewer or editor role, or remove it with `role: null` (the owner only)."""
    space = _space(request, space_id, manage=True)
    services.space_share(
        space=space, actor=request.user, username=payload.username, role=payload.role
    )
    return Status(204, None)


# --- thoughts ----------------------------------------------------------------------------


@api.get("/spaces/{space_id}/thoughts", response=list[ThoughtOut], tags=["thoughts"])
@paginate(LimitOffsetPagination)
def list_thoughts(request: HttpRequest, space_id: str) -> Any:
    """The space's thoughts ordered by position, then key."""
    return selectors.thought_list(space=_space(request, space_id))


@api.post("/spaces/{space_id}/thoughts", response={201: ThoughtOut, **ERRORS}, tags=["thoughts"])
def create_thought(
    request: HttpRequest, space_id: str, payload: ThoughtIn, response: HttpResponse
) -> Any:
    """Add one thought. A key already used in the space answers 409."""
    space = _space(request, space_id, edit=True)
    thought = services.thought_create(space=space, actor=request.user, **payload.dict())
    response["ETag"] = thought.etag
    return Status(201, thought)


@api.get(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={200: ThoughtOut, **ERRORS},
    tags=["thoughts"],
)
def get_thought(request: HttpRequest, space_id: str, node_key: str, response: HttpResponse) -> Any:
    """One thought, with its `ETag` header for safe edits."""
    thought = selectors.thought_get(space=_space(request, space_id), key=node_key)
    response["ETag"] = thought.etag
    return thought


@api.patch(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={200: ThoughtOut, **ERRORS},
    tags=["thoughts"],
)
def update_thought(
    request: HttpRequest,
    space_id: str,
    node_key: str,
    payload: ThoughtPatch,
    response: HttpResponse,
) -> Any:
    """Change the fields you send. With `If-Match`, a thought changed since answers 412."""
    thought = selectors.thought_get(space=_space(request, space_id, edit=True), key=node_key)
    expected = _expected_version(request, thought)
    changes = payload.dict(exclude_unset=True)
    thought = services.thought_update(
        thought=thought, actor=request.user, changes=changes, expected_version=expected
    )
    response["ETag"] = thought.etag
    return thought


@api.delete(
    "/spaces/{space_id}/thoughts/{node_key}", response={204: None, **ERRORS}, tags=["thoughts"]
)
def delete_thought(request: HttpRequest, space_id: str, node_key: str) -> Any:
    """Delete one thought and its links in one transaction (children move up to its parent)."""
    thought = selectors.thought_get(space=_space(request, space_id, edit=True), key=node_key)
    expected = _expected_version(request, thought)
    services.thought_delete(thought=thought, actor=request.user, expected_version=expected)
    return Status(204, None)


# --- links and history -------------------------------------------------------------------


@api.get("/spaces/{space_id}/links", response=list[LinkOut], tags=["links"])
@paginate(LimitOffsetPagination)
def list_links(request: HttpRequest, space_id: str) -> Any:
    return selectors.link_list(space=_space(request, space_id))


@api.post("/spaces/{space_id}/links", response={201: LinkOut, **ERRORS}, tags=["links"])
def create_link(request: HttpRequest, space_id: str, payload: LinkIn) -> Any:
    """Link two thoughts of the space by key; the same source, target and label answer 409."""
    space = _space(request, space_id, edit=True)
    return Status(201, services.link_create(space=space, actor=request.user, **payload.dict()))


@api.delete("/spaces/{space_id}/links/{link_id}", response={204: None, **ERRORS}, tags=["links"])
def delete_link(request: HttpRequest, space_id: str, link_id: str) -> Any:
    services.link_delete(
        space=_space(request, space_id, edit=True), actor=request.user, link_id=link_id
    )
    return Status(204, None)


@api.get("/spaces/{space_id}/history", response=list[HistoryOut], tags=["history"])
@paginate(LimitOffsetPagination)
def list_history(request: HttpRequest, space_id: str) -> Any:
    """Every change to the space, newest first, with the state before and after."""
    return selectors.history_list(space=_space(request, space_id))


# --- errors ------------------------------------------------------------------------------


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


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
