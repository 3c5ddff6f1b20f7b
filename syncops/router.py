"""Routes syncops' own bookkeeping to the local "syncops" database, everything else to default."""

from __future__ import annotations

from typing import Any

LOCAL_APP = "syncops"
LOCAL_DB = "syncops"


class SyncopsRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return LOCAL_DB if model._meta.app_label == LOCAL_APP else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return LOCAL_DB if model._meta.app_label == LOCAL_APP else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return (app_label == LOCAL_APP) == (db == LOCAL_DB)
