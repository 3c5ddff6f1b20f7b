"""The JSON API (django-ninja) under /api/: spaces, thoughts, links and history.

Endpoints parse, check access through selectors and make their change through ``_perform``,
which also applies the token's mode (a ``confirm`` token's change becomes a proposal, a
``read`` token's is refused). Errors become ``{"detail": ...}`` responses in the handlers at
the bottom of this module. Proposals and agent sessions are in spaces/api_agents.py.
"""

# No ``from __future__ import annotations``: ninja reads the query types at runtime.

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.pagination import paginate

from spaces import conflicts, proposals, search, selectors, timeline
from spaces.api_agents import router as agents_router
from spaces.api_archive import router as archive_router
from spaces.auth import API_AUTH
from spaces.embeddings import get_embedder
from spaces.errors import (
    Forbidden,
    PreconditionFailed,
    ServiceError,
    TooManyRequests,
    not_applied,
    unavailable_answer,
)
from spaces.models import ApiToken, Proposal, Thought
from spaces.schemas import (
    ConflictOut,
    Error,
    HistoryOut,
    JsonObjects,
    LinkIn,
    LinkOut,
    MomentQuery,
    Pagination,
    ProposalOut,
    RelatedOut,
    SearchOut,
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
        "at a time; send `If-Match` with the thought's ETag to avoid overwriting newer edits; "
        "never rewrite a whole space. A token in `confirm` mode gets 202 and a proposal for "
        "every change (nothing changes until a person approves it); a `read` token gets 403. "
        "Send `X-Agent-Session` to group your calls; the agent guide is at /agents/."
    ),
    auth=API_AUTH,
    parser=JsonObjects(),
    urls_namespace="api",
)

ERRORS = {
    **{status: Error for status in (400, 401, 403, 404, 409, 412, 413, 422, 429)},
    503: Error,  # the database cannot take the request now (with Retry-After)
}
CONFLICT_STATUS = "^(open|restored|dismissed|all)$"
READ_ERRORS = {status: Error for status in (401, 404, 422, 429, 503)}
PROPOSED = {202: ProposalOut}  # what a token in confirm mode gets instead of the change
CONFIRM_NOTE = " A token in confirm mode gets 202 with a proposal instead; a read token 403."


class Proposed(Exception):
    """The change was recorded as a proposal instead of being made: answered 202."""

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(proposal.summary)
        self.proposal = proposal


def _perform(
    request: HttpRequest,
    operation: str,
    *,
    space: Any,
    target: str = "",
    payload: dict[str, Any] | None = None,
    base_version: int | None = None,
) -> Any:
    """Make the change as the caller, or propose it for a token in confirm mode (202)."""
    token: ApiToken | None = getattr(request, "api_token", None)
    agent_session = getattr(request, "agent_session", None)
    if token is not None and token.mode == ApiToken.Mode.READ:
        raise Forbidden("This token is read-only: it can read but not change anything.")
    if token is not None and token.mode == ApiToken.Mode.CONFIRM:
        raise Proposed(
            proposals.proposal_create(
                operation=operation,
                space=space,
                proposed_by=request.user,
                token=token,
                agent_session=agent_session,
                target=target,
                payload=payload,
                base_version=base_version,
            )
        )
    return proposals.perform(
        operation=operation,
        space=space,
        actor=request.user,
        target=target,
        payload=payload,
        base_version=base_version,
        agent_session=agent_session,
    )


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


@api.get(
    "/spaces",
    response={200: list[SpaceOut], **READ_ERRORS},
    tags=["spaces"],
    summary="List your spaces",
)
@paginate(Pagination)
def list_spaces(request: HttpRequest) -> Any:
    """Spaces you own or were shared with you, most recently changed first."""
    return selectors.space_list(user=request.user)


@api.post(
    "/spaces",
    response={201: SpaceOut, **PROPOSED, **ERRORS},
    tags=["spaces"],
    summary="Create a space",
    description="A new space owned by you (201)." + CONFIRM_NOTE,
)
def create_space(request: HttpRequest, payload: SpaceIn) -> Any:
    space = _perform(request, "space.create", space=None, payload=payload.dict())
    return Status(201, _with_role(space, request.user))


