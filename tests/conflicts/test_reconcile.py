"""Reconciling the write journal: what became of each pushed local write, decided from the
state a pull brought back. The engine's effects (a dropped row, a write that lost) are made
here directly; tests/sync/test_conflicts.py makes them happen between real replicas."""

from __future__ import annotations

import pytest
from django.db import connection

from spaces import reconcile, services
from spaces.models import Conflict, HistoryEntry, Thought
from syncops.models import JournalEntry
from syncops.reconcile import current_row
from tests.conflicts.test_reconcile_rows import journal as journal_row

pytestmark = pytest.mark.django_db(databases=["default", "syncops"])


def journal(entry: HistoryEntry) -> None:
    """Journal a write as if it was made here and a push carried it: the journal holds its
    history row, and the thought row a creation or an edit wrote with it, as the engine's
    change log recorded them."""
    rows = [(HistoryEntry._meta.db_table, entry.pk, "insert")]
    if entry.action in ("node.created", "node.updated"):
        op = "insert" if entry.action == "node.created" else "update"
        rows.append((Thought._meta.db_table, entry.after["id"], op))
    for table, row, op in rows:
        journal_row(table, op, row, after=current_row(table, row), txn=f"txn-{entry.pk}")


def latest() -> HistoryEntry:
    return HistoryEntry.objects.order_by("-id").first()


def test_a_confirmed_write_leaves_the_journal(space, owner):
    services.thought_create(space=space, actor=owner, key="idea", title="Idea")
    journal(latest())
    outcome = reconcile.reconcile()
    assert outcome.as_written == 2 and not JournalEntry.objects.exists()  # thought, history
    assert outcome.replayed == 0 and outcome.conflicts == []


def test_an_update_the_remote_never_got_is_replayed(space, owner):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="Before")
    services.thought_update(thought=thought, actor=owner, changes={"title": "Mine"})
    journal(latest())
    Thought.objects.filter(pk=thought.pk).update(title="Before", version=1)  # as on the remote
    outcome = reconcile.reconcile()
    assert outcome.replayed == 1
    thought.refresh_from_db()
    assert (thought.title, thought.version) == ("Mine", 2)


def test_a_created_thought_whose_key_was_taken_is_kept_under_a_suffixed_key(space, owner):
    mine = services.thought_create(space=space, actor=owner, key="idea", title="Mine")
    journal(latest())
    Thought.objects.filter(pk=mine.pk).delete()  # the engine dropped it...
    services.thought_create(space=space, actor=owner, key="idea", title="Theirs")  # ...for this
    outcome = reconcile.reconcile()
    assert outcome.conflicts == ["duplicate_key"]
    kept = Thought.objects.get(pk=mine.pk)
    assert kept.key == f"idea-{mine.pk[-6:].lower()}" and kept.title == "Mine"
    conflict = Conflict.objects.get()
    assert conflict.kept["key"] == kept.key and conflict.lost["key"] == "idea"
    assert Thought.objects.get(key="idea").title == "Theirs"


def test_a_created_thought_that_vanished_with_nothing_in_its_way_is_written_again(space, owner):
    mine = services.thought_create(space=space, actor=owner, key="idea", title="Mine")
    journal(latest())
    Thought.objects.filter(pk=mine.pk).delete()
    assert reconcile.reconcile().replayed == 1
    assert Thought.objects.get(pk=mine.pk).title == "Mine"


def test_an_edit_of_a_thought_deleted_elsewhere_becomes_a_conflict(space, owner, editor):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    services.thought_update(thought=thought, actor=editor, changes={"title": "Edited"})
    journal(latest())
    # Elsewhere, someone who had only seen version 1 deleted it; their delete won.
    HistoryEntry.objects.create(
        space=space,
        action="node.deleted",
        thought_key="idea",
        before={**thought.snapshot(), "version": 1, "title": "v1"},
        base_version=1,
        actor_name="olivia",
    )
    Thought.objects.filter(pk=thought.pk).delete()
    assert reconcile.reconcile().conflicts == ["edit_of_deleted"]
    conflict = Conflict.objects.get()
    assert conflict.lost["title"] == "Edited" and conflict.actor_name == "edgar"


