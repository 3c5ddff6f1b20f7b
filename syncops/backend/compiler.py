"""SQL compilers that give libSQL native SQL for expressions Django's sqlite3 backend
implements with Python functions, and refuse by name those SQLite cannot express."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import aggregates, functions, lookups
from django.db.models.constants import OnConflict
from django.db.models.expressions import DurationExpression, SQLiteNumericMixin, Value
from django.db.models.fields import AutoFieldMixin
from django.db.models.sql import compiler

from syncops.ids import new_integer_id

from .decltypes import stored_values
from .operations import datetime_to_micros, micros_to_datetime
from .regex import translate

SQL = tuple[str, list[Any] | tuple[Any, ...]]

_NATIVE: dict[type, Callable[[Any, Any], SQL]] = {}


def native(*classes: type) -> Callable[[Callable[[Any, Any], SQL]], Callable[[Any, Any], SQL]]:
    def register(function: Callable[[Any, Any], SQL]) -> Callable[[Any, Any], SQL]:
        for cls in classes:
            _NATIVE[cls] = function
        return function

    return register


def _unsupported(feature: str, hint: str = "") -> Callable[[Any, Any], SQL]:
    def refuse(compiler: Any, node: Any) -> SQL:
        raise NotSupportedError(
            f"{feature} is not supported by syncops.backend: libSQL cannot run Python "
            f"functions inside SQL.{' ' + hint if hint else ''}"
        )

    return refuse


for _cls, _hint in (
    (functions.MD5, "Hash the value in Python (hashlib)."),
    (functions.SHA1, "Hash the value in Python (hashlib)."),
    (functions.SHA224, "Hash the value in Python (hashlib)."),
    (functions.SHA256, "Hash the value in Python (hashlib)."),
    (functions.SHA384, "Hash the value in Python (hashlib)."),
    (functions.SHA512, "Hash the value in Python (hashlib)."),
):
    _NATIVE[_cls] = _unsupported(_cls.__name__, _hint)


def _args(compiler: Any, node: Any) -> tuple[list[str], list[Any]]:
    sqls, params = [], []
    for expression in node.get_source_expressions():
        sql, expression_params = compiler.compile(expression)
        sqls.append(sql)
        params.extend(expression_params)
    return sqls, params


def _bind(expr: str, values: list[str]) -> str:
    names = "abcdefgh"
    columns = ", ".join(f"{sql} AS {names[i]}" for i, sql in enumerate(values))
    return f"(SELECT {expr} FROM (SELECT {columns}))"


@native(functions.Random)
def _random(compiler: Any, node: Any) -> SQL:
    # random() spans the 64-bit integers; Django's Random() is a float in [0, 1).
    return "((random() / 18446744073709551616.0) + 0.5)", []


_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "IntegerField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallAutoField",
    "SmallIntegerField",
}
# SQLite's math functions answer NULL outside their domain and ±Inf on overflow; libSQL's
# raise "Numerical argument out of domain" / "result out of range". These guards restore
# SQLite's answers (9e999 is SQLite's literal for +Inf).
_EXP_MAX = "709.782712893384"


@native(aggregates.StdDev, aggregates.Variance)
def _spread(compiler: Any, node: Any) -> SQL:
    """Variance and standard deviation from n, Σx and Σx² of the same rows (the aggregate's
    filter included), in doubles; stock computes them in Python (``statistics``). NULL for
    no rows, and for one row of a sample (where stock raises)."""
    x_sql, x_params = compiler.compile(node.get_source_expressions()[0])
    where, where_params = "", []
    if node.filter is not None:
        filter_sql, filter_params = compiler.compile(node.filter)
        where, where_params = f" FILTER (WHERE {filter_sql})", list(filter_params)
    x = f"CAST({x_sql} AS REAL)"
    count, total, squares = (
        (f"COUNT({x_sql}){where}", [*x_params, *where_params]),
        (f"SUM({x}){where}", [*x_params, *where_params]),
        (f"SUM({x} * {x}){where}", [*x_params, *x_params, *where_params]),
    )
    (sq, sq_params), (t, t_params), (n, n_params) = squares, total, count
    sample = 1 if node.function.endswith("SAMP") else 0
    sql = f"max((({sq}) - ({t}) * ({t}) / ({n})) / (({n}) - {sample}), 0.0)"
    if isinstance(node, aggregates.StdDev):
        sql = f"sqrt({sql})"
    return sql, [*sq_params, *t_params, *t_params, *n_params, *n_params]


@native(functions.Mod)
def _mod(compiler: Any, node: Any) -> SQL:
    # libSQL has no mod(); fmod of integers is exact with %, of reals it cannot be done in SQL.
    if any(_internal_type(e) not in _INTEGER_TYPES for e in node.get_source_expressions()):
        raise NotSupportedError(
            "Mod() of non-integer values is not supported by syncops.backend: libSQL has no "
            "mod() function and SQL arithmetic cannot compute fmod exactly. Compute it in Python."
        )
    sqls, params = _args(compiler, node)
    # Stock SQLite computes fmod on doubles: convert first, as it does, for big integers.
    return f"CAST((CAST({sqls[0]} AS REAL) %% CAST({sqls[1]} AS REAL)) AS REAL)", params


@native(functions.Log)
def _log(compiler: Any, node: Any) -> SQL:
    # libSQL's log() takes one argument (the natural log); Log(base, x) = ln(x) / ln(base).
    sqls, params = _args(compiler, node)
    return _bind("CASE WHEN a > 0 AND b > 0 THEN ln(b) / ln(a) END", sqls), params


@native(functions.Ln)
def _ln(compiler: Any, node: Any) -> SQL:
    # libSQL's ln() raises outside its domain.
    sqls, params = _args(compiler, node)
    return _bind("CASE WHEN a > 0 THEN ln(a) END", sqls), params


@native(functions.ASin, functions.ACos)
def _arc(compiler: Any, node: Any) -> SQL:
    # libSQL's asin()/acos() raise outside [-1, 1].
    sqls, params = _args(compiler, node)
    return _bind(f"CASE WHEN a BETWEEN -1 AND 1 THEN {node.function}(a) END", sqls), params


@native(functions.Exp)
def _exp(compiler: Any, node: Any) -> SQL:
    # libSQL's exp() raises on overflow.
    sqls, params = _args(compiler, node)
    return _bind(f"CASE WHEN a > {_EXP_MAX} THEN 9e999 ELSE exp(a) END", sqls), params


def power_sql(base: str, exponent: str) -> str:
    """POWER(base, exponent) answering NULL and Inf where libSQL's power() raises."""
    return _bind(
        "CASE WHEN a = 0 AND b < 0 THEN 9e999 WHEN a < 0 AND b <> round(b) THEN NULL "
        f"WHEN a <> 0 AND b * ln(abs(a)) > {_EXP_MAX} "
        "THEN CASE WHEN a < 0 AND abs(b) %% 2 = 1 THEN -9e999 ELSE 9e999 END "
        "ELSE power(a, b) END",
        [base, exponent],
    )


