"""Every field lookup gives stock sqlite3's rows on syncops.backend, or NotSupportedError."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import F

from tests.backend.conftest import UTC, assert_matches_stock

pytestmark = [
    pytest.mark.django_db(databases=["default", "stock"]),
    pytest.mark.usefixtures("samples"),
]

LOOKUPS: list[tuple[str, Any]] = [
    ("name__exact", "a-iso-monday"),
    ("text__exact", "ärger über straße"),
    ("text__iexact", "HELLO world 2021"),
    ("text__iexact", "ärger über straße"),
    ("email__iexact", "foo@example.com"),
    ("text__contains", "_bar%"),
    ("text__contains", "\\"),
    ("text__icontains", "WORLD"),
    ("text__icontains", "école"),
    ("text__startswith", "abc"),
    ("text__istartswith", "ÉCO"),
    ("text__istartswith", "éco"),
    ("text__endswith", "qux"),
    ("text__iendswith", "XYZ"),
    ("text__regex", r"\d+"),
    ("text__regex", r"^\W"),
    ("text__regex", r"[a-z]{3}"),
    ("text__regex", r"^\w+\s\w+"),
    ("text__regex", r"straße$"),
    ("text__regex", r"[^a-zA-Z\d\s]"),
    ("text__regex", r"(?:foo|hello)[_ ]"),
    ("text__regex", r"o.d"),
    ("text__regex", r"\\qux"),
    ("text__regex", r"\D{4,}\d{3}$"),
    ("text__iregex", r"^[a-z]+$"),
    ("text__iregex", r"^é"),
    ("text__iregex", r"STRASSE"),
    ("text__iregex", r"ärger\s+ÜBER"),
    ("text__iregex", r"[à-ÿ]cole"),
    ("text__iregex", r"(?i)HELLO"),
    ("text__regex", r"(?i)hello"),
    ("number__in", [0, 7, 99]),
    ("name__in", []),
    ("big__in", [2**53 + 1, 9007199254740993]),
    ("big__exact", 2**53 + 1),
    ("big__gt", 2**53),
    ("big__lte", -(2**53) - 1),
    ("positive_big__gte", 2**62),
    ("number__range", (-3, 1)),
    ("real__range", (-1.0, 3.0)),
    ("amount__gt", Decimal("1.5")),
    ("amount__range", (Decimal("-1"), Decimal("100"))),
    ("flag", True),
    ("flag__isnull", True),
    ("number__isnull", False),
    ("day__range", (datetime.date(2020, 12, 31), datetime.date(2024, 2, 29))),
    ("day__lt", datetime.date(1970, 1, 1)),
    ("moment__gt", datetime.datetime(2021, 1, 3, tzinfo=UTC)),
    ("moment__lt", datetime.datetime(1970, 1, 1, tzinfo=UTC)),
    ("moment__exact", datetime.datetime(2021, 1, 3, 0, 0, 0, 1, tzinfo=UTC)),
    ("clock__gte", datetime.time(12, 30, 15, 500000)),
    ("span__lt", datetime.timedelta(0)),
    ("span__gt", datetime.timedelta(days=1)),
    ("token", uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")),
    ("token__in", [uuid.UUID("00000000-0000-0000-0000-000000000001")]),
    ("blob", b"abc"),
    ("number__gt", F("small")),
    ("text__contains", F("name")),
    ("moment__date", datetime.date(2020, 12, 31)),
    ("moment__date__gt", datetime.date(2021, 1, 1)),
    ("moment__time", datetime.time(22, 30)),
    ("moment__time__lt", datetime.time(6, 0, 0, 2)),
    ("moment__year", 2024),
    ("moment__year__gte", 2021),
    ("moment__year__lt", 1970),
    ("moment__iso_year", 2020),
    ("moment__month__in", [2, 12]),
    ("moment__day", 31),
    ("moment__week", 53),
    ("moment__week", 1),
    ("moment__week_day", 1),
    ("moment__iso_week_day", 7),
    ("moment__quarter", 4),
    ("moment__hour", 23),
    ("moment__minute__gte", 30),
    ("moment__second", 40),
    ("day__year", 1969),
    ("day__iso_year", 2025),
    ("day__week", 53),
    ("day__week_day", 5),
    ("day__iso_week_day", 1),
    ("day__quarter", 1),
    ("day__month", 7),
    ("clock__hour", 23),
    ("clock__minute", 30),
    ("clock__second", 4),
]


@pytest.mark.parametrize(("lookup", "value"), LOOKUPS, ids=lambda v: str(v)[:40])
def test_lookup_matches_stock(lookup: str, value: Any) -> None:
    assert_matches_stock(
        lambda qs: list(qs.filter(**{lookup: value}).values_list("name", flat=True))
    )


@pytest.mark.parametrize(("lookup", "value"), LOOKUPS[:30], ids=lambda v: str(v)[:40])
def test_excluded_lookup_matches_stock(lookup: str, value: Any) -> None:
    assert_matches_stock(
        lambda qs: list(qs.exclude(**{lookup: value}).values_list("name", flat=True))
    )


@pytest.mark.parametrize(
    "pattern",
    [r"(?=hello)", r"(o)\1", r"(?m)^hello", r"\bWorld"],
)
def test_regex_the_engine_cannot_express_is_refused(pattern: str) -> None:
    assert_matches_stock(
        lambda qs: list(qs.filter(text__regex=pattern).values_list("name", flat=True)),
        supported=False,
    )


def test_regex_against_an_expression_is_refused() -> None:
    assert_matches_stock(
        lambda qs: list(qs.filter(text__regex=F("name")).values_list("name", flat=True)),
        supported=False,
    )
