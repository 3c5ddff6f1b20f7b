"""A PEP 249 face for libsql-experimental, the module Django reaches as ``connection.Database``.

The driver raises a bare ``ValueError`` for every SQL error, refuses ``datetime``, ``date``,
``Decimal``, ``memoryview`` and mapping parameters, binds integers beyond 32 bits as REAL and
counts ``rowcount`` across statements. This module turns each of those into what Django's
sqlite3 backend expects from the standard library's ``sqlite3``.
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import libsql_experimental as libsql

from syncops.replica import is_snapshot_pending

try:
    from turso import Error as _DriverError  # pyturso's PEP 249 base class (offline mode)
except ImportError:  # pragma: no cover - pyturso is a dependency; keep local mode importable

    class _DriverError(Exception):  # type: ignore[no-redef]
        pass


apilevel = "2.0"
threadsafety = 1
paramstyle = "format"


class Warning(Exception):  # noqa: A001 - the PEP 249 name
    pass


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class Unavailable(OperationalError):
    """The database cannot take this request now, for a reason its message explains to the
    person who sent it; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotApplied(Unavailable):
    """A write the primary rolled back whole: nothing of it was applied, so trying it again
    is safe (the server does so once or twice itself before it answers 503)."""

    safe_to_retry = True


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


Binary = bytes

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Message fragments the driver puts in its ValueError, mapped to the PEP 249 class the
# standard library's sqlite3 raises for the same SQLite result code.
_ERROR_CLASSES: tuple[tuple[str, type[Error]], ...] = (
    ("constraint failed", IntegrityError),
    ("datatype mismatch", IntegrityError),
    ("Unsupported parameter type", InterfaceError),
    ("too big", DataError),
    ("string or blob too big", DataError),
    ("not an error", DatabaseError),
)


_PEP249_NAMES = {
    cls.__name__: cls
    for cls in (
        InterfaceError,
        DataError,
        OperationalError,
        IntegrityError,
        InternalError,
        ProgrammingError,
        NotSupportedError,
    )
}


def translate_error(exc: BaseException) -> Error:
    """Return the PEP 249 exception for a driver error, keeping the driver's message.

    libsql-experimental raises ValueError for everything; pyturso raises its own PEP 249
    classes, with "no such table" as a plain DatabaseError where Django expects an
    OperationalError. Both become this module's classes.
    """
    if isinstance(exc, Error):
        return exc
    message = str(exc)
    if "Write delegation" in message and "no such table" in message:
        # An embedded replica forwarded a write to a primary that lacks the table: it was
        # reset or replaced, and the replica recovers at its next check of the primary.
        return Unavailable(
            "The primary refused this write: it no longer holds this replica's tables (it "
            "was reset or replaced). The replica is rebuilt from it by itself; retry in a few "
            "seconds.",
            retry_after=5,
        )
    if "Write delegation" in message and "error trying to connect" in message:
        # The primary went away between the health check before the write and the write.
        return Unavailable(
            "The primary could not be reached for this write: writes are refused until it is "
            "back; reads keep working from the local replica. Retry in a few seconds.",
            retry_after=5,
        )
    if "Write delegation" in message and any(
        broken in message for broken in ("Connection reset", "connection error", "Broken pipe")
    ):
        # The connection to the primary broke while it had the write (it stopped, or the
        # network did): whether the primary applied it is not known here.
        return Unavailable(
            "The connection to the primary broke during this write: it may or may not have "
            "been applied. Read it back, then retry in a few seconds.",
            retry_after=5,
        )
    if is_snapshot_pending(exc):
        # sqld could not yet serve the frames an embedded replica asked for to catch up with
        # its own write (tursodatabase/libsql#1310). The backend tells a statement's (the
        # transaction is rolled back: NotApplied) from a COMMIT's (applied, when the driver
        # is back in autocommit); this is the case where neither is known.
        return Unavailable(
            "The primary could not bring this replica up to date just now (libSQL: "
            '"snapshot not found", which passes within seconds); this write may or may not '
            "have been applied: read it back, then retry.",
            retry_after=2,
        )
    if message.endswith("Connection closed"):  # pyturso, on a connection closed under us
        return InterfaceError(_CLOSED.format(exc))
    for fragment, error_class in _ERROR_CLASSES:
        if fragment in message:
            return error_class(message)
    return _PEP249_NAMES.get(type(exc).__name__, OperationalError)(message)


