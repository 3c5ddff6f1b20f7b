"""Errors the domain raises; the API maps each to its HTTP status in one handler."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("spaces")


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the input field at fault, when there is one


class InvalidInput(ServiceError):
    status = 422


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class PreconditionFailed(ServiceError):
    status = 412


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def not_applied(request: Any, exc: Exception) -> None:
    """Mark ``request`` for ``DatabaseUnavailableMiddleware`` to run once more when ``exc``
    is a write the primary rolled back whole (nothing of it applied: safe to try again)."""
    if getattr(exc.__cause__, "safe_to_retry", False):
        request.write_not_applied = True


def unavailable_answer(exc: Exception) -> tuple[str, int]:
    """The message and ``Retry-After`` seconds of a 503 for a database error.

    The database's own refusals (its primary unreachable, its files being rebuilt, busy)
    carry a message meant for people and a delay; any other driver error is logged and never
    shown: its text describes the engine, not what to do."""
    retry_after = getattr(exc.__cause__, "retry_after", None)
    if isinstance(retry_after, int):
        return str(exc), retry_after
    logger.error("Database error, answered 503: %s", exc, exc_info=exc)
    return "The database could not answer this request; retry in a few seconds.", 5
