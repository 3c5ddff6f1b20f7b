"""Introspection is the sqlite3 backend's: it only runs PRAGMAs and reads sqlite_master."""

from django.db.backends.sqlite3.introspection import (
    DatabaseIntrospection as SQLiteDatabaseIntrospection,
)


class DatabaseIntrospection(SQLiteDatabaseIntrospection):
    pass
