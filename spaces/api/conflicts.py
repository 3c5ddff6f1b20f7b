"""Conflicts in the JSON API: writes that lost to a concurrent one on another replica,
restored or dismissed."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from spaces import conflicts, selectors
from spaces.api.common import (
    CONFLICT_STATUS,
    ERRORS,
    READ_ERRORS,
    space_for,
)
from spaces.errors import (
    Forbidden,
)
from spaces.models import ApiToken
from spaces.schemas import (
    ConflictOut,
    Pagination,
)

router = Router()

# --- conflicts -----------------------------------------------------------------------------


@router.get(
    "/spaces/{space_id}/conflicts",
    response={200: list[ConflictOut], **READ_ERRORS},
    tags=["conflicts"],
)
@paginate(Pagination)
def list_conflicts(
    request: HttpRequest,
    space_id: str,
    status: str = Query("open", pattern=CONFLICT_STATUS, description="Which conflicts."),
) -> Any:
    """Writes that lost to a concurrent write on another replica (last push wins), kept with
    the version that won. `status`: `open` (the default), `restored`, `dismissed` or `all`."""
    space = space_for(request, space_id)
    return selectors.conflict_list(space=space, status=None if status == "all" else status)


def _resolver(request: HttpRequest) -> Any:
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and token.mode != ApiToken.Mode.DIRECT:
        raise Forbidden(f"A token in {token.mode} mode cannot resolve conflicts.")
    return request.user


@router.post(
    "/spaces/{space_id}/conflicts/{conflict_id}/restore",
    response={200: ConflictOut, **ERRORS},
    tags=["conflicts"],
    description="Make the lost version current again, as a new ordinary change (with its own "
    "history entry); 409 when the conflict is resolved already or cannot be restored.",
)
def restore_conflict(request: HttpRequest, space_id: str, conflict_id: str) -> Any:
    space = space_for(request, space_id, edit=True)
    conflict = selectors.conflict_get(space=space, conflict_id=conflict_id)
    conflicts.conflict_restore(conflict=conflict, actor=_resolver(request))
    return conflict


@router.post(
    "/spaces/{space_id}/conflicts/{conflict_id}/dismiss",
    response={200: ConflictOut, **ERRORS},
    tags=["conflicts"],
    description="Keep things as they are and close the conflict.",
)
def dismiss_conflict(request: HttpRequest, space_id: str, conflict_id: str) -> Any:
    space = space_for(request, space_id, edit=True)
    conflict = selectors.conflict_get(space=space, conflict_id=conflict_id)
    return conflicts.conflict_dismiss(conflict=conflict, actor=_resolver(request))
