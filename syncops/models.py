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
    """One row a local transaction changed (offline mode), kept until reconciled.

    Captured from the sync engine's change log before every push and pull (syncops.journal),
    outside the replicated file: the engine can drop or overwrite a committed local write
    without a trace. ``payload``: table, op (insert/update/delete), row (its primary key),
    txn (the local transaction), before and after (the row's columns).
    """

    class State(models.TextChoices):
        COMMITTED = "committed"  # committed locally, not pushed
        PUSHED = "pushed"  # a push that included it succeeded; reconciled after the next pull

    key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.COMMITTED)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    pid = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        payload = self.payload
        return f"{payload.get('op')} {payload.get('table')} {payload.get('row')} ({self.state})"


class JournalCursor(models.Model):
    """How far the journal has read a replica file's change log (syncops.journal)."""

    path = models.CharField(max_length=1000, unique=True)
    change_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.path} at change {self.change_id}"
