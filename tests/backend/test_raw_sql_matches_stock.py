"""Raw SQL returns what stock sqlite3 returns: booleans, dates and times by declared type."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connections

from tests.backend.conftest import normalise
from tests.backend.models import Sample

pytestmark = pytest.mark.django_db(databases=["default", "stock"])

TABLE = Sample._meta.db_table
COLUMNS = ", ".join(f.column for f in Sample._meta.concrete_fields if not f.primary_key)
QUERIES: list[tuple[str, list[Any]]] = [
    (f"SELECT name, flag, day, moment, clock FROM {TABLE} ORDER BY name", []),
    (f"SELECT {COLUMNS} FROM {TABLE} ORDER BY name", []),
    (f"SELECT day, moment FROM {TABLE} WHERE day = %s", [datetime.date(2024, 12, 30)]),
    (f"SELECT name, day FROM {TABLE} WHERE name LIKE '%%?%%' OR name = %s", ["b-iso-sunday"]),
    (
        f'SELECT s.day AS "when", t.moment FROM {TABLE} s JOIN {TABLE} t ON t.name = s.name'
        " ORDER BY s.name",
        [],
    ),
    (f"SELECT MAX(day), COUNT(*), day || '' FROM {TABLE} GROUP BY name ORDER BY name", []),
    (f"WITH d AS (SELECT day, flag FROM {TABLE}) SELECT * FROM d ORDER BY day", []),
    (f"SELECT (SELECT moment FROM {TABLE} ORDER BY name LIMIT 1), 'x';", []),
]


def rows(alias: str, sql: str, params: list[Any]) -> list[Any]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        first = cursor.fetchone()
        return [first, *cursor.fetchmany(2), *cursor.fetchall()]


@pytest.mark.parametrize(("sql", "params"), QUERIES)
def test_raw_rows_match_stock(samples: None, sql: str, params: list[Any]) -> None:
    ours, stock = rows("default", sql, params), rows("stock", sql, params)
    assert normalise(ours) == normalise(stock)
    assert [[type(value) for value in row or ()] for row in ours] == [
        [type(value) for value in row or ()] for row in stock
    ]


def test_a_column_added_later_converts_too(samples: None) -> None:
    """What is learned of a statement is forgotten when the schema changes."""
    sql = f"SELECT * FROM {TABLE} WHERE name = 'a-iso-monday'"
    for alias in ("default", "stock"):
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)
            width = len(cursor.fetchone())
            cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN later date NULL")
            cursor.execute(f"UPDATE {TABLE} SET later = '2020-02-29'")
            cursor.execute(sql)
            row = cursor.fetchone()
            assert len(row) == width + 1
            assert row[-1] == datetime.date(2020, 2, 29), alias


def test_stored_text_that_is_not_a_date_is_kept() -> None:
    """Stock turns it into None; a value is never replaced by nothing here."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (name, text, email, day) VALUES ('odd', '', '', 'soon')"
        )
        cursor.execute(f"SELECT day FROM {TABLE} WHERE name = 'odd'")
        assert cursor.fetchall() == [("soon",)]


def test_the_orm_reads_stored_values_once(samples: None) -> None:
    """ORM queries convert by field; the declared-type step is for raw SQL only."""
    connection = connections["default"]
    before = len(connection.declared_types._known)
    list(Sample.objects.values_list("day", "moment", "flag"))
    assert len(connection.declared_types._known) == before
