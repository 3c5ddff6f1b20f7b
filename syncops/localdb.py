"""The local ``syncops`` file: this instance's sync bookkeeping (event log, write journal),
never replicated (see syncops.models)."""

from __future__ import annotations

from pathlib import Path

from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from syncops.router import LOCAL_DB


def prepare_local_database() -> None:
    """Create the syncops bookkeeping tables (a local file of this instance) if missing."""
    Path(str(connections[LOCAL_DB].settings_dict["NAME"])).parent.mkdir(parents=True, exist_ok=True)
    executor = MigrationExecutor(connections[LOCAL_DB])
    targets = executor.loader.graph.leaf_nodes("syncops")
    if executor.migration_plan(targets):
        executor.migrate(targets)
