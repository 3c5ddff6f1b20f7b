"""Text, math, comparison and aggregate functions match stock sqlite3, or NotSupportedError."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import (
    Avg,
    CharField,
    Count,
    DecimalField,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    StdDev,
    Sum,
    TextField,
    Value,
    Variance,
)
from django.db.models import functions as fn

from tests.backend.conftest import assert_matches_stock, run

pytestmark = [
    pytest.mark.django_db(databases=["default", "stock"]),
    pytest.mark.usefixtures("samples"),
]

Expression = Callable[[], Any]

TEXT: dict[str, Expression] = {
    "lower": lambda: fn.Lower("text"),
    "upper": lambda: fn.Upper("text"),
    "length": lambda: fn.Length("text"),
    "length-unicode": lambda: fn.Length(Value("Straße😀")),
    "concat": lambda: fn.Concat("name", Value("/"), "text", "number", output_field=TextField()),
    "concat-null": lambda: fn.Concat("email", "number", output_field=TextField()),
    "concat-pair": lambda: fn.ConcatPair("name", "email", output_field=CharField()),
    "substr": lambda: fn.Substr("text", 2, 5),
    "substr-to-end": lambda: fn.Substr("text", 3),
    "left": lambda: fn.Left("text", 3),
    "right": lambda: fn.Right("text", 3),
    "replace": lambda: fn.Replace("text", Value("o"), Value("0"), output_field=TextField()),
    "replace-remove": lambda: fn.Replace("text", Value("l"), output_field=TextField()),
    "strindex": lambda: fn.StrIndex("text", Value("o")),
    "trim": lambda: fn.Trim(Value("  x y  ")),
    "ltrim": lambda: fn.LTrim(Value("  x ")),
    "rtrim": lambda: fn.RTrim(Value(" x  ")),
    "repeat": lambda: fn.Repeat("name", 3),
    "repeat-zero": lambda: fn.Repeat("name", 0),
    "repeat-null-text": lambda: fn.Repeat(Value(None, output_field=CharField()), 3),
    "repeat-null-count": lambda: fn.Repeat("name", None),
    "repeat-null-column": lambda: fn.Repeat("name", F("number")),
    "lpad": lambda: fn.LPad("name", 20, Value("*")),
    "lpad-cut": lambda: fn.LPad("name", 3, Value("*")),
    "lpad-fill-word": lambda: fn.LPad("name", 25, Value("ab")),
    "lpad-fill-empty": lambda: fn.LPad("name", 25, Value("")),
    "lpad-null": lambda: fn.LPad("email", 5, Value("*")),
    "rpad": lambda: fn.RPad("name", 20, Value("*")),
    "rpad-cut": lambda: fn.RPad("name", 4, Value("ab")),
    "rpad-unicode": lambda: fn.RPad(Value("Straße"), 9, Value("😀")),
    "reverse": lambda: fn.Reverse("text"),
    "reverse-unicode": lambda: fn.Reverse(Value("Straße 😀")),
    "reverse-null": lambda: fn.Reverse(Value(None, output_field=CharField())),
    "chr": lambda: fn.Chr(Value(228)),
    "ord": lambda: fn.Ord("text"),
    "cast-int-to-text": lambda: fn.Cast("number", CharField()),
    "cast-text-to-int": lambda: fn.Cast(Value("42"), IntegerField()),
    "cast-real-to-int": lambda: fn.Cast("real", IntegerField()),
    "cast-int-to-float": lambda: fn.Cast("number", FloatField()),
    "cast-decimal": lambda: fn.Cast("real", DecimalField(max_digits=20, decimal_places=3)),
    "cast-date-to-text": lambda: fn.Cast("day", CharField()),
    "coalesce": lambda: fn.Coalesce("number", "small", Value(-1), output_field=IntegerField()),
    "greatest": lambda: fn.Greatest("number", "small", output_field=IntegerField()),
    "least": lambda: fn.Least("number", "small", output_field=IntegerField()),
    "nullif": lambda: fn.NullIf("number", Value(0)),
}
UNSUPPORTED_TEXT: dict[str, Expression] = {
    "md5": lambda: fn.MD5("text"),
    "sha1": lambda: fn.SHA1("text"),
    "sha224": lambda: fn.SHA224("text"),
    "sha256": lambda: fn.SHA256("text"),
    "sha384": lambda: fn.SHA384("text"),
    "sha512": lambda: fn.SHA512("text"),
}
MATH: dict[str, Expression] = {
    "abs": lambda: fn.Abs("number"),
    "abs-real": lambda: fn.Abs("real"),
    "abs-decimal": lambda: fn.Abs("amount"),
    "ceil": lambda: fn.Ceil("real"),
    "ceil-decimal": lambda: fn.Ceil("amount"),
    "floor": lambda: fn.Floor("real"),
    "round": lambda: fn.Round("real"),
    "round-2": lambda: fn.Round("real", 2),
    "round-decimal": lambda: fn.Round("amount", 3),
    "power": lambda: fn.Power("number", 2),
    "power-fraction": lambda: fn.Power("number", Value(0.5)),
    "power-negative-exponent": lambda: fn.Power("number", -1),
    "power-operator": lambda: F("number") ** 3,
    "sqrt": lambda: fn.Sqrt("number"),
    "sqrt-real": lambda: fn.Sqrt("real"),
    "mod": lambda: fn.Mod("number", 5),
    "mod-negative": lambda: fn.Mod("small", 7),
    "mod-big": lambda: fn.Mod("big", 10),
    "mod-zero": lambda: fn.Mod("number", 0),
    "mod-operator": lambda: F("number") % 4,
    "log": lambda: fn.Log(2, "number"),
    "log-real": lambda: fn.Log(10, "real"),
    "ln": lambda: fn.Ln("number"),
    "ln-real": lambda: fn.Ln("real"),
    "exp": lambda: fn.Exp("number"),
    "exp-overflow": lambda: fn.Exp(Value(1000.0)),
    "power-overflow": lambda: fn.Power(Value(-10.0), Value(401)),
    "power-of-zero": lambda: fn.Power(Value(0), Value(-2)),
    "power-operator-domain": lambda: F("real") ** Value(0.5),
    "sin": lambda: fn.Sin("real"),
    "cos": lambda: fn.Cos("real"),
    "tan": lambda: fn.Tan("real"),
    "asin": lambda: fn.ASin("real"),
    "acos": lambda: fn.ACos("real"),
    "atan": lambda: fn.ATan("real"),
    "atan2": lambda: fn.ATan2("real", "number"),
    "degrees": lambda: fn.Degrees("real"),
    "radians": lambda: fn.Radians("number"),
    "sign": lambda: fn.Sign("number"),
    "sign-real": lambda: fn.Sign("real"),
    "pi": lambda: fn.Pi(),
    "bitand": lambda: F("number").bitand(6),
    "bitor": lambda: F("number").bitor(6),
    "bitxor": lambda: F("number").bitxor(6),
    "bitleftshift": lambda: F("number").bitleftshift(2),
    "bitrightshift": lambda: F("small").bitrightshift(1),
    "big-plus": lambda: F("big") + 1,
    "big-times": lambda: F("big") * 2,
    "integer-division": lambda: F("number") / 2,
    "float-division": lambda: F("real") / 4,
    "decimal-arithmetic": lambda: F("amount") * 2 + 1,
}


def annotated(expression: Expression) -> Callable[[Any], list[Any]]:
    return lambda qs: list(qs.annotate(value=expression()).values_list("name", "value"))


@pytest.mark.parametrize("name", TEXT)
def test_text_function_matches_stock(name: str) -> None:
    assert run("stock", annotated(TEXT[name]))[0] == "ok"  # the case reaches SQL
    assert_matches_stock(annotated(TEXT[name]))


@pytest.mark.parametrize("name", UNSUPPORTED_TEXT)
def test_text_function_without_native_sql_is_refused(name: str) -> None:
    assert_matches_stock(annotated(UNSUPPORTED_TEXT[name]), supported=False)


@pytest.mark.parametrize("name", MATH)
def test_math_function_matches_stock(name: str) -> None:
    assert run("stock", annotated(MATH[name]))[0] == "ok"  # the case reaches SQL
    assert_matches_stock(annotated(MATH[name]))


def test_cot_matches_stock_away_from_zero() -> None:
    # Stock's Python COT() raises ZeroDivisionError at 0; ours answers NULL there.
    assert_matches_stock(
        lambda qs: list(qs.exclude(real=0).annotate(value=fn.Cot("real")).values_list("value"))
    )


@pytest.mark.parametrize(
    "expression",
    [fn.Mod("real", Value(0.3)), fn.Mod("amount", 7), fn.Mod("number", Value(2.5))],
    ids=["float", "decimal", "float-divisor"],
)
def test_mod_of_non_integers_is_refused(expression: Any) -> None:
    assert_matches_stock(annotated(lambda: expression), supported=False)


def test_math_function_in_a_filter_matches_stock() -> None:
    assert_matches_stock(
        lambda qs: list(qs.annotate(root=fn.Sqrt("real")).filter(root__gt=1).values_list("name"))
    )


@pytest.mark.parametrize("function", [fn.ACos, fn.ASin, fn.Exp, fn.Ln, fn.Cot])
def test_a_decimal_function_compares_with_a_decimal_as_a_number(function: Any) -> None:
    """A decimal parameter is bound as text; the function's result is cast to NUMERIC as in
    stock, or every number would be less than it (Django's own db_functions.math tests)."""
    assert_matches_stock(
        lambda qs: list(
            qs.exclude(amount=0)
            .annotate(value=function(fn.Abs("amount") / (fn.Abs("amount") + 1)))
            .filter(value__lt=Decimal("1.2"))
            .values_list("name")
        )
    )


def test_random_is_a_float_in_the_unit_interval() -> None:
    from tests.backend.models import Sample

    values = [
        value
        for _ in range(50)
        for value in Sample.objects.annotate(r=fn.Random()).values_list("r", flat=True)
    ]
    assert all(isinstance(value, float) and 0 <= value < 1 for value in values)
    assert len(set(values)) > len(values) // 2
    assert min(values) < 0.25 and max(values) > 0.75


def test_order_by_random_returns_every_row() -> None:
    assert_matches_stock(lambda qs: sorted(qs.order_by("?").values_list("name", flat=True)))


AGGREGATES: dict[str, Expression] = {
    "count": lambda: Count("number"),
    "count-star": lambda: Count("*"),
    "count-distinct": lambda: Count("flag", distinct=True),
    "count-filter": lambda: Count("id", filter=Q(number__gt=0)),
    "sum": lambda: Sum("number"),
    "sum-big": lambda: Sum("big"),
    "sum-real": lambda: Sum("real"),
    "sum-decimal": lambda: Sum("amount"),
    "sum-duration": lambda: Sum("span"),
    "avg": lambda: Avg("number"),
    "avg-decimal": lambda: Avg("amount"),
    "avg-duration": lambda: Avg("span"),
    "min": lambda: Min("moment"),
    "max": lambda: Max("text"),
    "max-day": lambda: Max("day"),
    "min-span": lambda: Min("span"),
    "max-decimal": lambda: Max("amount"),
}


@pytest.mark.parametrize("name", AGGREGATES)
def test_aggregate_matches_stock(name: str) -> None:
    assert_matches_stock(lambda qs: qs.aggregate(value=AGGREGATES[name]()))


@pytest.mark.parametrize("name", ["sum", "avg", "max-day", "count-filter"])
def test_grouped_aggregate_matches_stock(name: str) -> None:
    assert_matches_stock(
        lambda qs: list(
            qs.values("flag")
            .annotate(value=AGGREGATES[name]())
            .order_by("flag")
            .values_list("flag", "value")
        )
    )


@pytest.mark.parametrize(
    "aggregate",
    [
        StdDev("real"),
        StdDev("real", sample=True),
        Variance("number"),
        Variance("number", sample=True),
    ],
    ids=["stddev-pop", "stddev-samp", "variance-pop", "variance-samp"],
)
def test_statistical_aggregate_matches_stock(aggregate: Any) -> None:
    """Over rows without NULLs (stock's Python aggregate fails on a NULL; SQL's, ours
    included, leaves NULLs out), with a filter, and grouped (a population's: a group of one
    row has no sample variance, NULL here and an error in stock)."""
    sample = aggregate.function.endswith("SAMP")
    filtered = type(aggregate)(*aggregate.source_expressions, sample=sample, filter=Q(small__gte=0))

    def known(qs: QuerySet) -> QuerySet:
        return qs.exclude(real=None).exclude(number=None)

    assert_matches_stock(lambda qs: known(qs).aggregate(value=aggregate))
    assert_matches_stock(lambda qs: known(qs).aggregate(value=filtered))
    if sample:
        return
    assert_matches_stock(
        lambda qs: list(
            known(qs)
            .values("flag")
            .annotate(value=aggregate.copy())
            .order_by("flag")
            .values_list("flag", "value")
        )
    )


def test_statistical_aggregate_of_no_rows_is_null() -> None:
    from tests.backend.models import Sample

    assert Sample.objects.filter(number__gt=10**6).aggregate(value=StdDev("real")) == {
        "value": None
    }
