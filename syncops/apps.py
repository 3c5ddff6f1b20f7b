from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SyncopsConfig(AppConfig):
    name = "syncops"
    verbose_name = "Storage and sync"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the system checks
            policies,
            reconcile,
        )
        from .signals import pulled

        post_migrate.connect(_ensure_epoch, dispatch_uid="syncops.ensure_epoch")
        # After each pull: decide what became of the journaled local writes.
        pulled.connect(reconcile.on_pulled, dispatch_uid="syncops.reconcile.on_pulled")
        # Django's own tables: a lost row is written again (ids never collide: syncops.ids).
        for table in DJANGO_TABLES:
            policies.register(table, reconcile.replay_row, default=True)
        policies.register("syncops_epoch", reconcile.derived, journal=False)
        # Written by triggers, again when a delete is replayed: nothing to journal.
        policies.register("syncops_tombstone", reconcile.derived, journal=False)


# The tables of django.contrib apps and of migrate: rows replayed like any other.
DJANGO_TABLES = (
    "auth_group",
    "auth_group_permissions",
    "auth_permission",
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "django_admin_log",
    "django_content_type",
    "django_migrations",
    "django_session",
)


def _ensure_epoch(using: str = "default", **kwargs: Any) -> None:
    """Every migrated database names its copy of the data (syncops.epoch) and records its
    deletes (syncops.tombstones)."""
    from django.db import connections

    from syncops import epoch, tombstones
    from syncops.router import LOCAL_DB

    if using == LOCAL_DB:
        return
    connection = connections[using]
    replica = getattr(connection, "replica", None)  # None: not a syncops database
    file_triggers = replica is None or replica.keeps_triggers
    with connection.cursor() as cursor:
        epoch.ensure(cursor)
        existing = set(connection.introspection.table_names(cursor))
        tombstones.ensure(cursor.execute, existing, triggers_too=file_triggers)
    if replica is not None:
        replica.schema_changed()
