"""Sync bookkeeping kept in a local, non-replicated SQLite file (the "syncops" database).

It must not live in the replicated database: a log of sync problems that is itself synced
would be written to the remote it cannot reach, and every log line would trigger a push.
"""

from __future__ import annotations

from django.db import models


class SyncEvent(models.Model):
    """One push, pull, failure or recovery, newest first; pruned to the last few thousand."""

    class Kind(models.TextChoices):
        PUSH = "push"
        PULL = "pull"
        SYNC = "sync"
        ERROR = "error"
        RECOVERY = "recovery"
        INFO = "info"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ok = models.BooleanField(default=True)
    duration_ms = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    pid = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {'ok' if self.ok else 'failed'} {self.message[:60]}"


class JournalEntry(models.Model):
    """A local write (offline mode) that the remote is not yet known to hold.

    The Turso sync engine can drop a local transaction (a push refused for a UNIQUE
    constraint) or overwrite it (last push wins) without a trace, and a history row committed
    with it is no safer. So every journaled write is also kept here, outside the replicated
    file, written before its transaction commits and marked after; the domain reconciles
    pushed entries after each pull and deletes them once it has decided what became of them.
    """

    class State(models.TextChoices):
        PENDING = "pending"  # its transaction has not committed (yet)
        COMMITTED = "committed"  # committed locally, not pushed
        PUSHED = "pushed"  # a push that included it succeeded; reconciled after the next pull

    key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    pid = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
