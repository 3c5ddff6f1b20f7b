"""``manage.py sync_status [--json]``: the storage mode and sync state, as a table or JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from syncops import runtime
from syncops.control import ask_owner
from syncops.replica import replica_for

FIELDS = [
    ("mode", "Mode"),
    ("remote_url", "Remote"),
    ("status", "Status"),
    ("last_push_at", "Last push"),
    ("last_push_ms", "Push took (ms)"),
    ("last_pull_at", "Last pull"),
    ("last_pull_ms", "Pull took (ms)"),
    ("pending_changes", "Pending local changes"),
    ("revision", "Revision"),
    ("last_error", "Last error"),
    ("last_error_at", "Last error at"),
    ("last_checkpoint_at", "Last checkpoint"),
]


class Command(BaseCommand):
    help = "Show the storage mode and sync state (ask the running server when it owns the file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        replica = replica_for(connections["default"].settings_dict)
        answer = ask_owner(replica.path, "status") if replica.mode == "offline" else None
        if answer is not None and not answer.get("ok"):
            raise CommandError(f"The running server could not report: {answer.get('error')}")
        if answer is not None:
            state, source = answer["state"], f"server pid {answer.get('pid')}"
        else:
            if replica.syncs:
                connections["default"].ensure_connection()  # opens the replica here
            replica.pending_changes()
            state = {**replica.state.as_dict(), "storage": runtime.storage_report(replica)}
            source = "this process"
        state["source"] = source
        if options["json"]:
            self.stdout.write(json.dumps(state, indent=2, default=str))
            return
        width = max(len(label) for _, label in FIELDS)
        for key, label in [*FIELDS, ("source", "Read from")]:
            value = state.get(key)
            self.stdout.write(f"{label:<{width}}  {'-' if value in (None, '') else value}")