@api.get("/spaces/{space_id}", response={200: SpaceOut, **ERRORS}, tags=["spaces"])
def get_space(request: HttpRequest, space_id: str) -> Any:
    """One space. Spaces you cannot see answer 404."""
    return _with_role(_space(request, space_id), request.user)


@api.patch(
    "/spaces/{space_id}",
    response={200: SpaceOut, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Change the title or description (editors and the owner)." + CONFIRM_NOTE,
)
def update_space(request: HttpRequest, space_id: str, payload: SpacePatch) -> Any:
    space = _space(request, space_id, edit=True)
    changes = payload.dict(exclude_unset=True)
    return _with_role(_perform(request, "space.update", space=space, payload=changes), request.user)


@api.delete(
    "/spaces/{space_id}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Delete the space with all its thoughts, links and history (the owner only)."
    + CONFIRM_NOTE,
)
def delete_space(request: HttpRequest, space_id: str) -> Any:
    _perform(request, "space.delete", space=_space(request, space_id, manage=True))
    return Status(204, None)


@api.post(
    "/spaces/{space_id}/members",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["spaces"],
    description="Give a user the viewer or editor role, or remove it with `role: null` "
    "(the owner only)." + CONFIRM_NOTE,
)
def share_space(request: HttpRequest, space_id: str, payload: ShareIn) -> Any:
    space = _space(request, space_id, manage=True)
    _perform(request, "space.share", space=space, payload=payload.dict())
    return Status(204, None)


# --- thoughts ----------------------------------------------------------------------------


@api.get(
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
    space = _space(request, space_id)
    if query.at is not None:
        return timeline.state_at(space, query.at).ordered()
    return selectors.thought_list(space=space)


@api.post(
    "/spaces/{space_id}/thoughts",
    response={201: ThoughtOut, **PROPOSED, **ERRORS},
    tags=["thoughts"],
    description="Add one thought (201, with its ETag). A key already used in the space "
    "answers 409. This is how to add to a space: never rewrite the whole space." + CONFIRM_NOTE,
)
def create_thought(
    request: HttpRequest, space_id: str, payload: ThoughtIn, response: HttpResponse
) -> Any:
    space = _space(request, space_id, edit=True)
    thought = _perform(request, "thought.create", space=space, payload=payload.dict())
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
    space = _space(request, space_id, edit=True)
    thought = selectors.thought_get(space=space, key=node_key)
    expected = _expected_version(request, thought)
    changes = payload.dict(exclude_unset=True)
    thought = _perform(
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


@api.delete(
    "/spaces/{space_id}/thoughts/{node_key}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["thoughts"],
    description="Delete one thought and its links in one transaction (children move up to its "
    "parent). `If-Match` gives 412 if it changed since you read it." + CONFIRM_NOTE,
)
def delete_thought(request: HttpRequest, space_id: str, node_key: str) -> Any:
    space = _space(request, space_id, edit=True)
    thought = selectors.thought_get(space=space, key=node_key)
    expected = _expected_version(request, thought)
    _perform(
        request,
        "thought.delete",
        space=space,
        target=node_key,
        base_version=expected if expected is not None else thought.version,
    )
    return Status(204, None)


# --- links and history -------------------------------------------------------------------


@api.get("/spaces/{space_id}/links", response={200: list[LinkOut], **READ_ERRORS}, tags=["links"])
@paginate(Pagination)
def list_links(request: HttpRequest, space_id: str) -> Any:
    """The space's links, each with its `id`, `source` and `target` keys and `label`."""
    return selectors.link_list(space=_space(request, space_id))


@api.post(
    "/spaces/{space_id}/links",
    response={201: LinkOut, **PROPOSED, **ERRORS},
    tags=["links"],
    description="Link two thoughts of the space by key; the same source, target and label "
    "answer 409." + CONFIRM_NOTE,
)
def create_link(request: HttpRequest, space_id: str, payload: LinkIn) -> Any:
    space = _space(request, space_id, edit=True)
    return Status(201, _perform(request, "link.create", space=space, payload=payload.dict()))


@api.delete(
    "/spaces/{space_id}/links/{link_id}",
    response={204: None, **PROPOSED, **ERRORS},
    tags=["links"],
    description="Delete one link by its id (from the links list)." + CONFIRM_NOTE,
)
def delete_link(request: HttpRequest, space_id: str, link_id: str) -> Any:
    space = _space(request, space_id, edit=True)
    _perform(request, "link.delete", space=space, target=link_id)
    return Status(204, None)


@api.get(
    "/spaces/{space_id}/history", response={200: list[HistoryOut], **READ_ERRORS}, tags=["history"]
)
@paginate(Pagination)
def list_history(request: HttpRequest, space_id: str) -> Any:
    """Every change to the space, newest first, with the state before and after, who made it
    and, for an agent's change, its agent session and proposal."""
    return selectors.history_list(space=_space(request, space_id))


# --- conflicts -----------------------------------------------------------------------------


@api.get(
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
    space = _space(request, space_id)
    return selectors.conflict_list(space=space, status=None if status == "all" else status)


def _resolver(request: HttpRequest) -> Any:
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and token.mode != ApiToken.Mode.DIRECT:
        raise Forbidden(f"A token in {token.mode} mode cannot resolve conflicts.")
    return request.user


@api.post(
    "/spaces/{space_id}/conflicts/{conflict_id}/restore",
    response={200: ConflictOut, **ERRORS},
    tags=["conflicts"],
    description="Make the lost version current again, as a new ordinary change (with its own "
    "history entry); 409 when the conflict is resolved already or cannot be restored.",
)
def restore_conflict(request: HttpRequest, space_id: str, conflict_id: str) -> Any:
    space = _space(request, space_id, edit=True)
    conflict = selectors.conflict_get(space=space, conflict_id=conflict_id)
    conflicts.conflict_restore(conflict=conflict, actor=_resolver(request))
    return conflict


@api.post(
    "/spaces/{space_id}/conflicts/{conflict_id}/dismiss",
    response={200: ConflictOut, **ERRORS},
    tags=["conflicts"],
    description="Keep things as they are and close the conflict.",
)
def dismiss_conflict(request: HttpRequest, space_id: str, conflict_id: str) -> Any:
    space = _space(request, space_id, edit=True)
    conflict = selectors.conflict_get(space=space, conflict_id=conflict_id)
    return conflicts.conflict_dismiss(conflict=conflict, actor=_resolver(request))


# --- search ------------------------------------------------------------------------------


class SearchParams(Schema):
    q: str = Field(min_length=1, max_length=search.QUERY_MAX, description="What to look for.")
    limit: int = Field(20, ge=1, le=100)


@api.get(
    "/spaces/{space_id}/search",
    response={200: SearchOut, **ERRORS},
    tags=["search"],
    summary="Search a space by meaning",
)
def search_space(request: HttpRequest, space_id: str, params: Query[SearchParams]) -> Any:
    """Thoughts ranked by closeness of meaning to `q`; those containing `q` as typed (in the
    title, body or key) are lifted. Thoughts neither close nor matching are left out."""
    space = _space(request, space_id)
    hits = search.search_thoughts(space=space, query=params.q, limit=params.limit)
    return {"query": params.q, "embedder": get_embedder().key, "items": hits}


@api.get(
    "/spaces/{space_id}/thoughts/{node_key}/related",
    response={200: RelatedOut, **ERRORS},
    tags=["search"],
    summary="Thoughts related to a thought",
)
def related_thoughts(request: HttpRequest, space_id: str, node_key: str, limit: int = 8) -> Any:
    """The thoughts of the space closest in meaning to this one, closest first (at most
    `limit`, up to 50)."""
    thought = selectors.thought_get(space=_space(request, space_id), key=node_key)
    hits = search.related_thoughts(thought=thought, limit=max(1, min(limit, 50)))
    return {"key": thought.key, "embedder": get_embedder().key, "items": hits}


api.add_router("/", agents_router)
api.add_router("/", archive_router)


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
