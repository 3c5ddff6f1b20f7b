"""``manage.py resync [--dry-run] [--prefer remote|local]``: the automatic recovery, on demand.

The local files are moved into ``var/quarantine/<time>/`` (never deleted), the replica is
rebuilt from the remote, and what only the old copy held is put back (syncops.recovery). The
background worker does the same by itself when it finds the remote reset or replaced.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from syncops import epoch, recovery, remote
from syncops.control import ask_owner
from syncops.replica import SyncError, replica_for

PREFER_HELP = (
    "When both sides hold a row: keep the remote's version (remote, the default; rows only "
    "the local copy has are still put back) or write the local copy's over it (local)."
)


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
    help = "Rebuild the local replica from the remote, keeping what only it held."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Compare and plan only.")
        parser.add_argument(
            "--prefer", choices=recovery.PREFERENCES, default="remote", help=PREFER_HELP
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
                "run `manage.py resync` again. (It recovers by itself when the remote is reset "
                "or replaced; `manage.py sync_status` shows what it did.)"
            )
        step = self._steps(dry_run=options["dry_run"])
        step("Comparing the local replica with the remote")
        before = table_counts()
        try:
            theirs = self._remote_counts(replica, before)
        except remote.RemoteError as exc:
            raise CommandError(
                f"The remote {replica.state.remote_url} cannot be reached: {exc}\nNothing was "
                "changed. Bring it back (or fix TURSO_DATABASE_URL) and run resync again."
            ) from exc
        self._compare(before, theirs)
        files = recovery.replica_files(replica.path)
        self.stdout.write("  local files: " + ", ".join(path.name for path in files))
        if options["dry_run"]:
            empty = not any(theirs.values()) and not set(theirs) & set(before)
            self.stdout.write(
                "Plan: move the files above to var/quarantine/<time>/, "
                + ("reseed the empty remote from them" if empty else "rebuild from the remote")
                + f", put back the rows only the local copy holds (prefer {options['prefer']}), "
                "push."
            )
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was changed."))
            return
        connection.close()
        step("Rebuilding (the old files go to quarantine, never deleted)")
        try:
            report = recovery.recover(replica, reason="manage.py resync", prefer=options["prefer"])
        except SyncError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"  {report.summary()}")
        for table, rows in sorted(report.restored.items()):
            self.stdout.write(f"  put back {rows:>8} row(s) in {table}")
        step("Comparing row counts (old → rebuilt)")
        after = table_counts()
        short = False
        for table in sorted(set(before) | set(after)):
            old, new = before.get(table, 0), after.get(table, 0)
            mark = "" if new >= old else "  ← fewer rows; the old copy is in quarantine"
            short = short or new < old
            self.stdout.write(f"  {table:<40} {old:>8} → {new:<8}{mark}")
        message = (
            f"Rebuilt {replica.path} from {replica.state.remote_url}; old files in {report.folder}."
        )
        if not report.pushed:
            message += f" Not pushed yet ({report.push_error}); the next sync pushes it."
        self.stdout.write(self.style.WARNING(message) if short else self.style.SUCCESS(message))

    def _remote_counts(self, replica: Any, tables: dict[str, int]) -> dict[str, int]:
        counts = {}
        for table in tables:
            try:
                counts[table] = remote.query(
                    replica.url, replica.token, f'SELECT COUNT(*) FROM "{table}"'
                )[0][0]
            except remote.NoSuchTable:
                continue
        self.stdout.write(
            f"  remote epoch: {epoch.remote(replica.url, replica.token) or 'none (empty or reset)'}"
        )
        return counts

    def _compare(self, local: dict[str, int], theirs: dict[str, int]) -> None:
        self.stdout.write(f"  {'table':<40} {'local':>8}   remote")
        for table in sorted(local):
            there = theirs.get(table)
            shown = "missing" if there is None else str(there)
            self.stdout.write(f"  {table:<40} {local[table]:>8}   {shown}")
        self.stdout.write(
            f"  {sum(local.values())} local row(s); {sum(theirs.values())} on the remote"
        )

    def _steps(self, *, dry_run: bool) -> Any:
        counter = iter(range(1, 100))

        def step(text: str) -> None:
            self.stdout.write(f"[{next(counter)}] {text}{' (dry run)' if dry_run else ''}...")

        return step
