"""Each libsql-experimental trap listed in DESIGN.md, answered by syncops.backend."""

from __future__ import annotations

import datetime
import sqlite3
from decimal import Decimal
from typing import Any

import libsql_experimental
import pytest
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
)
from django.db.models import F
from django.db.models.functions import ExtractIsoYear, ExtractWeek
from django.test.utils import CaptureQueriesContext

from syncops.backend import database
from tests.backend.models import Child, Parent, Sample, Unique

pytestmark = pytest.mark.django_db(databases=["default", "stock"])

PEP_249_EXCEPTIONS = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
]


def scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_driver_raises_bare_value_errors() -> None:
    # The trap itself: without the shim, Django would see ValueError, not IntegrityError.
    raw = libsql_experimental.connect(":memory:")
    raw.execute("CREATE TABLE t (x UNIQUE)")
    raw.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ValueError, match="UNIQUE constraint failed"):
        raw.execute("INSERT INTO t VALUES (1)")


def test_unique_violation_raises_integrity_error() -> None:
    Unique.objects.create(code="x")
    with pytest.raises(IntegrityError, match="UNIQUE constraint failed"):
        Unique.objects.create(code="x")


def test_not_null_violation_raises_integrity_error() -> None:
    with pytest.raises(IntegrityError, match="NOT NULL"):
        Unique.objects.create(code=None)


def test_sql_errors_raise_operational_error() -> None:
    with pytest.raises(OperationalError, match="no such table"):
        scalar("SELECT * FROM no_such_table")
    with pytest.raises(OperationalError, match="syntax"):
        scalar("SELEC 1")


def test_database_module_has_pep_249_names() -> None:
    module = connection.Database
    for name in PEP_249_EXCEPTIONS:
        error_class = getattr(module, name)
        assert issubclass(error_class, Exception)
        if name not in ("Warning", "Error"):
            assert issubclass(error_class, module.Error)
    assert issubclass(module.IntegrityError, module.DatabaseError)
    assert module.Binary(b"\x00") == b"\x00"
    assert module.paramstyle == "format"


@pytest.mark.parametrize(
    "value", [2**53 + 1, 2**63 - 1, -(2**63), -(2**53) - 1, 2**31, -(2**31) - 1]
)
def test_big_integers_are_exact_through_a_raw_cursor(value: int) -> None:
    # The driver binds integers beyond 32 bits as REAL: 2**53 + 1 came back as 2**53.
    assert scalar("SELECT %s", [value]) == value
    assert scalar("SELECT typeof(%s)", [value]) == "integer"
    if value != -(2**63):
        assert scalar("SELECT -%s", [value]) == -value
        assert scalar("SELECT %s - 1", [value]) == value - 1


def test_big_integers_are_exact_through_the_orm() -> None:
    sample = Sample.objects.create(big=2**63 - 1, positive_big=2**53 + 1)
    assert Sample.objects.filter(big=2**63 - 1, positive_big=2**53 + 1).get() == sample
    assert not Sample.objects.filter(big=2**63 - 2).exists()
    Sample.objects.filter(pk=sample.pk).update(big=F("big") - 2**62)
    assert Sample.objects.get(pk=sample.pk).big == 2**63 - 1 - 2**62
    Sample.objects.filter(pk=sample.pk).update(big=-(2**63))
    assert Sample.objects.get(pk=sample.pk).big == -(2**63)


def test_integer_beyond_64_bits_is_refused() -> None:
    with pytest.raises(OverflowError):
        scalar("SELECT %s", [2**63])


def test_rowcount_is_per_statement_on_one_cursor() -> None:
    Sample.objects.bulk_create([Sample(number=i) for i in range(5)])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE backend_sample SET small = 1 WHERE number < 3")
        assert cursor.rowcount == 3
        cursor.execute("UPDATE backend_sample SET small = 2 WHERE number >= 3")
        assert cursor.rowcount == 2
        cursor.execute("DELETE FROM backend_sample WHERE number = 0")
        assert cursor.rowcount == 1
        cursor.executemany(
            "UPDATE backend_sample SET small = %s WHERE number = %s", [(5, 1), (6, 2), (7, 99)]
        )
        assert cursor.rowcount == 2


def test_a_cursor_that_ran_out_gives_no_more_rows() -> None:
    """libsql-experimental starts a statement over when fetched after it ran out: the one row
    of a query came back a second time from fetchall() after fetchmany() returned none."""
    Unique.objects.create(code="only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM backend_unique")
        assert cursor.fetchone() == ("only",)
        assert cursor.fetchmany(2) == []
        assert cursor.fetchall() == []
        assert cursor.fetchone() is None


