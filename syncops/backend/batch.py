"""Replica mode's write transactions: run on the local replica, sent to the primary as one batch.

A write transaction runs on a read-write connection of the local replica file, so its reads see
its own writes and every statement answers at once, with its rows, row count and constraint
errors, as on the primary. Nothing stays there: at COMMIT the local transaction is rolled back
(``cache_spill`` is off, so its pages never reach the file) and its statements go to the
primary in one Hrana batch, each guarded by the row count it changed here. The primary's
constraints and row counts decide: when they differ, the replica was behind, nothing was
applied, and the request runs again once the replica has synced (``NotApplied``). The replica
then syncs, which brings the committed rows into the file (read-your-writes).

Measured: one API write went from about 21 requests to the primary to 3 (this batch, and the
sync's two); docs/BENCHMARKS.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from syncops.replica.base import RemoteUnavailable
from syncops.replica.hrana import (
    BatchResult,
    HranaClient,
    PrimaryTimedOut,
    PrimaryUnreachable,
    Step,
)

from . import database as Database

logger = logging.getLogger("syncops")

# Statements that read only: they run on the local replica and are not sent.
_READ = re.compile(r"\s*(SELECT|EXPLAIN|VALUES)\b", re.IGNORECASE)
# Statements whose row count the primary must reproduce (changes() counts exactly these).
_COUNTED = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_PRAGMA = re.compile(
    r"\s*PRAGMA\s+(?:\w+\.)?(\w+)\s*(?:(=)\s*(\S+?)|\(.*\))?\s*;?\s*$", re.IGNORECASE | re.DOTALL
)
# Connection settings: run on the local connection, and sent before (outside a transaction)
# or inside (in one) every batch, as on the primary's connection.
_SETTINGS = {"foreign_keys", "legacy_alter_table", "defer_foreign_keys"}
# PRAGMAs that only read (with or without an argument): answered by the local copy.
_READ_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    "compile_options", "database_list", "collation_list", "function_list", "schema_version",
    "user_version", "application_id", "page_count", "page_size", "freelist_count",
    "journal_mode", "encoding", "data_version", *_SETTINGS,
}  # fmt: skip
_BEGIN = re.compile(r"\s*BEGIN\b", re.IGNORECASE)
_COMMIT = re.compile(r"\s*(COMMIT|END)\b", re.IGNORECASE)
_ROLLBACK = re.compile(r"\s*ROLLBACK\s*(TRANSACTION\s*)?;?\s*$", re.IGNORECASE)
# A WITH statement reads or writes: its words tell which.
_WITH = re.compile(r"\s*WITH\b", re.IGNORECASE)


class BatchCursor:
    """A cursor of the local transaction that records what the primary must run."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.cursor: Any = writer.local.cursor()
        self.rows: list[Any] | None = None  # a write's RETURNING rows, read when it ran

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> BatchCursor:
        self.rows = self.writer.run(self.cursor, sql, tuple(args))
        return self

    def executescript(self, script: str) -> BatchCursor:
        raise Database.NotSupportedError(
            "A script cannot be sent to the primary in one batch; run its statements one by one."
        )

    @property
    def description(self) -> Any:
        return self.cursor.description

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)

    @property
    def lastrowid(self) -> Any:
        return self.cursor.lastrowid

    def fetchone(self) -> Any:
        if self.rows is not None:
            return self.rows.pop(0) if self.rows else None
        return self.cursor.fetchone()

    def fetchmany(self, size: int) -> list[Any]:
        if self.rows is not None:
            rows, self.rows = self.rows[:size], self.rows[size:]
            return rows
        return list(self.cursor.fetchmany(size))

    def fetchall(self) -> list[Any]:
        if self.rows is not None:
            rows, self.rows = self.rows, []
            return rows
        return list(self.cursor.fetchall())

    def close(self) -> None:
        self.cursor.close()


