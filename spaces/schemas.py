"""Input and output shapes of the JSON API, one per operation."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from pydantic import AwareDatetime, BeforeValidator, ConfigDict
from pydantic.json_schema import SkipJsonSchema

from spaces.errors import InvalidInput, ServiceError
from spaces.models import (
    BODY_MAX,
    KEY_PATTERN,
    KIND_MAX,
    LABEL_MAX,
    NOT_BLANK_PATTERN,
    TITLE_MAX,
)
from spaces.presentation import field_changes

POSITION_MIN, POSITION_MAX = -(2**31), 2**31 - 1  # what services accept
OFFSET_MAX = 2**62  # any offset the database can take; far beyond any list


def _integral(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema says); true is not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _iso_moment(value: Any) -> Any:
    """A moment is ISO 8601 text, as the schema's ``date-time`` says, never a number of
    seconds (which pydantic would take)."""
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a moment in ISO 8601, with a time zone (e.g. 2026-11-27T10:00:00Z)")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]

Position = Annotated[
    int, BeforeValidator(_integral), Field(strict=True, ge=POSITION_MIN, le=POSITION_MAX)
]
# Optional in a change (absent: unchanged) but never null: the schema says so, and a null
# that comes anyway is refused by the service with 422.
NotNull = SkipJsonSchema[None]
# Titles are stripped of surrounding whitespace before they are stored, so one that is all
# whitespace is empty: the schema asks for a character that is not.
Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TITLE_MAX,
        pattern=NOT_BLANK_PATTERN,
        description="Not only whitespace.",
    ),
]


class BadRequest(ServiceError):
    status = 400


class JsonObjects(Parser):
    """Every request body is a JSON object, and no text in it or in the query string holds
    a NUL character (as Django's form fields refuse it): checked here once, for every
    endpoint, before a schema reads anything (a schema given a JSON string would read the
    string's own methods as fields: ``"abc".title``)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            kind = "an array" if isinstance(data, list) else json.dumps(data)[:40]
            raise InvalidInput(f"The request body must be a JSON object, not {kind}.")
        _refuse_nul(data, "body")
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for name, values in data.lists():
            _refuse_nul(values, name)
        return super().parse_querydict(data, list_fields, request)


def _refuse_nul(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(
                f"{where} holds a NUL character (\\u0000), which text cannot contain.",
                field=where,
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, key if where == "body" else f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, where)


class Pagination(LimitOffsetPagination):
    """ninja's limit and offset, with an offset the database can take (2**63 overflows)."""

    class Input(Schema):
        limit: int = Field(
            ninja_settings.PAGINATION_PER_PAGE, ge=1, le=ninja_settings.PAGINATION_MAX_LIMIT
        )
        offset: int = Field(0, ge=0, le=OFFSET_MAX)


class Input(Schema):
    """A request body: a field it does not know is refused (422), so a misspelt field is
    never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    detail: Any = Field(description="What went wrong and, where it helps, what to do.")


class SpaceIn(Input):
    title: Title
    description: str = Field("", max_length=BODY_MAX)


class SpacePatch(Input):
    title: Title | NotNull = None
    description: Annotated[str, Field(max_length=BODY_MAX)] | NotNull = None


class SpaceOut(Schema):
    id: str
    title: str
    description: str
    owner: str = Field(alias="owner.username")
    role: str | None = Field(None, description="Your role: owner, editor or viewer.")
    created_at: datetime
    updated_at: datetime


class MomentQuery(Schema):
    at: Moment | None = Field(
        None, description="As they were at this moment (ISO 8601 with a time zone)."
    )


class ThoughtIn(Input):
    key: str = Field(
        pattern=KEY_PATTERN,
        description="Unique in the space: 1-80 of letters, digits, '-', '_', '.'.",
    )
    title: Title
    body: str = Field("", max_length=BODY_MAX)
    kind: str = Field("note", max_length=KIND_MAX)
    metadata: dict[str, Any] = Field(default_factory=dict, description="A JSON object, ≤ 16 KiB.")
    parent: str | None = Field(None, description="Key of the parent thought, if any.")
    position: Position = 0


class ThoughtPatch(Input):
    """Only the fields present are changed."""

    title: Title | NotNull = None
    body: Annotated[str, Field(max_length=BODY_MAX)] | NotNull = None
    kind: Annotated[str, Field(max_length=KIND_MAX)] | NotNull = None
    metadata: dict[str, Any] | NotNull = None
    parent: str | None = Field(None, description="Key of the new parent; null to detach.")
    position: Position | NotNull = None


class ThoughtOut(Schema):
    id: str
    key: str
    title: str
    body: str
    kind: str
    metadata: dict[str, Any]
    parent: str | None = Field(None, description="Key of the parent thought.")
    position: int
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_parent(obj: Any) -> str | None:
        if isinstance(obj, dict):  # a thought as it was (spaces.timeline)
            return obj.get("parent")  # type: ignore[no-any-return]
        return obj.parent.key if obj.parent_id else None


class LinkIn(Input):
    source: str = Field(pattern=KEY_PATTERN, description="Key of the source thought.")
    target: str = Field(pattern=KEY_PATTERN, description="Key of the target thought.")
    label: str = Field("", max_length=LABEL_MAX)


class LinkOut(Schema):
    id: str
    source: str = Field(alias="source.key")
    target: str = Field(alias="target.key")
    label: str
    created_at: datetime


class HistoryOut(Schema):
    id: str
    action: str
    thought_key: str
    actor: str = Field(alias="actor_name", description="Who made (or approved) the change.")
    credit: str = Field(description="The person and, for an agent's change, the agent.")
    agent_session: str | None = Field(
        None, alias="agent_session_id", description="The agent session that made it, if any."
    )
    proposal: str | None = Field(
        None, alias="proposal_id", description="The approved proposal it came from, if any."
    )
    base_version: int | None
    before: Any
    after: Any
    created_at: datetime


class ShareIn(Input):
    username: str = Field(min_length=1, max_length=150)
    role: Literal["viewer", "editor"] | None = Field(
        description="viewer or editor; null removes the user's access."
    )


class DiffLine(Schema):
    name: str = Field(description="The field that changes.")
    before: str | None = Field(description="null: the field is new.")
    after: str | None = Field(description="null: the field goes away.")


class ProposalOut(Schema):
    """A change waiting for (or past) a person's decision."""

    id: str = Field(description="Approve or reject it at /api/proposals/{id}/approve|reject.")
    status: Literal["pending", "approved", "rejected"]
    operation: str = Field(description="e.g. thought.create, thought.update, link.delete.")
    space_id: str | None = Field(description="null for a proposed new space.")
    target: str = Field(description="The thought key or link id it changes, if any.")
    summary: str = Field(description="The change in one sentence.")
    payload: dict[str, Any] = Field(description="The arguments, as the agent sent them.")
    base_version: int | None = Field(description="The thought version it was proposed against.")
    before: Any = Field(description="The target's state when proposed (null: did not exist).")
    after: Any = Field(description="The intended state (null: deleted).")
    diff: list[DiffLine]
    proposed_by: str = Field(alias="proposed_by.username")
    agent: str = Field(alias="agent_name", description="The token that proposed it.")
    agent_session: str | None = Field(alias="agent_session_id")
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None
    decision_note: str = Field(description="The reason given when rejecting.")

    @staticmethod
    def resolve_decided_by(obj: Any) -> str | None:
        return obj.decided_by.username if obj.decided_by_id else None

    @staticmethod
    def resolve_diff(obj: Any) -> list[dict[str, Any]]:
        return [vars(change) for change in field_changes(obj.before, obj.after)]


class RejectIn(Input):
    reason: str = Field("", max_length=500, description="Shown to the agent.")


class AgentSessionIn(Input):
    label: str = Field("", max_length=100, description="Your own name for this run.")


class AgentSessionOut(Schema):
    id: str = Field(description="Send it as X-Agent-Session on your next calls.")
    label: str
    status: Literal["active", "ended", "expired"]
    agent: str = Field(alias="agent_name")
    created_at: datetime
    last_seen_at: datetime = Field(description="Updated at most once a minute.")
    expires_at: datetime = Field(description="Without a call until then, the session expires.")
    ended_at: datetime | None


class ConflictOut(Schema):
    id: str = Field(description="The id of the lost write's history entry.")
    kind: str = Field(description="concurrent_edit, edit_of_deleted, duplicate_key or dropped.")
    status: str = Field(description="open, restored or dismissed.")
    thought_key: str
    action: str = Field(description="What the lost write did, e.g. node.updated.")
    lost: Any = Field(description="The version that lost.")
    kept: Any = Field(description="What won, when the conflict was recorded.")
    detail: str
    actor: str = Field(alias="actor_name", description="Who made the lost write.")
    lost_at: datetime | None
    created_at: datetime
    resolved_by: str | None = Field(None, alias="resolved_by.username")
    resolved_at: datetime | None


class SearchHitOut(Schema):
    key: str = Field(alias="thought.key")
    title: str = Field(alias="thought.title")
    kind: str = Field(alias="thought.kind")
    snippet: str = Field(description="The start of the body.")
    score: float = Field(
        description="What ranks the items: similarity of meaning plus a boost for each reason "
        "(a text match in a search; a link, parent, child, sibling or shared word in related)."
    )
    similarity: float = Field(description="Cosine similarity of meaning, -1 to 1.")
    text_match: bool = Field(description="The query appears as typed in the title, body or key.")
    reasons: list[str] = Field(
        description="Why it is here, in words (the page shows the same), such as "
        "“close in meaning”, “linked to (can cause)”, “both mention “replica””."
    )

    @staticmethod
    def resolve_score(obj: Any) -> float:
        return obj.shown_score

    @staticmethod
    def resolve_similarity(obj: Any) -> float:
        return round(obj.similarity, 4)


class SearchOut(Schema):
    query: str
    embedder: str = Field(description="The embedder that ranked the results, and its version.")
    items: list[SearchHitOut]


class RelatedOut(Schema):
    key: str = Field(description="The thought the others are related to.")
    embedder: str
    items: list[SearchHitOut]
