"""System checks (``manage.py check``) for the database backend and its file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections

MINIMUM_ENGINE_VERSION = (3, 35)


@register(Tags.database)
def check_database_file(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The database directory is (or can be made) writable, and the engine is new enough."""
    problems: list[CheckMessage] = []
    for alias in kwargs.get("databases") or []:
        connection = connections[alias]
        if connection.vendor != "sqlite" or connection.settings_dict["ENGINE"] != "syncops.backend":
            continue
        path = Path(str(connection.settings_dict["NAME"]))
        # The directory is made on first use: what matters is that it can be.
        directory = next(folder for folder in path.absolute().parents if folder.exists())
        if not os.access(directory, os.W_OK):
            problems.append(
                Error(
                    f"The database directory {directory} is not writable.",
                    hint="Fix its permissions or point THOUGHTSPACE_DB_PATH elsewhere.",
                    id="syncops.E001",
                )
            )
            continue
        try:
            version = connection.get_database_version()
        except Exception as exc:
            problems.append(
                Error(
                    f"Cannot open the database {path}: {exc}",
                    hint="Check THOUGHTSPACE_DB_PATH; the file must be a libSQL/SQLite database.",
                    id="syncops.E002",
                )
            )
            continue
        if version < MINIMUM_ENGINE_VERSION:
            problems.append(
                Error(
                    f"libSQL engine {'.'.join(map(str, version))} is older than "
                    f"{'.'.join(map(str, MINIMUM_ENGINE_VERSION))}.",
                    hint="Upgrade libsql-experimental.",
                    id="syncops.E003",
                )
            )
    return problems


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DATABASES["default"]["ENGINE"] != "syncops.backend":
        return [
            Warning(
                "The default database does not use syncops.backend.",
                hint="ThoughtSpace's sync and recovery only work on ENGINE='syncops.backend'.",
                id="syncops.W002",
            )
        ]
    return []


@register()
def check_reconciliation_policies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every replicated table says how a write lost to another replica is reconciled, and no
    replicated table gets ids that two replicas could both assign."""
    from syncops.policies import policy_for, replicated_tables

    problems: list[CheckMessage] = [
        Error(
            f"The replicated table {table} has no reconciliation policy: a write to it that "
            "another replica overwrites or drops would be lost without a trace.",
            hint="Declare one in its app's ready() with syncops.policies.register(): "
            "replay_row, derived, or a policy of its own.",
            id="syncops.E010",
        )
        for table in replicated_tables()
        if policy_for(table) is None
    ]
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if options.get("mode") in ("replica", "offline") and not options.get("replica_safe_ids", True):
        problems.append(
            Error(
                "replica_safe_ids is off for a syncing database: auto-increment keys (users, "
                "groups, the admin log) would be assigned alike by two replicas.",
                hint="Remove OPTIONS['replica_safe_ids'] from DATABASES['default'].",
                id="syncops.E011",
            )
        )
    return problems
