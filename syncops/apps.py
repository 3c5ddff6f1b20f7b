from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SyncopsConfig(AppConfig):
    name = "syncops"
    verbose_name = "Storage and sync"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks

        post_migrate.connect(_ensure_epoch, dispatch_uid="syncops.ensure_epoch")


def _ensure_epoch(using: str = "default", **kwargs: Any) -> None:
    """Every migrated database names its copy of the data (syncops.epoch)."""
    from django.db import connections

    from syncops import epoch
    from syncops.router import LOCAL_DB

    if using == LOCAL_DB:
        return
    with connections[using].cursor() as cursor:
        epoch.ensure(cursor)
