"""Request ids in the logs, and logs as JSON lines.

``RequestIdMiddleware`` gives every request an id: the ``X-Request-ID`` a proxy sent (nginx:
``proxy_set_header X-Request-ID $request_id``) when it looks like one, else a new one; the
response carries it back. ``RequestIdFilter`` puts it on every log record made while the
request runs, and the background worker names the requests whose writes each push carried
(syncops.scheduler), so a write can be followed from its request to the primary.
``JsonFormatter`` writes one JSON object per line (``THOUGHTSPACE_LOG_FORMAT=json``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_GIVEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = "X-Request-ID"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        given = request.headers.get(HEADER, "")
        current = given if _GIVEN.fullmatch(given) else uuid.uuid4().hex
        request.request_id = current  # Django's own request log passes the request along
        token = request_id.set(current)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)  # nothing after the request, on this thread, is its own
        response[HEADER] = current
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the current request's, or None) to every record, and
    ``request_tag`` for text logs (`` [id]``, or nothing outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = (
            getattr(record, "request_id", None)
            or getattr(getattr(record, "request", None), "request_id", None)
            or request_id.get()
        )
        record.request_id = current
        record.request_tag = f" [{current}]" if current else ""
        return True


# What a LogRecord always has: everything else on it was passed in ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_tag",
    "request",  # Django's request log passes the HttpRequest: its id is what says which
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request_id, whatever the
    call passed in ``extra``, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
