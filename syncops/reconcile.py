"""What became of each journaled write, decided by its table's policy (syncops.policies) after
every pull. Two policies come with syncops:

- ``replay_row``: the row is there, or its change is put back as a new write (an insert
  re-inserted, an update re-applied when the row still holds what it held before, a delete
  deleted again: a delete is a write like any other); a concurrent change of the same row by
  another replica stands (the tables that need more, such as thoughts, say so themselves);
- ``derived``: nothing to keep (data computed again from other rows); not even journaled.

After the policies, ``repair_references()`` looks for rows that refer to a row another replica
deleted (the engine cannot check that across replicas) and treats them as the foreign key's
``on_delete`` says, after letting the owning app record a conflict (``on_orphan``). After a
pull it looks only where a delete left a tombstone (syncops.tombstones), which costs one index
probe per deleted row rather than a pass over every row that has a key; every
``SWEEP_SECONDS``, and on the first reconciliation of a process or after a recovery, it sweeps
every key (rows that went without a tombstone: tombstones pruned, a remote that lost them).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import (
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connections,
    models,
    transaction,
)

from syncops import tombstones
from syncops.backend.decltypes import stored_values
from syncops.policies import Change, orphan_handler, policy_for, settled_as_written
from syncops.signals import in_worker

logger = logging.getLogger("syncops")


@dataclass
class Outcome:
    """What a reconciliation did, for the logs and tests."""

    decided: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)
    orphans: int = 0
    as_written: int = 0  # decided without a policy: found as their transaction left them


_lock = threading.Lock()

SWEEP_SECONDS = 3600.0  # how often the orphan check reads every key, not only the tombstones
_last_sweep: float | None = None  # monotonic time of the last full sweep; None: one is due


def sweep_soon() -> None:
    """Make the next reconciliation check every key for orphans (after a recovery)."""
    global _last_sweep
    _last_sweep = None


# --- the generic policies -------------------------------------------------------------------


_PRIMARY_KEYS: dict[str, str] = {}  # table -> its one key column (a table keeps its key)


def _primary_key(table: str) -> str:
    if table in _PRIMARY_KEYS:
        return _PRIMARY_KEYS[table]
    with connections["default"].cursor() as cursor:
        cursor.execute(f'PRAGMA table_info("{table}")')
        keys = [row[1] for row in cursor.fetchall() if row[5]]
    if len(keys) == 1:
        _PRIMARY_KEYS[table] = keys[0]
        return keys[0]
    return "rowid"


def current_row(table: str, row: Any) -> dict[str, Any] | None:
    """The row as the replica holds it now, in the journal's representation."""
    found = current_rows(table, [row])
    return found[0] if found else None


def current_rows(table: str, keys: Iterable[Any]) -> list[dict[str, Any]]:
    """The rows of ``table`` with these primary keys, as the replica holds them now, in the
    journal's representation (blobs as hex)."""
    key, keys, found = _primary_key(table), list(keys), []
    with stored_values(), connections["default"].cursor() as cursor:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f'SELECT * FROM "{table}" WHERE "{key}" IN ({marks})', chunk)
            names = [column[0] for column in cursor.description]
            found += [
                {
                    name: value.hex() if isinstance(value, bytes) else value
                    for name, value in zip(names, values, strict=True)
                }
                for values in cursor.fetchall()
            ]
    return found


def _values(image: dict[str, Any], columns: Sequence[str], blobs: set[str]) -> list[Any]:
    return [bytes.fromhex(image[c]) if c in blobs and image[c] else image[c] for c in columns]


def _blob_columns(table: str) -> set[str]:
    with connections["default"].cursor() as cursor:
        cursor.execute(f'PRAGMA table_info("{table}")')
        return {row[1] for row in cursor.fetchall() if "BLOB" in (row[2] or "").upper()}


def insert_row(table: str, image: dict[str, Any]) -> None:
    columns = list(image)
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
            _values(image, columns, _blob_columns(table)),
        )


