"""Reconciling writes to every table: rows without history, accounts, rows that refer to a
thought deleted elsewhere, space edits and shares, and a replay that fails. The engine's
effects are made here directly; tests/sync makes them happen between real replicas."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from spaces import conflicts, reconcile, services
from spaces.models import ApiToken, Conflict, HistoryEntry, Link, Membership, Space, Thought
from syncops import reconcile as syncops_reconcile
from syncops.models import JournalEntry
from syncops.reconcile import current_row

pytestmark = pytest.mark.django_db(databases=["default", "syncops"])


def journal(
    table: str, op: str, row: Any, *, before: Any = None, after: Any = None, txn: str | None = None
) -> JournalEntry:
    """A change of ``row`` this replica made and a push carried."""
    return JournalEntry.objects.create(
        key=f"{op}-{table}-{row}-{JournalEntry.objects.count()}",
        state=JournalEntry.State.PUSHED,
        payload={
            "table": table,
            "op": op,
            "row": row,
            "txn": txn or f"txn-{row}",
            "before": before,
            "after": after,
        },
    )


def journal_history(entry: HistoryEntry) -> None:
    table = HistoryEntry._meta.db_table
    journal(table, "insert", entry.pk, after=current_row(table, entry.pk))


def latest() -> HistoryEntry:
    return HistoryEntry.objects.order_by("-id").first()


TOKENS = ApiToken._meta.db_table


def _lost(model: Any, pk: Any) -> None:
    """The row is gone as the engine loses one: without a delete, so without a tombstone."""
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE id = %s', [pk])
        cursor.execute("DELETE FROM syncops_tombstone WHERE row = %s", [str(pk)])


def test_an_insert_the_remote_lost_is_written_again(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    image = current_row(TOKENS, token.pk)
    journal(TOKENS, "insert", token.pk, after=image)
    _lost(ApiToken, token.pk)
    reconcile.reconcile()
    assert current_row(TOKENS, token.pk) == image
    assert not JournalEntry.objects.exists()


def test_an_insert_of_a_row_deleted_elsewhere_is_not_brought_back(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    journal(TOKENS, "insert", token.pk, after=current_row(TOKENS, token.pk))
    ApiToken.objects.filter(pk=token.pk).delete()  # elsewhere: it leaves a tombstone
    reconcile.reconcile()
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert not JournalEntry.objects.exists()


def test_an_update_the_remote_lost_is_applied_again(owner: User) -> None:
    """A token revoked here while the remote was away stays revoked."""
    token, _ = services.token_create(user=owner, name="ci")
    before = current_row(TOKENS, token.pk)
    services.token_revoke(token=token)
    after = current_row(TOKENS, token.pk)
    journal(TOKENS, "update", token.pk, before=before, after=after)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)  # the remote never got it
    reconcile.reconcile()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_a_concurrent_update_of_the_same_row_stands(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    before = current_row(TOKENS, token.pk)
    journal(TOKENS, "update", token.pk, before=before, after={**before, "name": "mine"})
    ApiToken.objects.filter(pk=token.pk).update(name="theirs")
    reconcile.reconcile()
    assert ApiToken.objects.get(pk=token.pk).name == "theirs"


def test_a_delete_is_a_write_too(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    journal(TOKENS, "delete", token.pk, before=current_row(TOKENS, token.pk))
    reconcile.reconcile()  # the row is back after a merge: the delete is applied again
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_an_insert_this_replica_deleted_later_is_not_brought_back(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    image = current_row(TOKENS, token.pk)
    journal(TOKENS, "insert", token.pk, after=image)
    journal(TOKENS, "delete", token.pk, before=image)
    ApiToken.objects.filter(pk=token.pk).delete()
    reconcile.reconcile()
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_a_change_that_cannot_be_written_again_stays_in_the_journal(owner: User) -> None:
    token, _ = services.token_create(user=owner, name="ci")
    image = current_row(TOKENS, token.pk)
    journal(TOKENS, "insert", "nope", after={**image, "id": "nope", "user_id": None})
    outcome_before = JournalEntry.objects.count()
    reconcile.reconcile()
    assert JournalEntry.objects.count() == outcome_before  # kept, tried after the next pull


def test_two_replicas_creating_one_username_keep_both_accounts(db: Any) -> None:
    theirs = User.objects.create_user("erin", password="theirs-pw-123")
    mine_image = {
        **current_row("auth_user", theirs.pk),
        "id": theirs.pk + 1,
        "password": User(password="").password,
    }
    journal("auth_user", "insert", theirs.pk + 1, after=mine_image)
    outcome = reconcile.reconcile()
    assert outcome.conflicts == ["duplicate_key"]
    renamed = User.objects.get(pk=theirs.pk + 1)
    assert renamed.username == f"erin-{str(theirs.pk + 1)[-6:]}"
    assert User.objects.get(username="erin").pk == theirs.pk
    conflict = Conflict.objects.get()
    assert conflict.space is None and conflict.kept["username"] == renamed.username
    with pytest.raises(Exception, match="account"):
        conflicts.conflict_restore(conflict=conflict, actor=theirs)
    conflicts.conflict_dismiss(conflict=conflict, actor=theirs)
    assert not Conflict.objects.get().is_open


def _defer_foreign_keys() -> None:
    """Let this test's transaction hold a row whose reference is gone, as sync can leave one
    (the test transaction is rolled back, never committed)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA defer_foreign_keys = ON")