@native(functions.Power)
def _power(compiler: Any, node: Any) -> SQL:
    sqls, params = _args(compiler, node)
    return power_sql(*sqls), params


@native(functions.Cot)
def _cot(compiler: Any, node: Any) -> SQL:
    sqls, params = _args(compiler, node)
    return f"(1 / tan({sqls[0]}))", params


# ``t`` repeated ``n`` times: zeroblob(n) is n zero bytes, hex() 2n zeros, each '00' one copy.
_TIMES = "replace(hex(zeroblob({n})), '00', {t})"


@native(functions.Repeat)
def _repeat(compiler: Any, node: Any) -> SQL:
    sqls, params = _args(compiler, node)
    # As in stock (Python's text * count): a NULL text or count is NULL, a negative count ''.
    # (libSQL's replace() with a NULL replacement answers '', not NULL.)
    return _bind(
        "CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN b < 0 THEN '' "
        f"ELSE {_TIMES.format(n='b', t='a')} END",
        sqls,
    ), params


@native(functions.LPad)
def _lpad(compiler: Any, node: Any) -> SQL:
    # Stock: (fill * length)[:length - len(text)] + text, or text[:length] if that is shorter.
    sqls, params = _args(compiler, node)
    return _bind(
        "CASE WHEN a IS NULL OR b IS NULL OR c IS NULL THEN NULL "
        "WHEN length(a) >= b THEN substr(a, 1, b) "
        f"ELSE substr({_TIMES.format(n='b', t='c')}, 1, b - length(a)) || a END",
        sqls,
    ), params


