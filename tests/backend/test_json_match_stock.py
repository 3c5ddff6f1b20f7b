"""JSONField lookups and key transforms give stock sqlite3's results, or NotSupportedError."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F
from django.db.models.fields.json import KT

from tests.backend.conftest import assert_matches_stock

pytestmark = [
    pytest.mark.django_db(databases=["default", "stock"]),
    pytest.mark.usefixtures("samples"),
]

FILTERS: list[tuple[str, Any]] = [
    ("data__has_key", "a"),
    ("data__has_keys", ["a", "b"]),
    ("data__has_any_keys", ["list", "k"]),
    ("data__a", 1),
    ("data__a", None),
    ("data__a__isnull", True),
    ("data__b__c__0", 1),
    ("data__b__c__2__d", "x"),
    ("data__0", 1),
    ("data__1", "two"),
    ("data__nested__a__gt", 1),
    ("data__k", "Ä"),
    ("data__k__iexact", "ä"),
    ("data__b__icontains", "X"),
    ("data__b__startswith", "x"),
    ("data__flag", True),
    ("data__a__in", [1, 2]),
    ("data__isnull", True),
    ("data", "just a string"),
    ("data", [1, "two", None, 3.5]),
    ("data__exact", {"a": [1, 2], "b": "x", "k": "Ä"}),
    ("data__a__regex", r"^\d$"),
    ("data__b__iregex", r"^X$"),
]


@pytest.mark.parametrize(("lookup", "value"), FILTERS, ids=lambda v: str(v)[:30])
def test_json_lookup_matches_stock(lookup: str, value: Any) -> None:
    assert_matches_stock(
        lambda qs: list(qs.filter(**{lookup: value}).values_list("name", flat=True))
    )


@pytest.mark.parametrize(
    "expression",
    [F("data__a"), F("data__b__c"), KT("data__b"), KT("data__nested__a"), F("data__0")],
    ids=["a", "b-c", "kt-b", "kt-nested-a", "index-0"],
)
def test_json_key_transform_matches_stock(expression: Any) -> None:
    assert_matches_stock(
        lambda qs: list(qs.annotate(value=expression).values_list("name", "value"))
    )


def test_whole_json_values_match_stock() -> None:
    assert_matches_stock(lambda qs: list(qs.values_list("name", "data")))


@pytest.mark.parametrize("lookup", ["data__contains", "data__contained_by"])
def test_json_containment_is_refused_like_stock(lookup: str) -> None:
    # Django's sqlite3 backend refuses these too: both raise NotSupportedError.
    assert_matches_stock(
        lambda qs: list(qs.filter(**{lookup: {"a": 1}}).values_list("name", flat=True)),
        supported=False,
    )


# A key holding '"' is found by neither SQLite 3.40 (stock here) nor libSQL 3.45, which read
# no escaped quote in a JSON path: there such keys match stock. The Turso engine (offline
# mode) reads it: there every key is found.
QUOTED_KEYS = ['"', '""', 'a"b', "'", "a.b", "a[0]", "$", "key with space"]


@pytest.mark.parametrize("key", QUOTED_KEYS)
def test_keys_holding_quotes_and_path_characters_are_found_as_in_stock(key: str) -> None:
    from django.db import connection

    from tests.backend.models import Sample

    for database in ("default", "stock"):
        Sample.objects.using(database).create(name=f"quoted {key}", data={key: "found"})

    def lookups(qs: Any) -> Any:
        return (
            list(qs.filter(data__has_key=key).values_list("name", flat=True)),
            list(qs.filter(**{f"data__{key}": "found"}).values_list("name", flat=True)),
            list(
                qs.filter(name__startswith="quoted")
                .annotate(v=KT(f"data__{key}"))
                .values_list("name", "v")
            ),
        )

    if '"' in key and connection.get_database_version() >= (3, 47):
        name = f"quoted {key}"
        assert lookups(Sample.objects.all()) == ([name], [name], [(name, "found")])
        return
    assert_matches_stock(lookups)
    if '"' not in key:
        found = Sample.objects.filter(data__has_key=key).values_list("name", flat=True)
        assert list(found) == [f"quoted {key}"]
