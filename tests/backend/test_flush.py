"""Flushing with cascade (``manage.py flush``, Django's TransactionTestCase with
``available_apps``): the tables that refer to a flushed table are flushed with it, as stock
sqlite3 finds them. Stock asks SQLite with a REGEXP that libSQL's regexp.c cannot read."""

from __future__ import annotations

import pytest
from django.core.management.color import no_style
from django.db import connections

pytestmark = pytest.mark.django_db(databases=["default", "stock"])


@pytest.mark.parametrize("table", ["spaces_space", "auth_user", "spaces_thought"])
def test_the_tables_a_cascading_flush_empties_are_stocks(table):
    ours = connections["default"].ops.sql_flush(no_style(), [table], allow_cascade=True)
    stock = connections["stock"].ops.sql_flush(no_style(), [table], allow_cascade=True)
    assert sorted(ours) == sorted(stock)
    assert len(ours) > 1  # each has tables that refer to it


def test_a_cascading_flush_runs(space, owner):
    from spaces.models import Space, Thought

    connection = connections["default"]
    statements = connection.ops.sql_flush(no_style(), ["spaces_space"], allow_cascade=True)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    assert not Space.objects.exists() and not Thought.objects.exists()