def test_a_link_to_a_thought_deleted_elsewhere_becomes_a_conflict(space: Space, owner: User):
    t5 = services.thought_create(space=space, actor=owner, key="t5", title="Five", body="b5")
    t6 = services.thought_create(space=space, actor=owner, key="t6", title="Six")
    services.thought_delete(thought=t5, actor=owner)  # "elsewhere", before our link arrived
    _defer_foreign_keys()
    link = Link(space=space, source=t6, target_id=t5.pk, label="see")
    Link.objects.bulk_create([link])
    outcome = reconcile.reconcile()
    assert outcome.conflicts == ["dangling"]
    assert not Link.objects.filter(pk=link.pk).exists()
    conflict = Conflict.objects.get()
    assert conflict.id == link.pk and conflict.lost == {
        "id": link.pk,
        "source": "t6",
        "target": "t5",
        "label": "see",
    }
    conflicts.conflict_restore(conflict=conflict, actor=owner)
    back = Thought.objects.get(space=space, key="t5")
    assert (back.pk, back.title, back.body) == (t5.pk, "Five", "b5")
    assert space.links.filter(source__key="t6", target__key="t5", label="see").exists()


def test_a_child_of_a_thought_deleted_elsewhere_moves_up_with_a_conflict(space: Space, owner: User):
    top = services.thought_create(space=space, actor=owner, key="top", title="Top")
    t5 = services.thought_create(space=space, actor=owner, key="t5", title="Five", parent="top")
    services.thought_delete(thought=t5, actor=owner)
    _defer_foreign_keys()
    child = services.thought_create(space=space, actor=owner, key="kid", title="Kid")
    Thought.objects.filter(pk=child.pk).update(parent_id=t5.pk)
    assert reconcile.reconcile().conflicts == ["dangling"]
    child.refresh_from_db()
    assert child.parent_id == top.pk
    conflict = Conflict.objects.get()
    assert conflict.lost["parent"] == "t5" and conflict.kept["parent"] == "top"
    conflicts.conflict_restore(conflict=conflict, actor=owner)
    child.refresh_from_db()
    assert child.parent is not None and child.parent.key == "t5"


def test_a_space_title_that_lost_is_a_conflict_and_can_be_restored(space: Space, owner: User):
    services.space_update(space=space, actor=owner, changes={"title": "Mine"})
    ours = latest()
    journal_history(ours)
    HistoryEntry.objects.create(  # edited elsewhere from the same version, pushed after ours
        space=space,
        action="space.updated",
        before=ours.before,
        after={**ours.after, "title": "Theirs"},
        base_version=ours.base_version,
        actor_name="edgar",
    )
    Space.objects.filter(pk=space.pk).update(title="Theirs")
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    conflict = Conflict.objects.get()
    assert conflict.id == ours.pk and conflict.lost["title"] == "Mine"
    assert conflict.kept["title"] == "Theirs"
    conflicts.conflict_restore(conflict=conflict, actor=owner)
    assert Space.objects.get(pk=space.pk).title == "Mine"


