"""Django's sqlite3 backend, moved onto libsql-experimental.

Everything SQL-shaped is inherited from ``django.db.backends.sqlite3``; this module swaps the
driver underneath and answers its limitations (see ``database.py``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base as sqlite_base
from django.utils.asyncio import async_unsafe

from syncops.replica import (
    RECOVERY_WRITE_WAIT,
    RecoveryInProgress,
    RemoteUnavailable,
    Replica,
    is_snapshot_pending,
    replica_for,
)
from syncops.runtime import ensure_started

from . import database as Database
from .client import DatabaseClient
from .creation import DatabaseCreation
from .decltypes import DeclaredTypes, convert_row, convert_rows, declared_types, stored_values
from .features import DatabaseFeatures
from .introspection import DatabaseIntrospection
from .operations import DatabaseOperations
from .schema import DatabaseSchemaEditor

logger = logging.getLogger("syncops")

# Pragmas every connection gets: enforced foreign keys and modern ALTER TABLE semantics. The
# engine's busy handler sleeps in whole seconds here (a 5 s timeout lost to 6 writers), so
# waiting for a lock is done by CursorWrapper in milliseconds instead.
CONNECTION_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA legacy_alter_table = OFF",
    "PRAGMA busy_timeout = 0",
)
T = TypeVar("T")
_ENGINE_VERSIONS: dict[str, tuple[int, ...]] = {}  # storage mode -> its driver's SQLite version


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    display_name = "SQLite"  # the engine libSQL and Turso run, whose version Django checks
    Database = Database  # type: ignore[assignment]
    SchemaEditorClass = DatabaseSchemaEditor
    client_class = DatabaseClient
    creation_class = DatabaseCreation
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations

    # libSQL's REGEXP is not Python's re: both regex lookups are compiled by
    # syncops.backend.compiler, which translates the pattern (syncops.backend.regex).
    operators = {
        key: value
        for key, value in sqlite_base.DatabaseWrapper.operators.items()
        if key not in {"regex", "iregex"}
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.busy_timeout = 5.0
        # Emulates non-autocommit mode: the driver's isolation_level is read-only after
        # connect, so the connection stays in autocommit and BEGIN is issued by the cursor.
        self.implicit_transactions = False
        self.wrote = False  # whether the open transaction changed anything
        self.holds_write_lock = False
        self.writer_in_doubt = False  # a statement failed so that the writer may be stuck
        self.reader: Any = None  # the read connection, while a write runs on the replica's

    @property
    def declared_types(self) -> DeclaredTypes:
        """The declared types of raw queries' columns, shared by the process's connections."""
        return declared_types(str(self.settings_dict["NAME"]))

    def schema_statements(self) -> list[str]:
        """The CREATE statements of the database's tables, then of its views."""
        with stored_values():
            cursor = CursorWrapper(self).execute(
                "SELECT sql FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND sql IS NOT NULL ORDER BY type = 'view'"
            )
            return [sql for (sql,) in cursor.fetchall()]

    @property
    def replica(self) -> Replica:
        """The process's one replica of this database (its mode decides driver and sync)."""
        return replica_for(self.settings_dict)

    def get_connection_params(self) -> dict[str, Any]:
        settings_dict = self.settings_dict
        if not settings_dict["NAME"]:
            raise ImproperlyConfigured(
                "settings.DATABASES is improperly configured. Please supply the NAME value."
            )
        options = dict(settings_dict["OPTIONS"])
        transaction_mode = options.pop("transaction_mode", None)
        if transaction_mode is not None and transaction_mode.upper() not in self.transaction_modes:
            raise ImproperlyConfigured(
                f"settings.DATABASES[{self.alias!r}]['OPTIONS']['transaction_mode'] must be one "
                f"of {', '.join(sorted(self.transaction_modes))}, not {transaction_mode!r}."
            )
        self.transaction_mode = transaction_mode.upper() if transaction_mode else None
        self.init_commands = options.pop("init_command", "").split(";")
        self.busy_timeout = float(options.pop("timeout", 5.0))
        for name in ("mode", "sync_url", "auth_token"):
            options.pop(name, None)  # read by syncops.replica
        # Django checks thread sharing itself; the driver must not refuse a second thread
        # that Django allowed. Autocommit at the driver level: Django issues BEGIN.
        return {
            "database": str(settings_dict["NAME"]),
            **options,
            "isolation_level": None,
            "check_same_thread": False,
        }

    def get_database_version(self) -> tuple[int, ...]:
        # Django asks on every new connection. The answer cannot change while the process
        # runs, and the query fails "database is locked" while a WAL checkpoint (offline
        # mode) holds the file: ask once per driver, waiting out a lock like CursorWrapper.
        mode = self.replica.mode
        if mode not in _ENGINE_VERSIONS:
            with self.temporary_connection():
                _ENGINE_VERSIONS[mode] = CursorWrapper(self)._wait_for_lock(
                    lambda: Database.engine_version(self.connection)
                )
        return _ENGINE_VERSIONS[mode]

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        replica = self.replica
        with Database.translated_errors():
            conn = replica.connect()
        if replica.mode != "local":
            # The primary enforces its own pragmas on forwarded writes (a libSQL replica
            # refuses PRAGMA with "unsupported statement"); the Turso engine sets its journal.
            return conn
        with Database.translated_errors():
            for pragma in CONNECTION_PRAGMAS:
                conn.execute(pragma)
            if not self.is_in_memory_db():
                conn.execute("PRAGMA journal_mode = WAL")
            for init_command in self.init_commands:
                if init_command := init_command.strip():
                    conn.execute(init_command)
        return conn

    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        return CursorWrapper(self)

    def _set_autocommit(self, autocommit: bool) -> None:
        self.implicit_transactions = not autocommit
        if autocommit and self.owns_transaction():
            with Database.translated_errors():
                self.connection.commit()

    def disable_constraint_checking(self) -> bool:
        if not self.replica.keeps_pragmas:
            # Over HTTP each statement may run on another server-side connection, so the
            # PRAGMA cannot be read back; the primary's migrations run with it sent anyway.
            with self.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = OFF")
            return True
        return bool(super().disable_constraint_checking())

    def _start_transaction_under_autocommit(self) -> None:
        with self.wrap_database_errors:  # raised here as django.db.OperationalError
            self.take_write_lock()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self.release_write_lock()
            raise

    def take_write_lock(self) -> None:
        """Before a write: let the replica refuse it (primary unreachable, files being
        rebuilt), and where the replica serialises writers, wait for this process's turn, on
        the connection the replica writes on. A write waits a few seconds for a recovery."""
        replica = self.replica
        self._before_write(replica)
        if not replica.serializes_writes or self.holds_write_lock:
            return
        deadline = time.monotonic() + self.busy_timeout * 2
        while True:
            recovering = replica.read_copy
            wait = deadline - time.monotonic()
            if recovering is not None:
                wait = min(wait, RECOVERY_WRITE_WAIT)
            if not replica.write_lock.acquire(timeout=max(wait, 0)):
                if recovering is not None or replica.read_copy is not None:
                    raise self._recovering(replica)
                raise Database.Unavailable(
                    "The database is busy: another write in this process held it for "
                    f"{self.busy_timeout * 2:g} s; retry the request.",
                    retry_after=1,
                )
            if replica.read_copy is not None:  # a rebuild failed half-way: reads only
                replica.write_lock.release()
                raise self._recovering(replica)
            writer = replica.writer_for(self.connection) if self.connection is not None else None
            if writer is not None:
                break
            # Opened on files a recovery has replaced since: a write there would be lost.
            replica.write_lock.release()
            self._reconnect()
            self._before_write(replica)
        if writer is not self.connection:
            self.reader, self.connection = self.connection, writer
        self.holds_write_lock = True

    @staticmethod
    def _before_write(replica: Replica) -> None:
        try:
            replica.before_write()
        except RemoteUnavailable as exc:
            raise Database.Unavailable(str(exc), retry_after=exc.retry_after) from exc

    @staticmethod
    def _recovering(replica: Replica) -> Database.Unavailable:
        copy = replica.read_copy
        exc = RecoveryInProgress(copy.reason if copy is not None else "")
        return Database.Unavailable(str(exc), retry_after=exc.retry_after)

    def _reconnect(self) -> None:
        """Replace a driver connection opened before a recovery with one on the new files."""
        old, self.connection = self.connection, None
        with Database.translated_errors():
            if old is not None:
                self.replica.release(old)
            self.connection = self.replica.connect()

    def release_write_lock(self) -> None:
        if self.writer_in_doubt:  # its transaction ends with the connection
            self.abandon_writer("a statement failed on it in a way that may leave it stuck")
            self.writer_in_doubt = False
        if self.holds_write_lock:
            self.holds_write_lock = False
            if self.reader is not None:
                self.connection, self.reader = self.reader, None
            self.replica.write_lock.release()

    def owns_transaction(self) -> bool:
        """Whether the driver connection's open transaction is this wrapper's: on a connection
        shared by threads (replica mode) only the holder of the write lock has one."""
        if self.connection is None or not Database.in_transaction(self.connection):
            return False
        return self.holds_write_lock or not self.replica.shares_connections

    def _commit(self) -> None:
        try:
            if self.connection is not None and (
                self.owns_transaction() or not self.replica.shares_connections
            ):
                with self.wrap_database_errors, Database.translated_errors():
                    try:
                        self.connection.commit()
                    except BaseException as exc:
                        if not committed_all_the_same(self.connection, exc):
                            self._end_failed_transaction()
                            raise
        finally:
            self.release_write_lock()
        self.committed_write()

    def _end_failed_transaction(self) -> None:
        """A COMMIT that failed can leave the transaction open on the driver connection. It
        is rolled back here, while this wrapper still holds the write lock: Django's own
        rollback comes after the lock is released, and then it is no longer this wrapper's
        to end. Left open on replica mode's shared connection (seen after sqld answered
        "snapshot not found"), every later write of every thread failed with "cannot start
        a transaction within a transaction", for good."""
        try:
            self.connection.rollback()
        except Exception as exc:  # nothing open any more, the primary is away, or stuck
            logger.warning("Rolling back after a failed commit failed too: %s", exc)
        # Even a ROLLBACK that returns can leave libSQL's forwarding connection "in an
        # invalid state, started with Txn" with the transaction open on the primary (the
        # replica-mode soak): a shared connection whose COMMIT failed is not trusted again.
        self.abandon_writer("a COMMIT failed on it")

    def abandon_writer(self, reason: str) -> None:
        """On the connection every thread writes on (replica mode), a transaction that could
        not be ended stays open on the primary and refuses every later write: the replica
        drops that connection and the next write opens another, a new stream to the primary,
        which ends the old one's transaction. Only while this wrapper holds the write lock."""
        if self.replica.shares_connections and self.holds_write_lock:
            self.replica.abandon_writer(self.connection, reason=reason)

    def _rollback(self) -> None:
        self.wrote = False
        try:
            if self.writer_in_doubt and self.replica.shares_connections:
                pass  # dropped with its transaction when the write lock is released
            elif self.connection is not None and (
                self.owns_transaction() or not self.replica.shares_connections
            ):
                with self.wrap_database_errors, Database.translated_errors():
                    try:
                        self.connection.rollback()
                    except Exception as exc:
                        if not (self.replica.shares_connections and self.holds_write_lock):
                            raise
                        self.abandon_writer(f"a ROLLBACK failed on it: {exc}")
        finally:
            self.release_write_lock()

    def committed_write(self) -> None:
        """Tell the replica that changes committed (the sync-after-write signal)."""
        if self.wrote:
            self.wrote = False
            replica = self.replica
            replica.committed_write(self.connection)
            ensure_started(replica)  # a process that writes keeps the remote up to date

    def _close(self) -> None:
        if (
            self.holds_write_lock
            and self.connection is not None
            and Database.in_transaction(self.connection)
        ):
            with self.wrap_database_errors, Database.translated_errors():
                self.connection.rollback()  # the write connection outlives this wrapper
        self.release_write_lock()
        if self.connection is not None and Database.is_open(self.connection):
            with self.wrap_database_errors, Database.translated_errors():
                self.replica.release(self.connection)  # an offline replica pools them

    def is_in_memory_db(self) -> bool:
        return str(self.settings_dict["NAME"]) == ":memory:"

    def is_usable(self) -> bool:
        """False once the driver connection was closed under this wrapper (by a replica
        that dropped it): Django then opens a new one instead of reusing it."""
        return self.connection is not None and Database.is_open(self.connection)


