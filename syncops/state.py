"""The sync state of this process's replica: what the badge, the API and sync_status show."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str | None) -> str | None:
    """The URL with only its scheme, host, port and path: no user:password@, and none of
    the ;parameters, ?query or #fragment where a secret may ride."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path.split(";", 1)[0], "", ""))


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class SyncState:
    mode: str
    remote_url: str | None = None
    status: str = "idle"  # idle | syncing | ok | error | offline
    last_push_at: str | None = None
    last_push_ms: float | None = None
    last_pull_at: str | None = None
    last_pull_ms: float | None = None
    pending_changes: int = 0
    revision: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_failures: int = 0
    pushes: int = 0
    pulls: int = 0
    # Pulls whose write journal has been reconciled (one reconciliation covers every pull
    # before it): after the background worker's pulls it follows on a thread of its own.
    reconciled_pulls: int = 0
    recoveries: int = 0
    last_recovery: str | None = None
    last_recovery_at: str | None = None
    checkpoints: int = 0  # WAL checkpoints run by syncops (offline mode)
    last_checkpoint_at: str | None = None
    last_checkpoint_ms: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Kinds (push, pull) whose last attempt failed: a pull that works does not make failing
    # pushes healthy (after a remote reset, pulls succeeded while no write reached it).
    _failing: set[str] = field(default_factory=set, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            data = {
                f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")
            }
        data["healthy"] = self.consecutive_failures == 0
        return data

    def record(self, kind: str, started: float, error: BaseException | None = None) -> float:
        """Record the outcome of a push or pull that began at ``started`` (perf_counter)."""
        from syncops.metrics import SYNC_SECONDS

        duration_ms = (time.perf_counter() - started) * 1000
        SYNC_SECONDS.labels(kind, "error" if error else "ok").observe(duration_ms / 1000)
        with self._lock:
            if error is None:
                setattr(self, f"last_{kind}_at", utc_now())
                setattr(self, f"last_{kind}_ms", round(duration_ms, 2))
                if kind == "push":
                    self.pushes += 1
                elif kind == "pull":
                    self.pulls += 1
                self._failing.discard(kind)
                if not self._failing:
                    self.consecutive_failures = 0
                    self.status = "ok"
            else:
                self.last_error = f"{kind} failed: {error}"
                self.last_error_at = utc_now()
                self._failing.add(kind)
                self.consecutive_failures += 1
                self.status = "error"
        return duration_ms

    def reconciled(self, through: int) -> None:
        """The write journal was reconciled after the first ``through`` pulls."""
        with self._lock:
            self.reconciled_pulls = max(self.reconciled_pulls, through)

    def update(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self, name, value)