class BatchWriter:
    """The driver connection replica mode's write transactions run on (one per replica,
    used under its ``write_lock``)."""

    def __init__(
        self,
        local: Any,
        client: HranaClient,
        *,
        synced: Callable[[], None],
        check: Callable[[], None],
        state: Any,
    ) -> None:
        self.local = local  # read-write libSQL connection of the replica file
        self.client = client
        self.synced = synced  # brings the primary's newest rows into the file (under write_lock)
        self.check = check  # the primary's health check (raises RemoteUnavailable)
        self.state = state
        # The last batch got no answer: the next one is sent only once the primary answers
        # its health check (a hung primary costs one timeout, not one per write).
        self.failing = False
        self.steps: list[Step] = []
        self.pragmas: dict[str, str] = {}  # set outside a transaction: sent before each batch
        local.execute("PRAGMA cache_spill = OFF")  # a rolled-back page never reaches the file
        local.execute("PRAGMA foreign_keys = ON")
        local.execute("PRAGMA busy_timeout = 0")

    @property
    def in_transaction(self) -> bool:
        return bool(self.local.in_transaction)

    def cursor(self) -> BatchCursor:
        return BatchCursor(self)

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> BatchCursor:
        return self.cursor().execute(sql, args)

    def run(self, cursor: Any, sql: str, args: tuple[Any, ...]) -> list[Any] | None:
        """Run ``sql`` on the local transaction and record it for the primary; the rows of a
        write that returns rows (read at once: the driver steps it only when fetched)."""
        if _BEGIN.match(sql):
            cursor.execute(sql, args)
            self.steps = []
            return None
        if _COMMIT.match(sql) or _ROLLBACK.match(sql):  # the transaction's end, as SQL
            (self.commit if _COMMIT.match(sql) else self.rollback)()
            return None
        if _READ.match(sql) or (_WITH.match(sql) and not _DML.search(sql)):
            cursor.execute(sql, args)
            return None
        pragma = _PRAGMA.match(sql)
        if pragma:
            self._pragma(cursor, sql, args, pragma)
            return None
        if self.in_transaction:
            return self._record(cursor, sql, args)
        self.local.execute("BEGIN IMMEDIATE")  # a write in autocommit: its own transaction
        try:
            rows = self._record(cursor, sql, args)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return rows

    def _pragma(self, cursor: Any, sql: str, args: tuple[Any, ...], match: Any) -> None:
        name, sets, value = match.group(1).lower(), match.group(2), match.group(3)
        if not sets and name in _READ_PRAGMAS:
            cursor.execute(sql, args)  # a read
        elif sets and name in _SETTINGS:
            cursor.execute(sql, args)
            if self.in_transaction:
                self.steps.append(Step(sql))
            else:
                self.pragmas[name] = value
        elif self.in_transaction:
            self._record(cursor, sql, args)  # rolled back with the rest locally
        else:
            # It may write (user_version, optimize, ...): the primary's, never the file's.
            self.steps = [Step(sql, args)]
            self.commit()

    def _record(self, cursor: Any, sql: str, args: tuple[Any, ...]) -> list[Any] | None:
        cursor.execute(sql, args)  # a local error raises here: nothing is recorded
        rows = list(cursor.fetchall()) if cursor.description else None
        guard = rowid = None
        if _COUNTED.match(sql) or (_WITH.match(sql) and _DML.search(sql)):
            (guard, last) = self.local.execute("SELECT changes(), last_insert_rowid()").fetchone()
            if rows is not None and sql.lstrip()[:6].upper() == "INSERT":
                rowid = last  # ids were read back: the primary must pick the same
        self.steps.append(Step(sql, args, guard, rowid))
        return rows

    def commit(self) -> None:
        steps, self.steps = self.steps, []
        try:
            if steps:
                before = [Step(f"PRAGMA {name} = {value}") for name, value in self.pragmas.items()]
                result = self._send(steps, before)
        finally:
            if self.in_transaction:
                self.local.rollback()  # the local file keeps nothing: the sync brings it
        if not steps:
            return
        if result.committed:
            self.synced()
            return
        self._refused(result, steps)

    def _send(self, steps: list[Step], before: list[Step]) -> BatchResult:
        try:
            if self.failing:  # the last batch got no answer: it may have been applied since
                self.check()
                self.synced()
            result = self.client.run_transaction(steps, before=before)
        except (PrimaryUnreachable, PrimaryTimedOut) as exc:
            self.failing = True
            self.state.update(
                status="error", last_error=f"primary unreachable: {exc}", consecutive_failures=1
            )
            raise Database.Unavailable(str(exc), retry_after=exc.retry_after) from exc
        except RemoteUnavailable as exc:  # the health check: nothing was sent
            raise Database.Unavailable(str(exc), retry_after=exc.retry_after) from exc
        self.failing = False
        return result

    def _refused(self, result: BatchResult, steps: list[Step]) -> None:
        """The primary rolled the batch back: say why, in the error Django expects."""
        if result.failed == len(steps) and "FOREIGN KEY" in result.message:
            # Deferred foreign keys are checked at COMMIT, which the local copy never runs.
            raise Database.IntegrityError(result.message.removeprefix("SQLite error: "))
        message = result.message.removeprefix("SQLite error: ")
        if "no such table" in message:
            raise Database.Unavailable(
                "The primary refused this write: it no longer holds this replica's tables (it "
                "was reset or replaced). The replica is rebuilt from it by itself; retry in a "
                "few seconds.",
                retry_after=5,
            )
        if result.failed is None or not (
            result.guard_failed or "constraint failed" in message.lower()
        ):
            raise Database.OperationalError(
                f"The primary refused the write ({message}); nothing of it was applied."
            )
        # A guard or constraint the local copy passed: it was behind the primary. Catch up so
        # that the request, run again, decides on what the primary holds.
        statement = steps[min(result.failed, len(steps) - 1)].sql.split(None, 3)[:3]
        logger.info(
            "The primary refused a batch at %s (%s); the replica was behind it: syncing",
            " ".join(statement),
            "row count differs" if result.guard_failed else result.message,
        )
        try:
            self.synced()
        except Exception as exc:
            logger.warning("Catching up after a refused batch failed: %s", exc)
        raise Database.not_applied_behind()

    def rollback(self) -> None:
        self.steps = []
        if self.in_transaction:
            self.local.rollback()

    def close(self) -> None:
        self.rollback()
        self.local.close()
