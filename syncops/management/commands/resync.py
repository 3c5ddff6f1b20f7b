"""``manage.py resync [--dry-run] [--prefer remote|local]``: the automatic recovery, on demand.

The local files are moved into ``var/quarantine/<time>/`` (never deleted), the replica is
rebuilt from the remote, and what only the old copy held is put back (syncops.recovery). The
background worker does the same by itself when it finds the remote reset or replaced. A copy
an interrupted recovery left (its folder marked ``UNMERGED``) is merged instead of moving the
files again. Works in both syncing modes, only while no server owns the files
(syncops.owner); ``--dry-run`` reads copies of the files and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from syncops import epoch, owner, quarantine, recovery, remote, snapshot
from syncops.replica import Replica, replica_for

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
        parser.add_argument("--prefer", choices=recovery.PREFERENCES, help=PREFER_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        replica = replica_for(connections["default"].settings_dict)
        if not replica.syncs:
            raise CommandError(f"resync needs a syncing mode; this one is {replica.mode!r}.")
        lock = None
        try:
            if options["dry_run"]:
                owner.check_unowned(replica.path)
            else:
                lock = owner.claim(replica.path, role="manage.py resync")
        except owner.OwnedElsewhere as exc:
            raise CommandError(f"{exc}\nNothing was changed.") from exc
        try:
            self._resync(replica, dry_run=options["dry_run"], prefer=options["prefer"])
        finally:
            if lock is not None:
                lock.release()

    def _resync(self, replica: Replica, *, dry_run: bool, prefer: str | None) -> None:
        step = self._steps(dry_run=dry_run)
        step("Comparing the local replica with the remote")
        local = snapshot.read_counts(Path(replica.path))
        self.stdout.write(f"  local: {local.describe()}")
        unmerged = quarantine.unmerged_folders(replica.path)
        copies = [snapshot.read_counts(folder / Path(replica.path).name) for folder in unmerged]
        for copy in copies:
            self.stdout.write(
                f"  an interrupted recovery left {copy.path.parent} ({quarantine.UNMERGED}): "
                f"{copy.describe()}"
            )
        try:
            theirs = self._remote_counts(replica)
        except remote.RemoteError as exc:
            raise CommandError(
                f"The remote {replica.state.remote_url} cannot be reached: {exc}\nNothing was "
                "changed. Bring it back (or fix TURSO_DATABASE_URL) and run resync again."
            ) from exc
        self._compare(local.counts, theirs)
        files = quarantine.replica_files(replica.path)
        self.stdout.write("  local files: " + (", ".join(p.name for p in files) or "none"))
        self.stdout.write("Plan: " + self._plan(replica, unmerged, theirs, prefer) + ".")
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was changed."))
            return
        if unmerged:
            step("Merging what the interrupted recovery moved to quarantine")
        else:
            step("Rebuilding (the old files go to quarantine, never deleted)")
        try:
            report = recovery.recover(
                replica, reason="Asked for by manage.py resync.", prefer=prefer
            )
        except Exception as exc:
            raise CommandError(
                f"Resync failed: {exc}\nRun `manage.py resync --dry-run` to see where things "
                "stand, and `manage.py resync` again once the cause is fixed."
            ) from exc
        self.stdout.write(f"  {report.summary()}")
        for table, rows in sorted(report.restored.items()):
            self.stdout.write(f"  put back {rows:>8} row(s) in {table}")
        step("Comparing row counts (old → rebuilt)")
        before = local.counts
        for copy in copies:  # an interrupted recovery's copy was the local file before it
            before = {t: max(before.get(t, 0), n) for t, n in {**before, **copy.counts}.items()}
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

    def _plan(
        self, replica: Replica, unmerged: list[Path], theirs: dict[str, int], prefer: str | None
    ) -> str:
        keep = f"put back the rows only the old copy holds (prefer {prefer or 'remote'}), push"
        if unmerged:
            return (
                "merge the copies in " + ", ".join(str(folder) for folder in unmerged) + " into "
                f"the current file ({keep}); no file is moved again"
            )
        folder = Path(replica.path).parent / "quarantine"
        rebuild = "reseed the empty remote from them" if not theirs else "rebuild from the remote"
        return f"move the files above to {folder}/<time>/, {rebuild}, {keep}"

    def _remote_counts(self, replica: Replica) -> dict[str, int]:
        """Rows per table on the remote (over HTTP: the local file is not opened)."""
        url, token = replica.url or "", replica.token
        listed = remote.query(url, token, "SELECT name FROM sqlite_master WHERE type = 'table'")
        counts = {}
        for (table,) in listed:
            if not str(table).startswith(recovery.INTERNAL_PREFIXES):
                counts[str(table)] = remote.query(url, token, f'SELECT COUNT(*) FROM "{table}"')[0][
                    0
                ]
        self.stdout.write(f"  remote epoch: {epoch.remote(url, token) or 'none (empty or reset)'}")
        return counts

    def _compare(self, local: dict[str, int], theirs: dict[str, int]) -> None:
        self.stdout.write(f"  {'table':<40} {'local':>8}   remote")
        for table in sorted(set(local) | set(theirs)):
            here, there = local.get(table), theirs.get(table)
            shown_here = "missing" if here is None else str(here)
            shown = "missing" if there is None else str(there)
            self.stdout.write(f"  {table:<40} {shown_here:>8}   {shown}")
        self.stdout.write(
            f"  {sum(local.values())} local row(s); {sum(theirs.values())} on the remote"
        )

    def _steps(self, *, dry_run: bool) -> Any:
        counter = iter(range(1, 100))

        def step(text: str) -> None:
            self.stdout.write(f"[{next(counter)}] {text}{' (dry run)' if dry_run else ''}...")

        return step
