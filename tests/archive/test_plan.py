"""An import's plan, kept on disk: thoughts come out parents first whatever the file's order,
cycles of parents are cut where they are found, and errors name the line."""

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spaces import archive
from spaces.archive import ArchiveError, LinkRecord, ThoughtRecord


def plan_of(parents: dict[str, str | None]) -> archive.Plan:
    plan = archive.Plan(title="t")
    for line, (key, parent) in enumerate(parents.items(), start=1):
        plan.add_thought(ThoughtRecord(key=key, title=key, parent=parent, line=line))
    return plan


# Any graph of parents: each of n thoughts names a parent among them, none, or one the space
# has ("space-0", "space-1"); that covers forests, chains, cycles and trees hanging off them.
graphs = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.lists(
        st.one_of(st.none(), st.integers(0, n - 1).map(str), st.sampled_from(["space-0"])),
        min_size=n,
        max_size=n,
    ).map(lambda parents: {str(i): parent for i, parent in enumerate(parents)})
)


@given(graphs)
def test_every_thought_comes_once_and_after_its_parent(parents):
    plan = plan_of(parents)
    cut = plan.parents_first(lambda keys: {k for k in keys if k.startswith("space-")}, cut=True)
    ordered = list(plan.ordered())
    assert sorted(r.key for r in ordered) == sorted(parents)
    placed: set[str] = {"space-0"}
    for record in ordered:
        assert record.parent is None or record.parent in placed, (record, ordered)
        assert record.parent == (None if record.key in cut else parents[record.key])
        placed.add(record.key)
    # Only thoughts on a cycle are cut, one per cycle.
    for key in cut:
        seen, current = set(), parents[key]
        while current is not None and current not in seen and current != key:
            seen.add(current)
            current = parents.get(current)
        assert current == key, f"{key} was cut but is on no cycle"
    plan.close()


def test_a_cycle_is_an_error_when_it_may_not_be_cut():
    plan = plan_of({"root": None, "a": "b", "b": "a"})
    with pytest.raises(ArchiveError, match="its own ancestor") as error:
        plan.parents_first(lambda keys: set(), cut=False)
    assert error.value.line in (2, 3)


def test_a_parent_neither_in_the_archive_nor_the_space_names_the_first_line_naming_it():
    plan = plan_of({"root": None, "a": "gone", "b": "gone"})
    with pytest.raises(ArchiveError, match="'a' names parent 'gone'") as error:
        plan.parents_first(lambda keys: set(), cut=True)
    assert error.value.line == 2


def test_a_key_read_twice_names_the_second_line():
    lines = [
        {"type": "header", "format": archive.FORMAT, "schema": archive.SCHEMA},
        {"type": "space", "title": "S"},
        {"type": "thought", "key": "a", "title": "A"},
        {"type": "thought", "key": "a", "title": "A again"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    with pytest.raises(ArchiveError, match="'a' appears twice") as error:
        archive.read_jsonl(io.BytesIO(data), file="x.jsonl")
    assert (error.value.file, error.value.line) == ("x.jsonl", 4)


def test_a_link_read_twice_is_kept_once():
    plan = plan_of({"a": None, "b": None})
    for line in (1, 2):
        plan.add_link(LinkRecord("a", "b", "see", line=line))
    plan.add_link(LinkRecord("a", "b", "other", line=3))
    assert [(k.label, k.line) for k in plan.links] == [("see", 1), ("other", 3)]
    assert plan.link_count() == 2
