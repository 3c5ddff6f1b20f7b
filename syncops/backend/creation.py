"""Test databases are files: the driver cannot share one in-memory database between connections."""

from __future__ import annotations

from pathlib import Path

from django.db import NotSupportedError
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteDatabaseCreation


class DatabaseCreation(SQLiteDatabaseCreation):
    def _get_test_db_name(self) -> str:
        test_name = self.connection.settings_dict["TEST"]["NAME"]
        if test_name and test_name != ":memory:":
            return str(test_name)
        # Beside the real database, so tests exercise the same file system and WAL mode.
        name = Path(str(self.connection.settings_dict["NAME"]))
        return str(name.with_name(f"test_{name.name}"))

    def _create_test_db(self, verbosity: int, autoclobber: bool, keepdb: bool = False) -> str:
        name = super()._create_test_db(verbosity, autoclobber, keepdb)  # type: ignore[misc]
        if not keepdb:
            for suffix in ("-wal", "-shm", "-info"):
                Path(name + suffix).unlink(missing_ok=True)
        return name

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        for suffix in ("", "-wal", "-shm", "-info"):
            Path(test_database_name + suffix).unlink(missing_ok=True)

    def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = False) -> None:
        raise NotSupportedError(
            "Cloning libSQL test databases is not supported; run tests serially."
        )