def test_a_space_title_that_won_records_the_one_it_overwrote(space: Space, owner: User):
    services.space_update(space=space, actor=owner, changes={"title": "Mine"})
    ours = latest()
    journal_history(ours)
    theirs = HistoryEntry.objects.create(  # from the same version, overwritten by ours
        space=space,
        action="space.updated",
        before=ours.before,
        after={**ours.after, "title": "Theirs"},
        base_version=ours.base_version,
        actor_name="edgar",
    )
    assert reconcile.reconcile().conflicts == ["concurrent_edit"]
    conflict = Conflict.objects.get()
    assert conflict.id == theirs.pk and conflict.lost["title"] == "Theirs"
    assert Space.objects.get(pk=space.pk).title == "Mine"


def test_a_space_edit_the_remote_never_got_is_replayed(space: Space, owner: User):
    services.space_update(space=space, actor=owner, changes={"title": "Mine"})
    journal_history(latest())
    Space.objects.filter(pk=space.pk).update(title="Ideas", version=1)
    assert reconcile.reconcile().replayed == 1
    assert Space.objects.get(pk=space.pk).title == "Mine"


def _share_elsewhere(space: Space, user: User, *, seen: Any, before: Any, role: Any) -> Any:
    """A share another replica made, having seen the share ``seen``."""
    return HistoryEntry.objects.create(
        space=space,
        action="space.shared",
        before={"user": user.username, "user_id": user.pk, "role": before, "seen": seen},
        after={"user": user.username, "user_id": user.pk, "role": role},
        actor_name="edgar",
    )


@pytest.mark.parametrize("pushed_last", ["editor", "viewer"])
def test_concurrent_grants_end_with_the_safer_role_and_a_conflict(
    space: Space, owner: User, stranger: User, pushed_last: str
):
    services.space_share(space=space, actor=owner, username="sam", role="editor")
    ours = latest()
    journal_history(ours)
    theirs = _share_elsewhere(space, stranger, seen=None, before=None, role="viewer")
    Membership.objects.filter(space=space, user=stranger).update(role=pushed_last)
    reconcile.reconcile()
    assert Membership.objects.get(space=space, user=stranger).role == "viewer"
    conflict = Conflict.objects.get()
    assert conflict.id == ours.pk and conflict.lost["role"] == "editor"
    assert theirs.pk != conflict.id
    conflicts.conflict_restore(conflict=conflict, actor=owner)
    assert Membership.objects.get(space=space, user=stranger).role == "editor"


def test_a_revocation_wins_over_a_concurrent_role_change(space: Space, owner: User, editor: User):
    granted = HistoryEntry.objects.filter(action="space.shared", after__user_id=editor.pk).get()
    services.space_share(space=space, actor=owner, username="edgar", role=None)
    ours = latest()
    assert ours.before["seen"] == granted.pk
    journal_history(ours)
    theirs = _share_elsewhere(space, editor, seen=granted.pk, before="editor", role="viewer")
    Membership.objects.create(space=space, user=editor, role="viewer")  # theirs arrived last
    reconcile.reconcile()
    assert not Membership.objects.filter(space=space, user=editor).exists()
    conflict = Conflict.objects.get()
    assert conflict.id == theirs.pk and conflict.lost["role"] == "viewer"


def test_a_share_made_after_a_grant_that_a_revocation_raced_loses_to_it(
    space: Space, owner: User, stranger: User
):
    """viewer; here editor, then viewer again; elsewhere (having seen only the first viewer)
    a revocation. Our last share never saw the revocation, though it followed another
    share: the revocation wins and our share is a conflict (the fault suite found it lost)."""
    services.space_share(space=space, actor=owner, username="sam", role="viewer")
    first = latest()
    services.space_share(space=space, actor=owner, username="sam", role="editor")
    services.space_share(space=space, actor=owner, username="sam", role="viewer")
    ours = latest()
    journal_history(ours)
    _share_elsewhere(space, stranger, seen=first.pk, before="viewer", role=None)
    Membership.objects.filter(space=space, user=stranger).delete()  # the revocation arrived
    reconcile.reconcile()
    assert not Membership.objects.filter(space=space, user=stranger).exists()
    conflict = Conflict.objects.get()
    assert conflict.id == ours.pk and conflict.lost["role"] == "viewer"


