"""Spaces in the JSON API: list, create, read, change, delete and share."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from spaces import selectors
from spaces.api.common import (
    CONFIRM_NOTE,
    ERRORS,
    PROPOSED,
    READ_ERRORS,
    perform,
    space_for,
    with_role,
)
from spaces.schemas import (
    Pagination,
    ShareIn,
    SpaceIn,
    SpaceOut,
    SpacePatch,
)

router = Router()

# --- spaces ------------------------------------------------------------------------------


@router.get(
    "/spaces",
    response={200: list[SpaceOut], **READ_ERRORS},
    tags=["spaces"],
    summary="List your spaces",
)
@paginate(Pagination)
def list_spaces(request: HttpRequest) -> Any:
    """Spaces you own or were shared with you, most recently changed first."""
    return selectors.space_list(user=request.user)


@router.post(
    "/spaces",
    response={201: SpaceOut, **PROPOSED, **ERRORS},
    tags=["spaces"],
    summary="Create a space",
    description="A new space owned by you (201)." + CONFIRM_NOTE,
)
def create_space(request: HttpRequest, payload: SpaceIn) -> Any:
    space = perform(request, "space.create", space=None, payload=payload.dict())
    return Status(201, with_role(space, request.user))


@router.get("/spaces/{space_id}", response={200: SpaceOut, **ERRORS}, tags=["spaces"])
def get_space(request: HttpRequest, space_id: str) -> Any:
    """One space. Spaces you cannot see answer 404."""
    return with_role(space_for(request, space_id), request.user)


@router.patch(
    "/spaces/{space_id}",
    response={200: SpaceOut, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Change the title or description (editors and the owner)." + CONFIRM_NOTE,
)
def update_space(request: HttpRequest, space_id: str, payload: SpacePatch) -> Any:
    space = space_for(request, space_id, edit=True)
    changes = payload.dict(exclude_unset=True)
    return with_role(perform(request, "space.update", space=space, payload=changes), request.user)


@router.delete(
    "/spaces/{space_id}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Delete the space with all its thoughts, links and history (the owner only)."
    + CONFIRM_NOTE,
)
def delete_space(request: HttpRequest, space_id: str) -> Any:
    perform(request, "space.delete", space=space_for(request, space_id, manage=True))
    return Status(204, None)


@router.post(
    "/spaces/{space_id}/members",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Give a user the viewer or editor role, or remove it with `role: null` "
    "(the owner only)." + CONFIRM_NOTE,
)
def share_space(request: HttpRequest, space_id: str, payload: ShareIn) -> Any:
    space = space_for(request, space_id, manage=True)
    perform(request, "space.share", space=space, payload=payload.dict())
    return Status(204, None)
