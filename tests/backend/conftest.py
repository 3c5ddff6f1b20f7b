"""Edge-case rows stored in both databases, and a helper that runs one query on each.

"default" is syncops.backend over libsql-experimental; "stock" is Django's sqlite3 backend.
A query must give the same result on both, or raise ``NotSupportedError`` on ours.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import NotSupportedError
from django.db.models import QuerySet

from tests.backend.models import Sample

UTC = datetime.UTC

ROWS: list[dict[str, Any]] = [
    {
        "name": "a-iso-monday",
        "text": "Ärger über Straße",
        "number": 7,
        "big": 2**53 + 1,
        "positive_big": 2**40,
        "small": -32768,
        "real": 2.5,
        "amount": Decimal("12345678901234.123456"),
        "flag": True,
        "day": datetime.date(2024, 12, 30),
        "moment": datetime.datetime(2024, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
        "clock": datetime.time(23, 59, 59, 999999),
        "span": datetime.timedelta(days=-1, seconds=5),
        "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "blob": b"\x00\xff\x10",
        "data": {"a": 1, "b": {"c": [1, 2, {"d": "x"}]}, "flag": True},
        "email": "Foo@Example.com",
    },
    {
        "name": "b-iso-sunday",
        "text": "hello World 2021",
        "number": -3,
        "big": -(2**40),
        "positive_big": 0,
        "small": 32767,
        "real": -0.5,
        "amount": Decimal("-0.000001"),
        "flag": False,
        "day": datetime.date(2021, 1, 3),
        "moment": datetime.datetime(2021, 1, 3, 0, 0, 0, 1, tzinfo=UTC),
        "clock": datetime.time(0, 0, 0),
        "span": datetime.timedelta(microseconds=1),
        "token": uuid.UUID("00000000-0000-0000-0000-000000000001"),
        "blob": b"",
        "data": [1, "two", None, 3.5],
        "email": "bar@example.org",
    },
    {
        "name": "c-iso-thursday",
        "text": "ÉCOLE école 123",
        "number": 0,
        "big": 0,
        "positive_big": 1,
        "small": 0,
        "real": 0.0,
        "amount": Decimal("0"),
        "flag": True,
        "day": datetime.date(2020, 12, 31),
        "moment": datetime.datetime(2020, 12, 31, 22, 30, tzinfo=UTC),
        "clock": datetime.time(12, 30, 15, 500000),
        "span": datetime.timedelta(days=400, hours=3, microseconds=250),
        "token": uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff"),
        "blob": bytes(range(256)),
        "data": {"a": None, "list": [], "nested": {"a": 2}},
        "email": "",
    },
    {
        "name": "d-pre-1970",
        "text": "foo_bar%baz\\qux",
        "number": 12,
        "big": 9007199254740993,
        "positive_big": 2**62,
        "small": 5,
        "real": 1e10,
        "amount": Decimal("99.5"),
        "flag": None,
        "day": datetime.date(1969, 7, 20),
        "moment": datetime.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC),
        "clock": datetime.time(6, 5, 4, 3),
        "span": datetime.timedelta(days=-3, hours=-4, microseconds=-7),
        "token": uuid.UUID("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"),
        "blob": b"\x00",
        "data": "just a string",
        "email": "UPPER@EXAMPLE.COM",
    },
    {
        "name": "e-leap-day",
        "text": "abc123 xyz",
        "number": 1,
        "big": -(2**53) - 1,
        "positive_big": 3,
        "small": -1,
        "real": 3.141592653589793,
        "amount": Decimal("1.5"),
        "flag": False,
        "day": datetime.date(2024, 2, 29),
        "moment": datetime.datetime(2024, 2, 29, 6, 0, 0, 1, tzinfo=UTC),
        "clock": datetime.time(0, 0, 0, 1),
        "span": datetime.timedelta(0),
        "token": uuid.UUID("0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"),
        "blob": b"abc",
        "data": {"a": [1, 2], "b": "x", "k": "Ä"},
        "email": "e@x.io",
    },
    {
        "name": "f-all-null",
    },
]


def normalise(value: Any) -> Any:
    """Values as comparable Python objects: rows become tuples, floats stay floats."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(normalise(item) for item in value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def same(ours: Any, stock: Any) -> bool:
    """Equal values of equal types; numbers equal to 12 digits (floats come from C's libm)."""
    if isinstance(ours, tuple) and isinstance(stock, tuple):
        return len(ours) == len(stock) and all(map(same, ours, stock))
    if isinstance(ours, dict) and isinstance(stock, dict):
        return ours.keys() == stock.keys() and all(same(ours[k], stock[k]) for k in ours)
    if _is_number(ours) and _is_number(stock):
        if isinstance(ours, float) or isinstance(stock, float):
            if math.isnan(ours) or math.isnan(stock):
                return math.isnan(ours) and math.isnan(stock)
            return math.isclose(ours, stock, rel_tol=1e-12, abs_tol=1e-12)
        return ours == stock
    return type(ours) is type(stock) and ours == stock


def run(alias: str, build: Callable[[QuerySet], Any]) -> tuple[str, Any]:
    """The outcome of ``build`` on one database: ``("ok", value)`` or the exception's class."""
    try:
        return "ok", normalise(build(Sample.objects.using(alias).order_by("name")))
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return type(exc).__name__, str(exc)


def assert_matches_stock(build: Callable[[QuerySet], Any], *, supported: bool = True) -> None:
    """``build`` gives stock's result on syncops.backend (or NotSupportedError if not supported)."""
    stock = run("stock", build)
    ours = run("default", build)
    if not supported:
        assert ours[0] == NotSupportedError.__name__, f"expected NotSupportedError, got {ours!r}"
        assert "syncops" in ours[1] or "not supported" in ours[1], ours[1]
        return
    assert ours[0] == stock[0], f"syncops.backend: {ours!r}\nstock sqlite3: {stock!r}"
    if ours[0] == "ok":
        assert same(ours[1], stock[1]), f"syncops.backend: {ours[1]!r}\nstock sqlite3: {stock[1]!r}"


@pytest.fixture
def samples() -> None:
    """The same edge-case rows in both databases (each test's transaction rolls them back)."""
    for alias in ("default", "stock"):
        Sample.objects.using(alias).bulk_create([Sample(**row) for row in ROWS])