def update_row(table: str, row: Any, changes: dict[str, Any]) -> None:
    key = _primary_key(table)
    columns = list(changes)
    assignments = ", ".join(f'"{c}" = %s' for c in columns)
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET {assignments} WHERE "{key}" = %s',
            [*_values(changes, columns, _blob_columns(table)), row],
        )


def delete_row(table: str, row: Any) -> None:
    key = _primary_key(table)
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table}" WHERE "{key}" = %s', [row])


def replay_row(change: Change, txn: Sequence[Change]) -> bool:
    """The row change is there, or it is written again (see the module doc)."""
    now = current_row(change.table, change.row)
    if change.op == "insert":
        if (
            now is None
            and change.after is not None
            and not _changed_later(change, ops=("delete",))
            and not tombstones.was_deleted(change.table, change.row)  # deleted elsewhere
        ):
            try:
                insert_row(change.table, change.after)
            except IntegrityError as exc:
                if "FOREIGN KEY" not in str(exc).upper():
                    raise
                # What it belonged to was deleted on another replica: the delete wins, as
                # the key's on_delete would have had it.
                logger.info("Not putting back %s %s: %s", change.table, change.row, exc)
        return True
    if change.op == "delete":
        # Inserted again later by this replica (a rewrite: delete and insert in one
        # transaction): the later insert decides.
        if now is not None and not _changed_later(change, ops=("insert",)):
            delete_row(change.table, change.row)
        return True
    if now is None:
        return True  # deleted on another replica: the delete stands
    before, after = change.before or {}, change.after or {}
    changed = {column: value for column, value in after.items() if before.get(column) != value}
    if any(now.get(column) != value for column, value in changed.items()) and all(
        now.get(column) == before.get(column) for column in changed
    ):
        update_row(change.table, change.row, changed)  # it never arrived
    return True


def _changed_later(change: Change, *, ops: tuple[str, ...]) -> bool:
    """Whether this replica itself made a later change (one of ``ops``) of the same row."""
    from syncops.models import JournalEntry

    later = JournalEntry.objects.using("syncops").filter(
        id__gt=change.seq,
        payload__table=change.table,
        payload__row=change.row,
        payload__op__in=ops,
    )
    return later.exists()


def derived(change: Change, txn: Sequence[Change]) -> bool:
    """Nothing to keep: the rows are computed again from others."""
    return True


# --- the reconciliation -------------------------------------------------------------------------


def reconcile(*, changed: bool = True) -> Outcome:
    """Decide what became of every journaled write a push carried, table by table; and when
    the pull ``changed`` something, repair references to rows deleted elsewhere."""
    from syncops import journal

    outcome = Outcome()
    with _lock:
        changes = []
        for entry in journal.pushed():
            try:
                changes.append(Change.of(entry))
            except KeyError as exc:
                logger.error("Journal entry %s cannot be read (%s): kept", entry.key, exc)
                outcome.failed.append(f"{entry.key}: unreadable")
        by_txn: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            by_txn[change.txn].append(change)
        settled = _as_written(by_txn)
        decided: list[str] = []
        for change in changes:
            if change.txn in settled:  # every row as its transaction left it: nothing lost
                decided.append(change.key)
                outcome.decided += 1
                outcome.as_written += 1
                continue
            policy = policy_for(change.table) or replay_row
            try:
                # One transaction per decision: what the policy reads is one view of the data
                # (a request's write cannot land between two of its reads), and a decision
                # that fails half-way leaves nothing behind.
                with transaction.atomic(using="default"):
                    done = policy(change, by_txn[change.txn])
            except (DatabaseError, ValueError, KeyError) as exc:
                # Kept, never dropped: tried again after the next pull, and counted in the
                # status so that an operator sees a write that cannot be put back.
                logger.warning(
                    "Could not reconcile %s %s %s: %s", change.op, change.table, change.row, exc
                )
                outcome.failed.append(f"{change.op} {change.table} {change.row}: {exc}")
                done = False
            if done:
                decided.append(change.key)
                outcome.decided += 1
            else:
                outcome.kept += 1
        journal.resolve(decided)
        if changed or changes:
            outcome.orphans = repair_references(full=_sweep_due())
    if outcome.failed or outcome.orphans:
        logger.warning(
            "Journal reconciled: %d decided, %d kept, %d orphaned row(s) repaired",
            outcome.decided,
            outcome.kept,
            outcome.orphans,
        )
    return outcome


