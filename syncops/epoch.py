"""The remote's identity: a one-row replicated table ``syncops_epoch`` names the copy of the
data a replica belongs to.

``migrate`` creates it with a new epoch; a recovery that reseeds the remote gives it a new
one. Before each push and pull a replica compares its own epoch with the remote's (one small
SQL request over HTTP): a remote with no epoch was reset to empty, a remote with another
epoch was replaced or reseeded from another copy. Either way syncing on would mix two
histories (libSQL's frame mismatch, or a pull that empties the replica: both measured, see
docs/RELIABILITY.md), so the replica is recovered instead (syncops.recovery).
"""

from __future__ import annotations

from typing import Any

from ulid import ULID

from syncops import remote as remote_sql

TABLE = "syncops_epoch"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL)"
)
SELECT = f"SELECT epoch FROM {TABLE} WHERE id = 1"


def new_epoch() -> str:
    return str(ULID())


def ensure(cursor: Any) -> None:
    """Create the epoch table and its row if missing (on a Django cursor)."""
    cursor.execute(CREATE)
    cursor.execute(f"INSERT OR IGNORE INTO {TABLE} (id, epoch) VALUES (1, %s)", [new_epoch()])


def renew(connection: Any) -> str:
    """Give the database a new epoch (after it reseeded the remote)."""
    epoch = new_epoch()
    connection.execute(CREATE)
    connection.execute(f"INSERT OR REPLACE INTO {TABLE} (id, epoch) VALUES (1, ?)", (epoch,))
    return epoch


def local(connection: Any) -> str | None:
    """The epoch in a raw driver connection's database; None before the table exists."""
    cursor = connection.cursor()
    try:
        cursor.execute(SELECT)
        rows = cursor.fetchall()
    except Exception as exc:
        if "no such table" in str(exc):
            return None
        raise
    finally:
        cursor.close()
    return str(rows[0][0]) if rows else None


def remote(url: str, token: str = "") -> str | None:
    """The remote's epoch, or None when it has none (reset to empty, or never migrated)."""
    try:
        rows = remote_sql.query(url, token, SELECT)
    except remote_sql.NoSuchTable:
        return None
    return str(rows[0][0]) if rows else None
