"""``manage.py storage [--json] [--prune]``: what this instance keeps on disk, and pruning."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from syncops import runtime
from syncops.control import ask_owner
from syncops.replica import replica_for


def human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} GiB"


class Command(BaseCommand):
    help = (
        "Report the files and sizes this instance keeps (replica, WAL, local syncops file, "
        "quarantined copies, event log, journal, history per space); --prune deletes merged "
        "quarantined copies older than THOUGHTSPACE_QUARANTINE_DAYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="First delete merged quarantined copies past their retention.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        replica = replica_for(connections["default"].settings_dict)
        owned = replica.mode == "offline"  # the server holds the file: ask it
        if options["prune"]:
            answer = ask_owner(replica.path, "prune") if owned else None
            if answer is None:
                deleted = [str(path) for path in runtime.prune(replica)]
            elif not answer.get("ok"):
                raise CommandError(f"The running server could not prune: {answer.get('error')}")
            else:
                deleted = answer["deleted"]
            if not options["json"]:
                noun = "copy" if len(deleted) == 1 else "copies"
                self.stdout.write(f"Deleted {len(deleted)} quarantined {noun}.")
                for path in deleted:
                    self.stdout.write(f"  {path}")
        answer = ask_owner(replica.path, "status") if owned else None
        if answer is not None and not answer.get("ok"):
            raise CommandError(f"The running server could not report: {answer.get('error')}")
        if answer is not None:
            data, source = answer["state"]["storage"], f"server pid {answer.get('pid')}"
        else:
            data, source = runtime.storage_report(replica), "this process"
        if "error" in data:
            raise CommandError(f"Could not measure the storage: {data['error']}")
        data["source"] = source
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        self.write_text(replica.mode, data)

    def write_text(self, mode: str, data: dict[str, Any]) -> None:
        out = self.stdout.write
        out(f"Replica files ({mode} mode), {human(data['replica_bytes'])} in all:")
        for name, size in data["replica_files"].items():
            out(f"  {name:<60} {human(size):>10}")
        out("Local syncops file (sync event log, write journal):")
        for name, size in data["local_files"].items():
            out(f"  {name:<60} {human(size):>10}")
        out(
            f"Quarantined copies, {human(data['quarantine_bytes'])} (merged ones are deleted "
            f"after {data['quarantine_days']:g} days; unmerged ones are kept):"
        )
        for copy in data["quarantine"]:
            state = "merged" if copy["merged"] else "UNMERGED"
            out(
                f"  {copy['path']:<60} {human(copy['bytes']):>10} "
                f"{copy['age_days']:>7.1f} days  {state}"
            )
        out(f"Sync event log rows: {data['sync_events']}")
        journal = ", ".join(f"{k} {v}" for k, v in data["journal"].items()) or "empty"
        out(f"Write journal rows: {journal}")
        for key, groups in data.items():
            if key.endswith("_rows_by_space_id"):
                out(f"{key.split('_rows_by_')[0].capitalize()} rows per space (largest first):")
                for group in groups:
                    out(f"  {group['space_id']}  {group['rows']}")
        if "tombstones" in data:
            out(f"Tombstones: {data['tombstones']}")
        out(f"Read from: {data['source']}")
