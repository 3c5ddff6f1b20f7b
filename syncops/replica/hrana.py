"""A transaction's writes to a libSQL primary in one HTTP request: Hrana's pipeline protocol
(``POST /v3/pipeline``, JSON), which sqld and Turso serve on the URL replicas sync from.

libsql-experimental forwards each statement of a transaction to the primary on its own (two
requests each) and has no timeouts. This client sends a whole batch at once, on one kept-alive
connection, with a connect and a read timeout.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import urllib3

from syncops.replica.base import RemoteUnavailable

CONNECT_TIMEOUT = 1.0  # seconds to reach the primary
READ_TIMEOUT = 2.0  # seconds for its answer to a batch, plus STEP_TIMEOUT for each step
STEP_TIMEOUT = 0.002


class PrimaryUnreachable(RemoteUnavailable):
    """The batch never reached the primary: nothing of it was applied."""


class PrimaryTimedOut(RemoteUnavailable):
    """The batch was sent and the primary did not answer in time: whether it applied the
    batch is not known until the replica syncs again."""


@dataclass
class Step:
    """One statement of a batch; ``guard`` is the row count it must change on the primary
    (what it changed on the local replica), or None for no check."""

    sql: str
    args: tuple[Any, ...] = ()
    guard: int | None = None


@dataclass
class BatchResult:
    """Where a batch stopped: ``failed`` is the index of the first step (in the list given to
    ``run_transaction``) that failed or whose guard did not hold, None when it committed."""

    committed: bool
    failed: int | None = None
    guard_failed: bool = False
    message: str = ""
    code: str = ""
    row_counts: list[int | None] = field(default_factory=list)


def http_url(url: str) -> str:
    """The HTTP base URL of a libSQL URL (``libsql://`` is HTTPS, as Turso serves it)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"{url!r} is not a URL")
    scheme = {"libsql": "https", "wss": "https", "ws": "http"}.get(scheme, scheme)
    return f"{scheme}://{rest.split('?', 1)[0].rstrip('/')}"


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Hrana value (integers travel as strings: 64 bits, losslessly)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        return {"type": "integer", "value": str(int(value))}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot send a {type(value).__name__} to the primary")


# A statement that fails unless the previous one changed the given number of rows: json()
# of text that is not JSON raises, and the argument depends on changes(), so the call is never
# evaluated ahead of time.
GUARD_SQL = (
    "SELECT json(CASE WHEN changes() = ? THEN '1' "
    "ELSE 'the row count differs from the replica''s' END)"
)


class HranaClient:
    """Batches to one primary over one kept-alive HTTP connection (used under a lock)."""

    def __init__(self, url: str, token: str = "") -> None:
        self.base = http_url(url)
        self.token = token
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=1,
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0),
        )
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent (benchmarks and tests count them)

    def pipeline(self, requests: list[dict[str, Any]], *, read_timeout: float) -> list[Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"baton": None, "requests": requests}).encode()
        with self._lock:
            self.requests += 1
            try:
                response = self._pool.request(
                    "POST",
                    f"{self.base}/v3/pipeline",
                    body=body,
                    headers=headers,
                    timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout),
                )
            except urllib3.exceptions.ConnectTimeoutError as exc:
                raise PrimaryUnreachable(self._unreachable(exc)) from exc
            except urllib3.exceptions.MaxRetryError as exc:
                reason = exc.reason
                if isinstance(
                    reason,
                    urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError,
                ):
                    raise PrimaryUnreachable(self._unreachable(reason)) from exc
                raise PrimaryTimedOut(self._in_doubt(reason or exc)) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise PrimaryTimedOut(self._in_doubt(exc)) from exc
        if response.status != 200:
            text = response.data.decode(errors="replace")[:300]
            raise PrimaryUnreachable(
                f"The primary at {self.base} answered HTTP {response.status} ({text}): the "
                "change was not applied."
            )
        return list(json.loads(response.data)["results"])

    def run_transaction(
        self, steps: list[Step], *, before: list[Step] | None = None
    ) -> BatchResult:
        """Run ``steps`` in one transaction on the primary, in one request: each step only if
        every one before it succeeded (and changed the rows its guard says), COMMIT only if
        all did, ROLLBACK otherwise. ``before`` runs first, outside the transaction
        (connection PRAGMAs)."""
        batch: list[dict[str, Any]] = []
        origin: list[tuple[int, bool]] = []  # batch step -> (index in steps, is its guard)

        def add(sql: str, args: tuple[Any, ...] = (), *, index: int = -1, guard: bool = False):
            stmt: dict[str, Any] = {"sql": sql, "args": [encode(arg) for arg in args]}
            step: dict[str, Any] = {"stmt": stmt}
            if batch:
                step["condition"] = {"type": "ok", "step": len(batch) - 1}
            batch.append(step)
            origin.append((index, guard))

        for pragma in before or ():
            add(pragma.sql)
        add("BEGIN IMMEDIATE")
        for index, step in enumerate(steps):
            add(step.sql, step.args, index=index)
            if step.guard is not None:
                add(GUARD_SQL, (step.guard,), index=index, guard=True)
        add("COMMIT", index=len(steps))
        commit = len(batch) - 1
        batch.append(
            {
                "stmt": {"sql": "ROLLBACK"},
                "condition": {"type": "not", "cond": {"type": "ok", "step": commit}},
            }
        )
        origin.append((-1, False))
        read_timeout = READ_TIMEOUT + STEP_TIMEOUT * len(batch)
        result, _ = self.pipeline(
            [{"type": "batch", "batch": {"steps": batch}}, {"type": "close"}],
            read_timeout=read_timeout,
        )
        if result.get("type") != "ok":
            error = result.get("error") or {}
            return BatchResult(False, message=error.get("message", str(result)))
        answer = result["response"]["result"]
        errors, results = answer["step_errors"], answer["step_results"]
        counts = [
            (item or {}).get("affected_row_count") if not origin[i][1] else None
            for i, item in enumerate(results)
        ]
        if results[commit] is not None and errors[commit] is None:
            return BatchResult(True, row_counts=counts)
        for i, error in enumerate(errors):
            if error is not None:
                index, guard = origin[i]
                return BatchResult(
                    False,
                    failed=index,
                    guard_failed=guard,
                    message=error.get("message", ""),
                    code=error.get("code") or "",
                    row_counts=counts,
                )
        return BatchResult(False, message="the primary did not run the batch's COMMIT")

    def _unreachable(self, exc: BaseException) -> str:
        return (
            f"The primary at {self.base} did not answer within {CONNECT_TIMEOUT:g} s ({exc}): "
            "writes are refused until it is back; reads keep working from the local replica."
        )

    def _in_doubt(self, exc: BaseException) -> str:
        return (
            f"The primary at {self.base} did not answer the write in time ({exc}). It may have "
            "applied it: the next sync shows whether it did. Writes are refused until it "
            "answers; reads keep working from the local replica."
        )

    def close(self) -> None:
        self._pool.clear()
