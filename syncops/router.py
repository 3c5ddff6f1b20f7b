"""Routes syncops' own bookkeeping (and django-axes' login attempts, which belong to this
instance alone) to the local "syncops" database, never replicated; everything else to
default."""

from __future__ import annotations

from typing import Any

LOCAL_APP = "syncops"
LOCAL_APPS = (LOCAL_APP, "axes")
LOCAL_DB = "syncops"


class SyncopsRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return LOCAL_DB if model._meta.app_label in LOCAL_APPS else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return LOCAL_DB if model._meta.app_label in LOCAL_APPS else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return (app_label in LOCAL_APPS) == (db == LOCAL_DB)