@native(functions.RPad)
def _rpad(compiler: Any, node: Any) -> SQL:
    # Stock: (text + fill * length)[:length].
    sqls, params = _args(compiler, node)
    return _bind(
        "CASE WHEN a IS NULL OR b IS NULL OR c IS NULL THEN NULL "
        f"ELSE substr(a || {_TIMES.format(n='b', t='c')}, 1, b) END",
        sqls,
    ), params


@native(functions.Reverse)
def _reverse(compiler: Any, node: Any) -> SQL:
    # One character at a time from the end, in a recursive CTE over the bound value.
    sqls, params = _args(compiler, node)
    return _bind(
        "(WITH RECURSIVE r(i, out) AS (SELECT length(a), '' UNION ALL "
        "SELECT i - 1, out || substr(a, i, 1) FROM r WHERE i > 0) "
        "SELECT out FROM r WHERE i = 0)",
        sqls,
    ), params


@native(lookups.Regex, lookups.IRegex)
def _regex(compiler: Any, node: Any) -> SQL:
    # libSQL's REGEXP is SQLite's regexp.c, not Python's re: patterns are translated.
    lhs, lhs_params = node.process_lhs(compiler, compiler.connection)
    rhs, rhs_params = node.process_rhs(compiler, compiler.connection)
    if rhs != "%s" or len(rhs_params) != 1 or not isinstance(rhs_params[0], str):
        raise NotSupportedError(
            f"{node.lookup_name} against an expression is not supported by syncops.backend: "
            "libSQL's REGEXP differs from Python's re, so only literal patterns are translated."
        )
    pattern = translate(rhs_params[0], ignore_case=node.lookup_name == "iregex")
    return f"{lhs} REGEXP %s", [*lhs_params, pattern]


def _internal_type(expression: Any) -> str | None:
    try:
        return expression.output_field.get_internal_type()
    except (AttributeError, FieldError):
        return None


def _datetime_micros(compiler: Any, node: Any) -> SQL:
    """A datetime expression as integer microseconds since the epoch. A chain of datetime ±
    duration stays in microseconds: turning each step into text and back nested the SQL
    past SQLite's parser stack after four steps ("parser stack overflow")."""
    if isinstance(node, DurationExpression) and node.connector in "+-":
        if _internal_type(node.lhs) == "DateTimeField":
            temporal, duration, sign = node.lhs, node.rhs, node.connector
        elif _internal_type(node.rhs) == "DateTimeField" and node.connector == "+":
            temporal, duration, sign = node.rhs, node.lhs, "+"
        else:
            temporal = None
        if temporal is not None:
            micros, micros_params = _datetime_micros(compiler, temporal)
            duration_sql, duration_params = compiler.compile(duration)
            return f"({micros} {sign} ({duration_sql}))", [*micros_params, *duration_params]
    sql, params = compiler.compile(node)
    return datetime_to_micros(sql), list(params)


@native(DurationExpression)
def _duration(compiler: Any, node: Any) -> SQL:
    compiler.connection.ops.check_expression_support(node)
    lhs_sql, lhs_params = compiler.compile(node.lhs)
    rhs_sql, rhs_params = compiler.compile(node.rhs)
    params = [*lhs_params, *rhs_params]
    lhs_type, rhs_type = _internal_type(node.lhs), _internal_type(node.rhs)
    temporal = {"DateTimeField", "DateField", "TimeField"}
    ops = compiler.connection.ops
    if (
        lhs_type == "DateTimeField"
        and node.connector in "+-"
        or (rhs_type == "DateTimeField" and node.connector == "+")
    ):
        micros, micros_params = _datetime_micros(compiler, node)
        return f"({micros_to_datetime(micros)})", micros_params
    if lhs_type in temporal and node.connector in "+-":
        return f"({ops.temporal_plus_duration(node.connector, lhs_type, lhs_sql, rhs_sql)})", params
    if rhs_type in temporal and node.connector == "+":
        sql = ops.temporal_plus_duration("+", rhs_type, rhs_sql, lhs_sql)
        return f"({sql})", [*rhs_params, *lhs_params]
    if node.connector in "+-*" and lhs_type not in temporal and rhs_type not in temporal:
        # Durations are integer microseconds: plain arithmetic is exact.
        return f"(({lhs_sql}) {node.connector} ({rhs_sql}))", params
    if node.connector == "/" and lhs_type not in temporal and rhs_type not in temporal:
        # Stock divides in Python (a float, rounded half-even by the DurationField converter).
        return f"(({lhs_sql}) / CAST(({rhs_sql}) AS REAL))", params
    raise NotSupportedError(
        f"{lhs_type} {node.connector} {rhs_type} is not supported by syncops.backend."
    )


