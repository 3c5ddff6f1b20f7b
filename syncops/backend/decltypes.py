"""Raw SQL returns booleans, dates and times as Python values, as stock sqlite3 does.

The stdlib driver converts a result column by the type its table declares (``detect_types``
with the converters Django registers). libSQL's and Turso's drivers report no declared types
(``cursor.description`` holds names only), so the backend asks SQLite itself: the query
becomes a view in an in-memory copy of the schema, made with the stdlib's sqlite3, and
``PRAGMA table_info`` of that view names each column's declared type. That is learned once
per statement text, for every connection of the process, and forgotten whenever one of them
changes the schema.

The ORM converts values by field, and the sync layer compares and copies values as stored:
both skip all of this (``stored_values``).
"""

from __future__ import annotations

import contextvars
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime, parse_time

Row = Sequence[Any]
Converter = Callable[[Any], Any]

# The converters Django's sqlite3 backend registers, by the declared type's first word.
CONVERTERS: dict[str, Converter] = {
    "bool": lambda text: text == "1",
    "date": parse_date,
    "time": parse_time,
    "datetime": parse_datetime,
    "timestamp": parse_datetime,
}
_SCHEMA_CHANGE = re.compile(r"\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)
_QUERY = re.compile(r"\s*(SELECT|WITH|VALUES)\b", re.IGNORECASE)
# A parameter, outside string literals and quoted names: it becomes NULL in the view.
_PARAMETER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")
_VIEW = "syncops_declared_types"
_MEMORY = 512  # statements whose types are kept

_stored = contextvars.ContextVar("syncops_stored_values", default=False)


@contextmanager
def stored_values() -> Iterator[None]:
    """Statements run here return values as stored (the ORM converts them by field)."""
    token = _stored.set(True)
    try:
        yield
    finally:
        _stored.reset(token)


def _converter(declared: str) -> Converter | None:
    name = re.split(r"[\s(]", declared.strip(), maxsplit=1)[0].lower()
    return CONVERTERS.get(name)


def _convert(value: Any, convert: Converter) -> Any:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    try:
        converted = convert(str(value))  # as stock's converters, which read the value's text
    except ValueError:  # a date's shape, not a date: keep what is stored
        return value
    return value if converted is None else converted


class DeclaredTypes:
    """What each result column of a raw query declares, for one database: learned once per
    statement text in the process, whichever connection runs it, and forgotten when any of
    them changes the schema."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one thread learns at a time (one mirror, one view)
        self._mirror: sqlite3.Connection | None = None
        self._known: dict[str, tuple[Converter | None, ...] | None] = {}

    def converters(
        self, sql: str, schema: Callable[[], list[str]]
    ) -> tuple[Converter | None, ...] | None:
        """The converter of each result column of ``sql``, or None when nothing converts.
        ``schema`` returns the CREATE statements of the database's tables and views."""
        if _stored.get() or not _QUERY.match(sql):
            return None
        try:
            return self._known[sql]
        except KeyError:
            pass
        with self._lock:
            if sql not in self._known:
                if len(self._known) >= _MEMORY:
                    self._known.clear()
                self._known[sql] = self._learn(sql, schema)
            return self._known[sql]

    def changed(self, sql: str) -> None:
        """Forget what was learned when ``sql`` changes the schema."""
        if _SCHEMA_CHANGE.match(sql):
            self.forget()

    def forget(self) -> None:
        with self._lock:
            self._known.clear()
            self._drop_mirror()

    def _drop_mirror(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    def _learn(
        self, sql: str, schema: Callable[[], list[str]]
    ) -> tuple[Converter | None, ...] | None:
        view = _PARAMETER.sub(lambda m: "NULL" if m.group() == "?" else m.group(), sql)
        view = view.strip().rstrip(";")
        try:
            columns = self._describe(view, schema)
        except sqlite3.Error:
            self._drop_mirror()  # the schema may have changed elsewhere: look once more
            try:
                columns = self._describe(view, schema)
            except sqlite3.Error:
                return None  # not SQLite's SQL (a libSQL function, say): values as stored
        converters = tuple(_converter(declared) for declared in columns)
        return converters if any(converters) else None

    def _describe(self, query: str, schema: Callable[[], list[str]]) -> list[str]:
        if self._mirror is None:
            self._mirror = sqlite3.connect(":memory:", check_same_thread=False)
            for statement in schema():
                # libSQL's own syntax fails here; queries on it keep their stored values.
                with suppress(sqlite3.Error):
                    self._mirror.execute(statement)
        try:
            self._mirror.execute(f"CREATE TEMP VIEW {_VIEW} AS {query}")
            return [row[2] for row in self._mirror.execute(f"PRAGMA temp.table_info({_VIEW})")]
        finally:
            self._mirror.execute(f"DROP VIEW IF EXISTS temp.{_VIEW}")


_BY_DATABASE: dict[str, DeclaredTypes] = {}


def declared_types(database: str) -> DeclaredTypes:
    """The one ``DeclaredTypes`` of the database at ``database`` (its NAME) in this process."""
    found = _BY_DATABASE.get(database)
    return found if found is not None else _BY_DATABASE.setdefault(database, DeclaredTypes())


def convert_rows(rows: list[Row], converters: tuple[Converter | None, ...]) -> list[Row]:
    return [convert_row(row, converters) for row in rows]


def convert_row(row: Row, converters: tuple[Converter | None, ...]) -> tuple[Any, ...]:
    return tuple(
        value if convert is None or value is None else _convert(value, convert)
        for value, convert in zip(row, converters, strict=False)
    )
