"""Pages for exploring a space: the graph's data, search, and a thought's own page with the
thoughts related to it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from spaces import search, selectors
from spaces.graph import graph_view
from spaces.presentation import conflict_cards
from spaces.views.common import HtmxHttpRequest, domain_errors

CHILDREN_PAGE = 100  # a thought's page lists its children a hundred at a time


@login_required
@domain_errors
@never_cache
def space_graph(request: HttpRequest, space_id: str) -> HttpResponse:
    """One view of the space's graph as JSON (spaces.graph): the top levels, or with
    ``?focus=<key>`` the neighbourhood of that thought. Fetched by static/js/graph.js."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    key = request.GET.get("focus", "")
    focus = selectors.thought_get(space=space, key=key) if key else None
    return JsonResponse(graph_view(space, focus))


@login_required
@domain_errors
def space_search(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    """Search results: the list alone for the search box (htmx), else a page of its own."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    query = request.GET.get("q", "").strip()[: search.QUERY_MAX]
    hits = search.search_thoughts(space=space, query=query) if query else []
    context = {"space": space, "query": query, "hits": hits}
    if request.htmx:
        return render(request, "spaces/explore/_search_results.html", context)
    return render(request, "spaces/explore/search.html", context)


@login_required
@domain_errors
def thought_detail(request: HttpRequest, space_id: str, key: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    thought = selectors.thought_get(space=space, key=key)
    role = space.user_role  # type: ignore[attr-defined]
    context = {
        "space": space,
        "thought": thought,
        "children": Paginator(
            selectors.thought_list(space=space, with_parents=False).filter(parent=thought),
            CHILDREN_PAGE,
        ).get_page(request.GET.get("page")),
        "outgoing": selectors.link_list(space=space).filter(source=thought),
        "incoming": selectors.link_list(space=space).filter(target=thought),
        "related": search.related_thoughts(thought=thought),
        "conflict_cards": conflict_cards(
            selectors.conflict_list(space=space).filter(thought_key=thought.key)
        ),
        "can_edit": role in ("owner", "editor"),
    }
    return render(request, "spaces/explore/thought_detail.html", context)
