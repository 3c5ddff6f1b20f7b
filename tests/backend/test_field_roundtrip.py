"""Every field type comes back from syncops.backend exactly as it was saved."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.backend.conftest import ROWS, UTC
from tests.backend.models import Identified, Sample

pytestmark = pytest.mark.django_db(databases=["default", "stock"])

FIELD_VALUES: list[tuple[str, Any]] = [
    ("big", 2**63 - 1),
    ("big", -(2**63 - 1)),
    ("big", -(2**63)),
    ("big", 2**53 + 1),
    ("big", 2**31),
    ("big", -(2**31) - 1),
    ("positive_big", 2**63 - 1),
    ("number", 2**31 - 1),
    ("number", -(2**31)),
    ("small", -32768),
    ("real", 1.0000000000000002),
    ("real", -1e-300),
    ("amount", Decimal("123456789.123456")),
    ("amount", Decimal("-0.000001")),
    ("flag", True),
    ("flag", False),
    ("day", datetime.date(1, 1, 1)),
    ("day", datetime.date(9999, 12, 31)),
    ("day", datetime.date(1969, 12, 31)),
    ("moment", datetime.datetime(2024, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)),
    ("moment", datetime.datetime(1901, 12, 13, 20, 45, 52, 1, tzinfo=UTC)),
    ("moment", datetime.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)),
    (
        "moment",
        datetime.datetime(
            2021, 3, 28, 3, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
    ),
    ("clock", datetime.time(0, 0)),
    ("clock", datetime.time(23, 59, 59, 999999)),
    ("span", datetime.timedelta(days=-1, microseconds=1)),
    ("span", datetime.timedelta(microseconds=2**63 - 1)),
    ("span", datetime.timedelta(microseconds=-(2**63))),
    ("token", uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")),
    ("blob", bytes(range(256)) * 4),
    ("blob", b""),
    ("data", {"nested": {"list": [1, 2.5, None, True, "Ä😀"]}, "big": 2**60}),
    ("data", [None, {"": ""}]),
    ("data", "a string"),
    ("data", 0),
    ("data", None),
    ("text", "mixed ÄÖÜ ß 😀 and\nnewline\r\t"),
    ("email", "Someone@Example.COM"),
]


@pytest.mark.parametrize(("field", "value"), FIELD_VALUES, ids=lambda v: str(v)[:30])
def test_value_round_trips(field: str, value: Any) -> None:
    sample = Sample.objects.create(**{field: value})
    stored = Sample.objects.values_list(field, flat=True).get(pk=sample.pk)
    if field == "blob":
        stored = bytes(stored)
    assert stored == value
    assert type(stored) is type(value)


@pytest.mark.parametrize(("field", "value"), FIELD_VALUES, ids=lambda v: str(v)[:30])
def test_value_is_found_by_equality(field: str, value: Any) -> None:
    sample = Sample.objects.create(**{field: value})
    lookup = {field: value}
    if field == "data" and value is None:
        # Saved as SQL NULL; filter(data=None) means the JSON null (Django's rule).
        lookup = {"data__isnull": True}
    assert list(Sample.objects.filter(**lookup).values_list("pk", flat=True)) == [sample.pk]


def test_text_with_nul_is_refused_instead_of_truncated() -> None:
    # The driver would store "a\x00b" but read back "a".
    from django.db import DataError

    with pytest.raises(DataError, match="NUL"):
        Sample.objects.create(text="a\x00b")


def test_decimal_beyond_double_precision_matches_stock() -> None:
    # SQLite keeps a decimal column as REAL: 15 significant digits, in both backends.
    value = Decimal("12345678901234.123456")
    ours = Sample.objects.using("default").create(amount=value)
    stock = Sample.objects.using("stock").create(amount=value)
    assert (
        Sample.objects.using("default").get(pk=ours.pk).amount
        == Sample.objects.using("stock").get(pk=stock.pk).amount
    )


def test_aware_datetimes_are_stored_in_utc() -> None:
    paris_summer = datetime.datetime(
        2021, 7, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    sample = Sample.objects.create(moment=paris_summer)
    stored = Sample.objects.get(pk=sample.pk).moment
    assert stored == paris_summer
    assert stored.utcoffset() == datetime.timedelta(0)
    assert stored.hour == 10


def test_bytearray_and_memoryview_are_saved_as_bytes() -> None:
    first = Sample.objects.create(blob=bytearray(b"\x01\x02"))
    second = Sample.objects.create(blob=memoryview(b"\x03\x04"))
    assert bytes(Sample.objects.get(pk=first.pk).blob) == b"\x01\x02"
    assert bytes(Sample.objects.get(pk=second.pk).blob) == b"\x03\x04"


def test_every_edge_row_reads_back_the_same_as_stock(samples: None) -> None:
    fields = [f for f in ROWS[0] if f != "name"]
    ours = list(Sample.objects.using("default").order_by("name").values_list(*fields))
    stock = list(Sample.objects.using("stock").order_by("name").values_list(*fields))
    assert ours == stock


def test_uuid_primary_key_round_trips() -> None:
    identified = Identified.objects.create(label="x")
    assert Identified.objects.get(pk=identified.pk).id == identified.id
    assert Identified.objects.filter(pk__in=[identified.pk]).count() == 1


def test_bulk_create_returns_primary_keys() -> None:
    created = Sample.objects.bulk_create([Sample(big=2**63 - 1), Sample(big=-(2**63))])
    assert all(sample.pk is not None for sample in created)
    assert [Sample.objects.get(pk=s.pk).big for s in created] == [2**63 - 1, -(2**63)]


def test_bulk_update_with_big_integers() -> None:
    created = Sample.objects.bulk_create([Sample(big=1), Sample(big=2)])
    created[0].big, created[1].big = 2**62 + 1, -(2**62) - 1
    Sample.objects.bulk_update(created, ["big"])
    assert sorted(Sample.objects.values_list("big", flat=True)) == [-(2**62) - 1, 2**62 + 1]
