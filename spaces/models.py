"""Spaces of thoughts and links, their members, their append-only history, API tokens, and
the agents' sessions and proposals."""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from spaces.ids import new_id

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$"  # JSON Schema's dialect: $ ends the text
KEY_RE = re.compile(KEY_PATTERN.removesuffix("$") + r"\Z")  # Python's $ also matches before "\n"
KEY_HELP = "1-80 characters: letters, digits, '-', '_' or '.', starting with a letter or digit."
# A character that str.strip() keeps, spelled out: the \s of JSON Schema (ECMAScript's) leaves
# out U+001C-U+001F and U+0085, which strip() removes, and takes in U+FEFF, which it keeps.
NOT_BLANK_PATTERN = (
    r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


def numbered_key(base: str, taken: Container[str]) -> str:
    """``base``, or the first of ``base-2``, ``base-3``... that is not ``taken`` (at most 80
    characters: ``base`` is cut to make room for the number)."""
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base[: 80 - len(str(number)) - 1]}-{number}"
    return key


TITLE_MAX = 200
AGENT_SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
BODY_MAX = 20_000
KIND_MAX = 40
LABEL_MAX = 100
METADATA_MAX_BYTES = 16_384


def ulid_field() -> models.CharField:
    return models.CharField(primary_key=True, max_length=26, default=new_id, editable=False)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"


# SPACE_ORDER_NOTE: a space's thoughts, links and history are read in their model's order
# from one composite index that starts with the space; the foreign key to the space has no
# index of its own. Given an older one-column index on the space, the Turso engine's planner
# picked it and sorted every row of the space instead (docs/sync-facts.md, "The planner":
# 18.8 ms against 0.09 ms for a space's recent history at 20,000 entries), which made every
# list, and reconciling every edit, slower as the space grew.


class Space(models.Model):
    id = ulid_field()
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(blank=True, default="", max_length=BODY_MAX)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_spaces"
    )
    # Bumped by every edit of title or description: concurrent edits on two replicas are
    # told apart as for thoughts (spaces.reconcile).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    def role_of(self, user: Any) -> str | None:
        """The user's role here: "owner", "editor", "viewer" or None."""
        if not getattr(user, "is_authenticated", False):
            return None
        if self.owner_id == user.pk:
            return "owner"
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None


class Membership(models.Model):
    id = ulid_field()
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.space}"