class NativeSQLMixin:
    def compile(self, node: Any) -> SQL:
        # Subclasses count too (KeyTransformIRegex is a Regex lookup over a JSON key).
        if not isinstance(node, Value):
            for cls in type(node).__mro__:
                implementation = _NATIVE.get(cls)
                if implementation is not None:
                    # What each expression's as_sql() checks first (aggregates of dates...).
                    self.connection.ops.check_expression_support(node)  # type: ignore[attr-defined]
                    return _numeric(node, *implementation(self, node))
        return super().compile(node)  # type: ignore[misc]

    def execute_sql(self, *args: Any, **kwargs: Any) -> Any:
        with stored_values():  # the ORM converts by field; raw SQL by declared type
            return super().execute_sql(*args, **kwargs)  # type: ignore[misc]


def _numeric(node: Any, sql: str, params: Any) -> SQL:
    """What stock's ``SQLiteNumericMixin.as_sqlite`` does to the expressions it replaces: a
    decimal result is cast to NUMERIC, so that it compares with a decimal parameter (bound
    as text) as a number and not as text."""
    if isinstance(node, SQLiteNumericMixin) and _internal_type(node) == "DecimalField":
        return f"(CAST({sql} AS NUMERIC))", params
    return sql, params


class SQLCompiler(NativeSQLMixin, compiler.SQLCompiler):  # type: ignore[misc]
    pass


class SQLInsertCompiler(NativeSQLMixin, compiler.SQLInsertCompiler):  # type: ignore[misc]
    def execute_sql(self, returning_fields: Any = None) -> Any:  # type: ignore[override]
        assigned = []
        if self.connection.settings_dict["OPTIONS"].get("replica_safe_ids", True):
            assigned = _assign_integer_ids(self.query)
        try:
            rows = super().execute_sql(returning_fields)
        except BaseException:
            self._forget(assigned)  # not inserted: a second save() must insert, not update
            raise
        if getattr(self.query, "on_conflict", None) == OnConflict.IGNORE:
            self._forget(assigned)  # a row may have been ignored: as in stock, no id claimed
        return rows

    def _forget(self, assigned: list[Any]) -> None:
        for obj in assigned:
            setattr(obj, self.query.get_meta().pk.attname, None)


def _assign_integer_ids(query: Any) -> list[Any]:
    """Give rows of a model with an auto-increment key an id of syncops.ids before they are
    inserted: the engine's next integer would be the same on two offline replicas. Returns
    the objects given one."""
    pk = query.get_meta().pk
    if not isinstance(pk, AutoFieldMixin) or pk in query.fields or query.raw:
        return []
    attname: str = getattr(pk, "attname")  # noqa: B009 - AutoFieldMixin is typed without it
    assigned = [obj for obj in query.objs if getattr(obj, attname) is None]
    for obj in assigned:
        setattr(obj, attname, new_integer_id())
    query.fields = [pk, *query.fields]
    return assigned


class SQLDeleteCompiler(NativeSQLMixin, compiler.SQLDeleteCompiler):  # type: ignore[misc]
    pass


class SQLUpdateCompiler(NativeSQLMixin, compiler.SQLUpdateCompiler):  # type: ignore[misc]
    pass


class SQLAggregateCompiler(NativeSQLMixin, compiler.SQLAggregateCompiler):  # type: ignore[misc]
    pass