def elsewhere(space, *changes) -> None:
    """History of changes of the thought "idea" made on another replica, which a pull
    brought: ``(action, before, after, base_version)`` each."""
    for action, before, after, base in changes:
        HistoryEntry.objects.create(
            space=space,
            action=action,
            thought_key="idea",
            before=before,
            after=after,
            base_version=base,
            actor_name="olivia",
        )


def test_a_delete_of_a_concurrent_version_with_the_same_number_had_not_seen_the_edit(
    space, owner, editor
):
    """Two replicas made version 2 from version 1, and one then deleted its own version 2.
    The number says the delete came after version 2; the content says it was the other
    version 2: ours is an edit of a deleted thought (found by the fault suite, seed
    2172040905: the edit was silently lost)."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    services.thought_update(thought=thought, actor=editor, changes={"title": "Ours"})
    journal(latest())
    theirs = {**thought.snapshot(), "title": "Theirs", "version": 2}
    elsewhere(
        space,
        ("node.updated", {**thought.snapshot(), "title": "v1", "version": 1}, theirs, 1),
        ("node.deleted", theirs, None, 2),
    )
    Thought.objects.filter(pk=thought.pk).delete()
    assert reconcile.reconcile().conflicts == ["edit_of_deleted"]
    assert Conflict.objects.get().lost["title"] == "Ours"


def test_a_delete_made_from_a_version_built_upon_the_edit_confirms_it(space, owner, editor):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    services.thought_update(thought=thought, actor=editor, changes={"title": "Ours"})
    journal(latest())
    ours = {**thought.snapshot(), "title": "Ours", "version": 2}
    later = {**ours, "title": "Later", "version": 3}
    elsewhere(space, ("node.updated", ours, later, 2), ("node.deleted", later, None, 3))
    Thought.objects.filter(pk=thought.pk).delete()
    outcome = reconcile.reconcile()
    assert outcome.conflicts == [] and not Conflict.objects.exists()


def test_the_winner_records_the_concurrent_change_it_overwrote(space, owner, editor):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    # Elsewhere: edgar changed version 1 too; that change arrived, then ours overwrote it.
    theirs = HistoryEntry.objects.create(
        space=space,
        action="node.updated",
        thought_key="idea",
        before=thought.snapshot(),
        after={**thought.snapshot(), "title": "Theirs", "version": 2},
        base_version=1,
        actor_name="edgar",
    )
    services.thought_update(thought=thought, actor=owner, changes={"title": "Ours"})
    journal(latest())
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    conflict = Conflict.objects.get()
    assert conflict.id == theirs.id and conflict.lost["title"] == "Theirs"
    assert conflict.kept["title"] == "Ours"


def test_the_loser_records_its_own_change(space, owner, editor):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    services.thought_update(thought=thought, actor=owner, changes={"title": "Ours"})
    ours = latest()
    journal(ours)
    HistoryEntry.objects.create(  # edgar's change of version 1, pushed after ours: it won
        space=space,
        action="node.updated",
        thought_key="idea",
        before={**thought.snapshot(), "title": "v1", "version": 1},
        after={**thought.snapshot(), "title": "Theirs", "version": 2},
        base_version=1,
        actor_name="edgar",
    )
    Thought.objects.filter(pk=thought.pk).update(title="Theirs")
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    conflict = Conflict.objects.get()
    assert conflict.id == ours.id and conflict.lost["title"] == "Ours"


def _update_elsewhere(space, thought, *, base: dict, title: str, actor: str) -> HistoryEntry:
    """A change another replica made from the version ``base``."""
    return HistoryEntry.objects.create(
        space=space,
        action="node.updated",
        thought_key=thought.key,
        before=base,
        after={**base, "title": title, "version": base["version"] + 1},
        base_version=base["version"],
        actor_name=actor,
    )


def test_the_winner_records_a_version_of_its_base_it_never_saw(space, owner):
    """Two replicas made version 2 from version 1; ours was made on the other version 2, the
    remote kept theirs for a while and then ours overwrote it: theirs is lost."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    mine_v2 = services.thought_update(thought=thought, actor=owner, changes={"title": "v2 here"})
    services.thought_update(thought=mine_v2, actor=owner, changes={"title": "v3 here"})
    ours = latest()
    journal(ours)
    cousin = _update_elsewhere(space, thought, base=v1, title="v2 there", actor="edgar")
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    conflict = Conflict.objects.get()
    assert conflict.id == cousin.id and conflict.lost["title"] == "v2 there"


