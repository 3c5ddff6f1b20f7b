"""``migrate`` that also prepares the local syncops database and, in a syncing mode, starts
from the remote's schema and pushes what it creates before it exits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import DEFAULT_DB_ALIAS, connections

from syncops.replica import SyncError, replica_for
from syncops.router import LOCAL_DB
from syncops.runtime import background_sync_paused


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        # No background worker while migrating: this command syncs before and after itself.
        with background_sync_paused():
            self._migrate(*args, **options)

    def _migrate(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        database = options["database"]
        replica = replica_for(connections[database].settings_dict) if database != LOCAL_DB else None
        if replica is not None and replica.syncs:
            self._sync(replica, "Taking the schema the remote already has")
        super().handle(*args, **options)
        if database == DEFAULT_DB_ALIAS and LOCAL_DB in connections:
            local = Path(str(connections[LOCAL_DB].settings_dict["NAME"]))
            local.parent.mkdir(parents=True, exist_ok=True)
            super().handle(*args, **{**options, "database": LOCAL_DB, "verbosity": 0})
        if replica is not None and replica.syncs:
            self._sync(replica, "Pushing the schema to the remote")

    def _sync(self, replica: Any, doing: str) -> None:
        verbose = self.verbosity >= 1
        if verbose:
            self.stdout.write(f"{doing} ({replica.state.remote_url})...")
        try:
            replica.sync()
        except SyncError as exc:
            raise CommandError(
                f"{exc}\nNothing local is lost ({replica.path}); start the remote (or fix "
                "TURSO_DATABASE_URL) and run `manage.py migrate` again."
            ) from exc
        if verbose:
            self.stdout.write(self.style.SUCCESS("  done"))
