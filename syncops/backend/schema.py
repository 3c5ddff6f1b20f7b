"""Schema changes are the sqlite3 backend's, including its table rebuilds for ALTER.

In offline mode the Turso engine and its sync differ from SQLite in ways that lose schema:
the sync engine drops table and column renames on their way to the remote (a pushed
``ALTER TABLE ... RENAME`` left the remote with the old name), and ``ADD COLUMN ... NULL
REFERENCES`` made a NOT NULL column. There every change is a table rebuild from Django's
own CREATE TABLE, and a rename is done as create, copy and drop, which replicate.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.backends.sqlite3.schema import DatabaseSchemaEditor as SQLiteDatabaseSchemaEditor


def _renames_replicate(connection: Any) -> bool:
    return bool(connection.features.renames_replicate)


class DatabaseSchemaEditor(SQLiteDatabaseSchemaEditor):
    def alter_db_table(self, model: Any, old_db_table: str, new_db_table: str) -> None:
        if not _renames_replicate(self.connection) and old_db_table != new_db_table:
            self._copy_table(old_db_table, new_db_table)
            for sql in self.deferred_sql:
                if hasattr(sql, "rename_table_references"):
                    sql.rename_table_references(old_db_table, new_db_table)
            return
        super().alter_db_table(model, old_db_table, new_db_table)

    def add_field(self, model: Any, field: Any) -> None:
        if not _renames_replicate(self.connection) and not field.many_to_many:
            # Turso's ALTER TABLE ADD COLUMN loses "NULL" before REFERENCES (the column came
            # out NOT NULL); a rebuild creates the table from Django's own SQL instead.
            self._remake_table(  # type: ignore[attr-defined]
                model, create_field=field
            )
            return
        super().add_field(model, field)

    def _alter_field(
        self, model: Any, old_field: Any, new_field: Any, *args: Any, **kwargs: Any
    ) -> None:
        if not _renames_replicate(self.connection) and old_field.column != new_field.column:
            # Not "ALTER TABLE ... RENAME COLUMN": rebuild the table with the new column name.
            self._remake_table(  # type: ignore[attr-defined]
                model, alter_fields=[(old_field, new_field)]
            )
            return
        super()._alter_field(model, old_field, new_field, *args, **kwargs)  # type: ignore[misc]

    def _remake_table(
        self,
        model: Any,
        create_field: Any = None,
        delete_field: Any = None,
        alter_fields: Any = None,
    ) -> None:
        """Rebuild ``model``'s table as the model describes it.

        The rebuild copies each column the model names. Where the table lacks one (a field
        renamed outside the migration state), stock SQLite reads the unknown "name" as the
        string 'name' and copies that into every row; libSQL and Turso refuse the copy. The
        column is added empty first, so the copy reads NULL from it: an integer primary key
        numbers the rows afresh, and a NOT NULL column stops the rebuild with the engine's
        error rather than with made-up values.
        """
        if not self.collect_sql:  # sqlmigrate prints SQL for tables that may not exist
            self._add_missing_columns(
                model, [create_field, delete_field, *(old for old, _ in alter_fields or ())]
            )
        super()._remake_table(model, create_field, delete_field, alter_fields)  # type: ignore[misc]

    def _add_missing_columns(self, model: Any, changed: list[Any]) -> None:
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            described = self.connection.introspection.get_table_description(cursor, table)
        present = {column.name for column in described}
        for field in model._meta.local_concrete_fields:
            if field.column not in present and field not in changed and not field.generated:
                column = self.quote_name(field.column)
                self.execute(f"ALTER TABLE {self.quote_name(table)} ADD COLUMN {column}")

    def _copy_table(self, old: str, new: str) -> None:
        """Rename ``old`` to ``new`` without RENAME: create ``new`` like ``old``, copy, drop."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [old]
            )
            (create_sql,) = cursor.fetchone()
        quoted_old, quoted_new = self.quote_name(old), self.quote_name(new)
        # The table's own name, and self-references to it, become the new name.
        create_sql = re.sub(
            rf'(?i)^\s*CREATE\s+TABLE\s+("{re.escape(old)}"|{re.escape(old)})',
            f"CREATE TABLE {quoted_new}",
            create_sql,
        ).replace(f"REFERENCES {quoted_old}", f"REFERENCES {quoted_new}")
        self.execute(create_sql)
        self.execute(f"INSERT INTO {quoted_new} SELECT * FROM {quoted_old}")
        self.execute(f"DROP TABLE {quoted_old}")
