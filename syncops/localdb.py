"""The local ``syncops`` file: this instance's sync bookkeeping (event log, write journal) and
login attempts, never replicated (see syncops.models and syncops.router)."""

from __future__ import annotations

from pathlib import Path

from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from syncops.router import LOCAL_APPS, LOCAL_DB


def prepare_local_database() -> None:
    """Create the local tables (a file of this instance) if missing."""
    Path(str(connections[LOCAL_DB].settings_dict["NAME"])).parent.mkdir(parents=True, exist_ok=True)
    executor = MigrationExecutor(connections[LOCAL_DB])
    targets = [leaf for app in LOCAL_APPS for leaf in executor.loader.graph.leaf_nodes(app)]
    if executor.migration_plan(targets):
        executor.migrate(targets)