class Thought(models.Model):
    """A node of a space's graph, addressed in the API by its ``key``."""

    id = ulid_field()
    # Indexed by the composite indexes below (see SPACE_ORDER_NOTE)
    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="thoughts", db_index=False
    )
    key = models.CharField(max_length=80, validators=[RegexValidator(KEY_PATTERN, KEY_HELP)])
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField(blank=True, default="", max_length=BODY_MAX)
    kind = models.CharField(max_length=KIND_MAX, blank=True, default="note")
    metadata = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    position = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "key"]
        indexes = [
            models.Index(fields=["space", "position", "key"], name="thought_space_order"),
            # A space page lists a subtree at a time: the top level (parent NULL) or one
            # thought's children, in page order. It starts with the parent so that it never
            # competes with thought_space_order for a whole space (see SPACE_ORDER_NOTE).
            models.Index(fields=["parent", "space", "position", "key"], name="thought_children"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["space", "key"], name="thought_unique_key_per_space")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"

    @property
    def etag(self) -> str:
        return f'"{self.id}.{self.version}"'

    def snapshot(self) -> dict:
        """The thought's content as recorded in history and sent in events."""
        return {
            "id": self.id,
            "key": self.key,
            "title": self.title,
            "body": self.body,
            "kind": self.kind,
            "metadata": self.metadata,
            "parent": self.parent.key if self.parent_id and self.parent else None,
            "position": self.position,
            "version": self.version,
        }


class Link(models.Model):
    id = ulid_field()
    space = models.ForeignKey(  # indexed by link_space_order (see SPACE_ORDER_NOTE)
        Space, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    source = models.ForeignKey(Thought, on_delete=models.CASCADE, related_name="outgoing_links")
    target = models.ForeignKey(Thought, on_delete=models.CASCADE, related_name="incoming_links")
    label = models.CharField(max_length=LABEL_MAX, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["space", "created_at", "id"], name="link_space_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "label"], name="link_unique_source_target_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.key} -[{self.label}]-> {self.target.key}"

    def snapshot(self) -> dict:
        return {
            "id": self.id,
            "source": self.source.key,
            "target": self.target.key,
            "label": self.label,
        }


class HistoryEntry(models.Model):
    """An append-only record of one change, written in the same transaction as the change."""

    class Action(models.TextChoices):
        SPACE_CREATED = "space.created"
        SPACE_UPDATED = "space.updated"
        SPACE_SHARED = "space.shared"
        NODE_CREATED = "node.created"
        NODE_UPDATED = "node.updated"
        NODE_DELETED = "node.deleted"
        LINK_CREATED = "link.created"
        LINK_DELETED = "link.deleted"
        CONFLICT_RESOLVED = "conflict.resolved"

    id = ulid_field()
    space = models.ForeignKey(  # indexed by history_space_recent (see SPACE_ORDER_NOTE)
        Space, on_delete=models.CASCADE, related_name="history", db_index=False
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    thought_key = models.CharField(max_length=80, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    # Set when an agent made the change: directly (agent_session) or through an approved
    # proposal (proposal; ``actor`` is then the person or token that approved it).
    agent_session = models.ForeignKey(
        "AgentSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )
    proposal = models.ForeignKey(
        "Proposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )
    base_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "history entries"
        indexes = [
            models.Index(fields=["space", "-id"], name="history_space_recent"),
            models.Index(fields=["space", "thought_key", "id"], name="history_space_thought"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.thought_key}".strip()

    @property
    def credit(self) -> str:
        """Who made the change, in words: the person, and the agent when there was one."""
        name = self.actor_name or "unknown"
        if self.proposal_id and self.proposal:
            return f"{name}, approving a proposal by {self.proposal.agent_name}"
        if self.agent_session_id and self.agent_session:
            return f"{self.agent_session.agent_name} (as {name})"
        return name


class Conflict(models.Model):
    """A write that lost to a concurrent write on another replica, kept so that it can be
    restored (a new ordinary write) or dismissed.

    Its id is the lost write's history entry id: every replica that notices the loss records
    the same row, so all replicas end with the same conflict list.
    """

    class Kind(models.TextChoices):
        CONCURRENT_EDIT = "concurrent_edit", "Changed on two replicas at once"
        EDIT_OF_DELETED = "edit_of_deleted", "Changed here, deleted on another replica"
        DUPLICATE_KEY = "duplicate_key", "Same key created on two replicas"
        DROPPED = "dropped", "Refused by the remote"
        DANGLING = "dangling", "Made against a thought deleted on another replica"

    class Status(models.TextChoices):
        OPEN = "open"
        RESTORED = "restored"
        DISMISSED = "dismissed"

    id = models.CharField(primary_key=True, max_length=26, editable=False)
    # None for a conflict about accounts (two replicas creating one username).
    space = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.CASCADE, related_name="conflicts"
    )
    thought_key = models.CharField(max_length=80, blank=True, default="")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    action = models.CharField(max_length=20, help_text="What the lost write did.")
    lost = models.JSONField(null=True, blank=True, help_text="The version that lost.")
    kept = models.JSONField(null=True, blank=True, help_text="What won, when recorded.")
    detail = models.CharField(max_length=500)
    actor_name = models.CharField(max_length=150, blank=True, default="")
    lost_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.thought_key or self.action}"

    @property
    def decision(self) -> ConflictResolution | None:
        try:
            return self.resolution  # type: ignore[no-any-return]
        except ConflictResolution.DoesNotExist:
            return None

    @property
    def status(self) -> str:
        return self.decision.status if self.decision else self.Status.OPEN

    @property
    def is_open(self) -> bool:
        return self.decision is None

    @property
    def resolved_by(self) -> Any:
        return self.decision.resolved_by if self.decision else None

    @property
    def resolved_at(self) -> datetime | None:
        return self.decision.resolved_at if self.decision else None


class ConflictResolution(models.Model):
    """How a conflict was closed. A row of its own, not fields of the conflict: a replica that
    records the same conflict late rewrites the conflict's row, and must not reopen it."""

    conflict = models.OneToOneField(
        Conflict, primary_key=True, on_delete=models.CASCADE, related_name="resolution"
    )
    status = models.CharField(max_length=10, choices=Conflict.Status.choices)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.conflict_id} {self.status}"


class ApiToken(models.Model):
    """A bearer token for API clients; only its SHA-256 is stored."""

    class Mode(models.TextChoices):
        DIRECT = "direct", "Direct (acts as its user)"
        CONFIRM = "confirm", "Confirm (changes become proposals a person approves)"
        READ = "read", "Read only"

    id = ulid_field()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.DIRECT)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def agent_name(self) -> str:
        """How history and proposals name the agent that uses this token."""
        return f"{self.user}'s agent “{self.name or self.prefix}”"


class AgentSession(models.Model):
    """One run of an agent: groups its calls, proposals and changes.

    Named by the ``X-Agent-Session`` header or created by the token's first change; it ends
    when the agent deletes it or after ``AGENT_SESSION_IDLE_TIMEOUT`` without a call.
    """

    id = ulid_field()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_sessions"
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_sessions"
    )
    label = models.CharField(
        max_length=100, blank=True, default="", help_text="The agent's own name for the session."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.agent_name} session {self.label or self.id}"

    @property
    def agent_name(self) -> str:
        if self.token_id and self.token:
            return self.token.agent_name
        return f"{self.user}'s agent"

    @property
    def expires_at(self) -> datetime:
        return self.last_seen_at + AGENT_SESSION_IDLE_TIMEOUT

    @property
    def status(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "active" if timezone.now() < self.expires_at else "expired"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class Proposal(models.Model):
    """A change an agent in ``confirm`` mode asked for: applied only when someone approves it.

    ``operation`` and ``payload`` are replayed through spaces.proposals on approval;
    ``before`` is the target's state when proposed, so a stale proposal is refused.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    id = ulid_field()
    space = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.CASCADE, related_name="proposals"
    )
    operation = models.CharField(max_length=20)
    target = models.CharField(max_length=80, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    base_version = models.PositiveIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proposals"
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    agent_session = models.ForeignKey(
        AgentSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["space", "status"], name="proposal_space_status")]

    def __str__(self) -> str:
        return self.summary

    @property
    def agent_name(self) -> str:
        if self.token_id and self.token:
            return self.token.agent_name
        return f"{self.proposed_by}'s agent"


class ThoughtEmbedding(models.Model):
    """A thought's title and body as a vector, for search by meaning (see spaces/indexing.py).

    ``vector`` holds little-endian float32 values: libSQL's and Turso's ``F32_BLOB`` layout,
    which their ``vector_distance_cos`` reads from a plain BLOB column too. ``embedder`` names
    the embedder and its version, ``digest`` the text it embedded, so a stale vector is found
    by comparison and redone. Deleted with its thought, in the same transaction.
    """

    thought = models.OneToOneField(
        Thought, primary_key=True, on_delete=models.CASCADE, related_name="embedding"
    )
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    embedder = models.CharField(max_length=40)
    digest = models.CharField(max_length=32)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["space", "embedder"], name="embedding_space_embedder")]

    def __str__(self) -> str:
        return f"{self.embedder} vector of {self.thought_id}"


class SignupSetting(models.Model):
    """Whether anyone may make an account here. Each change is a new row and the newest
    decides: an append-only log, so two replicas never write the same row."""

    id = ulid_field()
    open = models.BooleanField(
        default=False, help_text="Anyone may make an account (invitations work either way)."
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "sign-up setting"

    def __str__(self) -> str:
        return f"sign-up {'open' if self.open else 'closed'} since {self.created_at:%Y-%m-%d %H:%M}"


INVITATION_DAYS = 7


class Invitation(models.Model):
    """A link that gives a role in a space to whoever opens it first, with an account or a
    new one; only the SHA-256 of its secret is stored."""

    id = ulid_field()
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.role} in {self.space} ({self.status})"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.accepted_at:
            return "accepted"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"