def _as_written(by_txn: dict[str, list[Change]]) -> set[str]:
    """The transactions whose every row is as the transaction left it (its last image of the
    row, or no row after a delete) and whose policies need nothing more then
    (``settled_as_written``): what nearly every push leaves, decided with one query per table
    instead of a policy per row."""
    expected: dict[str, dict[tuple[str, Any], dict[str, Any] | None]] = {}
    for txn, txn_changes in by_txn.items():
        if not all(settled_as_written(change) for change in txn_changes):
            continue
        rows: dict[tuple[str, Any], dict[str, Any] | None] = {}
        for change in sorted(txn_changes, key=lambda change: change.seq):
            rows[(change.table, change.row)] = None if change.op == "delete" else change.after
        if all(_primary_key(table) != "rowid" for table, _ in rows):
            expected[txn] = rows  # (a table without a one-column key goes to its policy)
    wanted: dict[str, set[Any]] = defaultdict(set)
    for rows in expected.values():
        for table, row in rows:
            wanted[table].add(row)
    current: dict[tuple[str, Any], dict[str, Any]] = {}
    for table, keys in wanted.items():
        for found in current_rows(table, keys):
            current[(table, found[_primary_key(table)])] = found
    return {
        txn
        for txn, rows in expected.items()
        if all(_matches(current.get(key), image) for key, image in rows.items())
    }


def _matches(now: dict[str, Any] | None, image: dict[str, Any] | None) -> bool:
    if image is None:
        return now is None
    return now is not None and all(now.get(column) == value for column, value in image.items())


def _sweep_due() -> bool:
    global _last_sweep
    now = time.monotonic()
    if _last_sweep is None or now - _last_sweep >= SWEEP_SECONDS:
        _last_sweep = now
        return True
    return False


