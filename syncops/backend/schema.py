"""Schema changes are the sqlite3 backend's, including its table rebuilds for ALTER."""

from django.db.backends.sqlite3.schema import DatabaseSchemaEditor as SQLiteDatabaseSchemaEditor


class DatabaseSchemaEditor(SQLiteDatabaseSchemaEditor):
    pass