def test_update_and_delete_return_exact_counts() -> None:
    Sample.objects.bulk_create([Sample(number=i) for i in range(6)])
    assert Sample.objects.filter(number__lt=4).update(small=1) == 4
    assert Sample.objects.filter(number__gte=4).update(small=2) == 2
    assert Sample.objects.update(small=3) == 6
    parents = Parent.objects.bulk_create([Parent(name="p1"), Parent(name="p2")])
    Child.objects.bulk_create([Child(parent=parents[0], name=f"c{i}") for i in range(3)])
    deleted, per_model = Parent.objects.filter(name="p1").delete()
    assert deleted == 4
    assert per_model == {"backend.Child": 3, "backend.Parent": 1}
    assert Sample.objects.filter(number__in=[0, 1, 2]).delete() == (3, {"backend.Sample": 3})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.datetime(2024, 12, 30, 23, 59, 59, 999999), "2024-12-30 23:59:59.999999"),
        (datetime.date(1969, 7, 20), "1969-07-20"),
        (datetime.time(12, 30, 0, 5), "12:30:00.000005"),
        (Decimal("12.500"), "12.500"),
        (True, 1),
        (memoryview(b"\x00\x01"), b"\x00\x01"),
        (bytearray(b"\x02"), b"\x02"),
        (None, None),
    ],
    ids=["datetime", "date", "time", "decimal", "bool", "memoryview", "bytearray", "none"],
)
def test_parameters_the_driver_refuses_are_adapted(value: Any, expected: Any) -> None:
    assert scalar("SELECT %s", [value]) == expected


