"""Every mutation of ThoughtSpace's data: the row change, its history entry and its event,
in one transaction. Views, the API, the admin and commands all come through here."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from spaces.agents import with_current_session
from spaces.attribution import current_credit
from spaces.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, ServiceError
from spaces.events import emit_on_commit
from spaces.ids import new_id
from spaces.models import (
    BODY_MAX,
    KEY_HELP,
    KEY_RE,
    KIND_MAX,
    LABEL_MAX,
    METADATA_MAX_BYTES,
    TITLE_MAX,
    ApiToken,
    HistoryEntry,
    Link,
    Membership,
    Role,
    Space,
    Thought,
    numbered_key,
)

logger = logging.getLogger("spaces")
Action = HistoryEntry.Action
THOUGHT_FIELDS = ("title", "body", "kind", "metadata", "parent", "position")
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


# --- validation ---------------------------------------------------------------------------


def _text(value: Any, *, field: str, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string.", field=field)
    value = value.strip() if required else value
    if required and not value:
        raise InvalidInput(f"{field} must not be empty.", field=field)
    if len(value) > limit:
        raise InvalidInput(
            f"{field} is {len(value)} characters long; the limit is {limit}.", field=field
        )
    return value


def _key(value: Any) -> str:
    if not isinstance(value, str) or not KEY_RE.fullmatch(value):
        raise InvalidInput(f"Invalid key {value!r}: {KEY_HELP}", field="key")
    return value


def derived_key(space: Space, title: str) -> str:
    """A key for a thought that was given only a title: its words in ASCII ("Sync after
    write" -> "sync-after-write"), made unique in the space with "-2", "-3"..."""
    base = slugify(title)[:72].strip("-_") or "thought"
    taken = set(space.thoughts.filter(key__startswith=base).values_list("key", flat=True))
    return numbered_key(base, taken)


def _metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object.", field="metadata")
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > METADATA_MAX_BYTES:
        raise InvalidInput(
            f"metadata is {size} bytes; the limit is {METADATA_MAX_BYTES}.", field="metadata"
        )
    return value


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise InvalidInput("position must be a 32-bit integer.", field="position")
    return value


def _parent(space: Space, key: Any, *, child: Thought | None = None) -> Thought | None:
    if key is None or key == "":
        return None
    parent = space.thoughts.filter(key=_key(key)).first()
    if parent is None:
        raise InvalidInput(f"parent {key!r} is not a thought of this space.", field="parent")
    ancestor: Thought | None = parent
    while child is not None and ancestor is not None:
        if ancestor.pk == child.pk:
            raise InvalidInput(
                f"{key!r} cannot be the parent of {child.key!r}: that is a cycle.", field="parent"
            )
        ancestor = ancestor.parent
    return parent


def _actor_name(actor: Any) -> str:
    return actor.get_username() if actor is not None else "system"


def _record(
    *,
    space: Space,
    action: str,
    actor: Any,
    thought_key: str = "",
    before: dict | None = None,
    after: dict | None = None,
    base_version: int | None = None,
) -> HistoryEntry:
    credit = current_credit()
    entry = HistoryEntry.objects.create(
        space=space,
        action=action,
        thought_key=thought_key,
        before=before,
        after=after,
        actor=actor,
        actor_name=_actor_name(actor),
        agent_session=credit.agent_session,
        proposal=credit.proposal,
        base_version=base_version,
    )
    emit_on_commit(
        {
            "type": action,
            "space_id": space.pk,
            "key": thought_key or None,
            "history_id": entry.pk,
            "actor": entry.actor_name,
            "data": after if after is not None else before,
        }
    )
    return entry


# --- spaces ------------------------------------------------------------------------------


def space_create(*, owner: Any, title: str, description: str = "") -> Space:
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    description = _text(description, field="description", limit=BODY_MAX)
    with transaction.atomic():
        space = Space.objects.create(owner=owner, title=title, description=description)
        _record(
            space=space,
            action=Action.SPACE_CREATED,
            actor=owner,
            after={"title": title, "description": description},
        )
    return space


def space_update(*, space: Space, actor: Any, changes: Mapping[str, Any]) -> Space:
    unknown = set(changes) - {"title", "description"}
    if unknown:
        raise InvalidInput(f"Unknown space fields: {', '.join(sorted(unknown))}.")
    base_version = space.version
    before = {"title": space.title, "description": space.description, "version": base_version}
    if "title" in changes:
        space.title = _text(changes["title"], field="title", limit=TITLE_MAX, required=True)
    if "description" in changes:
        space.description = _text(changes["description"], field="description", limit=BODY_MAX)
    with transaction.atomic():
        space.version = base_version + 1
        space.save(update_fields=["title", "description", "version", "updated_at"])
        _record(
            space=space,
            action=Action.SPACE_UPDATED,
            actor=actor,
            before=before,
            after={
                "title": space.title,
                "description": space.description,
                "version": space.version,
            },
            base_version=base_version,
        )
    return space


def space_delete(*, space: Space, actor: Any) -> None:
    space_id = space.pk
    with transaction.atomic():
        space.delete()
        emit_on_commit({"type": "space.deleted", "space_id": space_id, "actor": _actor_name(actor)})


def space_share(*, space: Space, actor: Any, username: str, role: str | None) -> Membership | None:
    """Give ``username`` a role in the space, or remove their access when ``role`` is None."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"There is no user named {username!r}.", field="username")
    if user.pk == space.owner_id:
        raise InvalidInput(f"{username} owns this space already.", field="username")
    if role is not None and role not in Role.values:
        raise InvalidInput(f"role must be one of: {', '.join(Role.values)}.")
    with transaction.atomic():
        membership = None
        previous = space.memberships.filter(user=user).values_list("role", flat=True).first()
        # The share this one follows (what its author saw): concurrent shares of one person
        # follow the same one (spaces.reconcile).
        seen = (
            HistoryEntry.objects.filter(
                space=space, action=Action.SPACE_SHARED, after__user_id=user.pk
            )
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if role is None:
            space.memberships.filter(user=user).delete()
        else:
            membership, _ = Membership.objects.update_or_create(
                space=space, user=user, defaults={"role": role}
            )
        _record(
            space=space,
            action=Action.SPACE_SHARED,
            actor=actor,
            before={"user": username, "user_id": user.pk, "role": previous, "seen": seen},
            after={"user": username, "user_id": user.pk, "role": role},
        )
    return membership


# --- thoughts ----------------------------------------------------------------------------


def thought_create(
    *,
    space: Space,
    actor: Any,
    key: str | None,
    title: str,
    body: str = "",
    kind: str = "note",
    metadata: dict[str, Any] | None = None,
    parent: str | None = None,
    position: int = 0,
    thought_id: str | None = None,
) -> Thought:
    """Add a thought; without a ``key`` one is made from the title. ``thought_id`` restores
    a thought under the id it had (links keep pointing at it), and is otherwise new."""
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    thought = Thought(
        id=thought_id or new_id(),
        space=space,
        key=_key(key) if key else derived_key(space, title),
        title=title,
        body=_text(body, field="body", limit=BODY_MAX),
        kind=_text(kind, field="kind", limit=KIND_MAX),
        metadata=_metadata(metadata if metadata is not None else {}),
        parent=_parent(space, parent),
        position=_position(position),
    )
    try:
        with transaction.atomic():
            thought.save(force_insert=True)
            _record(
                space=space,
                action=Action.NODE_CREATED,
                actor=actor,
                thought_key=thought.key,
                after=thought.snapshot(),
            )
    except IntegrityError:
        if space.thoughts.filter(key=thought.key).exists():
            raise Conflict(
                f"A thought with key {thought.key!r} already exists in this space.", field="key"
            ) from None
        raise
    return thought


class RecordError(Exception):
    """``space_import`` refused ``record`` (a thought, or a link when ``link``), the
    ``index``-th of its kind: ``error`` says why."""

    def __init__(self, index: int, record: Any, error: ServiceError, *, link: bool = False):
        super().__init__(str(error))
        self.index, self.record, self.error, self.link = index, record, error, link


IMPORT_BATCH = 500
SNAPSHOT_FIELDS = ("id", "key", "title", "body", "kind", "metadata", "position", "version")
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # fullmatch: the whole value


class _Batch:
    """Rows and their history entries, written ``IMPORT_BATCH`` at a time."""

    def __init__(self, space: Space, actor: Any, model: type[Any]) -> None:
        self.space, self.actor, self.model = space, actor, model
        self.credit = current_credit()
        self.rows: list[Any] = []
        self.entries: list[HistoryEntry] = []

    def add(self, row: Any, action: str, thought_key: str, after: dict[str, Any]) -> None:
        self.rows.append(row)
        self.entries.append(
            HistoryEntry(
                space=self.space,
                action=action,
                thought_key=thought_key,
                after=after,
                actor=self.actor,
                actor_name=_actor_name(self.actor),
                agent_session=self.credit.agent_session,
                proposal=self.credit.proposal,
            )
        )
        if len(self.rows) == IMPORT_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.model.objects.bulk_create(self.rows)
            HistoryEntry.objects.bulk_create(self.entries)
        self.rows, self.entries = [], []


def space_import(
    *,
    space: Space,
    actor: Any,
    thoughts: Iterable[Any],
    links: Iterable[Any] = (),
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add many thoughts and links at once (an import), inside the caller's transaction:
    each checked as ``thought_create`` and ``link_create`` check it, each with its history
    entry, written in batches. ``thoughts`` (with the fields of ``thought_create`` and an
    ``id`` kept when no thought has it) come parents first, a parent one of them or of the
    space; ``links`` (source, target, label) join thoughts of the space once they are in;
    a link the space has already is skipped. Pages hear one ``space.imported`` event (they
    reload) instead of one per row. Returns the number of links made.

    Both are read and written ``IMPORT_BATCH`` at a time, each batch looking up in the
    database only the keys it names: memory does not grow with the import."""
    batch = _Batch(space, actor, Thought)
    index = -1
    records = iter(thoughts)
    while chunk := list(islice(records, IMPORT_BATCH)):
        batch.flush()  # the batches before are in the database, where the lookups look
        wanted = [r.id for r in chunk if r.id and _ULID.fullmatch(r.id)]
        taken = set(Thought.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        named = {r.key for r in chunk} | {r.parent for r in chunk if r.parent is not None}
        keys = dict(space.thoughts.filter(key__in=named).values_list("key", "pk"))
        for record in chunk:
            index += 1
            try:
                key = _key(record.key)
                if key in keys:
                    raise Conflict(f"A thought with key {key!r} already exists in this space.")
                if record.parent is not None and record.parent not in keys:
                    raise InvalidInput(f"parent {record.parent!r} is not a thought of this space.")
                keep = record.id and _ULID.fullmatch(record.id) and record.id not in taken
                thought = Thought(
                    id=record.id if keep else new_id(),
                    space=space,
                    key=key,
                    title=_text(record.title, field="title", limit=TITLE_MAX, required=True),
                    body=_text(record.body, field="body", limit=BODY_MAX),
                    kind=_text(record.kind, field="kind", limit=KIND_MAX),
                    metadata=_metadata(record.metadata),
                    parent_id=keys[record.parent] if record.parent is not None else None,
                    position=_position(record.position),
                )
            except ServiceError as exc:
                raise RecordError(index, record, exc) from None
            keys[key] = thought.pk
            taken.add(thought.pk)
            after = {name: getattr(thought, name) for name in SNAPSHOT_FIELDS}
            batch.add(thought, Action.NODE_CREATED, key, after | {"parent": record.parent})
        if progress:
            progress(index + 1)
    batch.flush()
    created = index + 1
    batch = _Batch(space, actor, Link)
    made, index = 0, -1
    records = iter(links)
    while chunk := list(islice(records, IMPORT_BATCH)):
        batch.flush()
        ends = {end for record in chunk for end in (record.source, record.target)}
        keys = dict(space.thoughts.filter(key__in=ends).values_list("key", "pk"))
        have = set(
            space.links.filter(source_id__in=keys.values()).values_list(
                "source__key", "target__key", "label"
            )
        )
        for record in chunk:
            index += 1
            try:
                label = _text(record.label, field="label", limit=LABEL_MAX)
                for end in (record.source, record.target):
                    if end not in keys:
                        raise InvalidInput(f"{end!r} is not a thought of this space.")
                if record.source == record.target:
                    raise InvalidInput("A link needs two different thoughts.")
            except ServiceError as exc:
                raise RecordError(index, record, exc, link=True) from None
            if (record.source, record.target, label) in have:
                continue
            have.add((record.source, record.target, label))
            link = Link(
                space=space,
                source_id=keys[record.source],
                target_id=keys[record.target],
                label=label,
            )
            snapshot = {"id": link.pk, "source": record.source, "target": record.target}
            batch.add(link, Action.LINK_CREATED, record.source, snapshot | {"label": label})
            made += 1
    batch.flush()
    if created or made:
        emit_on_commit(
            {
                "type": "space.imported",
                "space_id": space.pk,
                "actor": _actor_name(actor),
                "data": {"thoughts": created, "links": made},
            }
        )
    return made


def _check_version(thought: Thought, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != thought.version:
        raise PreconditionFailed(
            f"Thought {thought.key!r} is at version {thought.version}, not {expected_version}: "
            "it changed since you read it. Fetch it again and retry."
        )


def thought_update(
    *,
    thought: Thought,
    actor: Any,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Thought:
    """Apply ``changes`` (any of title, body, kind, metadata, parent, position)."""
    unknown = set(changes) - set(THOUGHT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown thought fields: {', '.join(sorted(unknown))}.")
    _check_version(thought, expected_version)
    before = thought.snapshot()
    if "title" in changes:
        thought.title = _text(changes["title"], field="title", limit=TITLE_MAX, required=True)
    if "body" in changes:
        thought.body = _text(changes["body"], field="body", limit=BODY_MAX)
    if "kind" in changes:
        thought.kind = _text(changes["kind"], field="kind", limit=KIND_MAX)
    if "metadata" in changes:
        thought.metadata = _metadata(changes["metadata"])
    if "parent" in changes:
        thought.parent = _parent(thought.space, changes["parent"], child=thought)
    if "position" in changes:
        thought.position = _position(changes["position"])
    with transaction.atomic():
        base_version = thought.version
        # The version check and bump are one conditional UPDATE: a concurrent writer loses.
        updated = Thought.objects.filter(pk=thought.pk, version=base_version).update(
            title=thought.title,
            body=thought.body,
            kind=thought.kind,
            metadata=thought.metadata,
            parent=thought.parent,
            position=thought.position,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        if not updated:
            raise PreconditionFailed(
                f"Thought {thought.key!r} changed while you were saving. Fetch it again and retry."
            )
        thought.version = base_version + 1
        _record(
            space=thought.space,
            action=Action.NODE_UPDATED,
            actor=actor,
            thought_key=thought.key,
            before=before,
            after=thought.snapshot(),
            base_version=base_version,
        )
    return thought


def thought_delete(
    *, thought: Thought, actor: Any, expected_version: int | None = None
) -> HistoryEntry:
    """Delete one thought and its links (children move up to its parent): no space rewrite.
    Returns its history entry (timeline.undo_delete takes it back)."""
    _check_version(thought, expected_version)
    before = thought.snapshot()
    with transaction.atomic():
        Link.objects.filter(space=thought.space, source=thought).delete()
        Link.objects.filter(space=thought.space, target=thought).delete()
        Thought.objects.filter(parent=thought).update(parent=thought.parent_id)
        Thought.objects.filter(pk=thought.pk).delete()
        return _record(
            space=thought.space,
            action=Action.NODE_DELETED,
            actor=actor,
            thought_key=thought.key,
            before=before,
            base_version=thought.version,
        )


# --- links -------------------------------------------------------------------------------


def link_create(*, space: Space, actor: Any, source: str, target: str, label: str = "") -> Link:
    label = _text(label, field="label", limit=LABEL_MAX)
    ends = {t.key: t for t in space.thoughts.filter(key__in=[_key(source), _key(target)])}
    for field, key in (("source", source), ("target", target)):
        if key not in ends:
            raise InvalidInput(f"{key!r} is not a thought of this space.", field=field)
    if source == target:
        raise InvalidInput("A link needs two different thoughts.")
    link = Link(space=space, source=ends[source], target=ends[target], label=label)
    try:
        with transaction.atomic():
            link.save(force_insert=True)
            _record(
                space=space,
                action=Action.LINK_CREATED,
                actor=actor,
                thought_key=source,
                after=link.snapshot(),
            )
    except IntegrityError:
        raise Conflict(f"{source} is already linked to {target} with label {label!r}.") from None
    return link


def link_delete(*, space: Space, actor: Any, link_id: str) -> HistoryEntry:
    link = space.links.select_related("source", "target").filter(pk=link_id).first()
    if link is None:
        raise NotFound("Link not found in this space.")
    before = link.snapshot()
    with transaction.atomic():
        Link.objects.filter(pk=link.pk).delete()
        return _record(
            space=space,
            action=Action.LINK_DELETED,
            actor=actor,
            thought_key=before["source"],
            before=before,
        )


# --- API tokens --------------------------------------------------------------------------


def secret_hash(raw: str) -> str:
    """What is stored of a secret shown once (an API token, an invitation link)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, user: Any, name: str = "", mode: str = ApiToken.Mode.DIRECT
) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and only its hash is stored."""
    if mode not in ApiToken.Mode.values:
        raise InvalidInput(f"mode must be one of: {', '.join(ApiToken.Mode.values)}.")
    raw = "ts_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=_text(name, field="name", limit=100),
        prefix=raw[:10],
        token_hash=secret_hash(raw),
        mode=mode,
    )
    return token, raw


def token_revoke(*, token: ApiToken) -> None:
    """Revoke ``token``: refused from now on, and its open WebSockets close."""
    from spaces import live

    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    transaction.on_commit(lambda: live.close_sockets(live.token_group(token.pk)))


def token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token for ``raw``; its last-used time is written at most once a minute."""
    tokens = ApiToken.objects.select_related("user").filter(
        token_hash=secret_hash(raw), revoked_at__isnull=True, user__is_active=True
    )
    token = with_current_session(tokens).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        try:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        except OperationalError:
            # A bookkeeping write must not turn a read into an error while writes are refused.
            logger.warning("Could not record the last use of token %s", token.prefix)
        else:
            token.last_used_at = now
    return token
