"""Per-process sync machinery: starts the scheduler and control channel for a syncing
replica on first use, records sync events, and flushes pending writes at exit."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

from syncops import owner
from syncops.control import ControlServer
from syncops.localdb import prepare_local_database
from syncops.memory import limit_malloc_arenas
from syncops.quarantine import unmerged_folders
from syncops.recovery import recover
from syncops.replica import Diverged, Replica, SyncError, all_replicas, replica_for
from syncops.scheduler import SyncScheduler

logger = logging.getLogger("syncops")

EVENT_LOG_LIMIT = 1000
_paused = False  # set by background_sync_paused()
_started: set[int] = set()
_served: set[int] = set()
_lock = threading.Lock()
_controls: list[ControlServer] = []
_owned: list[owner.OwnerLock] = []  # held until the process exits


def record_event(kind: str, ok: bool, duration_ms: float | None, message: str) -> None:
    """Append to the bounded sync event log (the local syncops database)."""
    from django.db import close_old_connections

    from syncops.models import SyncEvent

    try:
        SyncEvent.objects.create(
            kind=kind, ok=ok, duration_ms=duration_ms, message=message[:2000], pid=os.getpid()
        )
        if SyncEvent.objects.count() > EVENT_LOG_LIMIT * 1.1:
            keep = SyncEvent.objects.values_list("id", flat=True)[:EVENT_LOG_LIMIT]
            SyncEvent.objects.exclude(id__in=list(keep)).delete()
    except Exception:
        logger.exception("Could not record a sync event")
    finally:
        if threading.current_thread() is not threading.main_thread():
            try:
                close_old_connections()
            except Exception:  # the worker's thread must outlive any bookkeeping failure
                logger.debug("Could not close this thread's database connections", exc_info=True)


@contextmanager
def background_sync_paused() -> Iterator[None]:
    """No background worker starts inside the block (a command that syncs by itself)."""
    global _paused
    paused_before, _paused = _paused, True
    try:
        yield
    finally:
        _paused = paused_before  # blocks nest (a command calling migrate)


def ensure_started(replica: Replica, *, serve_control: bool = False) -> None:
    """Start the replica's background worker once per process; with ``serve_control`` (the
    server), also answer ``manage.py sync``/``sync_status`` on the control channel."""
    if not replica.syncs or _paused:
        return
    with _lock:
        start_worker = id(replica) not in _started
        _started.add(id(replica))
        start_control = serve_control and replica.mode == "offline" and id(replica) not in _served
        if start_control:
            _served.add(id(replica))
    if start_worker:
        try:
            prepare_local_database()
        except Exception:
            logger.exception("Could not prepare the local sync event log")
        scheduler = SyncScheduler(
            replica,
            interval=settings.TURSO_SYNC_INTERVAL,
            on_event=record_event,
            maintain=lambda: prune(replica),
        )
        try:
            scheduler.start()
        except Exception:
            with _lock:
                _started.discard(id(replica))  # the next write tries again
            logger.exception("Could not start background sync for %s", replica.path)
            return
        replica.scheduler = scheduler  # type: ignore[attr-defined]
    if start_control:
        try:
            _controls.append(ControlServer(replica.path, lambda op: answer(replica, op)).start())
        except OSError as exc:
            logger.warning("No control channel for %s: %s", replica.path, exc)


def start_server() -> None:
    """Called by the ASGI application: own the replica's files (raises OwnedElsewhere when
    another live process does), sync from the start, and serve the control channel."""
    from django.db import connections

    limit_malloc_arenas()
    replica = replica_for(connections["default"].settings_dict)
    if replica.syncs and not _owned:
        _owned.append(owner.claim(replica.path, role="the server"))
    ensure_started(replica, serve_control=True)


def answer(replica: Replica, op: str) -> dict[str, Any]:
    """What the owner answers on its control channel."""
    if op == "status":
        replica.pending_changes()
        state = {**replica.state.as_dict(), "storage": storage_report(replica)}
        return {"ok": True, "state": state, "pid": os.getpid()}
    if op == "prune":
        return {"ok": True, "deleted": [str(path) for path in prune(replica)], "pid": os.getpid()}
    if op in ("sync", "push", "pull"):
        return run_sync(replica, op)
    return {"ok": False, "error": f"unknown operation {op!r}"}


def storage_report(replica: Replica) -> dict[str, Any]:
    """``syncops.storage.report``, or what went wrong (a status must answer regardless)."""
    from syncops import storage

    try:
        return storage.report(replica)
    except Exception as exc:
        logger.exception("Could not measure the storage of %s", replica.path)
        return {"error": f"{type(exc).__name__}: {exc}"}


def prune(replica: Replica) -> list[Path]:
    """Delete what has outlived its retention: merged quarantined copies and old tombstones
    (the sync event log prunes itself as it grows, the journal as it is reconciled)."""
    from django.db import close_old_connections

    from syncops import storage, tombstones

    try:
        forgotten = tombstones.prune(settings.THOUGHTSPACE_TOMBSTONE_DAYS)
        if forgotten:
            logger.info(
                "Pruned %d tombstone(s) older than %g days",
                forgotten,
                settings.THOUGHTSPACE_TOMBSTONE_DAYS,
            )
        return storage.prune_quarantine(replica)
    finally:
        if threading.current_thread() is not threading.main_thread():
            try:
                close_old_connections()
            except Exception:  # the worker's thread must outlive any bookkeeping failure
                logger.debug("Could not close this thread's database connections", exc_info=True)


def run_sync(replica: Replica, op: str = "sync") -> dict[str, Any]:
    """Push and/or pull now, in this process; the result says what happened. A divergence
    found on the way is recovered from (syncops.recovery) before the result is given."""
    started = time.perf_counter()
    try:
        if unmerged_folders(replica.path):  # an interrupted recovery is finished first
            report = recover(replica, reason="An interrupted recovery left its old copy unmerged.")
            record_event("recovery", True, report.duration_ms, report.summary())
        try:
            _push_pull(replica, op)
        except Diverged as exc:
            report = recover(replica, reason=str(exc))
            record_event("recovery", True, report.duration_ms, report.summary())
            _push_pull(replica, op)
    except SyncError as exc:
        record_event(op, False, (time.perf_counter() - started) * 1000, str(exc))
        return {"ok": False, "error": str(exc), "state": replica.state.as_dict()}
    duration_ms = (time.perf_counter() - started) * 1000
    record_event(op, True, duration_ms, f"manual {op}")
    return {"ok": True, "duration_ms": round(duration_ms, 2), "state": replica.state.as_dict()}


def _push_pull(replica: Replica, op: str) -> None:
    if op in ("sync", "push"):
        replica.push()
    if op in ("sync", "pull"):
        replica.pull()


def request_pull() -> None:
    """Ask the default replica's background worker for a pull soon (another process of the
    same remote pushed); nothing when it has no worker."""
    from django.db import connections

    replica = replica_for(connections["default"].settings_dict)
    scheduler = getattr(replica, "scheduler", None)
    if scheduler is not None:
        scheduler.request_pull()


def fresh_pull(timeout: float) -> bool:
    """Wait (``timeout`` at most) for a pull of the default replica that began after this
    call; False without one (local and remote modes, a process with no worker, a timeout)."""
    from django.db import connections

    replica = replica_for(connections["default"].settings_dict)
    scheduler = getattr(replica, "scheduler", None)
    return scheduler is not None and scheduler.fresh_pull(timeout)


def pull_now() -> None:
    """Pull the default database's replica now (a no-op in local and remote mode)."""
    from django.db import close_old_connections, connections

    replica = replica_for(connections["default"].settings_dict)
    if replica.syncs:
        replica.pull()
    close_old_connections()


def shutdown(timeout: float = 5.0) -> None:
    """Stop workers, trying one last push of pending writes (bounded by network timeouts)."""
    for control in _controls:
        try:
            control.stop()
        except Exception:
            logger.exception("Could not stop the control channel")
    _controls.clear()
    from syncops import reconcile

    for replica in all_replicas():
        scheduler = getattr(replica, "scheduler", None)
        if scheduler is not None:
            scheduler.stop(flush=True, timeout=timeout)
            reconcile.background.wait(timeout)  # not cut off half-way (it would be redone)
            pending = replica.pending_changes() if replica.mode == "offline" else 0
            if pending:
                logger.warning(
                    "%d local change(s) are not on the remote yet; they stay in %s and are "
                    "pushed on the next start.",
                    pending,
                    replica.path,
                )


atexit.register(shutdown)