def not_applied() -> NotApplied:
    """The error of a forwarded statement whose catch-up failed: the backend drops the
    connection, which ends the transaction on the primary, so nothing of it was applied."""
    return NotApplied(
        'The primary could not bring this replica up to date just now (libSQL: "snapshot '
        'not found", which passes within seconds); nothing of this change was applied. '
        "Retry in a moment.",
        retry_after=1,
    )


def not_applied_behind() -> NotApplied:
    """The error of a batch the primary refused because the local replica was behind it (a
    row count or constraint came out differently there): nothing was applied, the replica has
    synced since, and the request runs again on what the primary holds."""
    return NotApplied(
        "This change was decided on a copy that was behind the primary (another process "
        "changed the same rows a moment ago); nothing of it was applied. Retry it.",
        retry_after=1,
    )


def is_driver_panic(exc: BaseException) -> bool:
    """A Rust panic inside the driver (pyo3's ``PanicException``, a ``BaseException`` that no
    ``except Exception`` stops): libsql-experimental panics on every use of a closed
    connection."""
    return type(exc).__name__ == "PanicException"


_CLOSED = (
    "The database driver failed ({}): its connection is closed or broken. It is opened again "
    "for the next request; retry."
)


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except Error:
        raise
    except (ValueError, RuntimeError, _DriverError) as exc:
        raise translate_error(exc) from exc
    except BaseException as exc:
        if not is_driver_panic(exc):
            raise
        raise InterfaceError(_CLOSED.format(exc)) from exc


def in_transaction(connection: Any) -> bool:
    """Whether a driver connection has an open transaction; a closed one has none (reading
    it there would make libsql-experimental panic)."""
    try:
        return bool(connection.in_transaction)
    except BaseException as exc:
        if is_driver_panic(exc):
            return False
        raise


def is_open(connection: Any) -> bool:
    """Whether a driver connection can still be used (it was not closed under us). Django
    asks only after a request's database error."""
    try:
        connection.in_transaction  # noqa: B018 - the read is the probe
    except BaseException as exc:
        if is_driver_panic(exc):
            return False
        raise
    if type(connection).__module__.startswith("turso"):
        # pyturso does not panic: a closed connection reads as idle, and fails its next
        # statement with "Connection closed".
        try:
            connection.execute("SELECT 1").fetchall()
        except Exception:
            return False
    return True


def adapt(value: Any) -> Any:
    """Turn one parameter into a type the driver binds, as the stdlib's sqlite3 adapters do."""
    if isinstance(value, str):
        if "\x00" in value:
            # The driver reads text up to the first NUL: the rest would be lost on read.
            raise DataError(
                "Text containing a NUL character (\\x00) cannot be stored: libsql-experimental "
                "reads text only up to the first NUL. Strip it or store the value as bytes."
            )
        return value
    if value is None or isinstance(value, (bytes, float)):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat(" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    raise InterfaceError(f"Error binding parameter: type {type(value).__name__!r} is not supported")


_PLACEHOLDER = re.compile(r"%(?:%|s|\((\w+)\)s)")


def convert_query(query: str, params: Sequence[Any] | Mapping[str, Any] | None) -> tuple[str, list]:
    """Turn Django's ``%s``/``%(name)s`` SQL into qmark SQL with adapted positional arguments.

    Integers outside 32 bits are written into the SQL as literals: the driver would bind
    them as REAL and lose precision (``2**53 + 1`` came back as ``2**53``).
    """
    if params is None:
        return query, []
    named = isinstance(params, Mapping)
    positional = iter(() if named else params)
    args: list[Any] = []

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%%":
            return "%"
        value = adapt(params[match.group(1)] if named else next(positional))  # type: ignore[index]
        if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
            # Parenthesised: "-%s" with a negative value would otherwise start a -- comment.
            return f"({value})"
        args.append(value)
        return "?"

    try:
        sql = _PLACEHOLDER.sub(substitute, query)
    except StopIteration:
        raise ProgrammingError("Not enough parameters for the SQL statement.") from None
    if not named and next(positional, None) is not None:
        raise ProgrammingError("Too many parameters for the SQL statement.")
    return sql, args


def engine_version(connection: Any) -> tuple[int, ...]:
    """The SQLite version of the engine inside the driver (not the stdlib's)."""
    (version,) = connection.execute("SELECT sqlite_version()").fetchone()
    return tuple(int(part) for part in version.split("."))


def connect(database: str, **kwargs: Any) -> Any:
    with translated_errors():
        return libsql.connect(database, **kwargs)


_probe = libsql.connect(":memory:")
sqlite_version_info: tuple[int, ...] = engine_version(_probe)
sqlite_version = ".".join(map(str, sqlite_version_info))
_probe.close()
del _probe
