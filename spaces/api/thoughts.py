"""Thoughts in the JSON API: one at a time, with ETags for safe edits."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from ninja.pagination import paginate

from spaces import selectors, timeline
from spaces.api.common import (
    CONFIRM_NOTE,
    ERRORS,
    PROPOSED,
    READ_ERRORS,
    expected_version,
    perform,
    space_for,
)
from spaces.schemas import (
    MomentQuery,
    Pagination,
    ThoughtIn,
    ThoughtOut,
    ThoughtPatch,
)

router = Router()

# --- thoughts ----------------------------------------------------------------------------


@router.get(
    "/spaces/{space_id}/thoughts",
    response={200: list[ThoughtOut], **READ_ERRORS},
    tags=["thoughts"],
)
@paginate(Pagination)
def list_thoughts(
    request: HttpRequest,
    space_id: str,
    query: Query[MomentQuery],
) -> Any:
    """The space's thoughts ordered by position, then key; with ``at`` (ISO 8601 with a time
    zone), as they were at that moment, from the space's history."""
    space = space_for(request, space_id)
    if query.at is not None:
        return timeline.state_at(space, query.at).ordered()
    return selectors.thought_list(space=space)


@router.post(
    "/spaces/{space_id}/thoughts",
    response={201: ThoughtOut, **PROPOSED, **ERRORS},
    tags=["thoughts"],
    description="Add one thought (201, with its ETag). A key already used in the space "
    "answers 409. This is how to add to a space: never rewrite the whole space." + CONFIRM_NOTE,
)
def create_thought(
    request: HttpRequest, space_id: str, payload: ThoughtIn, response: HttpResponse
) -> Any:
    space = space_for(request, space_id, edit=True)
    thought = perform(request, "thought.create", space=space, payload=payload.dict())
    response["ETag"] = thought.etag
    return Status(201, thought)


@router.get(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={200: ThoughtOut, **ERRORS},
    tags=["thoughts"],
)
def get_thought(request: HttpRequest, space_id: str, node_key: str, response: HttpResponse) -> Any:
    """One thought, with its `ETag` header for safe edits."""
    thought = selectors.thought_get(space=space_for(request, space_id), key=node_key)
    response["ETag"] = thought.etag
    return thought


@router.patch(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={200: ThoughtOut, **PROPOSED, **ERRORS},
    tags=["thoughts"],
    description="Change only the fields you send (e.g. just `metadata`). Send `If-Match` with "
    "the ETag from your last read: if the thought changed since, you get 412 and nothing "
    "changes; read it again and retry." + CONFIRM_NOTE,
)
def update_thought(
    request: HttpRequest,
    space_id: str,
    node_key: str,
    payload: ThoughtPatch,
    response: HttpResponse,
) -> Any:
    space = space_for(request, space_id, edit=True)
    thought = selectors.thought_get(space=space, key=node_key)
    expected = expected_version(request, thought)
    changes = payload.dict(exclude_unset=True)
    thought = perform(
        request,
        "thought.update",
        space=space,
        target=node_key,
        payload=changes,
        # A proposal is always checked against the version the agent saw.
        base_version=expected if expected is not None else thought.version,
    )
    response["ETag"] = thought.etag
    return thought


@router.delete(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["thoughts"],
    description="Delete one thought and its links in one transaction (children move up to its "
    "parent). `If-Match` gives 412 if it changed since you read it." + CONFIRM_NOTE,
)
def delete_thought(request: HttpRequest, space_id: str, node_key: str) -> Any:
    space = space_for(request, space_id, edit=True)
    thought = selectors.thought_get(space=space, key=node_key)
    expected = expected_version(request, thought)
    perform(
        request,
        "thought.delete",
        space=space,
        target=node_key,
        base_version=expected if expected is not None else thought.version,
    )
    return Status(204, None)
