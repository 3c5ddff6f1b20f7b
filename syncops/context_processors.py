"""Puts this process's sync state in every page, for the header badge."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest

from syncops.replica import replica_for


def sync_state(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"sync": replica_for(connection.settings_dict).state.as_dict()}
