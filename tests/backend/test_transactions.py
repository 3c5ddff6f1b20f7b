"""Autocommit, atomic blocks, savepoints and on_commit on syncops.backend."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tests.backend.models import Child, Parent, Sample, Unique

pytestmark = pytest.mark.django_db(transaction=True)


def in_driver_transaction() -> bool:
    return bool(connection.connection.in_transaction)


def test_autocommit_commits_each_statement() -> None:
    assert connection.get_autocommit()
    Sample.objects.create(name="auto")
    assert not in_driver_transaction()
    assert Sample.objects.filter(name="auto").exists()


def test_atomic_commits_on_success() -> None:
    with transaction.atomic():
        Sample.objects.create(name="kept")
        assert in_driver_transaction()
    assert not in_driver_transaction()
    assert Sample.objects.filter(name="kept").exists()


def test_atomic_rolls_back_on_error() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        Sample.objects.create(name="gone")
        raise RuntimeError("boom")
    assert not Sample.objects.filter(name="gone").exists()
    assert not in_driver_transaction()


def test_nested_savepoint_rolls_back_alone() -> None:
    with transaction.atomic():
        Sample.objects.create(name="outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            Sample.objects.create(name="inner")
            raise RuntimeError("boom")
        with transaction.atomic():
            Sample.objects.create(name="inner-kept")
    assert sorted(Sample.objects.values_list("name", flat=True)) == ["inner-kept", "outer"]


def test_unique_violation_in_savepoint_leaves_outer_transaction_usable() -> None:
    with transaction.atomic():
        Unique.objects.create(code="a")
        with pytest.raises(IntegrityError), transaction.atomic():
            Unique.objects.create(code="a")
        Unique.objects.create(code="b")
    assert sorted(Unique.objects.values_list("code", flat=True)) == ["a", "b"]


def test_manual_savepoint_rollback() -> None:
    with transaction.atomic():
        Sample.objects.create(name="before")
        savepoint = transaction.savepoint()
        Sample.objects.create(name="after")
        transaction.savepoint_rollback(savepoint)
    assert list(Sample.objects.values_list("name", flat=True)) == ["before"]


def test_on_commit_fires_only_after_commit() -> None:
    fired: list[str] = []
    with transaction.atomic():
        Sample.objects.create(name="x")
        transaction.on_commit(lambda: fired.append("committed"))
        assert fired == []
    assert fired == ["committed"]


def test_on_commit_does_not_fire_on_rollback() -> None:
    fired: list[str] = []
    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(lambda: fired.append("committed"))
        raise RuntimeError("boom")
    with transaction.atomic(), pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(lambda: fired.append("savepoint"))
        raise RuntimeError("boom")
    assert fired == []


def test_select_for_update_is_a_no_op() -> None:
    sample = Sample.objects.create(name="locked")
    with transaction.atomic():
        assert Sample.objects.select_for_update().get(pk=sample.pk) == sample
        assert list(Sample.objects.select_for_update(nowait=True).filter(pk=sample.pk)) == [sample]


def test_foreign_keys_are_enforced() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone() == (1,)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), transaction.atomic():
        Child.objects.create(parent_id=999999, name="orphan")
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        Child.objects.create(parent_id=999999, name="orphan")
    assert not Child.objects.exists()


def test_cascade_delete_follows_foreign_keys() -> None:
    parent = Parent.objects.create(name="p")
    Child.objects.create(parent=parent, name="c")
    parent.delete()
    assert not Child.objects.exists()


def test_journal_mode_is_wal() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)


def test_set_autocommit_false_then_commit() -> None:
    transaction.set_autocommit(False)
    try:
        Sample.objects.create(name="manual")
        assert in_driver_transaction()
        transaction.commit()
        assert not in_driver_transaction()
    finally:
        transaction.set_autocommit(True)
    assert Sample.objects.filter(name="manual").exists()


def test_set_autocommit_false_then_rollback() -> None:
    transaction.set_autocommit(False)
    try:
        Sample.objects.create(name="discarded")
        transaction.rollback()
        Sample.objects.create(name="second")
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert list(Sample.objects.values_list("name", flat=True)) == ["second"]


def test_set_autocommit_true_commits_pending_work() -> None:
    transaction.set_autocommit(False)
    Sample.objects.create(name="pending")
    transaction.set_autocommit(True)
    assert not in_driver_transaction()
    connection.close()
    assert Sample.objects.filter(name="pending").exists()


def test_uncommitted_work_is_invisible_to_another_connection() -> None:
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            Sample.objects.create(name="hidden")
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM backend_sample WHERE name = 'hidden'")
                assert cursor.fetchone() == (0,)
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM backend_sample WHERE name = 'hidden'")
            assert cursor.fetchone() == (1,)
    finally:
        other.close()


def test_connection_survives_close_and_reopen() -> None:
    Sample.objects.create(name="a")
    connection.close()
    assert Sample.objects.count() == 1
    assert connection.is_usable()