def test_adapted_parameters_match_stock() -> None:
    params = [datetime.datetime(2020, 1, 2, 3, 4, 5, 6), datetime.date(2020, 1, 2), Decimal("1.10")]
    rows = []
    for alias in ("default", "stock"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT %s, %s, %s", params)
            rows.append(cursor.fetchone())
    assert tuple(rows[0]) == tuple(rows[1])


def test_dict_parameters_in_pyformat() -> None:
    assert scalar("SELECT %(a)s + %(b)s * %(a)s", {"a": 2, "b": 3}) == 8
    assert scalar("SELECT %(when)s", {"when": datetime.date(2020, 2, 29)}) == "2020-02-29"
    assert scalar("SELECT %(big)s", {"big": 2**62 + 1}) == 2**62 + 1


def test_literal_percent_and_placeholder_errors() -> None:
    assert scalar("SELECT '100%%' || %s", ["!"]) == "100%!"
    with pytest.raises(DatabaseError):
        scalar("SELECT %s, %s", [1])
    with pytest.raises(DatabaseError):
        scalar("SELECT %s", [1, 2])


def test_driver_has_no_iso_week_format() -> None:
    # The trap: strftime('%G'/'%V') returns NULL in this engine.
    raw = libsql_experimental.connect(":memory:")
    assert raw.execute("SELECT strftime('%V', '2021-01-03')").fetchone() == (None,)


def test_iso_week_and_year_work_through_the_orm() -> None:
    Sample.objects.create(
        day=datetime.date(2021, 1, 3), moment=datetime.datetime(2024, 12, 30, tzinfo=datetime.UTC)
    )
    row = (
        Sample.objects.annotate(
            week=ExtractWeek("day"),
            iso_year=ExtractIsoYear("day"),
            moment_week=ExtractWeek("moment"),
        )
        .values("week", "iso_year", "moment_week")
        .get()
    )
    assert row == {"week": 53, "iso_year": 2020, "moment_week": 1}


def test_sql_logged_in_debug_mode_renders() -> None:
    # DEBUG's query log formats SQL with % params: literal % in native SQL must be doubled.
    with CaptureQueriesContext(connection) as queries:
        list(
            Sample.objects.filter(moment__year=2024, day__week=1).annotate(w=ExtractWeek("moment"))
        )
    assert "strftime" in queries[-1]["sql"]


def test_isolation_level_is_read_only_after_connect() -> None:
    raw = libsql_experimental.connect(":memory:", isolation_level=None)
    with pytest.raises(AttributeError):
        raw.isolation_level = "DEFERRED"


def test_feature_flags_come_from_the_engine_not_the_stdlib() -> None:
    engine = tuple(int(p) for p in scalar("SELECT sqlite_version()").split("."))
    assert engine in ((3, 45, 1), (3, 50, 4))  # libsql-experimental's, the Turso engine's
    assert sqlite3.sqlite_version_info != engine
    # Read once at import from libsql-experimental (class-level flags need 3.35.5, which
    # both engines pass); per connection, from the engine in use.
    assert connection.Database.sqlite_version_info == (3, 45, 1)
    assert connection.get_database_version() == engine
    features = connection.features
    assert features.can_return_columns_from_insert is True
    assert features.can_return_rows_from_bulk_insert is True
    assert features.can_alter_table_drop_column is True
    assert features.supports_json_field is True


def test_cursor_takes_no_arguments_but_django_cursor_works() -> None:
    with pytest.raises(TypeError):
        connection.connection.cursor(object)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
        assert cursor.fetchmany(2) == [(1,), (2,)]
        assert cursor.fetchall() == [(3,)]
        assert cursor.description[0][0] == "1"


def test_last_executed_query_shows_adapted_parameters() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s, %s", [datetime.date(2020, 1, 1), b"\x01"])
        sql = connection.ops.last_executed_query(
            cursor, "SELECT %s, %s", [datetime.date(2020, 1, 1), b"\x01"]
        )
    assert sql == "SELECT '2020-01-01', X'01'"


def test_translate_error_maps_messages_to_pep_249_classes() -> None:
    assert isinstance(
        database.translate_error(ValueError("UNIQUE constraint failed: t.x")),
        database.IntegrityError,
    )
    assert isinstance(
        database.translate_error(ValueError("database is locked")), database.OperationalError
    )
    assert isinstance(
        database.translate_error(ValueError("string or blob too big")), database.DataError
    )


def test_a_replica_that_cannot_catch_up_with_its_write_says_what_to_do() -> None:
    """What sqld answered in the replica-mode soak, now and then, to a forwarded write."""
    error = database.translate_error(
        ValueError(
            'replication error: Replicator client error: status: Unavailable, message: "snapshot'
            ' not found", details: [], metadata: MetadataMap { headers: {} }'
        )
    )
    assert isinstance(error, database.Unavailable) and error.retry_after > 0
    assert "may or may not have been applied: read it back" in str(error)
    assert "MetadataMap" not in str(error)


@pytest.mark.django_db(transaction=True)
def test_deferred_foreign_key_failure_in_autocommit_insert_is_not_swallowed() -> None:
    # The driver drops the error raised when an INSERT ... RETURNING finishes in autocommit:
    # the row vanished while Django got a primary key back.
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        Child.objects.create(parent_id=424242, name="orphan")
    assert not Child.objects.exists()
    parent = Parent.objects.create(name="p")
    child = Child.objects.create(parent=parent, name="kept")
    assert Child.objects.get().pk == child.pk


@pytest.mark.django_db(transaction=True, databases=["default"])
def test_a_driver_connection_closed_under_the_backend_is_an_error_then_a_new_one() -> None:
    """libsql-experimental panics (a BaseException no ``except Exception`` stops) on every use
    of a closed connection; pyturso fails the statement. The backend never lets either
    through: a statement on it is an InterfaceError, the wrapper is no longer usable, and
    Django opens a new connection."""
    from django.db import InterfaceError

    connection.ensure_connection()
    connection.connection.close()  # as a replica does when it drops a connection
    with pytest.raises(InterfaceError, match="closed or broken"), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert not connection.is_usable()
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


# The texts libsql-experimental raises when an embedded replica forwards a write (seen against
# sqld stopped in the middle of one: tests/sync/test_recovery_traffic.py).
BROKEN_DURING_A_WRITE = (
    'Write delegation: `status: Unknown, message: "connection error: Connection reset by peer '
    '(os error 104)", details: [], metadata: MetadataMap { headers: {} }`'
)


def test_a_write_whose_connection_to_the_primary_broke_says_its_outcome_is_unknown() -> None:
    error = database.translate_error(ValueError(BROKEN_DURING_A_WRITE))
    assert isinstance(error, database.Unavailable) and error.retry_after == 5
    assert "may or may not have been applied" in str(error)
    assert "os error" not in str(error)  # the engine's words stay in the log


def test_a_closed_cursor_refuses_to_run() -> None:
    """As the stdlib's sqlite3 cursor (Django's backends.tests.test_cursor_contextmanager)."""
    with connection.cursor() as cursor:
        pass
    with pytest.raises(ProgrammingError, match="closed cursor"):
        cursor.execute("SELECT 1")


def test_ignored_rows_claim_no_id() -> None:
    """With ignore_conflicts a row may not be inserted: as in stock, no object keeps the id
    the backend would have given it (Django's bulk_create.tests.test_ignore_conflicts_ignore)."""
    Unique.objects.create(code="taken")
    objects = [Unique(code="taken"), Unique(code="free")]
    Unique.objects.bulk_create(objects, ignore_conflicts=True)
    assert [o.pk for o in objects] == [None, None]
    assert sorted(Unique.objects.values_list("code", flat=True)) == ["free", "taken"]


@pytest.mark.parametrize(
    ("function", "error"),
    [(ExtractWeek, ValueError), (None, DataError)],
    ids=["extract", "trunc"],
)
def test_a_lookup_name_that_is_not_a_word_never_reaches_sql(function: Any, error: Any) -> None:
    from django.db.models.functions import Extract, Trunc

    name = "day' FROM moment)) OR 1=1;--"
    expression = Extract("moment", name) if function else Trunc("moment", name)
    with pytest.raises(error, match="Invalid lookup type"):
        list(Sample.objects.annotate(value=expression).values_list("value"))


def test_a_failed_insert_leaves_no_id_behind() -> None:
    """The backend gives a row its id before the INSERT: when the INSERT fails, the object
    has none again, so that saving it once more inserts it (Django's expressions tests)."""
    from django.db import transaction
    from django.db.models.functions import Lower

    row = Unique(code="kept")
    row.code = Lower(F("code"))
    with pytest.raises(ValueError, match="can only be used to update"), transaction.atomic():
        row.save()
    assert row.pk is None
    row.code = "kept"
    row.save()
    assert Unique.objects.get(pk=row.pk).code == "kept"