def committed_all_the_same(connection: Any, exc: BaseException) -> bool:
    """Whether a COMMIT that raised was applied: the primary committed it and only the
    replica's catch-up after it failed ("snapshot not found"), which leaves the connection
    in autocommit. The replica catches up after the write (``committed_write``)."""
    if not is_snapshot_pending(exc) or Database.in_transaction(connection):
        return False
    logger.warning("A COMMIT reached the primary but the replica could not catch up: %s", exc)
    return True


# What libSQL answers on a forwarding connection whose transaction could not be ended.
_STUCK_WRITER = (
    "connection has reached an invalid state",
    "cannot start a transaction within a transaction",
)
# Statements that change rows; in autocommit they are run in an explicit transaction.
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|WITH)\b", re.IGNORECASE)
# Statements after which the replica has something to sync.
_CHANGE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|WITH|CREATE|ALTER|DROP)\b", re.IGNORECASE)
# Statements a read connection may run where the replica keeps reads apart (replica mode).
_READ = re.compile(r"\s*(SELECT|EXPLAIN|VALUES)\b", re.IGNORECASE)


class CursorWrapper:
    """A DB-API cursor over the driver that speaks Django's ``format`` paramstyle.

    Each statement runs on a fresh driver cursor, because the driver's ``rowcount``
    accumulates across statements on one cursor (costs ~0.4 µs). In autocommit a write runs
    inside BEGIN/COMMIT with its rows read first: the driver swallows a deferred foreign-key
    failure at the end of an ``INSERT ... RETURNING`` and the row silently disappears.
    """

    arraysize = 1

    def __init__(self, wrapper: DatabaseWrapper) -> None:
        self.wrapper = wrapper
        self.cursor: Any = None
        self.rowcount = -1
        self._rows: list[Any] | None = None
        self._closed = False
        self._converters: Any = None  # of each result column, for raw SQL (decltypes.py)
        # The driver's cursor ran out; libsql-experimental starts the statement over when
        # asked again (the first row came back twice), so it is not asked.
        self._drained = False

    def _wait_for_lock(self, run: Callable[[], T], *, begins: bool = False) -> T:
        """Run ``run`` again while another connection holds the write lock (it changed nothing).

        The Turso engine can fail a BEGIN with "database is busy" yet leave the transaction
        open; it is rolled back before the retry (``begins``)."""
        deadline = time.monotonic() + self.wrapper.busy_timeout
        delay = 0.001
        while True:
            try:
                return run()
            except Exception as exc:  # the drivers differ in class; the message is the same
                busy = "database is locked" in str(exc) or "database is busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
                connection = self.wrapper.connection
                if begins and Database.in_transaction(connection):
                    connection.rollback()
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _execute(self, sql: str, args: list[Any]) -> Any:
        if not _WRITE.match(sql):
            cursor = self.wrapper.connection.cursor()
            begins = sql.lstrip()[:5].upper() == "BEGIN"
            if self.wrapper.replica.steps_on_fetch and not begins:
                # The Turso engine steps a query on fetch, where "database is locked" cannot
                # be retried: read the rows inside the retry instead.
                def read() -> Any:
                    cursor.execute(sql, tuple(args))
                    self._rows = list(cursor.fetchall()) if cursor.description else None
                    return cursor

                return self._wait_for_lock(read)
            self._wait_for_lock(lambda: cursor.execute(sql, tuple(args)), begins=begins)
            return cursor

        def write() -> Any:
            # The driver steps INSERT ... RETURNING only when fetched: read its rows now, so
            # that a lock or constraint error is raised here, where it can be retried.
            cursor = self.wrapper.connection.cursor()
            cursor.execute(sql, tuple(args))
            self._rows = list(cursor.fetchall()) if cursor.description else None
            return cursor

        return self._wait_for_lock(write)

    def _run(self, sql: str, args: list[Any]) -> Any:
        try:
            return self._run_statement(sql, args)
        except Exception as exc:
            driver = exc.__cause__ or exc  # as the driver said it
            self._doubt_writer(driver)
            if is_snapshot_pending(driver) and self.wrapper.replica.shares_connections:
                # The statement reached the primary; its transaction ends with the dropped
                # connection, so nothing of it stays there.
                raise Database.not_applied() from driver
            raise

    def _doubt_writer(self, exc: BaseException) -> None:
        """Stuck already, or a statement forwarded to the primary whose catch-up failed (the
        ROLLBACK that follows may return and leave the transaction open): the connection is
        dropped when this write lets go of it; the next write works."""
        message = str(exc)
        if "replication error" in message or any(f in message for f in _STUCK_WRITER):
            self.wrapper.writer_in_doubt = True

    def _run_statement(self, sql: str, args: list[Any]) -> Any:
        connection = self.wrapper.connection
        self._rows = None
        changes = bool(_CHANGE.match(sql))
        with Database.translated_errors():
            if not self.wrapper.owns_transaction():
                if self.wrapper.implicit_transactions:
                    connection.execute("BEGIN")
                elif _WRITE.match(sql):
                    cursor = self._run_write_in_autocommit(sql, args)
                    self.wrapper.wrote = True
                    self.wrapper.committed_write()
                    return cursor
                elif (
                    self.wrapper.replica.reads_apart
                    and not self.wrapper.holds_write_lock  # then it is on the write connection
                    and not _READ.match(sql)
                ):
                    cursor = self._run_on_writer(sql, args)  # DDL, PRAGMA: not for a reader
                    if changes:
                        self.wrapper.wrote = True
                        self.wrapper.committed_write()
                    return cursor
            cursor = self._execute(sql, args)
        if changes:
            self.wrapper.wrote = True
            if not self.wrapper.owns_transaction():  # DDL in autocommit
                self.wrapper.committed_write()
        return cursor

    def _run_on_writer(self, sql: str, args: list[Any]) -> Any:
        self.wrapper.take_write_lock()
        try:
            return self._execute(sql, args)
        finally:
            self.wrapper.release_write_lock()

    def _run_write_in_autocommit(self, sql: str, args: list[Any]) -> Any:
        self.wrapper.take_write_lock()
        connection = self.wrapper.connection  # the replica's write connection, maybe
        try:
            self._wait_for_lock(lambda: connection.execute("BEGIN IMMEDIATE"), begins=True)
            try:
                cursor = self._execute(sql, args)  # reads any RETURNING rows before COMMIT
                connection.commit()
            except BaseException as exc:
                if committed_all_the_same(connection, exc):
                    return cursor
                self._doubt_writer(exc.__cause__ or exc)  # dropped while the lock is held
                if Database.in_transaction(connection):
                    connection.rollback()
                raise
        finally:
            self.wrapper.release_write_lock()
        return cursor

    def _open(self) -> None:
        if self._closed:
            raise Database.ProgrammingError("Cannot operate on a closed cursor.")

    def execute(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> CursorWrapper:
        self._open()
        sql, args = Database.convert_query(query, params)
        self._converters, self._drained = None, False
        self.cursor = self._run(sql, args)
        self.rowcount = self.cursor.rowcount
        declared = self.wrapper.declared_types
        declared.changed(sql)
        if self.cursor.description:
            self._converters = declared.converters(sql, self.wrapper.schema_statements)
        return self

    def executemany(self, query: str, param_list: Any) -> CursorWrapper:
        # Statements differ per row when a big integer is inlined, so run them one by one.
        self._open()
        self._converters, self._drained = None, False
        total = 0
        for params in param_list:
            self.cursor = self._run(*Database.convert_query(query, params))
            total += max(self.cursor.rowcount, 0)
        self.rowcount = total
        return self

    def executescript(self, script: str) -> CursorWrapper:
        self._open()
        self._converters, self._drained = None, False
        self.wrapper.declared_types.forget()  # it may change the schema
        with Database.translated_errors():
            self.cursor = self.wrapper.connection.cursor()
            self.cursor.executescript(script)
        return self

    @property
    def description(self) -> Any:
        return self.cursor.description if self.cursor is not None else None

    @property
    def lastrowid(self) -> int | None:
        return self.cursor.lastrowid if self.cursor is not None else None

    def fetchone(self) -> Any:
        if self._rows is not None:
            row = self._rows.pop(0) if self._rows else None
        elif self._drained:
            row = None
        else:
            with Database.translated_errors():
                row = self.cursor.fetchone()
            self._drained = row is None
        if row is None or self._converters is None:
            return row
        return convert_row(row, self._converters)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if self._rows is not None:
            rows, self._rows = self._rows[:size], self._rows[size:]
        elif self._drained:
            rows = []
        else:
            with Database.translated_errors():
                rows = self.cursor.fetchmany(size)
            self._drained = len(rows) < size
        return rows if self._converters is None else convert_rows(rows, self._converters)

    def fetchall(self) -> list[Any]:
        if self._rows is not None:
            rows, self._rows = self._rows, []
        elif self._drained:
            rows = []
        else:
            with Database.translated_errors():
                rows = self.cursor.fetchall()
            self._drained = True
        return rows if self._converters is None else convert_rows(rows, self._converters)

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        """As the stdlib's sqlite3 cursor: a closed cursor refuses to run anything more."""
        self._closed = True
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None

    def setinputsizes(self, *args: Any) -> None:
        pass

    def setoutputsize(self, *args: Any) -> None:
        pass
