"""Services write the row, its history entry and the on-commit event together."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from spaces import services
from spaces.errors import Conflict, InvalidInput, PreconditionFailed
from spaces.events import change_committed
from spaces.models import HistoryEntry, Link, Space, Thought


@pytest.fixture
def events():
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event)

    change_committed.connect(receiver)
    yield received
    change_committed.disconnect(receiver)


def writes(queries):
    return [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]


def test_ids_are_application_generated_ulids(space, owner):
    thought = services.thought_create(space=space, actor=owner, key="a", title="A")
    assert len(thought.id) == 26 and len(space.id) == 26
    assert thought.id > space.id  # ULIDs sort by creation time


@pytest.mark.django_db(transaction=True)
def test_create_emits_one_event_after_commit(space, owner, events):
    with transaction.atomic():
        services.thought_create(space=space, actor=owner, key="a", title="A")
        assert events == []
    assert [e["type"] for e in events] == ["node.created"]
    assert events[0]["space_id"] == space.id and events[0]["data"]["key"] == "a"


@pytest.mark.django_db(transaction=True)
def test_rolled_back_work_emits_nothing_and_records_nothing(space, owner, events):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.thought_create(space=space, actor=owner, key="a", title="A")
        raise RuntimeError("abort")
    assert events == []
    assert not Thought.objects.exists()
    assert not HistoryEntry.objects.filter(action="node.created").exists()


def total_changes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT total_changes()")
        return cursor.fetchone()[0]


def test_delete_changes_only_the_thought_its_link_and_one_history_row(space, owner):
    for key in ("a", "b", "c"):
        services.thought_create(space=space, actor=owner, key=key, title=key)
    services.link_create(space=space, actor=owner, source="a", target="b")
    thought = Thought.objects.get(key="a")
    before = total_changes()
    with CaptureQueriesContext(connection) as queries:
        services.thought_delete(thought=thought, actor=owner)
    # The thought, its link, one history row, and a tombstone of each deleted row; on the
    # Turso engine (offline mode) each also writes a row of the engine's change log.
    per_row = 2 if connection.settings_dict["OPTIONS"].get("mode") == "offline" else 1
    assert total_changes() - before == 5 * per_row
    statements = writes(queries.captured_queries)
    assert sum('INSERT INTO "spaces_historyentry"' in sql for sql in statements) == 1
    assert not any('"spaces_space"' in sql.split("WHERE")[0] for sql in statements)
    assert Link.objects.count() == 0 and Thought.objects.count() == 2
    entry = HistoryEntry.objects.filter(action="node.deleted", thought_key="a").get()
    assert entry.before["title"] == "a"
    with connection.cursor() as cursor:
        cursor.execute("SELECT tbl, row FROM syncops_tombstone ORDER BY tbl")
        assert [table for table, _ in cursor.fetchall()] == ["spaces_link", "spaces_thought"]


def test_deleting_a_parent_moves_children_up(space, owner):
    services.thought_create(space=space, actor=owner, key="root", title="r")
    services.thought_create(space=space, actor=owner, key="mid", title="m", parent="root")
    services.thought_create(space=space, actor=owner, key="leaf", title="l", parent="mid")
    services.thought_delete(thought=Thought.objects.get(key="mid"), actor=owner)
    assert Thought.objects.get(key="leaf").parent.key == "root"


def test_duplicate_key_raises_conflict_and_keeps_the_transaction_usable(space, owner):
    services.thought_create(space=space, actor=owner, key="a", title="A")
    with transaction.atomic():
        with pytest.raises(Conflict):
            services.thought_create(space=space, actor=owner, key="a", title="again")
        services.thought_create(space=space, actor=owner, key="b", title="B")
    assert Thought.objects.count() == 2


def test_update_checks_the_expected_version(space, owner):
    thought = services.thought_create(space=space, actor=owner, key="a", title="A")
    services.thought_update(
        thought=thought, actor=owner, changes={"title": "B"}, expected_version=1
    )
    stale = Thought.objects.get(pk=thought.pk)
    stale.version = 1  # what a client that read version 1 holds
    with pytest.raises(PreconditionFailed):
        services.thought_update(thought=stale, actor=owner, changes={"title": "C"})
    assert Thought.objects.get(pk=thought.pk).title == "B"


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "bad key"},
        {"key": "ok\n"},
        {"title": " "},
        {"body": "x" * 20_001},
        {"metadata": []},
        {"position": 2**40},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(space, owner, fields):
    arguments = {"key": "ok", "title": "T", **fields}
    with pytest.raises(InvalidInput):
        services.thought_create(space=space, actor=owner, **arguments)
    assert not Thought.objects.exists()


def test_space_delete_removes_everything(space, owner):
    services.thought_create(space=space, actor=owner, key="a", title="A")
    services.space_delete(space=space, actor=owner)
    assert not Space.objects.exists() and not Thought.objects.exists()
