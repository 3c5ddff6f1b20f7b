"""Read-only SQL on the remote over HTTP (the Hrana ``/v2/pipeline`` endpoint that both sqld
and ``tursodb --sync-server`` serve), for checks that must not go through the replica."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class RemoteError(Exception):
    """The remote could not be asked (network, HTTP status, or an unexpected answer)."""


class NoSuchTable(RemoteError):
    """The remote has no such table (it was reset, or never migrated)."""


def _value(cell: dict[str, Any]) -> Any:
    kind, value = cell.get("type"), cell.get("value")
    if kind == "integer":
        return int(value)  # type: ignore[arg-type]
    if kind == "float":
        return float(value)  # type: ignore[arg-type]
    return None if kind == "null" else value


def query(url: str, token: str, sql: str, *, timeout: float = 5.0) -> list[list[Any]]:
    """The rows of one read-only statement on the remote."""
    body = json.dumps({"requests": [{"type": "execute", "stmt": {"sql": sql}}]}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url.rstrip("/") + "/v2/pipeline", data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:  # timeouts are OSErrors
        raise RemoteError(f"could not query the remote: {exc}") from exc
    try:
        result = answer["results"][0]
        if result["type"] == "error":
            message = str(result["error"].get("message", ""))
            if "no such table" in message:
                raise NoSuchTable(message)
            raise RemoteError(f"the remote refused {sql!r}: {message}")
        rows = result["response"]["result"]["rows"]
    except (KeyError, IndexError, TypeError) as exc:
        raise RemoteError(f"unexpected answer from the remote: {str(answer)[:200]}") from exc
    return [[_value(cell) for cell in row] for row in rows]
