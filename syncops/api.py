"""``GET /api/sync/status``: this instance's storage mode and sync state."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest
from ninja import Router, Schema

from syncops.replica import replica_for
from syncops.runtime import storage_report

router = Router(tags=["sync"])


class SyncStatusOut(Schema):
    mode: str
    remote_url: str | None
    status: str
    healthy: bool
    last_push_at: str | None
    last_push_ms: float | None
    last_pull_at: str | None
    last_pull_ms: float | None
    pending_changes: int
    revision: str | None
    last_error: str | None
    last_error_at: str | None
    consecutive_failures: int
    pushes: int
    pulls: int
    reconciled_pulls: int
    recoveries: int
    last_recovery: str | None
    last_recovery_at: str | None
    checkpoints: int
    last_checkpoint_at: str | None
    storage: dict[str, Any]  # files and sizes, quarantined copies, log and history rows


@router.get("/status", response=SyncStatusOut, summary="Sync state of this instance")
def sync_status(request: HttpRequest) -> Any:
    """Mode, remote (without credentials), last push/pull and their duration, local changes
    not yet on the remote, revision, the last error, and what is stored on disk. Failures
    show here, never silently."""
    replica = replica_for(connection.settings_dict)
    replica.pending_changes()
    return {**replica.state.as_dict(), "storage": storage_report(replica)}
