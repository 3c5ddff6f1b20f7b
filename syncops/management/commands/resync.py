"""``manage.py resync [--dry-run]``: rebuild the local replica from the remote, safely.

The local files are moved into ``var/quarantine/<time>/`` (never deleted), the replica is
rebuilt from the remote, and the row counts are compared with the old copy.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from syncops import recovery
from syncops.control import ask_owner
from syncops.replica import SyncError, forget_replica, replica_for


def table_counts(alias: str = "default") -> dict[str, int]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


class Command(BaseCommand):
    help = "Rebuild the local replica from the remote; old files go to var/quarantine/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Print the plan only.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Rebuild even when local changes cannot be pushed (they stay in quarantine).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections["default"]
        replica = replica_for(connection.settings_dict)
        if not replica.syncs:
            raise CommandError(f"resync needs a syncing mode; this one is {replica.mode!r}.")
        owner = ask_owner(replica.path, "status")
        if owner is not None:
            raise CommandError(
                f"The server (pid {owner.get('pid')}) owns {replica.path}: stop it first, then "
                "run `manage.py resync` again. Use `manage.py sync` while it runs."
            )
        step = self._steps(dry_run=options["dry_run"])
        step("Reading the local replica")
        before = table_counts()
        pending = replica.pending_changes()
        files = recovery.replica_files(replica.path)
        self.stdout.write(
            f"  {sum(before.values())} rows in {len(before)} tables; "
            f"{pending} local change(s) not on the remote"
        )
        self.stdout.write("  files: " + ", ".join(path.name for path in files))
        if options["dry_run"]:
            self.stdout.write(
                "Plan: push local changes, move the files above to var/quarantine/<time>/, "
                "rebuild from the remote, compare row counts."
            )
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was changed."))
            return
        step("Pushing local changes first")
        try:
            replica.sync()
        except SyncError as exc:
            if pending and not options["force"]:
                raise CommandError(
                    f"{exc}\n{pending} local change(s) could not be pushed; nothing was moved. "
                    "Bring the remote back and retry, or pass --force to rebuild anyway (the "
                    "old files, with those changes, are kept in var/quarantine/)."
                ) from exc
            self.stdout.write(self.style.WARNING(f"  {exc}"))
        connection.close()
        replica.close()
        forget_replica(replica)
        step("Moving the local files into quarantine")
        folder = recovery.quarantine(replica.path, reason="manage.py resync")
        self.stdout.write(f"  {folder}")
        step("Rebuilding from the remote")
        try:
            fresh = replica_for(connection.settings_dict)
            fresh.sync()
            after = table_counts()
        except Exception as exc:
            raise CommandError(
                f"Rebuilding from the remote failed: {exc}\nThe old files are intact in {folder}; "
                "move them back to restore the previous state."
            ) from exc
        step("Comparing row counts (old → rebuilt)")
        short = False
        for table in sorted(set(before) | set(after)):
            old, new = before.get(table, 0), after.get(table, 0)
            mark = "" if new >= old else "  ← fewer rows; the old copy is in quarantine"
            short = short or new < old
            self.stdout.write(f"  {table:<40} {old:>8} → {new:<8}{mark}")
        message = f"Rebuilt {replica.path} from {fresh.state.remote_url}; old files in {folder}."
        self.stdout.write(self.style.WARNING(message) if short else self.style.SUCCESS(message))

    def _steps(self, *, dry_run: bool) -> Any:
        counter = iter(range(1, 100))

        def step(text: str) -> None:
            self.stdout.write(f"[{next(counter)}] {text}{' (dry run)' if dry_run else ''}...")

        return step