def repair_references(*, full: bool = True) -> int:
    """Rows whose foreign key names a row that is gone (deleted on another replica while this
    one referred to it): offered to the app's ``on_orphan`` handler, then treated as the
    field's ``on_delete`` says (CASCADE deletes, SET_NULL clears). Returns how many. With
    ``full``, every row that has a key is checked; without, only rows whose key names a row a
    tombstone records as deleted.

    One statement finds them all (the engine's ``PRAGMA foreign_key_check`` answers nothing),
    so a pull that orphaned nothing costs one query, whatever the number of keys."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        existing = frozenset(connection.introspection.table_names(cursor))
        if not full and tombstones.TABLE not in existing:
            return 0  # nothing was ever deleted here
        keys, sql = _orphan_query(existing, full)
        if not keys:
            return 0
        with stored_values():
            cursor.execute(sql)
            found = cursor.fetchall()
    repaired = 0
    for index, pk in found:
        model, fk = keys[index]
        row = model._base_manager.using("default").filter(pk=pk).first()
        if row is None:
            continue  # repaired with an earlier one (a cascade)
        handler = orphan_handler(model, fk.name)
        with transaction.atomic():
            if handler is None or not handler(row, fk):
                _apply_on_delete(row, fk)
        repaired += 1
    return repaired


@functools.cache
def _orphan_query(
    existing: frozenset[str], full: bool = True
) -> tuple[list[tuple[type[models.Model], models.ForeignKey]], str]:
    """The foreign keys between tables of ``existing`` (tables not migrated yet are left
    out: a pull during migrate), and one query of (key's index, row's pk) for every row whose
    key names a missing row: any row (``full``), or a row a tombstone names (Django indexes
    every foreign key, so each tombstone costs one probe per key that can name its table)."""
    keys: list[tuple[type[models.Model], models.ForeignKey]] = []
    selects: list[str] = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label == "syncops" or not meta.managed or meta.db_table not in existing:
            continue
        for fk in meta.concrete_fields:
            if not isinstance(fk, models.ForeignKey) or fk.remote_field.model is None:
                continue
            target = fk.remote_field.model._meta
            if target.db_table not in existing:
                continue
            if not full and fk.target_field != target.pk:
                continue  # a tombstone names a row by its primary key: left to the sweeps
            missing = (
                f'NOT EXISTS (SELECT 1 FROM "{target.db_table}" p '
                f'WHERE p."{fk.target_field.column}" = c."{fk.column}")'
            )
            if full:
                selects.append(
                    f'SELECT {len(keys)}, c."{meta.pk.column}" FROM "{meta.db_table}" c '
                    f'WHERE c."{fk.column}" IS NOT NULL AND {missing}'
                )
            else:
                selects.append(
                    f'SELECT {len(keys)}, c."{meta.pk.column}" FROM {tombstones.TABLE} t '
                    f'JOIN "{meta.db_table}" c ON c."{fk.column}" = t.row '
                    f"WHERE t.tbl = '{target.db_table}' AND {missing}"
                )
            keys.append((model, fk))
    return keys, " UNION ALL ".join(selects)


def _apply_on_delete(row: models.Model, fk: models.ForeignKey) -> None:
    manager = type(row)._base_manager.using("default").filter(pk=row.pk)
    if fk.remote_field.on_delete is models.SET_NULL and fk.null:
        manager.update(**{fk.attname: None})
    else:
        manager.delete()  # CASCADE, PROTECT, ...: a row cannot outlive what it belongs to


def on_pulled(sender: Any = None, *, replica: Any = None, **kwargs: Any) -> None:
    """After every pull: reconcile, on a thread of its own (its connections close with it).
    After the background worker's pulls it runs there without holding up the next pull (the
    pulled writes are readable already); after any other pull (``manage.py sync``, a test)
    the caller waits for it."""
    changed = bool(kwargs.get("changed", True))
    through = replica.state.pulls if replica is not None else 0
    if in_worker.get():
        background.request(replica, changed, through)
        return
    worker = threading.Thread(
        target=_reconcile_and_close, args=(replica, changed, through), name="syncops-reconcile"
    )
    worker.start()
    worker.join()


class Background:
    """One thread that reconciles after the background worker's pulls. Pulls that end while
    it runs are covered by one more run after it (their ``changed`` combined)."""

    def __init__(self) -> None:
        self._wanted = threading.Condition()
        self._next: tuple[Any, bool, int] | None = None  # (replica, changed, through pull)
        self._running = False
        self._thread: threading.Thread | None = None

    def request(self, replica: Any, changed: bool, through: int) -> None:
        with self._wanted:
            if self._next is not None:
                changed = changed or self._next[1]
            self._next = (replica, changed, through)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="syncops-reconcile", daemon=True
                )
                self._thread.start()
            self._wanted.notify_all()

    def _run(self) -> None:
        while True:
            with self._wanted:
                self._wanted.wait_for(lambda: self._next is not None)
                assert self._next is not None
                (replica, changed, through), self._next = self._next, None
                self._running = True
            try:
                _reconcile_and_close(replica, changed, through)
            finally:
                with self._wanted:
                    self._running = False
                    self._wanted.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until nothing is asked for or running (at shutdown: a reconciliation is not
        cut off half-way); False when ``timeout`` seconds passed first."""
        with self._wanted:
            return self._wanted.wait_for(lambda: self._next is None and not self._running, timeout)


background = Background()


def _reconcile_and_close(replica: Any, changed: bool, through: int) -> None:
    try:
        reconcile(changed=changed)
        if replica is not None:
            replica.state.reconciled(through)
    except Exception:
        logger.exception("Reconciling the write journal failed; it is retried after the next pull")
    finally:
        try:
            close_old_connections()
        except Exception:  # nothing to close with: the thread ends either way
            logger.debug("Closing the reconciliation's connections failed", exc_info=True)
