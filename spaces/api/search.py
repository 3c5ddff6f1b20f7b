"""Search and related thoughts in the JSON API."""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from spaces import search, selectors
from spaces.api.common import (
    ERRORS,
    space_for,
)
from spaces.embeddings import get_embedder
from spaces.schemas import (
    RelatedOut,
    SearchOut,
)

router = Router()

# --- search ------------------------------------------------------------------------------


class SearchParams(Schema):
    q: str = Field(min_length=1, max_length=search.QUERY_MAX, description="What to look for.")
    limit: int = Field(20, ge=1, le=100)


@router.get(
    "/spaces/{space_id}/search",
    response={200: SearchOut, **ERRORS},
    tags=["search"],
    summary="Search a space by meaning",
)
def search_space(request: HttpRequest, space_id: str, params: Query[SearchParams]) -> Any:
    """Thoughts ranked by closeness of meaning to `q`; those containing `q` as typed (in the
    title, body or key) are lifted. Thoughts neither close nor matching are left out."""
    space = space_for(request, space_id)
    hits = search.search_thoughts(space=space, query=params.q, limit=params.limit)
    return {"query": params.q, "embedder": get_embedder().key, "items": hits}


@router.get(
    "/spaces/{space_id}/thoughts/{node_key}/related",
    response={200: RelatedOut, **ERRORS},
    tags=["search"],
    summary="Thoughts related to a thought",
)
def related_thoughts(request: HttpRequest, space_id: str, node_key: str, limit: int = 8) -> Any:
    """The thoughts of the space closest in meaning to this one, closest first (at most
    `limit`, up to 50)."""
    thought = selectors.thought_get(space=space_for(request, space_id), key=node_key)
    hits = search.related_thoughts(thought=thought, limit=max(1, min(limit, 50)))
    return {"key": thought.key, "embedder": get_embedder().key, "items": hits}