def test_the_winner_records_a_later_version_it_overwrote(space, owner):
    """Ours (version 2) reached the remote after their version 3: it overwrote that."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    services.thought_update(thought=thought, actor=owner, changes={"title": "Ours"})
    ours = latest()
    journal(ours)
    theirs_v2 = _update_elsewhere(space, thought, base=v1, title="Theirs", actor="edgar")
    later = _update_elsewhere(space, thought, base=theirs_v2.after, title="Later", actor="edgar")
    found = sorted(reconcile.reconcile().conflicts)
    assert found == ["concurrent_edit", "concurrent_edit"]
    assert {c.id: c.lost["title"] for c in Conflict.objects.all()} == {
        theirs_v2.id: "Theirs",
        later.id: "Later",
    }


def test_a_delete_that_won_records_every_later_change_it_had_not_seen(space, owner):
    """Elsewhere, version 1 was changed twice (v2, then a v3 with the same title); our delete
    of version 1 won. Both changes are lost with it, so both are conflicts (the fault suite
    found the second one missing)."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    services.thought_delete(thought=thought, actor=owner)
    journal(latest())
    second = _update_elsewhere(space, thought, base=v1, title="Theirs", actor="edgar")
    third = _update_elsewhere(space, thought, base=second.after, title="Theirs", actor="edgar")
    assert reconcile.reconcile().conflicts == ["edit_of_deleted", "edit_of_deleted"]
    assert set(Conflict.objects.values_list("id", flat=True)) == {second.id, third.id}


def test_a_change_that_changed_nothing_is_no_conflict(space, owner):
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    services.thought_update(thought=thought, actor=owner, changes={"title": "Ours"})
    journal(latest())
    _update_elsewhere(space, thought, base=v1, title="v1", actor="edgar")  # same title
    assert reconcile.reconcile().conflicts == []


def test_a_change_that_changed_nothing_carries_a_version_the_winner_never_saw(space, owner):
    """Elsewhere version 1 became "Theirs" (v2) and was saved again unchanged (v3); ours went
    v1 -> v2 -> v3 -> v4 and won. Their unchanged save carried "Theirs", which ours never saw:
    it is lost with their first change (the fault suite found it missing); an unchanged save of
    a version ours saw is no conflict (the test above)."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    theirs = _update_elsewhere(space, thought, base=v1, title="Theirs", actor="edgar")
    again = _update_elsewhere(space, thought, base=theirs.after, title="Theirs", actor="edgar")
    for title in ("Ours", "Ours again", "Ours at last"):
        thought = services.thought_update(thought=thought, actor=owner, changes={"title": title})
    journal(latest())
    assert reconcile.reconcile().conflicts == ["concurrent_edit", "concurrent_edit"]
    lost = {c.id: c.lost["title"] for c in Conflict.objects.all()}
    assert lost == {theirs.id: "Theirs", again.id: "Theirs"}


def test_a_line_of_changes_that_never_saw_a_version_records_it_however_far_back(space, owner):
    """Ours (v2) was current for a while; another replica that never saw it had built v3 and
    v4 on its own v2, and overwrote ours when that line arrived. Deciding the line's last
    change records ours, two versions below its base (the fault suite lost such a title)."""
    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    v1 = thought.snapshot()
    ours = _update_elsewhere(space, thought, base=v1, title="Ours", actor="owner")
    for title in ("Theirs", "Theirs again", "Theirs at last"):
        thought = services.thought_update(thought=thought, actor=owner, changes={"title": title})
    journal(latest())
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    assert Conflict.objects.get().id == ours.id


def test_a_space_title_lost_below_the_winners_base_is_a_conflict(space, owner):
    """The same for a space's title: theirs v2 -> v3 -> v4 overwrote our v2."""
    v1 = {"title": space.title, "description": space.description, "version": space.version}
    ours = HistoryEntry.objects.create(
        space=space,
        action="space.updated",
        before=v1,
        after={**v1, "title": "Ours", "version": 2},
        base_version=1,
        actor_name="owner",
    )
    for title in ("Theirs", "Theirs again", "Theirs at last"):
        space = services.space_update(space=space, actor=owner, changes={"title": title})
    journal(latest())
    reconcile.reconcile()
    assert list(Conflict.objects.values_list("id", flat=True)) == [ours.id]


