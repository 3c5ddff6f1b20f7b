"""The reconciliation policy of every replicated table: how a write lost to another replica
is decided (syncops.reconcile runs them after each pull).

Every replicated table declares one in its app's ``ready()`` (``register``; the system check
``syncops.E010`` refuses a table without). A policy is a function ``(change, transaction) ->
bool`` that looks at the state the pull brought back and returns True once it decided (the
journal entry is then deleted) or False to look again after the next pull. ``on_orphan`` lets
an app deal with a row whose foreign key names a row deleted on another replica.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class Change:
    """One journaled row change (syncops.journal)."""

    key: str
    seq: int  # the journal entry's id: the order the changes were made in
    table: str
    op: str  # insert, update or delete
    row: Any  # the primary key
    txn: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, entry: Any) -> Change:
        payload = entry.payload
        return cls(
            key=entry.key,
            seq=entry.id,
            table=payload["table"],
            op=payload["op"],
            row=payload["row"],
            txn=payload["txn"],
            before=payload.get("before"),
            after=payload.get("after"),
        )


Policy = Callable[[Change, Sequence[Change]], bool]
OrphanHandler = Callable[[models.Model, models.ForeignKey], bool]


_POLICIES: dict[str, Policy] = {}
_NOT_JOURNALED: set[str] = set()
_SETTLED: dict[str, Callable[[Change], bool]] = {}
_ORPHAN_HANDLERS: dict[tuple[str, str], OrphanHandler] = {}


def table_of(target: str | type[models.Model]) -> str:
    return target if isinstance(target, str) else target._meta.db_table


def register(
    target: str | type[models.Model],
    policy: Policy,
    *,
    journal: bool = True,
    default: bool = False,
    settled: Callable[[Change], bool] | None = None,
) -> None:
    """Declare how lost writes to ``target`` (a model or a table name) are reconciled; a
    ``default`` gives way to a policy the table's own app declares.

    ``settled(change)`` says whether a change found exactly as written, with every other row
    of its transaction, is decided without the policy (by default it is: nothing was lost).
    A policy that has more to do for a write that won (record what it overwrote) says no."""
    table = table_of(target)
    if default and table in _POLICIES:
        return
    _POLICIES[table] = policy
    if settled is None:
        _SETTLED.pop(table, None)
    else:
        _SETTLED[table] = settled
    if journal:
        _NOT_JOURNALED.discard(table)
    else:
        _NOT_JOURNALED.add(table)


def on_orphan(model: type[models.Model], field_name: str, handler: OrphanHandler) -> None:
    """Call ``handler(row, field)`` for a row whose ``field_name`` names a row that is gone,
    before the foreign key's ``on_delete`` is applied to it; True: the handler dealt with it."""
    _ORPHAN_HANDLERS[(model._meta.db_table, field_name)] = handler


def policy_for(table: str) -> Policy | None:
    return _POLICIES.get(table)


def settled_as_written(change: Change) -> bool:
    """Whether ``change``, found as written, needs nothing from its policy (see register)."""
    check = _SETTLED.get(change.table)
    return check is None or check(change)


def journaled(table: str) -> bool:
    return table not in _NOT_JOURNALED


def replicated_tables() -> list[str]:
    """Every table of the replicated database that Django knows (auto-created ones too)."""
    from syncops.router import LOCAL_APPS

    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.app_label not in LOCAL_APPS and model._meta.managed
        }
    )


def orphan_handler(model: type[models.Model], field_name: str) -> OrphanHandler | None:
    return _ORPHAN_HANDLERS.get((model._meta.db_table, field_name))
