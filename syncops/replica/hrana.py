"""A transaction's writes to a libSQL primary in one HTTP request: Hrana's pipeline protocol
(``POST /v3/pipeline``, JSON), which sqld and Turso serve on the URL replicas sync from.

libsql-experimental forwards each statement of a transaction to the primary on its own (two
requests each) and has no timeouts. This client sends a whole batch at once, on one kept-alive
connection, with a connect and a read timeout.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import urllib3

from syncops.replica.base import RemoteUnavailable

CONNECT_TIMEOUT = 1.0  # seconds to reach the primary
READ_TIMEOUT = 5.0  # seconds for its answer to a batch, plus STEP_TIMEOUT for each step
STEP_TIMEOUT = 0.002
SCHEMA_TIMEOUT = 60.0  # seconds for a batch that changes the schema (a migration's rebuild)
_SCHEMA = re.compile(r"\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)


class PrimaryUnreachable(RemoteUnavailable):
    """The batch never reached the primary: nothing of it was applied."""


class PrimaryTimedOut(RemoteUnavailable):
    """The batch was sent and the primary did not answer in time: whether it applied the
    batch is not known until the replica syncs again."""


@dataclass
class Step:
    """One statement of a batch; ``guard`` is the row count it must change on the primary
    (what it changed on the local replica), or None for no check; ``rowid`` the row id an
    insert whose ids were read back must end on, as it did locally."""

    sql: str
    args: tuple[Any, ...] = ()
    guard: int | None = None
    rowid: int | None = None  # the last_insert_rowid() it must leave (INSERT ... RETURNING)


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


def chain(steps: list[dict[str, Any]], sql: str, args: tuple[Any, ...] = ()) -> None:
    """Append a batch step that runs only if the one before it succeeded."""
    step: dict[str, Any] = {"stmt": {"sql": sql, "args": [encode(arg) for arg in args]}}
    if steps:
        step["condition"] = {"type": "ok", "step": len(steps) - 1}
    steps.append(step)


# A statement that fails unless the previous one changed the given number of rows (and, when
# given, left the given last row id): json() of text that is not JSON raises, and the argument
# depends on changes(), so the call is never evaluated ahead of time.
GUARD_SQL = (
    "SELECT json(CASE WHEN changes() = ? THEN '1' "
    "ELSE 'the row count differs from the replica''s' END)"
)
ROWID_GUARD_SQL = (
    "SELECT json(CASE WHEN changes() = ? AND last_insert_rowid() = ? THEN '1' "
    "ELSE 'the row count or id differs from the replica''s' END)"
)


class HranaClient:
    """Batches to one primary over one kept-alive HTTP connection (used under a lock)."""

    def __init__(self, url: str, token: str = "", *, local_reads: bool = True) -> None:
        self.base = http_url(url)
        self.token = token
        self.local_reads = local_reads  # whether reads go on from a local file (the messages)
        # Thread-safe; one kept-alive connection per thread that talks to the primary at once.
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=8,
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0),
        )
        self.requests = 0  # HTTP requests sent (benchmarks and tests count them)

    def pipeline(self, requests: list[dict[str, Any]], *, read_timeout: float) -> list[Any]:
        """The results of ``requests``, sent on a new stream."""
        return list(self.send({"baton": None, "requests": requests}, read_timeout)["results"])

    def send(
        self, body: dict[str, Any], read_timeout: float, base: str | None = None
    ) -> dict[str, Any]:
        """POST one pipeline body (to the ``base_url`` a stream was given, if any)."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.requests += 1
        try:
            response = self._pool.request(
                "POST",
                f"{base or self.base}/v3/pipeline",
                body=json.dumps(body).encode(),
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
        return dict(json.loads(response.data))

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
            chain(batch, sql, args)
            origin.append((index, guard))

        for pragma in before or ():
            add(pragma.sql)
        add("BEGIN IMMEDIATE")
        for index, step in enumerate(steps):
            add(step.sql, step.args, index=index)
            if step.guard is not None and step.rowid is not None:
                add(ROWID_GUARD_SQL, (step.guard, step.rowid), index=index, guard=True)
            elif step.guard is not None:
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
        if any(_SCHEMA.match(step.sql) for step in steps):
            read_timeout = max(read_timeout, SCHEMA_TIMEOUT)
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
        then = (
            "writes are refused until it is back; reads keep working from the local replica."
            if self.local_reads
            else "retry in a few seconds."
        )
        wait = f"{CONNECT_TIMEOUT:g} s"
        return f"The primary at {self.base} did not answer within {wait} ({exc}): {then}"

    def _in_doubt(self, exc: BaseException) -> str:
        then = (
            "the next sync shows whether it did. Writes are refused until it answers; reads "
            "keep working from the local replica."
            if self.local_reads
            else "read it back before you retry."
        )
        return (
            f"The primary at {self.base} did not answer in time ({exc}). If this was a write, "
            f"it may have been applied: {then}"
        )

    def close(self) -> None:
        self._pool.clear()


# --- remote mode: a DB-API connection over Hrana -------------------------------------------

# Statements whose answer nobody reads: inside a transaction they wait and travel with the
# next statement that must be answered. A plain INSERT's error then surfaces with that
# statement, still inside its atomic block: each block ends with a statement that is always
# sent, RELEASE SAVEPOINT or COMMIT, so `except IntegrityError` around a block still works.
_DEFERRABLE = re.compile(r"\s*(BEGIN|SAVEPOINT|ROLLBACK\s+TO|INSERT\s+INTO)\b", re.IGNORECASE)
_NOT_DEFERRABLE = re.compile(r"\bRETURNING\b|\bON\s+CONFLICT\b", re.IGNORECASE)
_END = re.compile(r"\s*(COMMIT|END|ROLLBACK)\s*(TRANSACTION)?\s*;?\s*$", re.IGNORECASE)
_STARTS = re.compile(r"\s*BEGIN\b", re.IGNORECASE)


def decode(value: dict[str, Any]) -> Any:
    kind = value["type"]
    if kind == "null":
        return None
    if kind == "integer":
        return int(value["value"])
    if kind == "float":
        return float(value["value"])
    if kind == "blob":  # sqld leaves out the padding
        text = value.get("base64", "")
        return base64.b64decode(text + "=" * (-len(text) % 4))
    return value["value"]


class HranaCursor:
    """A cursor of ``HranaConnection`` (the result is read whole: Hrana sends it whole)."""

    def __init__(self, connection: HranaConnection) -> None:
        self.connection = connection
        self.description: tuple[tuple[Any, ...], ...] | None = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, args: Any = ()) -> HranaCursor:
        result = self.connection.run(sql, tuple(args or ()))
        self._take(result)
        return self

    def executescript(self, script: str) -> HranaCursor:
        self.connection.script(script)
        return self

    def _take(self, result: dict[str, Any] | None) -> None:
        if result is None:  # deferred: the statement travels with the next one
            self.description, self.rowcount, self._rows = None, -1, []
            return
        cols = result.get("cols") or []
        self.description = (
            tuple((col.get("name"), None, None, None, None, None, None) for col in cols)
            if cols
            else None
        )
        self._rows = [tuple(decode(v) for v in row) for row in result.get("rows") or []]
        self.rowcount = int(result.get("affected_row_count") or 0) if not cols else -1
        rowid = result.get("last_insert_rowid")
        self.lastrowid = int(rowid) if rowid is not None else None

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int = 1) -> list[Any]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


