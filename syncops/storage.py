"""What this instance keeps on disk, and the retention of what only grows.

``report()`` lists every store with its size (the replica's files, the local syncops file,
quarantined copies, the sync event log, the write journal, history rows per space) for
``manage.py storage``, ``sync_status --json`` and ``GET /api/sync/status``; it reads file
sizes and a few COUNTs, nothing more. ``prune_quarantine()`` deletes quarantined copies that
were merged back and are older than ``THOUGHTSPACE_QUARANTINE_DAYS``; a copy that still holds
rows the rebuilt replica lacks (a recovery that failed half-way) is never deleted.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Count

from syncops.quarantine import REPLICA_SUFFIXES, UNMERGED, quarantine_root
from syncops.router import LOCAL_DB

logger = logging.getLogger("syncops")

TOP_SPACES = 10
GROUPED_COUNTS_TTL = 60.0  # seconds a "rows per space" count is reused (one GROUP BY each)
# Tables whose rows are counted per group in the report: label -> (table, column). The
# domain registers its append-only tables (syncops does not know them).
_grouped: dict[str, tuple[str, str]] = {}
_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
_cache_lock = threading.Lock()


def count_rows_by(label: str, *, table: str, column: str) -> None:
    """Report the rows of ``table`` per ``column`` value (the largest groups) as ``label``."""
    _grouped[label] = (table, column)


@dataclass
class QuarantinedCopy:
    path: Path
    created_at: datetime
    bytes: int
    merged: bool

    @property
    def age_days(self) -> float:
        return (datetime.now(UTC) - self.created_at).total_seconds() / 86400

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "age_days": round(self.age_days, 2),
            "bytes": self.bytes,
            "merged": self.merged,
        }


def quarantined_copies(database_path: str) -> list[QuarantinedCopy]:
    """The quarantine folders beside ``database_path``, oldest first. A folder is unmerged
    while it holds an ``UNMERGED`` marker (syncops.recovery)."""
    root = quarantine_root(database_path)
    if not root.is_dir():
        return []
    copies = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        copies.append(
            QuarantinedCopy(
                path=folder,
                created_at=_created_at(folder),
                bytes=_tree_bytes(folder),
                merged=not (folder / UNMERGED).exists(),
            )
        )
    return copies


def _created_at(folder: Path) -> datetime:
    """From the folder's name (``quarantine.quarantine_dir``), else its modification time."""
    try:
        return datetime.strptime(folder.name, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(folder.stat().st_mtime, UTC)


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def prune_quarantine(replica: Any, *, days: float | None = None) -> list[Path]:
    """Delete merged quarantined copies older than ``days`` (default: the setting); return
    them. Holds the replica's sync lock, so no recovery moves files in at the same time."""
    days = settings.THOUGHTSPACE_QUARANTINE_DAYS if days is None else days
    deleted = []
    with replica.lock:
        for copy in quarantined_copies(replica.path):
            if not copy.merged or copy.age_days < days:
                continue
            shutil.rmtree(copy.path)
            deleted.append(copy.path)
            logger.info(
                "Deleted the quarantined copy %s (merged, %.0f days old)", copy.path, copy.age_days
            )
    return deleted


def _file_bytes(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _files(base: str, suffixes: tuple[str, ...]) -> dict[str, int]:
    found = {f"{base}{suffix}": _file_bytes(Path(f"{base}{suffix}")) for suffix in suffixes}
    return {name: size for name, size in found.items() if size is not None}


def _rows(sql: str, params: tuple[Any, ...] = (), *, using: str) -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _has_table(name: str, *, using: str) -> bool:
    rows = _rows(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (name,), using=using
    )
    return bool(rows)


def _grouped_counts(label: str, table: str, column: str, top: int) -> list[dict[str, Any]]:
    with _cache_lock:
        cached = _cache.get(label)
        if cached and time.monotonic() - cached[0] < GROUPED_COUNTS_TTL:
            return cached[1]
    rows = _rows(
        f'SELECT "{column}", COUNT(*) FROM "{table}" GROUP BY "{column}" '
        "ORDER BY COUNT(*) DESC LIMIT %s",
        (top,),
        using="default",
    )
    result = [{column: value, "rows": count} for value, count in rows]
    with _cache_lock:
        _cache[label] = (time.monotonic(), result)
    return result


def report(replica: Any, *, top: int = TOP_SPACES) -> dict[str, Any]:
    """Every store of this instance with its size; cheap enough for each status request."""
    from syncops.models import JournalEntry, SyncEvent

    local_path = str(connections[LOCAL_DB].settings_dict["NAME"])
    local = replica.mode != "remote"  # a remote-mode "path" is the primary's URL
    files = _files(replica.path, REPLICA_SUFFIXES) if local else {}
    copies = quarantined_copies(replica.path) if local else []
    data: dict[str, Any] = {
        "replica_files": files,
        "replica_bytes": sum(files.values()),
        "wal_bytes": files.get(f"{replica.path}-wal", 0),
        "open_connections": replica.open_connections(),
        "local_files": _files(local_path, ("", "-wal", "-shm")),
        "quarantine": [copy.as_dict() for copy in copies],
        "quarantine_bytes": sum(copy.bytes for copy in copies),
        "quarantine_days": settings.THOUGHTSPACE_QUARANTINE_DAYS,
    }
    try:
        data["sync_events"] = SyncEvent.objects.count()
        data["journal"] = dict(
            JournalEntry.objects.values_list("state").annotate(rows=Count("id")).order_by()
        )
    except Exception as exc:  # the local file may not be prepared yet (no sync ran)
        data["sync_events"], data["journal"] = None, {}
        logger.debug("No local syncops tables yet: %s", exc)
    for label, (table, column) in _grouped.items():
        data[f"{label}_rows_by_{column}"] = _grouped_counts(label, table, column, top)
    if _has_table("syncops_tombstone", using="default"):
        data["tombstones"] = _rows('SELECT COUNT(*) FROM "syncops_tombstone"', using="default")[0][
            0
        ]
    return data
