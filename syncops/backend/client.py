"""``manage.py dbshell``: a local libSQL file is an SQLite file, so the sqlite3 shell opens it."""

from django.db.backends.sqlite3.client import DatabaseClient as SQLiteDatabaseClient


class DatabaseClient(SQLiteDatabaseClient):
    executable_name = "sqlite3"