class HranaConnection:
    """Remote mode's driver connection: each statement one request, except inside a
    transaction, where statements nobody reads an answer of (BEGIN, savepoints, plain
    INSERTs) wait for the next one that is read, and the COMMIT takes whatever waits. So a
    transaction of reads-then-inserts costs one request, a stream kept across them by its
    baton. SQL errors are raised as the driver's ``ValueError``s with the primary's message
    (``syncops.backend.database`` maps them); an unreachable primary as ``RemoteUnavailable``."""

    def __init__(self, client: HranaClient) -> None:
        self.client = client
        self.in_transaction = False
        self._baton: str | None = None
        self._base: str | None = None
        self._waiting: list[tuple[str, tuple[Any, ...]]] = []  # deferred statements
        self._closed = False

    def cursor(self) -> HranaCursor:
        if self._closed:
            raise ValueError("Connection closed")
        return HranaCursor(self)

    def execute(self, sql: str, args: Any = ()) -> HranaCursor:
        return self.cursor().execute(sql, args)

    def run(self, sql: str, args: tuple[Any, ...]) -> dict[str, Any] | None:
        if _END.match(sql) and not re.match(r"\s*ROLLBACK\s+TO", sql, re.IGNORECASE):
            (self.rollback if sql.lstrip()[:1].upper() == "R" else self.commit)()
            return None
        if _STARTS.match(sql):
            self.in_transaction = True
        if self.in_transaction and _DEFERRABLE.match(sql) and not _NOT_DEFERRABLE.search(sql):
            self._waiting.append((sql, args))
            return None
        return self._send([*self._waiting, (sql, args)])

    def script(self, script: str) -> None:
        if self._waiting:
            self._send(self._waiting)
        self._request([{"type": "sequence", "sql": script}])

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, sql: str) -> None:
        if not self.in_transaction:
            return
        waiting, self._waiting = self._waiting, []
        if self._baton is None and sql == "ROLLBACK":
            self.in_transaction = False  # nothing reached the primary yet
            return
        if self._baton is None and all(_STARTS.match(w) for w, _ in waiting):
            self.in_transaction = False  # a transaction that did nothing
            return
        try:
            self._send([*waiting, (sql, ())], ending=True)
        finally:
            self.in_transaction = False

    def _send(
        self, statements: list[tuple[str, tuple[Any, ...]]], *, ending: bool = False
    ) -> dict[str, Any]:
        """Run ``statements`` in one request, each only if those before it succeeded; the
        last one's result, or the first error as the driver's ValueError."""
        self._waiting = []
        steps: list[dict[str, Any]] = []
        for sql, args in statements:
            chain(steps, sql, args)
        (result,) = self._request([{"type": "batch", "batch": {"steps": steps}}], ending=ending)
        if result.get("type") != "ok":
            raise ValueError((result.get("error") or {}).get("message", str(result)))
        answer = result["response"]["result"]
        for error in answer["step_errors"]:
            if error is not None:
                raise ValueError(error.get("message", ""))
        return dict(answer["step_results"][-1] or {})

    def _request(self, requests: list[dict[str, Any]], *, ending: bool = False) -> list[Any]:
        keep = self.in_transaction and not ending
        if not keep:
            requests = [*requests, {"type": "close"}]
        try:
            answer = self.client.send(
                {"baton": self._baton, "requests": requests},
                READ_TIMEOUT + STEP_TIMEOUT * len(requests),
                self._base,
            )
        except RemoteUnavailable as exc:
            from syncops.backend.database import Unavailable

            self._baton = self._base = None  # the stream is gone, and its transaction
            self.in_transaction = False
            self._waiting = []
            raise Unavailable(str(exc), retry_after=exc.retry_after) from exc
        self._baton = answer.get("baton") if keep else None
        self._base = answer.get("base_url") if keep else None
        results = list(answer["results"])
        return results[:-1] if not keep else results

    def close(self) -> None:
        if self._baton is not None:
            with contextlib.suppress(Exception):  # the primary ends an idle stream by itself
                self.client.send({"baton": self._baton, "requests": [{"type": "close"}]}, 1.0)
        self._baton = self._base = None
        self._closed = True