def test_old_shares_of_the_same_person_are_not_concurrent(space: Space, owner: User, stranger):
    """viewer, revoked, then editor: the editor grant followed the revoke; nothing competes."""
    for role in ("viewer", None, "editor"):
        services.space_share(space=space, actor=owner, username="sam", role=role)
    journal_history(latest())
    assert reconcile.reconcile().conflicts == []
    assert Membership.objects.get(space=space, user=stranger).role == "editor"


def test_a_share_follows_the_account_not_the_name(space: Space, owner: User, stranger: User):
    """Replayed for the account it named, even where another account has the name now."""
    services.space_share(space=space, actor=owner, username="sam", role="viewer")
    journal_history(latest())
    Membership.objects.filter(space=space, user=stranger).delete()
    User.objects.filter(pk=stranger.pk).update(username="sam-renamed")
    impostor = User.objects.create_user("sam")
    reconcile.reconcile()
    assert Membership.objects.get(space=space, user=stranger).role == "viewer"
    assert not Membership.objects.filter(space=space, user=impostor).exists()


def test_a_replay_the_data_no_longer_allows_is_a_conflict_not_a_loss(space: Space, owner: User):
    """A title change made here reached nobody, and its parent was deleted elsewhere."""
    parent = services.thought_create(space=space, actor=owner, key="p", title="P")
    child = services.thought_create(space=space, actor=owner, key="c", title="Old", parent="p")
    services.thought_update(thought=child, actor=owner, changes={"title": "New"})
    journal_history(latest())
    Thought.objects.filter(pk=child.pk).update(title="Old", version=1, parent=None)
    Thought.objects.filter(pk=parent.pk).delete()
    outcome = reconcile.reconcile()
    assert outcome.conflicts == ["dropped"]
    conflict = Conflict.objects.get()
    assert conflict.lost["title"] == "New" and not JournalEntry.objects.exists()


def test_a_space_whose_creation_never_arrived_is_written_again(owner: User) -> None:
    space = services.space_create(owner=owner, title="Lost")
    created = latest()
    table = Space._meta.db_table
    image = current_row(table, space.pk)
    history = current_row(HistoryEntry._meta.db_table, created.pk)
    journal(table, "insert", space.pk, after=image, txn="txn-space")
    journal(HistoryEntry._meta.db_table, "insert", created.pk, after=history, txn="txn-space")
    with connection.cursor() as cursor:  # dropped by the engine: gone without a tombstone
        cursor.execute("DELETE FROM spaces_historyentry WHERE space_id = %s", [space.pk])
        cursor.execute("DELETE FROM spaces_space WHERE id = %s", [space.pk])
        cursor.execute("DELETE FROM syncops_tombstone")
    reconcile.reconcile()
    assert Space.objects.get(pk=space.pk).title == "Lost"
    assert HistoryEntry.objects.filter(pk=created.pk).exists()


def test_a_space_deleted_elsewhere_stays_deleted(owner: User) -> None:
    space = services.space_create(owner=owner, title="Gone")
    journal_history(latest())
    services.space_delete(space=space, actor=owner)
    reconcile.reconcile()
    assert not Space.objects.filter(pk=space.pk).exists()


def test_a_history_entry_the_rules_cannot_read_is_reconciled_as_a_row(space: Space, owner: User):
    """Written in bulk without the thought's id (an import): decided, not retried forever."""
    entry = HistoryEntry.objects.create(
        space=space, action="node.created", thought_key="bulk", after={"key": "bulk"}
    )
    journal_history(entry)
    outcome = reconcile.reconcile()
    assert outcome.conflicts == [] and not JournalEntry.objects.exists()
    assert HistoryEntry.objects.filter(pk=entry.pk).exists()


@pytest.fixture
def spied_tokens() -> Any:
    """The tokens' policy, counting the changes it is asked to decide."""
    from syncops import policies
    from syncops.reconcile import replay_row

    asked: list[Any] = []

    def spy(change: Any, txn: Any) -> bool:
        asked.append(change.row)
        return replay_row(change, txn)

    policies.register(TOKENS, spy)
    yield asked
    policies.register(TOKENS, replay_row)


