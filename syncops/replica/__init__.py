"""The four storage modes behind one interface: open connections, push, pull, report.

One ``Replica`` exists per database file per process (``replica_for``): Django's per-thread
connections all come from it, so replication never runs twice in parallel on one file.

- ``local`` (``base.Replica``): a libSQL file; nothing to sync.
- ``replica`` (``libsql.LibsqlReplica``): a libSQL embedded replica; writes are forwarded to
  the primary and the replica syncs right after each committed write and on a timer.
- ``offline`` (``turso.TursoReplica``): a Turso sync-engine file; writes commit locally and a
  background worker pushes them (coalesced) and pulls on a timer.
- ``remote`` (``http.RemoteReplica``): libSQL over HTTP to the primary; no local file.

Each mode is a module of its own; this package wires them to ``replica_for``. Nothing here
imports the stages that use a replica (recovery, scheduler, runtime): they import it.
"""

from __future__ import annotations

import threading
from typing import Any

from syncops.replica.base import (
    MODES,
    NETWORK_TIMEOUT,
    RECOVERY_WRITE_WAIT,
    Diverged,
    RecoveryInProgress,
    RemoteUnavailable,
    Replica,
    SyncError,
    compare_epochs,
    is_corruption,
    is_snapshot_pending,
)
from syncops.replica.http import RemoteReplica
from syncops.replica.libsql import LibsqlReplica
from syncops.replica.turso import TursoReplica

__all__ = [
    "MODES",
    "NETWORK_TIMEOUT",
    "RECOVERY_WRITE_WAIT",
    "Diverged",
    "LibsqlReplica",
    "RecoveryInProgress",
    "RemoteReplica",
    "RemoteUnavailable",
    "Replica",
    "SyncError",
    "TursoReplica",
    "all_replicas",
    "compare_epochs",
    "forget_replica",
    "is_corruption",
    "is_snapshot_pending",
    "replica_for",
]


_REPLICAS: dict[tuple[str, str], Replica] = {}
_REPLICAS_LOCK = threading.Lock()
_CLASSES: dict[str, type[Replica]] = {
    "local": Replica,
    "replica": LibsqlReplica,
    "offline": TursoReplica,
    "remote": RemoteReplica,
}


def replica_for(settings_dict: dict[str, Any]) -> Replica:
    """The process's one Replica for a database's settings."""
    options = settings_dict.get("OPTIONS", {})
    mode = options.get("mode", "local")
    key = (mode, str(settings_dict["NAME"]))
    with _REPLICAS_LOCK:
        replica = _REPLICAS.get(key)
        if replica is None:
            replica = _CLASSES[mode](
                str(settings_dict["NAME"]),
                url=options.get("sync_url"),
                token=options.get("auth_token"),
            )
            _REPLICAS[key] = replica
        return replica


def forget_replica(replica: Replica) -> None:
    """Drop a closed replica so that the next connection opens its files afresh."""
    with _REPLICAS_LOCK:
        for key, value in list(_REPLICAS.items()):
            if value is replica:
                del _REPLICAS[key]


def all_replicas() -> list[Replica]:
    with _REPLICAS_LOCK:
        return list(_REPLICAS.values())
