"""``/healthz`` and ``/readyz``, for load balancers and orchestrators (no login; counts and
reasons only, never a path or a credential).

- ``/healthz``: the process answers (200). It touches nothing else, so a slow or lost
  database never gets a healthy process restarted.
- ``/readyz``: the process should get traffic: the database answers a query, the replica is
  not being rebuilt (during a recovery reads come from the old copy and writes are refused),
  and the changes not yet on the remote are under ``THOUGHTSPACE_READY_MAX_PENDING``. 200
  when all hold, else 503; the JSON body has every check and, when not ready, why.

A remote that cannot be reached does not make an instance unready by itself: offline and
replica modes keep serving (and writes keep their place in the backlog); the backlog's
bound is what says that it has been too long.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from syncops.replica import replica_for


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks, problems = readiness()
    body = {"ready": not problems, "checks": checks, "problems": problems}
    return JsonResponse(body, status=503 if problems else 200)


def readiness() -> tuple[dict[str, Any], list[str]]:
    """Every check's figures, and what is wrong (empty when ready)."""
    replica = replica_for(connection.settings_dict)
    problems: list[str] = []
    checks: dict[str, Any] = {"mode": replica.state.mode}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = "error"
        problems.append(f"The database does not answer: {type(exc).__name__}.")
    copy = replica.read_copy
    checks["recovering"] = copy is not None
    if copy is not None:
        problems.append(
            "The replica is being rebuilt (a recovery): reads answer from the old copy and "
            "writes are refused until it is done."
        )
    try:
        pending = replica.pending_changes()
    except Exception:  # the files cannot be opened: the database check says so already
        pending = replica.state.pending_changes
    limit = settings.THOUGHTSPACE_READY_MAX_PENDING
    state = replica.state
    checks.update(
        pending_changes=pending,
        max_pending=limit,
        sync_status=state.status,
        consecutive_failures=state.consecutive_failures,
        last_push_at=state.last_push_at,
        last_pull_at=state.last_pull_at,
    )
    if pending > limit:
        problems.append(
            f"{pending} changes are not on the remote yet (more than "
            f"THOUGHTSPACE_READY_MAX_PENDING={limit}): the last sync error was "
            f"{state.last_error or 'none'}."
        )
    return checks, problems
