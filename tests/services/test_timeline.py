"""The space as it was at any moment, and restoring it: state_at against the states the
space really had, after random sequences of edits, deletes, moves and links."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spaces import services, timeline
from spaces.errors import InvalidInput
from spaces.models import Space

KEYS = ["a", "b", "c", "d", "e"]


def state(space: Space) -> dict[str, Any]:
    """What a restore must bring back: thoughts (content and parent) and links."""
    thoughts = {
        t.key: (t.title, t.body, t.kind, t.metadata, t.parent.key if t.parent else None, t.position)
        for t in space.thoughts.select_related("parent")
    }
    links = set(space.links.values_list("source__key", "target__key", "label"))
    space.refresh_from_db()
    return {"title": space.title, "thoughts": thoughts, "links": links}


def replayed(space: Space, at: Any) -> dict[str, Any]:
    past = timeline.state_at(space, at)
    thoughts = {
        key: (t["title"], t["body"], t["kind"], t["metadata"], t["parent"], t["position"])
        for key, t in past.thoughts.items()
    }
    return {"title": past.title, "thoughts": thoughts, "links": set(past.links)}


step = st.tuples(
    st.sampled_from(["create", "edit", "move", "delete", "link", "unlink", "title"]),
    st.sampled_from(KEYS),
    st.sampled_from(KEYS),
    st.integers(0, 3),
)


def apply(space: Space, user: User, op: str, key: str, other: str, n: int) -> None:
    thought = space.thoughts.filter(key=key).first()
    try:
        if op == "create" and thought is None:
            parent = other if space.thoughts.filter(key=other).exists() else None
            services.thought_create(
                space=space, actor=user, key=key, title=f"T{n}", parent=parent, position=n
            )
        elif op == "edit" and thought is not None:
            changes = {"body": f"body {n}", "metadata": {"n": n}, "position": n}
            services.thought_update(thought=thought, actor=user, changes=changes)
        elif op == "move" and thought is not None:
            services.thought_update(
                thought=thought, actor=user, changes={"parent": other if n else None}
            )
        elif op == "delete" and thought is not None:
            services.thought_delete(thought=thought, actor=user)
        elif op == "link":
            services.link_create(space=space, actor=user, source=key, target=other, label=str(n))
        elif op == "unlink":
            link = space.links.filter(source__key=key).first()
            if link is not None:
                services.link_delete(space=space, actor=user, link_id=link.pk)
        elif op == "title":
            services.space_update(space=space, actor=user, changes={"title": f"Space {n}"})
    except (InvalidInput, services.Conflict):
        pass  # a cycle, a missing end, a link made twice: refused, nothing written


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=25), pick=st.integers(0, 10**6))
def test_restore_to_any_moment_gives_exactly_the_state_of_then(
    owner: User, steps: list[tuple[str, str, str, int]], pick: int
):
    space = services.space_create(owner=owner, title="Space")
    moments = [(timezone.now(), state(space))]
    for op, key, other, n in steps:
        apply(space, owner, op, key, other, n)
        moments.append((timezone.now(), state(space)))
    at, then = moments[pick % len(moments)]
    assert replayed(space, at) == then  # the read-only view of that moment
    written = timeline.restore_to(space, at, actor=owner)
    assert state(space) == then
    if then == moments[-1][1]:
        assert written == 0
    # The restore is itself ordinary history: going back to the moment before it undoes it.
    timeline.restore_to(space, moments[-1][0], actor=owner)
    assert state(space) == moments[-1][1]


@pytest.mark.django_db
def test_one_thought_comes_back_from_any_version_of_its_history(owner: User):
    space = services.space_create(owner=owner, title="Space")
    parent = services.thought_create(space=space, actor=owner, key="p", title="P")
    thought = services.thought_create(space=space, actor=owner, key="t", title="First", parent="p")
    services.thought_update(thought=thought, actor=owner, changes={"title": "Second"})
    first = space.history.filter(thought_key="t", action="node.created").get()
    restored = timeline.restore_version(space, first.pk, actor=owner)
    assert (restored.title, restored.version) == ("First", 3)
    services.thought_delete(thought=restored, actor=owner)
    services.thought_delete(thought=parent, actor=owner)
    deleted = space.history.filter(thought_key="t", action="node.deleted").get()
    back = timeline.restore_version(space, deleted.pk, actor=owner)
    assert back.title == "First" and back.parent is None  # its parent is gone too
    assert back.pk == thought.pk  # under the id it had: links to it can follow


@pytest.mark.django_db
def test_a_restore_refuses_the_future_and_moments_before_the_space(owner: User):
    before = timezone.now()
    space = services.space_create(owner=owner, title="Space")
    with pytest.raises(InvalidInput, match="did not exist"):
        timeline.restore_to(space, before, actor=owner)
    with pytest.raises(InvalidInput, match="future"):
        timeline.restore_to(space, timezone.now() + timezone.timedelta(days=1), actor=owner)


@pytest.mark.django_db
def test_a_restore_tells_open_pages_once(owner: User, django_capture_on_commit_callbacks: Any):
    from spaces.events import change_committed

    space = services.space_create(owner=owner, title="Space")
    then = timezone.now()
    for n in range(5):
        services.thought_create(space=space, actor=owner, key=f"k{n}", title=f"T{n}")
    heard: list[dict[str, Any]] = []

    def hear(sender: Any = None, *, event: dict[str, Any], **kwargs: Any) -> None:
        heard.append(event)

    change_committed.connect(hear)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            written = timeline.restore_to(space, then, actor=owner)
    finally:
        change_committed.disconnect(hear)
    assert written == 5
    assert [(e["type"], e["data"]["changes"]) for e in heard] == [("space.restored", 5)]
    assert space.history.filter(action="node.deleted").count() == 5  # each change is history


@pytest.mark.django_db
def test_a_space_whose_oldest_history_was_archived_is_not_restored_from_what_is_left(
    owner: User,
):
    space = services.space_create(owner=owner, title="Space")
    services.thought_create(space=space, actor=owner, key="old", title="Old")
    then = timezone.now()
    services.thought_create(space=space, actor=owner, key="new", title="New")
    # The archiving recipe (docs/RELIABILITY.md) removes the oldest entries first.
    space.history.filter(created_at__lt=then).delete()
    with pytest.raises(InvalidInput, match="archived"):
        timeline.restore_to(space, then, actor=owner)
    assert set(space.thoughts.values_list("key", flat=True)) == {"old", "new"}
