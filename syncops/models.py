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
