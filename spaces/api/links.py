"""Links between thoughts in the JSON API."""

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
)
from spaces.schemas import (
    LinkIn,
    LinkOut,
    Pagination,
)

router = Router()

# --- links -------------------------------------------------------------------


@router.get(
    "/spaces/{space_id}/links", response={200: list[LinkOut], **READ_ERRORS}, tags=["links"]
)
@paginate(Pagination)
def list_links(request: HttpRequest, space_id: str) -> Any:
    """The space's links, each with its `id`, `source` and `target` keys and `label`."""
    return selectors.link_list(space=space_for(request, space_id))


@router.post(
    "/spaces/{space_id}/links",
    response={201: LinkOut, **PROPOSED, **ERRORS},
    tags=["links"],
    description="Link two thoughts of the space by key; the same source, target and label "
    "answer 409." + CONFIRM_NOTE,
)
def create_link(request: HttpRequest, space_id: str, payload: LinkIn) -> Any:
    space = space_for(request, space_id, edit=True)
    return Status(201, perform(request, "link.create", space=space, payload=payload.dict()))


@router.delete(
    "/spaces/{space_id}/links/{link_id}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["links"],
    description="Delete one link by its id (from the links list)." + CONFIRM_NOTE,
)
def delete_link(request: HttpRequest, space_id: str, link_id: str) -> Any:
    space = space_for(request, space_id, edit=True)
    perform(request, "link.delete", space=space, target=link_id)
    return Status(204, None)
