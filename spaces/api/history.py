"""A space's history in the JSON API: every change, newest first."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from spaces import selectors
from spaces.api.common import (
    READ_ERRORS,
    space_for,
)
from spaces.schemas import (
    HistoryOut,
    Pagination,
)

router = Router()

# --- history ---


@router.get(
    "/spaces/{space_id}/history", response={200: list[HistoryOut], **READ_ERRORS}, tags=["history"]
)
@paginate(Pagination)
def list_history(request: HttpRequest, space_id: str) -> Any:
    """Every change to the space, newest first, with the state before and after, who made it
    and, for an agent's change, its agent session and proposal."""
    return selectors.history_list(space=space_for(request, space_id))
