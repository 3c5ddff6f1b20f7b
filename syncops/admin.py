"""The sync event log in the admin: read-only, newest first."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from syncops.models import SyncEvent


@admin.register(SyncEvent)
class SyncEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "ok", "duration_ms", "message", "pid"]
    list_filter = ["kind", "ok"]
    search_fields = ["message"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
