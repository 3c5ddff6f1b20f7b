"""Deletes leave tombstones, and a merge never brings back a row a tombstone names."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import libsql_experimental as libsql
from django.db import connection

from spaces import services
from spaces.models import Space
from syncops import epoch, tombstones
from syncops.recovery import merge


def rows(sql: str) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def test_a_delete_leaves_a_tombstone_and_a_restore_removes_it(space: Space, owner: Any) -> None:
    thought = services.thought_create(space=space, actor=owner, key="t", title="T")
    services.thought_delete(thought=thought, actor=owner)
    assert rows("SELECT tbl, row FROM syncops_tombstone") == [("spaces_thought", thought.pk)]
    services.thought_create(space=space, actor=owner, key="t", title="T", thought_id=thought.pk)
    assert rows("SELECT tbl, row FROM syncops_tombstone") == []


def test_integer_keys_get_tombstones_too(db: Any) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("gone")
    User.objects.filter(pk=user.pk).delete()
    assert rows("SELECT tbl, row FROM syncops_tombstone") == [("auth_user", str(user.pk))]


def _copy(path: Path, *, epoch_value: str, rows: list[str], tombstoned: list[str]) -> Any:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)")
    db.execute(tombstones.CREATE)
    db.execute(epoch.CREATE)
    db.execute("INSERT INTO syncops_epoch VALUES (1, ?)", (epoch_value,))
    db.executemany("INSERT INTO t VALUES (?, 1)", [(row,) for row in rows])
    db.executemany(
        "INSERT INTO syncops_tombstone VALUES ('t', ?, 'then')", [(row,) for row in tombstoned]
    )
    db.commit()
    db.close()


def test_a_merge_skips_rows_the_remote_has_tombstones_for(tmp_path: Path) -> None:
    _copy(tmp_path / "old.db", epoch_value="E1", rows=["kept", "deleted-elsewhere"], tombstoned=[])
    _copy(tmp_path / "new.db", epoch_value="E1", rows=[], tombstoned=["deleted-elsewhere"])
    rebuilt = libsql.connect(str(tmp_path / "new.db"), isolation_level=None)
    merge(rebuilt, tmp_path / "old.db", prefer="remote")
    assert rebuilt.execute("SELECT id FROM t").fetchall() == [("kept",)]


def test_a_merge_onto_another_copy_carries_the_old_copys_deletes(tmp_path: Path) -> None:
    """The remote was reseeded by a replica that had not seen this one's delete of ``gone``."""
    _copy(tmp_path / "old.db", epoch_value="E1", rows=["mine"], tombstoned=["gone"])
    _copy(tmp_path / "new.db", epoch_value="E2", rows=["gone", "theirs"], tombstoned=[])
    rebuilt = libsql.connect(str(tmp_path / "new.db"), isolation_level=None)
    merge(rebuilt, tmp_path / "old.db", prefer="remote")
    assert rebuilt.execute("SELECT id FROM t ORDER BY id").fetchall() == [("mine",), ("theirs",)]


def test_a_merge_onto_the_same_copy_leaves_its_rows_alone(tmp_path: Path) -> None:
    """Same epoch: the remote has every delete this copy pushed; a row it holds again was
    brought back on purpose (a restore) and stays."""
    _copy(tmp_path / "old.db", epoch_value="E1", rows=[], tombstoned=["restored"])
    _copy(tmp_path / "new.db", epoch_value="E1", rows=["restored"], tombstoned=[])
    rebuilt = libsql.connect(str(tmp_path / "new.db"), isolation_level=None)
    merge(rebuilt, tmp_path / "old.db", prefer="remote")
    assert rebuilt.execute("SELECT id FROM t").fetchall() == [("restored",)]


def test_old_tombstones_are_pruned_and_recent_ones_kept(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO syncops_tombstone VALUES ('t', 'old', '2020-01-01T00:00:00.000Z'), "
            "('t', 'recent', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        )
    assert tombstones.prune(90) == 1
    assert rows("SELECT row FROM syncops_tombstone") == [("recent",)]


def test_a_merge_from_a_copy_without_tombstones_works(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
    db.execute("INSERT INTO t VALUES ('kept')")
    db.commit()
    db.close()
    rebuilt = libsql.connect(str(tmp_path / "new.db"), isolation_level=None)
    reseeded, restored = merge(rebuilt, tmp_path / "old.db", prefer="remote")
    assert reseeded and restored == {"t": 1}
    assert rebuilt.execute("SELECT id FROM t").fetchall() == [("kept",)]
