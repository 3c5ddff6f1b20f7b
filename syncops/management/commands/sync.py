"""``manage.py sync``: push local changes and pull remote ones now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from syncops import runtime
from syncops.control import ask_owner
from syncops.replica import replica_for


class Command(BaseCommand):
    help = "Push local changes to the remote and pull its changes now."

    def handle(self, *args: Any, **options: Any) -> None:
        replica = replica_for(connections["default"].settings_dict)
        if not replica.syncs:
            self.stdout.write(f"Nothing to sync: the storage mode is {replica.mode!r}.")
            return
        result = ask_owner(replica.path, "sync") if replica.mode == "offline" else None
        where = "by the running server" if result is not None else "in this process"
        if result is None:
            result = runtime.run_sync(replica, "sync")
        if not result.get("ok"):
            later = (
                "the server pushes them once the remote answers"
                if where.startswith("by")
                else "the server pushes them when it runs, or run `manage.py sync` again"
            )
            raise CommandError(
                f"Sync failed ({where}): {result.get('error')}\nLocal changes are kept and "
                f"{later}; check TURSO_DATABASE_URL and that the remote is up."
            )
        state = result.get("state", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"Synced {where} in {result.get('duration_ms')} ms: "
                f"{state.get('pending_changes', 0)} local change(s) pending, "
                f"revision {state.get('revision') or '-'}."
            )
        )
