"""What became of each journaled write, decided by its table's policy (syncops.policies) after
every pull. Two policies come with syncops:

- ``replay_row``: the row is there, or its change is put back as a new write (an insert
  re-inserted, an update re-applied when the row still holds what it held before, a delete
  deleted again: a delete is a write like any other); a concurrent change of the same row by
  another replica stands (the tables that need more, such as thoughts, say so themselves);
- ``derived``: nothing to keep (data computed again from other rows); not even journaled.

After the policies, ``repair_references()`` looks for rows that refer to a row another replica
deleted (the engine cannot check that across replicas) and treats them as the foreign key's
``on_delete`` says, after letting the owning app record a conflict (``on_orphan``).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
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
from syncops.policies import Change, orphan_handler, policy_for

logger = logging.getLogger("syncops")


@dataclass
class Outcome:
    """What a reconciliation did, for the logs and tests."""

    decided: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)
    orphans: int = 0


_lock = threading.Lock()


# --- the generic policies -------------------------------------------------------------------


def _primary_key(table: str) -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute(f'PRAGMA table_info("{table}")')
        keys = [row[1] for row in cursor.fetchall() if row[5]]
    return keys[0] if len(keys) == 1 else "rowid"


def current_row(table: str, row: Any) -> dict[str, Any] | None:
    """The row as the replica holds it now, in the journal's representation."""
    key = _primary_key(table)
    with connections["default"].cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" WHERE "{key}" = %s', [row])
        names = [column[0] for column in cursor.description]
        found = cursor.fetchone()
    if found is None:
        return None
    return {
        name: value.hex() if isinstance(value, bytes) else value
        for name, value in zip(names, found, strict=True)
    }


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
            and not _deleted_later(change, txn)
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
        if now is not None:
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


def _deleted_later(change: Change, txn: Sequence[Change]) -> bool:
    """Whether this replica itself deleted the row after inserting it (a later entry)."""
    from syncops.models import JournalEntry

    later = JournalEntry.objects.using("syncops").filter(
        id__gt=change.seq,
        payload__table=change.table,
        payload__row=change.row,
        payload__op="delete",
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
        decided: list[str] = []
        for change in changes:
            policy = policy_for(change.table) or replay_row
            try:
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
            outcome.orphans = repair_references()
    if outcome.failed or outcome.orphans:
        logger.warning(
            "Journal reconciled: %d decided, %d kept, %d orphaned row(s) repaired",
            outcome.decided,
            outcome.kept,
            outcome.orphans,
        )
    return outcome


def repair_references() -> int:
    """Rows whose foreign key names a row that is gone (deleted on another replica while this
    one referred to it): offered to the app's ``on_orphan`` handler, then treated as the
    field's ``on_delete`` says (CASCADE deletes, SET_NULL clears). Returns how many."""
    repaired = 0
    with connections["default"].cursor() as cursor:
        existing = set(connections["default"].introspection.table_names(cursor))
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label == "syncops" or not model._meta.managed:
            continue
        if model._meta.db_table not in existing:
            continue  # not migrated yet (a pull during migrate)
        for fk in model._meta.concrete_fields:
            if not isinstance(fk, models.ForeignKey) or fk.remote_field.model is None:
                continue
            target = fk.remote_field.model
            if target._meta.db_table not in existing:
                continue
            orphans = (
                model._base_manager.using("default")
                .filter(**{f"{fk.attname}__isnull": False})
                .exclude(
                    **{
                        f"{fk.attname}__in": target._base_manager.using("default").values(
                            fk.target_field.attname
                        )
                    }
                )
            )
            for row in orphans:
                handler = orphan_handler(model, fk.name)
                with transaction.atomic():
                    if handler is None or not handler(row, fk):
                        _apply_on_delete(row, fk)
                repaired += 1
    return repaired


def _apply_on_delete(row: models.Model, fk: models.ForeignKey) -> None:
    manager = type(row)._base_manager.using("default").filter(pk=row.pk)
    if fk.remote_field.on_delete is models.SET_NULL and fk.null:
        manager.update(**{fk.attname: None})
    else:
        manager.delete()  # CASCADE, PROTECT, ...: a row cannot outlive what it belongs to


def on_pulled(sender: Any = None, **kwargs: Any) -> None:
    """After every pull: reconcile, on a thread of its own (its connections close with it)."""
    worker = threading.Thread(
        target=_reconcile_and_close,
        args=(bool(kwargs.get("changed", True)),),
        name="syncops-reconcile",
    )
    worker.start()
    worker.join()


def _reconcile_and_close(changed: bool) -> None:
    try:
        reconcile(changed=changed)
    except Exception:
        logger.exception("Reconciling the write journal failed; it is retried after the next pull")
    finally:
        close_old_connections()
