"""Feature flags from the engine's own ``sqlite_version()``, not the stdlib sqlite3's."""

from __future__ import annotations

from django.db import DatabaseError
from django.db.backends.sqlite3.features import DatabaseFeatures as SQLiteDatabaseFeatures
from django.utils.functional import cached_property

from . import database as Database


class DatabaseFeatures(SQLiteDatabaseFeatures):
    # The sqlite3 features read the stdlib module's version at import; ours reads the engine's.
    can_alter_table_drop_column = Database.sqlite_version_info >= (3, 35, 5)
    # Parallel test databases would need a file copy of a live WAL database.
    can_clone_databases = False
    # Functions Django registers with create_function() are compiled natively or refused.
    supports_timezones = False

    @cached_property
    def renames_replicate(self) -> bool:
        """Whether RENAME TABLE/COLUMN reach the remote (not through Turso's sync engine)."""
        return self.connection.settings_dict.get("OPTIONS", {}).get("mode") != "offline"

    @cached_property
    def can_return_columns_from_insert(self) -> bool:  # type: ignore[override]
        return self.connection.get_database_version() >= (3, 35)

    @cached_property
    def can_return_rows_from_bulk_insert(self) -> bool:  # type: ignore[override]
        return self.can_return_columns_from_insert

    @cached_property
    def django_test_skips(self) -> dict[str, set[str]]:  # type: ignore[override]
        return {}

    @cached_property
    def supports_vector_distance(self) -> bool:
        """Whether the engine has libSQL's ``vector_distance_cos`` over float32 blobs (libSQL,
        sqld and Turso do; stock SQLite does not), probed once per connection."""
        try:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT vector_distance_cos(x'0000803f', x'0000803f')")
                cursor.fetchone()
        except DatabaseError:
            return False
        return True
