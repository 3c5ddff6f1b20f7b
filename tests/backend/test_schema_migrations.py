"""Schema changes, including SQLite's table rebuilds, keep the rows on syncops.backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, migrations, models
from django.db.migrations.state import ProjectState

pytestmark = pytest.mark.django_db(transaction=True)

APP = "backend"
TABLE = "backend_throwaway"


@pytest.fixture
def throwaway() -> Iterator[ProjectState]:
    """A table created through a migration operation, dropped afterwards."""
    state = ProjectState()
    create = migrations.CreateModel(
        "Throwaway",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("title", models.CharField(max_length=20)),
            ("count", models.IntegerField(default=0)),
            ("big", models.BigIntegerField(null=True)),
            ("obsolete", models.TextField(default="")),
        ],
    )
    new_state = state.clone()
    create.state_forwards(APP, new_state)
    with connection.schema_editor() as editor:
        create.database_forwards(APP, editor, state, new_state)
    yield new_state
    with connection.schema_editor() as editor:
        editor.execute(f'DROP TABLE IF EXISTS "{TABLE}"')


def apply(operation: migrations.operations.base.Operation, state: ProjectState) -> ProjectState:
    new_state = state.clone()
    operation.state_forwards(APP, new_state)
    with connection.schema_editor() as editor:
        operation.database_forwards(APP, editor, state, new_state)
    return new_state


def rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{TABLE}" ORDER BY id')
        return [tuple(row) for row in cursor.fetchall()]


def columns() -> dict[str, str]:
    with connection.cursor() as cursor:
        return {
            column.name: column.type_code
            for column in connection.introspection.get_table_description(cursor, TABLE)
        }


def insert_rows() -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO "{TABLE}" (title, count, big, obsolete) VALUES (%s, %s, %s, %s)',
            [("one", 1, 2**63 - 1, "x"), ("two", 2, -(2**53) - 1, "y")],
        )


def test_alter_field_rebuilds_the_table_and_keeps_rows(throwaway: ProjectState) -> None:
    insert_rows()
    state = apply(
        migrations.AlterField("Throwaway", "title", models.CharField(max_length=200, null=True)),
        throwaway,
    )
    apply(migrations.AlterField("Throwaway", "count", models.BigIntegerField(default=5)), state)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id, title, count, big, obsolete FROM "{TABLE}" ORDER BY id')
        assert cursor.fetchall() == [
            (1, "one", 1, 2**63 - 1, "x"),
            (2, "two", 2, -(2**53) - 1, "y"),
        ]
        cursor.execute(f"INSERT INTO \"{TABLE}\" (title, count, obsolete) VALUES (NULL, 2, '')")
        cursor.execute(f'SELECT count FROM "{TABLE}" WHERE title IS NULL')
        assert cursor.fetchone() == (2,)


def test_remove_field_keeps_rows(throwaway: ProjectState) -> None:
    insert_rows()
    apply(migrations.RemoveField("Throwaway", "obsolete"), throwaway)
    assert "obsolete" not in columns()
    assert rows() == [(1, "one", 1, 2**63 - 1), (2, "two", 2, -(2**53) - 1)]


def test_add_field_with_default_and_rename(throwaway: ProjectState) -> None:
    insert_rows()
    state = apply(
        migrations.AddField("Throwaway", "flag", models.BooleanField(default=True)), throwaway
    )
    state = apply(migrations.RenameField("Throwaway", "title", "heading"), state)
    apply(
        migrations.AddIndex("Throwaway", models.Index(fields=["heading"], name="heading_idx")),
        state,
    )
    assert {"heading", "flag"} <= set(columns())
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT heading, flag FROM "{TABLE}" ORDER BY id')
        assert cursor.fetchall() == [("one", 1), ("two", 1)]
        assert "heading_idx" in connection.introspection.get_constraints(cursor, TABLE)


def test_foreign_keys_stay_enforced_after_a_rebuild(throwaway: ProjectState) -> None:
    apply(migrations.AlterField("Throwaway", "count", models.IntegerField(default=1)), throwaway)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone() == (1,)
        cursor.execute("PRAGMA foreign_key_check")
        assert cursor.fetchall() == []


def test_introspection_sees_the_test_models() -> None:
    tables = connection.introspection.table_names()
    assert {"backend_sample", "backend_child", "backend_parent"} <= set(tables)
    with connection.cursor() as cursor:
        relations = connection.introspection.get_relations(cursor, "backend_child")
    assert relations == {"parent_id": ("id", "backend_parent")}


def test_a_rebuild_adds_a_column_the_model_names_but_the_table_lacks(
    throwaway: ProjectState,
) -> None:
    """Django's schema.tests.SchemaTests.test_autofield_to_o2o: the model still names "id"
    after the column was renamed outside the migration state. Stock SQLite copies the unknown
    "id" as the string 'id'; here it reads NULL, and the rows are numbered afresh."""
    insert_rows()
    model = throwaway.apps.get_model(APP, "Throwaway")
    renamed = models.BigAutoField(primary_key=True)
    renamed.set_attributes_from_name("ptr")
    renamed.model = model
    with connection.schema_editor() as editor:
        editor.alter_field(model, model._meta.get_field("id"), renamed, strict=True)
    origin = models.BigIntegerField(null=True)
    origin.set_attributes_from_name("origin")
    origin.model = model
    with connection.schema_editor() as editor:
        editor.alter_field(model, renamed, origin, strict=True)
    assert {"id", "origin", "title"} <= set(columns())
    assert "ptr" not in columns()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id IS NOT NULL, origin, title FROM "{TABLE}" ORDER BY origin')
        assert cursor.fetchall() == [(1, 1, "one"), (1, 2, "two")]