def test_entries_of_the_former_journal_are_decided_after_an_upgrade(space, owner):
    """Entries the former capture made (a history row's columns) are converted by the
    migration and decided like any other; an unreadable entry does not stop the others."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("syncops.migrations.0003_journal_capture")
    thought = services.thought_create(space=space, actor=owner, key="idea", title="Mine")
    entry = latest()
    JournalEntry.objects.create(
        key=entry.pk,
        state=JournalEntry.State.PUSHED,
        payload={
            "table": HistoryEntry._meta.db_table,
            "space_id": space.pk,
            "action": entry.action,
            "thought_key": entry.thought_key,
            "before": None,
            "after": entry.after,
            "base_version": None,
            "actor_id": owner.pk,
            "actor_name": "olivia",
            "created_at": entry.created_at.isoformat(),
        },
    )
    JournalEntry.objects.create(key="broken", state=JournalEntry.State.PUSHED, payload={})
    migration.convert(apps, None)
    Thought.objects.filter(pk=thought.pk).delete()
    HistoryEntry.objects.filter(space=space).exclude(pk=entry.pk).delete()
    with connection.cursor() as cursor:  # lost by the engine: no tombstone
        cursor.execute("DELETE FROM syncops_tombstone")
    assert reconcile.reconcile().replayed == 1
    assert Thought.objects.get(pk=thought.pk).title == "Mine"
    assert list(JournalEntry.objects.values_list("key", flat=True)) == ["broken"]


@pytest.mark.django_db(transaction=True, databases=["default", "syncops"])
def test_an_edit_committed_while_the_rules_read_is_not_a_conflict(space, owner, monkeypatch):
    """The rules read the thought's history, then the thought: a request that edits it in
    between must not make this replica's own earlier edit look like a lost one."""
    import threading

    from django.db import connection as main_connection

    from spaces import reconcile as rules

    thought = services.thought_create(space=space, actor=owner, key="idea", title="v1")
    services.thought_update(thought=thought, actor=owner, changes={"title": "v2"})
    journal(latest())
    read_history = rules._entries

    def edit() -> None:
        try:
            current = Thought.objects.get(pk=thought.pk)
            services.thought_update(thought=current, actor=owner, changes={"title": "v3"})
        finally:
            main_connection.close()

    editor = threading.Thread(target=edit)

    def history_then_an_edit(*args):
        found = read_history(*args)
        if not editor.is_alive() and editor.ident is None:
            editor.start()  # a request, on a connection of its own
            editor.join(1.0)  # it commits now, unless the rules' view holds it off
        return found

    monkeypatch.setattr(rules, "_entries", history_then_an_edit)
    outcome = reconcile.reconcile()
    editor.join(10)
    assert outcome.conflicts == [] and not Conflict.objects.exists()
    assert Thought.objects.get(pk=thought.pk).title == "v3"
