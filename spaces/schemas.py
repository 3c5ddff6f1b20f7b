"""Input and output shapes of the JSON API, one per operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from spaces.models import BODY_MAX, KEY_PATTERN, KIND_MAX, LABEL_MAX, TITLE_MAX


class Error(Schema):
    detail: Any = Field(description="What went wrong and, where it helps, what to do.")


class SpaceIn(Schema):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field("", max_length=BODY_MAX)


class SpacePatch(Schema):
    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX)
    description: str | None = Field(None, max_length=BODY_MAX)


class SpaceOut(Schema):
    id: str
    title: str
    description: str
    owner: str = Field(alias="owner.username")
    role: str | None = Field(None, description="Your role: owner, editor or viewer.")
    created_at: datetime
    updated_at: datetime


class ThoughtIn(Schema):
    key: str = Field(
        pattern=KEY_PATTERN,
        description="Unique in the space: 1-80 of letters, digits, '-', '_', '.'.",
    )
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field("", max_length=BODY_MAX)
    kind: str = Field("note", max_length=KIND_MAX)
    metadata: dict[str, Any] = Field(default_factory=dict, description="A JSON object, ≤ 16 KiB.")
    parent: str | None = Field(None, description="Key of the parent thought, if any.")
    position: int = 0


class ThoughtPatch(Schema):
    """Only the fields present are changed."""

    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX)
    body: str | None = Field(None, max_length=BODY_MAX)
    kind: str | None = Field(None, max_length=KIND_MAX)
    metadata: dict[str, Any] | None = None
    parent: str | None = Field(None, description="Key of the new parent; null to detach.")
    position: int | None = None


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
        return obj.parent.key if obj.parent_id else None


class LinkIn(Schema):
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
    actor: str = Field(alias="actor_name")
    base_version: int | None
    before: Any
    after: Any
    created_at: datetime


class ShareIn(Schema):
    username: str
    role: Literal["viewer", "editor"] | None = Field(
        description="viewer or editor; null removes the user's access."
    )
