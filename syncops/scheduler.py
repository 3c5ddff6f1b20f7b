"""The background sync worker: pushes after writes (coalesced), pulls on a timer and when
asked (coalesced too), backs off.

A committed write only sets an event; the worker thread waits a moment for more writes, then
pushes them all at once, so a burst of writes becomes a few pushes and no request ever waits
on the network. Failures back off exponentially and are recorded, never raised at callers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from syncops import logs
from syncops.memory import release_free_memory
from syncops.quarantine import unmerged_folders
from syncops.recovery import recover
from syncops.replica import Diverged, Replica, SyncError
from syncops.signals import in_worker, pushed, pushing

logger = logging.getLogger("syncops")

COALESCE_SECONDS = 0.02
# While writes keep coming, push at most this often: a burst becomes a few large pushes (each
# costs a round of HTTP requests whatever its size); a lone write still goes after 20 ms,
# a write right after a push waits up to this long. Pulls are not held up meanwhile.
MIN_PUSH_INTERVAL = 0.2
MAX_BACKOFF_SECONDS = 60.0
# Pulls another process's push asked for go at most this often: under steady writes each
# pull applies a few pushes at once (applying costs the engine tens of ms whatever its size).
MIN_PULL_INTERVAL = 0.1
RECONCILE_AFTER_PUSH_SECONDS = 1.0  # a pull follows each push within this
MAINTENANCE_SECONDS = 3600.0  # how often ``maintain`` runs (pruning old copies and logs)
CARRIED_IDS = 50  # request ids named per push at most (the rest are counted)


class SyncScheduler:
    def __init__(
        self,
        replica: Replica,
        *,
        interval: float,
        on_event: Callable[[str, bool, float | None, str], None] | None = None,
        maintain: Callable[[], object] | None = None,
    ) -> None:
        self.replica = replica
        self.interval = interval
        self.on_event = on_event or (lambda *args: None)
        self.maintain: Callable[[], object] = maintain or (lambda: None)
        self._next_maintenance = float("-inf")  # time.monotonic(); at the first housekeeping
        self._next_housekeeping = 0.0  # time.monotonic(); at the first turn of the loop
        self._dirty = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pull_requested = threading.Event()
        self._pulls = threading.Condition()  # guards the two counts below
        self._pulls_started = 0
        self._pulls_ended = 0
        self._failures = 0
        self._requests: dict[str, None] = {}  # ids of the requests whose writes wait, in order
        self._requests_lock = threading.Lock()
        self._last_push = float("-inf")  # time.monotonic() when the last push began
        self._last_pull = float("-inf")  # time.monotonic() when the last pull began
        self._dirty_seen = math.inf  # time.monotonic() when the pending writes were first seen
        # When to look for a copy an interrupted recovery left unmerged (None: not again).
        self._finish_at: float | None = 0.0
        self._thread = threading.Thread(target=self._run, name="syncops-scheduler", daemon=True)

    def start(self) -> SyncScheduler:
        self._dirty.set()  # push at once: an earlier run may have left writes behind
        self._dirty_seen = -math.inf
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def notify_write(self) -> None:
        current = logs.request_id.get()
        if current is not None:
            with self._requests_lock:
                self._requests[current] = None
        self._dirty.set()
        self._wake.set()

    def _carried(self) -> list[str]:
        """The ids of the requests whose writes the next push carries (taken)."""
        with self._requests_lock:
            carried, self._requests = list(self._requests), {}
        return carried

    def _keep(self, carried: list[str]) -> None:
        """A push failed: its requests' writes wait for the next one."""
        with self._requests_lock:
            self._requests = dict.fromkeys(carried) | self._requests

    @staticmethod
    def _named(carried: list[str]) -> str:
        more = len(carried) - CARRIED_IDS
        return ", ".join(carried[:CARRIED_IDS]) + (f" and {more} more" if more > 0 else "")

    def request_pull(self) -> None:
        self._pull_requested.set()
        self._wake.set()

    def fresh_pull(self, timeout: float) -> bool:
        """Ask for a pull and wait until one that began after this call has ended (worked or
        not); False when ``timeout`` seconds passed first. Waiters share pulls."""
        with self._pulls:
            wanted = self._pulls_started + 1
        self.request_pull()
        with self._pulls:
            return self._pulls.wait_for(lambda: self._pulls_ended >= wanted, timeout)

    def stop(self, *, flush: bool = True, timeout: float = 5.0) -> None:
        """Stop the worker; with ``flush``, try one last push of pending writes first."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        if flush and (self._dirty.is_set() or self.replica.pending_changes()):
            self._attempt("push", self.replica.push)

    def _attempt(
        self, kind: str, operation: Callable[[], Any], requests: list[str] | None = None
    ) -> bool:
        """Run a push or pull; ``requests``: the ids of the requests whose writes it carries
        (logged when it works, named in the sync event when it fails)."""
        started, began = time.perf_counter(), time.time()
        requests = requests or []
        waiting = f" Writes of requests {self._named(requests)} wait." if requests else ""
        try:
            changed = operation()
        except Diverged as exc:
            return self._recover(exc)
        except SyncError as exc:
            if "constraint failed" in str(exc):
                # The remote refused a change for good (a UNIQUE key another replica took):
                # retrying cannot fix it. The engine skips it on the next push; the pull
                # after that shows the loss to the journal's reconciliation.
                self.request_pull()
            self._failures += 1
            logger.warning(
                "%s (attempt %d; retrying with backoff)",
                exc,
                self._failures,
                extra={"requests": requests},
            )
            self.on_event(kind, False, (time.perf_counter() - started) * 1000, f"{exc}{waiting}")
            return False
        except Exception as exc:  # an unexpected driver error must not kill the worker
            self._failures += 1
            logger.exception("Unexpected %s failure", kind, extra={"requests": requests})
            self.replica.state.record(kind, started, exc)
            self.on_event(kind, False, (time.perf_counter() - started) * 1000, f"{exc!r}{waiting}")
            return False
        duration_ms = (time.perf_counter() - started) * 1000
        if requests:
            logger.info(
                "Pushed the writes of requests %s",
                self._named(requests),
                extra={
                    "requests": requests,
                    "duration_ms": duration_ms,
                    "began": began,
                    "phases_ms": self.replica.phases_ms,
                },
            )
        else:
            # With THOUGHTSPACE_LOG_LEVEL=debug: when each sync ran (scripts/loadtest.py reads
            # these to tell when a write reached each process).
            logger.debug(
                "%s took %.0f ms",
                kind.capitalize(),
                duration_ms,
                extra={
                    "sync": kind,
                    "began": began,
                    "duration_ms": duration_ms,
                    "changed": changed,
                    "phases_ms": self.replica.phases_ms,
                },
            )
        if self._failures:
            self.on_event(kind, True, duration_ms, "recovered")
        self._failures = 0
        return True

    def _recover(self, diverged: Diverged | str) -> bool:
        """Rebuild the replica (syncops.recovery); True when it worked."""
        started = time.perf_counter()
        try:
            report = recover(self.replica, reason=str(diverged))
        except Exception as exc:
            self._failures += 1
            # Its copy may be in quarantine already: the merge is retried after a backoff.
            self._finish_at = time.monotonic() + self._backoff()
            logger.exception("Recovery of %s failed", self.replica.path)
            self.replica.state.record("pull", started, exc)
            self.on_event("recovery", False, (time.perf_counter() - started) * 1000, str(exc))
            return False
        self._failures = 0
        self.on_event("recovery", True, report.duration_ms, report.summary())
        self.request_pull()
        return True

    def _backoff(self) -> float:
        return min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** max(self._failures - 1, 0))

    def _push_due(self) -> float:
        """When the pending writes go (time.monotonic()): COALESCE_SECONDS after they were
        first seen, and not sooner than MIN_PUSH_INTERVAL after the last push began. Writes
        seen for the first time are announced (``pushing``)."""
        if not self._dirty.is_set():
            self._dirty_seen = math.inf
            return math.inf
        if self._dirty_seen == math.inf:
            self._dirty_seen = time.monotonic()
            self._tell(pushing)  # others expect these writes (a 404 waits for them)
        return max(self._dirty_seen + COALESCE_SECONDS, self._last_push + MIN_PUSH_INTERVAL)

    def _requested_pull_due(self) -> float:
        """When an asked-for pull goes (time.monotonic()): at once, but not sooner than
        MIN_PULL_INTERVAL after the last pull began."""
        if not self._pull_requested.is_set():
            return math.inf
        return self._last_pull + MIN_PULL_INTERVAL

    def _run(self) -> None:
        in_worker.set(True)  # this thread's own context: reconciliation follows its pulls
        next_pull = time.monotonic()
        while not self._stopping.is_set():
            # Waiting for a push to gather its burst does not hold up a pull.
            pull_due = min(next_pull, self._requested_pull_due())
            self._wake.wait(max(0.0, min(pull_due, self._push_due()) - time.monotonic()))
            self._wake.clear()
            if self._stopping.is_set():
                break
            if self._finish_at is not None and time.monotonic() >= self._finish_at:
                # First thing after a start (and after a failed recovery): a copy in quarantine
                # that an interrupted recovery never merged back is merged. A merge that keeps
                # failing is retried with backoff and does not hold up syncing.
                self._finish_at = None
                if unmerged_folders(self.replica.path):
                    self._recover("An interrupted recovery left its old copy unmerged.")
            if time.monotonic() >= self._push_due():
                self._dirty.clear()
                self._dirty_seen = math.inf
                self._last_push = time.monotonic()
                carried = self._carried()
                if not self._attempt("push", self.replica.push, carried):
                    self._keep(carried)
                    self._dirty.set()
                    self._stopping.wait(self._backoff())  # new writes do not cut a backoff short
                    continue
                self._tell(pushed)
                if self.replica.journals:
                    # The journal is reconciled after the next pull: soon, but not at once (a
                    # busy fleet's processes pull at each other's pushes anyway).
                    next_pull = min(next_pull, time.monotonic() + RECONCILE_AFTER_PUSH_SECONDS)
            if time.monotonic() >= min(next_pull, self._requested_pull_due()):
                self._pull_requested.clear()
                self._last_pull = time.monotonic()
                with self._pulls:
                    self._pulls_started += 1
                ok = self._attempt("pull", self.replica.pull)
                with self._pulls:
                    self._pulls_ended += 1
                    self._pulls.notify_all()
                next_pull = time.monotonic() + (self.interval if ok else self._backoff())
            if time.monotonic() >= self._next_housekeeping:
                # On its own clock: under steady writes every pull is one a push asked for,
                # and the timer's pull never comes.
                self._next_housekeeping = time.monotonic() + self.interval
                self._housekeeping()

    def _tell(self, signal: Signal) -> None:
        try:
            signal.send(sender=type(self.replica), replica=self.replica)
        except Exception:
            logger.exception("A receiver of a sync signal failed")

    def _housekeeping(self) -> None:
        """Every ``interval``: checkpoint whatever WAL is left (pushes only checkpoint a large
        one) and hand the native heap's free pages back to the system; now and then
        ``maintain`` (prune what has a retention). Never raises."""
        try:
            self.replica.checkpoint()
            release_free_memory()
            if time.monotonic() >= self._next_maintenance:
                self._next_maintenance = time.monotonic() + MAINTENANCE_SECONDS
                self.maintain()
        except Exception:
            logger.exception("Storage housekeeping of %s failed", self.replica.path)
