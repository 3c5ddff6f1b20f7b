"""Date and time functions (Extract, Trunc, casts, duration arithmetic) match stock sqlite3."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import (
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    TimeField,
)
from django.db.models import functions as fn
from django.utils import timezone

from tests.backend.conftest import assert_matches_stock

pytestmark = [
    pytest.mark.django_db(databases=["default", "stock"]),
    pytest.mark.usefixtures("samples"),
]

PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))
MINUS_FIVE_THIRTY = datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))

EXTRACTS = [
    fn.ExtractYear,
    fn.ExtractIsoYear,
    fn.ExtractQuarter,
    fn.ExtractMonth,
    fn.ExtractWeek,
    fn.ExtractDay,
    fn.ExtractWeekDay,
    fn.ExtractIsoWeekDay,
    fn.ExtractHour,
    fn.ExtractMinute,
    fn.ExtractSecond,
]
DATE_EXTRACTS = EXTRACTS[:8]
TIME_EXTRACTS = EXTRACTS[-3:]
TRUNC_KINDS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second"]


def values(expression: Callable[[], Any]) -> Callable[[Any], list[Any]]:
    return lambda qs: list(qs.annotate(value=expression()).values_list("name", "value"))


@pytest.mark.parametrize("extract", EXTRACTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("tzinfo", [None, PLUS_TWO, MINUS_FIVE_THIRTY], ids=["utc", "+02", "-0530"])
def test_extract_from_datetime_matches_stock(extract: Any, tzinfo: Any) -> None:
    assert_matches_stock(values(lambda: extract("moment", tzinfo=tzinfo)))


@pytest.mark.parametrize("extract", DATE_EXTRACTS, ids=lambda e: e.__name__)
def test_extract_from_date_matches_stock(extract: Any) -> None:
    assert_matches_stock(values(lambda: extract("day")))


@pytest.mark.parametrize("extract", TIME_EXTRACTS, ids=lambda e: e.__name__)
def test_extract_from_time_matches_stock(extract: Any) -> None:
    assert_matches_stock(values(lambda: extract("clock")))


@pytest.mark.parametrize("kind", TRUNC_KINDS)
@pytest.mark.parametrize("tzinfo", [None, PLUS_TWO, MINUS_FIVE_THIRTY], ids=["utc", "+02", "-0530"])
def test_trunc_datetime_matches_stock(kind: str, tzinfo: Any) -> None:
    assert_matches_stock(values(lambda: fn.Trunc("moment", kind, tzinfo=tzinfo)))


@pytest.mark.parametrize("kind", TRUNC_KINDS[:5])
def test_trunc_date_matches_stock(kind: str) -> None:
    assert_matches_stock(values(lambda: fn.Trunc("day", kind)))


@pytest.mark.parametrize("kind", TRUNC_KINDS[5:])
def test_trunc_time_matches_stock(kind: str) -> None:
    assert_matches_stock(values(lambda: fn.Trunc("clock", kind)))


@pytest.mark.parametrize(
    "trunc",
    [fn.TruncYear, fn.TruncQuarter, fn.TruncMonth, fn.TruncWeek, fn.TruncDay, fn.TruncHour],
    ids=lambda t: t.__name__,
)
def test_trunc_classes_match_stock(trunc: Any) -> None:
    assert_matches_stock(values(lambda: trunc("moment")))


@pytest.mark.parametrize("tzinfo", [None, PLUS_TWO], ids=["utc", "+02"])
def test_trunc_datetime_to_date_and_time_fields_matches_stock(tzinfo: Any) -> None:
    assert_matches_stock(values(lambda: fn.TruncDate("moment", tzinfo=tzinfo)))
    assert_matches_stock(values(lambda: fn.TruncTime("moment", tzinfo=tzinfo)))
    assert_matches_stock(values(lambda: fn.Trunc("moment", "hour", output_field=TimeField())))
    assert_matches_stock(values(lambda: fn.Trunc("moment", "month", output_field=DateField())))


def test_date_and_time_casts_match_stock() -> None:
    assert_matches_stock(lambda qs: list(qs.values_list("name", "moment__date", "moment__time")))


def test_grouping_by_truncated_week_matches_stock() -> None:
    from django.db.models import Count

    assert_matches_stock(
        lambda qs: list(
            qs.annotate(week=fn.TruncWeek("moment"))
            .values("week")
            .annotate(n=Count("id"))
            .order_by("week")
        )
    )


def test_extract_of_an_aggregate_matches_stock() -> None:
    from django.db.models import Max, Min

    assert_matches_stock(
        lambda qs: qs.aggregate(
            latest=fn.ExtractYear(Max("moment")), first=fn.TruncDay(Min("moment"))
        )
    )


DURATIONS: dict[str, Callable[[], Any]] = {
    "datetime-plus-timedelta": lambda: F("moment") + datetime.timedelta(days=1, microseconds=1),
    "datetime-minus-timedelta": lambda: F("moment") - datetime.timedelta(hours=30, microseconds=3),
    "datetime-plus-negative": lambda: F("moment") + datetime.timedelta(days=-400),
    "datetime-plus-duration-field": lambda: F("moment") + F("span"),
    "datetime-minus-duration-field": lambda: F("moment") - F("span"),
    "duration-plus-datetime": lambda: ExpressionWrapper(
        F("span") + F("moment"), output_field=DateTimeField()
    ),
    "date-plus-timedelta": lambda: ExpressionWrapper(
        F("day") + datetime.timedelta(days=3), output_field=DateField()
    ),
    "date-minus-duration-field": lambda: ExpressionWrapper(
        F("day") - F("span"), output_field=DateTimeField()
    ),
    "duration-plus-duration": lambda: F("span") + datetime.timedelta(seconds=1),
    "duration-times-number": lambda: ExpressionWrapper(F("span") * 2, output_field=DurationField()),
    "duration-divided": lambda: ExpressionWrapper(F("span") / 4, output_field=DurationField()),
    "datetime-minus-datetime": lambda: ExpressionWrapper(
        F("moment") - datetime.datetime(2000, 1, 1, 0, 0, 0, 5, tzinfo=datetime.UTC),
        output_field=DurationField(),
    ),
    "date-minus-date": lambda: ExpressionWrapper(
        F("day") - datetime.date(1970, 1, 1), output_field=DurationField()
    ),
    "time-minus-time": lambda: ExpressionWrapper(
        F("clock") - datetime.time(12, 0, 0, 1), output_field=DurationField()
    ),
    "time-minus-time-fields": lambda: ExpressionWrapper(
        F("clock") - F("clock"), output_field=DurationField()
    ),
    "now-minus-now": lambda: ExpressionWrapper(
        fn.TruncDay(fn.Now()) - fn.TruncDay(fn.Now()), output_field=DurationField()
    ),
}


@pytest.mark.parametrize("name", DURATIONS)
def test_duration_arithmetic_matches_stock(name: str) -> None:
    assert_matches_stock(values(DURATIONS[name]))


@pytest.mark.parametrize(
    "expression",
    [
        lambda: F("clock") + datetime.timedelta(hours=1, microseconds=1),
        lambda: F("clock") - F("span"),
    ],
    ids=["time-plus-timedelta", "time-minus-duration"],
)
def test_time_plus_duration_is_refused(expression: Callable[[], Any]) -> None:
    # Stock sqlite3 answers NULL for every row here: a different answer would be a new result.
    assert_matches_stock(values(expression), supported=False)


def test_a_long_chain_of_datetime_plus_durations_matches_stock() -> None:
    """Each step stays in microseconds (it nested past SQLite's parser stack at the fourth
    step: Django's expressions.tests.test_negative_timedelta_update)."""
    chain: Any = F("moment")
    for step in range(8):
        chain = chain + datetime.timedelta(days=-2, seconds=-30 * step, microseconds=-7)
    assert_matches_stock(values(lambda: ExpressionWrapper(chain, output_field=DateTimeField())))


def test_filter_on_duration_arithmetic_matches_stock() -> None:
    assert_matches_stock(
        lambda qs: list(
            qs.filter(moment__gt=F("moment") + F("span")).values_list("name", flat=True)
        )
    )


def test_now_is_the_current_utc_time() -> None:
    from tests.backend.models import Sample

    before = timezone.now()
    now = Sample.objects.annotate(now=fn.Now()).values_list("now", flat=True).first()
    assert now is not None
    assert (
        before - datetime.timedelta(seconds=1)
        <= now
        <= timezone.now() + datetime.timedelta(seconds=1)
    )


# Zones with rules: daylight saving time on both hemispheres, a half-hour change (Lord Howe),
# odd offsets (Kathmandu +05:45, St John's -03:30), and a zone that abolished it (Moscow).
ZONES = [
    zoneinfo.ZoneInfo(name)
    for name in (
        "Europe/Paris",
        "America/Vancouver",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "America/St_Johns",
        "Europe/Moscow",
    )
]
UTC = datetime.UTC
# Each side of changes, to the microsecond, in several eras (the tz database's history).
AROUND_CHANGES = [
    datetime.datetime(2021, 3, 28, 0, 59, 59, 999999, tzinfo=UTC),  # Paris, spring
    datetime.datetime(2021, 3, 28, 1, 0, 0, tzinfo=UTC),
    datetime.datetime(2021, 10, 31, 0, 59, 59, tzinfo=UTC),  # Paris, autumn
    datetime.datetime(2021, 10, 31, 1, 0, 0, 1, tzinfo=UTC),
    datetime.datetime(2021, 3, 14, 9, 59, 59, tzinfo=UTC),  # Vancouver, spring
    datetime.datetime(2021, 3, 14, 10, 0, 0, tzinfo=UTC),
    datetime.datetime(2021, 10, 2, 14, 59, 59, tzinfo=UTC),  # Lord Howe, +10:30 -> +11
    datetime.datetime(2021, 10, 2, 15, 0, 0, tzinfo=UTC),
    datetime.datetime(1942, 2, 16, 12, 0, tzinfo=UTC),  # war time
    datetime.datetime(1977, 7, 1, 12, 0, tzinfo=UTC),
    datetime.datetime(2011, 3, 26, 23, 0, tzinfo=UTC),  # Moscow, the last change
    datetime.datetime(2099, 12, 31, 23, 30, tzinfo=UTC),  # a year's end, far ahead
]


@pytest.fixture
def around_changes() -> None:
    from tests.backend.models import Sample

    for alias in ("default", "stock"):
        Sample.objects.using(alias).bulk_create(
            [Sample(name=f"z{n:02d}", moment=moment) for n, moment in enumerate(AROUND_CHANGES)]
        )


@pytest.mark.usefixtures("around_changes")
@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_zone_with_rules_matches_stock(zone: zoneinfo.ZoneInfo) -> None:
    """The zone's offset at each instant, looked up in SQL from the tz database's changes."""
    for extract in EXTRACTS:
        assert_matches_stock(values(lambda e=extract: e("moment", tzinfo=zone)))
    for kind in TRUNC_KINDS:
        assert_matches_stock(values(lambda k=kind: fn.Trunc("moment", k, tzinfo=zone)))
    assert_matches_stock(values(lambda: fn.TruncDate("moment", tzinfo=zone)))
    assert_matches_stock(values(lambda: fn.TruncTime("moment", tzinfo=zone)))
    with timezone.override(zone):
        assert_matches_stock(
            lambda qs: list(qs.filter(moment__date=datetime.date(2021, 3, 28)).values_list("name"))
        )
        assert_matches_stock(lambda qs: list(qs.values_list("name", "moment__hour")))


def test_an_unknown_zone_is_refused() -> None:
    from django.db import NotSupportedError

    from syncops.backend.operations import zone_transitions

    with pytest.raises(NotSupportedError, match="Nowhere/Land"):
        zone_transitions("Nowhere/Land")


def test_active_fixed_offset_time_zone_matches_stock() -> None:
    with timezone.override(PLUS_TWO):
        assert_matches_stock(
            lambda qs: list(qs.filter(moment__date=datetime.date(2021, 1, 1)).values_list("name"))
        )
        assert_matches_stock(lambda qs: list(qs.values_list("moment__hour", "moment__day")))
