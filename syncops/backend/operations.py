"""SQL for what Django's sqlite3 backend delegates to Python functions (``create_function``).

The driver cannot register Python functions, so every ``django_*`` function the sqlite3
backend calls is replaced here by plain SQLite SQL over the text format Django stores
(``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC). Where SQLite cannot express a feature the query
raises ``NotSupportedError`` naming it, never a wrong result.

Time zones: the database holds UTC. Extract/Trunc in UTC or in a fixed UTC offset
(``datetime.timezone(timedelta(hours=2))``) are exact; a zone with daylight-saving rules
(``zoneinfo.ZoneInfo("Europe/Paris")``) raises ``NotSupportedError``, because SQLite has no
time-zone database: convert in Python instead.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from functools import cached_property, lru_cache
from typing import Any

from django.conf import settings
from django.db import DataError, NotSupportedError
from django.db.backends.sqlite3.operations import DatabaseOperations as SQLiteDatabaseOperations
from django.db.backends.utils import split_tzname_delta
from django.utils.dateparse import parse_datetime

Params = tuple[Any, ...]

# Microseconds since the epoch of a stored datetime, exact to the microsecond (julianday()
# is a double and drifts by tens of microseconds). ``v`` names the value once.
_TO_MICROS = (
    "(unixepoch(substr(v, 1, 19)) * 1000000 + CASE WHEN substr(v, 20, 1) = '.' "
    "THEN CAST(substr(substr(v, 21) || '000000', 1, 6) AS INTEGER) ELSE 0 END)"
)
# The stored text of a count of microseconds since the epoch (``m``), as Python's str().
_FROM_MICROS = (
    "(strftime('%%Y-%%m-%%d %%H:%%M:%%S', (m - ((m %% 1000000) + 1000000) %% 1000000) / 1000000, "
    "'unixepoch') || CASE WHEN ((m %% 1000000) + 1000000) %% 1000000 = 0 THEN '' "
    "ELSE printf('.%%06d', ((m %% 1000000) + 1000000) %% 1000000) END)"
)
DAY = 86400000000  # microseconds

# The value ``v`` cut to whole seconds: SQLite's date functions round to milliseconds, so
# 23:59:59.9999 would become the next day. Times are ``HH:MM:SS``, datetimes 19 characters.
_WHOLE_SECONDS = "(CASE WHEN substr(v, 3, 1) = ':' THEN substr(v, 1, 8) ELSE substr(v, 1, 19) END)"


def _bind(expr: str, **values: str) -> str:
    """Evaluate ``expr`` with each name bound once to an SQL value (a correlated subquery)."""
    columns = ", ".join(f"{sql} AS {name}" for name, sql in values.items())
    return f"(SELECT {expr} FROM (SELECT {columns}))"


_AGGREGATE = re.compile(
    r"\b(?:MAX|MIN|SUM|AVG|COUNT|TOTAL|GROUP_CONCAT|JSON_GROUP_ARRAY|JSON_GROUP_OBJECT)\s*\(",
    re.IGNORECASE,
)
_V = re.compile(r"\bv\b")


def _bound(expr: str, sql: str, params: Params) -> tuple[str, Params]:
    """``expr`` with its value ``v`` bound to ``sql``: once, in a subquery, or written out
    at each use (its params with it) when ``sql`` holds an aggregate of the outer query,
    which the Turso engine refuses inside a subquery ("misuse of aggregate function")."""
    if not _AGGREGATE.search(sql):
        return _bind(expr, v=sql), tuple(params)
    uses = len(_V.findall(expr))
    return _V.sub(lambda _: f"({sql})", expr), tuple(params) * uses


def datetime_to_micros(sql: str) -> str:
    return _bind(_TO_MICROS, v=sql)


def _unknown(lookup_type: str, message: str) -> Exception:
    """A lookup name that is not a word never reaches SQL: refused as PostgreSQL's backend
    refuses it (``ValueError`` for Extract, the database's ``DataError`` for Trunc); a word
    names a feature this backend lacks."""
    if not re.fullmatch(r"\w+", lookup_type):
        invalid = DataError if message.startswith("Trunc") else ValueError
        return invalid(f"Invalid lookup type: {lookup_type!r}")
    return NotSupportedError(message)


# The instants between which a zone's offsets are looked up in SQL: exact within them (the
# nearest edge's offset outside).
ZONE_YEARS = (1900, 2200)


@lru_cache(maxsize=64)
def zone_transitions(name: str) -> tuple[tuple[str, int], ...]:
    """``(UTC instant 'YYYY-MM-DD HH:MM:SS', offset in seconds from that instant on)`` for
    every change of ``name``'s UTC offset within ZONE_YEARS, newest first; the last pair's
    instant is '' (the offset before the first change). Read from ``zoneinfo`` a day at a
    time, each change found to the second (about 0.1 s, once per zone and process)."""
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise NotSupportedError(
            f"Time zone {name!r} is not supported by syncops.backend in database date "
            "functions: it is not a zone name the tz database knows."
        ) from exc

    def offset(moment: datetime.datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    moment = datetime.datetime(ZONE_YEARS[0], 1, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(ZONE_YEARS[1], 1, 1, tzinfo=datetime.UTC)
    day, second = datetime.timedelta(days=1), datetime.timedelta(seconds=1)
    current = offset(moment)
    changes = [("", current)]
    while moment < end:
        following = moment + day
        if offset(following) != current:
            low, high = moment, following  # offset(low) == current != offset(high)
            while high - low > second:
                middle = low + (high - low) // 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            current = offset(high)
            changes.append((high.strftime("%Y-%m-%d %H:%M:%S"), current))
        moment = following
    return tuple(reversed(changes))


def zone_shift(sql: str, name: str) -> str:
    """SQL moving the UTC datetime text ``sql`` into the zone ``name`` (a date or a bare time
    is left as it is): the offset at each instant looked up in the zone's changes, newest
    first, so that recent values find theirs after a few comparisons. The whole seconds are
    shifted (SQLite's datetime() would round a fraction) and the fraction kept."""
    offsets = " ".join(
        f"WHEN u >= '{instant}' THEN '{seconds:+d} seconds'"
        for instant, seconds in zone_transitions(name)[:-1]
    )
    earliest = zone_transitions(name)[-1][1]
    shift = (
        f"CASE {offsets} ELSE '{earliest:+d} seconds' END"
        if offsets
        else f"'{earliest:+d} seconds'"
    )
    return (
        f"(SELECT CASE WHEN substr(u, 11, 1) = ' ' THEN datetime(substr(u, 1, 19), {shift}) "
        "|| substr(u, 20) "
        f"ELSE u END FROM (SELECT {sql} AS u))"
    )


def micros_to_datetime(sql: str) -> str:
    return _bind(_FROM_MICROS, m=sql)


class DatabaseOperations(SQLiteDatabaseOperations):
    compiler_module = "syncops.backend.compiler"

    # --- flush with cascade ---------------------------------------------------------------

    @cached_property
    def _references_graph(self) -> Any:
        """``table -> [table and every table that refers to it, directly or not]``, which
        ``sql_flush(allow_cascade=True)`` empties together. Stock sqlite3 asks SQLite with a
        REGEXP over each table's SQL that only a Python function reads; here Python reads
        the tables' SQL itself, with the same pattern."""
        return lru_cache(maxsize=512)(self._tables_referring_to)

    def _tables_referring_to(self, table_name: str) -> list[str]:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            tables = [(name, sql or "") for name, sql in cursor.fetchall()]
        found, todo = [table_name], [table_name]
        while todo:
            name = todo.pop()
            refers = re.compile(rf"(?i)\s+references\s+(\"|')?{re.escape(name)}(\"|')?\s*\(")
            for other, sql in tables:
                if other not in found and refers.search(sql):
                    found.append(other)
                    todo.append(other)
        return found

    # --- time zones -------------------------------------------------------------------

    def _tz_modifier(self, tzname: str | None) -> str | None:
        """An SQLite date modifier moving UTC to ``tzname`` (UTC or a fixed offset), or None
        when no shift is needed."""
        if not tzname or not settings.USE_TZ:
            return None
        if self.connection.timezone_name != "UTC":
            raise NotSupportedError(
                "syncops.backend stores datetimes in UTC: set DATABASES['default']['TIME_ZONE'] "
                "to 'UTC' (or leave it unset)."
            )
        name, sign, offset = split_tzname_delta(tzname)
        if offset:
            if name not in ("UTC", "GMT", ""):
                raise NotSupportedError(
                    f"Time zone {tzname!r} is not supported by syncops.backend in database date "
                    "functions: only UTC, zone names and fixed offsets such as 'UTC+02:00' are."
                )
            hours, minutes = offset.split(":")
            return f"{sign}{int(hours) * 60 + int(minutes)} minutes"
        return None

    def _local(self, sql: str, tzname: str | None) -> tuple[str, str]:
        """``sql`` moved from UTC into ``tzname``: for UTC and fixed offsets, the same SQL and
        the date modifier that shifts it; for a zone with rules (daylight saving time), SQL
        that shifts each value by the zone's offset at that instant, and no modifier."""
        modifier = self._tz_modifier(tzname)
        if modifier is not None:
            return sql, f", '{modifier}'"
        name = split_tzname_delta(tzname)[0] if tzname and settings.USE_TZ else "UTC"
        if name in ("UTC", "GMT", "Etc/UTC", "Z"):
            return sql, ""
        return zone_shift(sql, name), ""

    # --- extract ------------------------------------------------------------------------

    def _extract(self, lookup_type: str, sql: str, modifier: str = "") -> str:
        def part(fmt: str) -> str:
            return f"CAST(strftime('{fmt}', {sql}{modifier}) AS INTEGER)"

        # The Thursday of the ISO week decides its week number and ISO year.
        thursday = f"date({sql}{modifier}, '-3 days', 'weekday 4')"
        simple = {
            "year": "%%Y",
            "month": "%%m",
            "day": "%%d",
            "hour": "%%H",
            "minute": "%%M",
            "second": "%%S",
        }
        if lookup_type in simple:
            return part(simple[lookup_type])
        if lookup_type == "week_day":
            return f"({part('%%w')} + 1)"
        if lookup_type == "iso_week_day":
            return f"((({part('%%w')} + 6) %% 7) + 1)"
        if lookup_type == "quarter":
            return f"(({part('%%m')} + 2) / 3)"
        if lookup_type == "iso_year":
            return f"CAST(strftime('%%Y', {thursday}) AS INTEGER)"
        if lookup_type == "week":
            return f"((CAST(strftime('%%j', {thursday}) AS INTEGER) - 1) / 7 + 1)"
        raise _unknown(lookup_type, f"Extract of {lookup_type!r} is not supported.")

    def date_extract_sql(self, lookup_type: str, sql: str, params: Params) -> tuple[str, Params]:
        return self._one_value(lambda v: self._extract(lookup_type.lower(), v), sql, params)

    def datetime_extract_sql(
        self, lookup_type: str, sql: str, params: Params, tzname: str | None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        return self._one_value(
            lambda v: self._extract(lookup_type.lower(), v, modifier), sql, params
        )

    # Django 5.2 returns (sql, params); the stubs still say str.
    def time_extract_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Params
    ) -> tuple[str, Params]:
        if lookup_type.lower() not in ("hour", "minute", "second"):
            raise _unknown(lookup_type, f"Extract of {lookup_type!r} from a time is not supported.")
        # A bare time is read as a time on 2000-01-01 by SQLite's date functions.
        return self._one_value(lambda v: self._extract(lookup_type.lower(), v), sql, params)

    def _one_value(self, build: Any, sql: str, params: Params) -> tuple[str, Params]:
        """Build SQL that mentions the value several times but binds its params once."""
        return _bound(build(_WHOLE_SECONDS), sql, params)

    # --- truncate -----------------------------------------------------------------------

    def _date_trunc(self, lookup_type: str, v: str, modifier: str = "") -> str:
        formats = {
            "year": "%%Y-01-01",
            "month": "%%Y-%%m-01",
            "day": "%%Y-%%m-%%d",
        }
        if lookup_type in formats:
            return f"strftime('{formats[lookup_type]}', {v}{modifier})"
        if lookup_type == "quarter":
            month = f"((CAST(strftime('%%m', {v}{modifier}) AS INTEGER) - 1) / 3 * 3 + 1)"
            # Concatenation keeps NULL NULL (printf would turn it into text).
            return f"strftime('%%Y', {v}{modifier}) || printf('-%%02d-01', {month})"
        if lookup_type == "week":
            return f"date({v}{modifier}, '-6 days', 'weekday 1')"
        raise _unknown(lookup_type, f"Trunc to {lookup_type!r} of a date is not supported.")

    def _time_trunc(self, lookup_type: str, v: str, modifier: str = "") -> str:
        formats = {"hour": "%%H:00:00", "minute": "%%H:%%M:00", "second": "%%H:%%M:%%S"}
        if lookup_type not in formats:
            raise _unknown(lookup_type, f"Trunc to {lookup_type!r} of a time is not supported.")
        return f"strftime('{formats[lookup_type]}', {v}{modifier})"

    def date_trunc_sql(
        self, lookup_type: str, sql: str, params: Params, tzname: str | None = None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        return self._one_value(
            lambda v: self._date_trunc(lookup_type.lower(), v, modifier), sql, params
        )

    # Django 5.2 returns (sql, params); the stubs still say str.
    def time_trunc_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Params, tzname: str | None = None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        return self._one_value(
            lambda v: self._time_trunc(lookup_type.lower(), v, modifier), sql, params
        )

    # Django 5.2 returns (sql, params); the stubs still say str.
    def datetime_trunc_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Params, tzname: str | None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        lookup_type = lookup_type.lower()
        if lookup_type in ("hour", "minute", "second"):
            day = f"strftime('%%Y-%%m-%%d', {_WHOLE_SECONDS}{modifier})"
            build = f"{day} || ' ' || {self._time_trunc(lookup_type, _WHOLE_SECONDS, modifier)}"
        else:
            build = f"{self._date_trunc(lookup_type, _WHOLE_SECONDS, modifier)} || ' 00:00:00'"
        return _bound(build, sql, params)

    def datetime_cast_date_sql(
        self, sql: str, params: Params, tzname: str | None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        return _bound(f"date({_WHOLE_SECONDS}{modifier})", sql, params)

    def datetime_cast_time_sql(
        self, sql: str, params: Params, tzname: str | None
    ) -> tuple[str, Params]:
        sql, modifier = self._local(sql, tzname)
        # time() drops microseconds; a whole-minute shift leaves them as they were.
        build = (
            f"time({_WHOLE_SECONDS}{modifier}) || CASE WHEN substr(v, 20, 1) = '.' "
            "THEN substr(v, 20) ELSE '' END"
        )
        return _bound(build, sql, params)

    # --- durations and temporal arithmetic ---------------------------------------------

    def format_for_duration_arithmetic(self, sql: str) -> str:
        return sql

    def combine_duration_expression(self, connector: str, sub_expressions: list[str]) -> str:
        # Called for DateTime/Date/Time +/- Duration; the side types are set by the compiler.
        raise NotSupportedError(
            "Duration arithmetic needs syncops.backend's compiler; this expression reached "
            "DatabaseOperations directly."
        )

    def temporal_plus_duration(
        self, connector: str, temporal_type: str, temporal_sql: str, duration_sql: str
    ) -> str:
        """``temporal ± duration`` for a datetime, date or time value."""
        sign = "+" if connector == "+" else "-"
        if temporal_type == "DateTimeField":
            return micros_to_datetime(f"{datetime_to_micros(temporal_sql)} {sign} ({duration_sql})")
        if temporal_type == "DateField":
            # Python's date ± timedelta uses whole days only (timedelta.days, floored).
            days = f"(d - ((d %% {DAY}) + {DAY}) %% {DAY}) / {DAY}"
            return _bind(
                f"date(substr(v, 1, 10), ({sign}{days}) || ' days')", v=temporal_sql, d=duration_sql
            )
        # Stock sqlite3 answers NULL for time ± duration (its parser expects a date): refuse
        # rather than return a different result.
        raise NotSupportedError(
            f"{temporal_type} {connector} DurationField is not supported by syncops.backend "
            "(Django's sqlite3 backend returns NULL for it). Compute it in Python."
        )

    def subtract_temporals(
        self, internal_type: str, lhs: tuple[str, Params], rhs: tuple[str, Params]
    ) -> tuple[str, Params]:
        lhs_sql, lhs_params = lhs
        rhs_sql, rhs_params = rhs
        if internal_type == "TimeField":
            lhs_sql = f"'2000-01-01 ' || ({lhs_sql})"
            rhs_sql = f"'2000-01-01 ' || ({rhs_sql})"
        sql = f"({datetime_to_micros(lhs_sql)} - {datetime_to_micros(rhs_sql)})"
        return sql, (*lhs_params, *rhs_params)

    def combine_expression(self, connector: str, sub_expressions: list[str]) -> str:
        if connector == "^":
            # libSQL's power() raises where SQLite's answers NULL or Inf.
            from .compiler import power_sql

            return power_sql(*sub_expressions)
        if connector == "#":
            return _bind("((a | b) - (a & b))", a=sub_expressions[0], b=sub_expressions[1])
        return super().combine_expression(connector, sub_expressions)

    # --- helpers Django calls with raw driver objects ----------------------------------

    def _quote_params_for_last_executed_query(self, params: Any) -> Any:
        """SQL literals for the debug log, made in Python: the sqlite3 backend asks the
        database (SELECT QUOTE(?)), which on a remote connection is a network call made in
        the middle of another statement's stream (it hung there)."""
        from . import database

        return tuple(_sql_literal(database.adapt(param)) for param in params)

    def force_group_by(self) -> list[str]:
        return []

    def convert_datetimefield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and value and "-" not in value[:5]:
            # A datetime computed from a bare time; not a datetime the ORM can return.
            value = parse_datetime(value)
        return super().convert_datetimefield_value(value, expression, connection)


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"X'{value.hex().upper()}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