def test_a_transaction_found_as_written_is_decided_without_its_policy(owner: User, spied_tokens):
    kept, _ = services.token_create(user=owner, name="kept")
    lost, _ = services.token_create(user=owner, name="lost")
    for token in (kept, lost):
        journal(TOKENS, "insert", token.pk, after=current_row(TOKENS, token.pk))
    _lost(ApiToken, lost.pk)
    outcome = reconcile.reconcile()
    assert outcome.as_written == 1 and spied_tokens == [lost.pk]  # only the lost one asked
    assert ApiToken.objects.filter(pk=lost.pk).exists() and not JournalEntry.objects.exists()


def test_one_row_not_as_written_sends_its_whole_transaction_to_the_policies(owner, spied_tokens):
    first, _ = services.token_create(user=owner, name="first")
    second, _ = services.token_create(user=owner, name="second")
    for token in (first, second):
        journal(TOKENS, "insert", token.pk, after=current_row(TOKENS, token.pk), txn="one")
    ApiToken.objects.filter(pk=second.pk).update(name="changed elsewhere")
    outcome = reconcile.reconcile()
    assert outcome.as_written == 0 and sorted(spied_tokens) == sorted([first.pk, second.pk])


def test_a_row_deleted_and_inserted_again_in_one_transaction_is_not_deleted_again(owner: User):
    """A rewrite (delete every row, insert them again) whose rows then changed: the delete is
    not replayed, the insert after it decides."""
    token, _ = services.token_create(user=owner, name="ci")
    image = current_row(TOKENS, token.pk)
    journal(TOKENS, "delete", token.pk, before=image, txn="rewrite")
    journal(TOKENS, "insert", token.pk, after=image, txn="rewrite")
    ApiToken.objects.filter(pk=token.pk).update(name="renamed later")  # not as written now
    reconcile.reconcile()
    assert ApiToken.objects.get(pk=token.pk).name == "renamed later"
    assert not JournalEntry.objects.exists()


def test_a_link_that_went_with_its_deleted_thought_is_not_a_lost_write(space: Space, owner: User):
    services.thought_create(space=space, actor=owner, key="a", title="A")
    services.thought_create(space=space, actor=owner, key="b", title="B")
    services.link_create(space=space, actor=owner, source="a", target="b", label="")
    journal_history(latest())
    services.thought_delete(thought=Thought.objects.get(space=space, key="a"), actor=owner)
    outcome = reconcile.reconcile()
    assert outcome.conflicts == [] and not Conflict.objects.exists()


# --- where the orphan check looks -------------------------------------------------------------


def test_after_a_pull_orphans_are_found_through_the_tombstones_of_any_key_type(
    space: Space, owner: User, stranger: User
):
    Membership.objects.create(space=space, user=stranger, role="viewer")
    t5 = services.thought_create(space=space, actor=owner, key="t5", title="Five")
    t6 = services.thought_create(space=space, actor=owner, key="t6", title="Six")
    services.thought_delete(thought=t5, actor=owner)  # elsewhere: a text key's tombstone
    _defer_foreign_keys()
    with connection.cursor() as cursor:  # and an integer key's, without its cascade
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [stranger.pk])
    Link.objects.bulk_create([Link(space=space, source=t6, target_id=t5.pk, label="see")])
    assert syncops_reconcile.repair_references(full=False) == 2
    assert not Membership.objects.filter(user_id=stranger.pk).exists()
    assert not Link.objects.exists() and Conflict.objects.get().lost["target"] == "t5"


def test_a_row_lost_without_a_tombstone_is_found_by_the_next_sweep(
    space: Space, owner: User, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(syncops_reconcile, "_last_sweep", time.monotonic())  # just swept
    t5 = services.thought_create(space=space, actor=owner, key="t5", title="Five")
    t6 = services.thought_create(space=space, actor=owner, key="t6", title="Six")
    _defer_foreign_keys()
    Link.objects.bulk_create([Link(space=space, source=t6, target_id=t5.pk, label="see")])
    _lost(Thought, t5.pk)
    assert syncops_reconcile.reconcile().orphans == 0  # no tombstone names it
    assert Link.objects.exists()
    syncops_reconcile.sweep_soon()  # as a recovery does
    assert syncops_reconcile.reconcile().orphans == 1
    assert not Link.objects.exists()
