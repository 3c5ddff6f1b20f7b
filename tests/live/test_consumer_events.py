"""What an open space WebSocket hears: one JSON event per committed change of its space, after
the commit, and nothing for rolled-back work or other spaces."""

from __future__ import annotations

import contextlib

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction

from spaces import services
from spaces.consumers import CLOSE_NOT_FOUND
from tests.live.conftest import ORIGIN, bearer, communicator, run_async

pytestmark = pytest.mark.django_db(transaction=True)


async def _listen(space, user):
    token = await sync_to_async(bearer)(user)
    comm = communicator(space.pk, (b"origin", ORIGIN), (b"authorization", token))
    connected, _ = await comm.connect()
    assert connected
    return comm


@run_async
async def test_created_thought_sends_one_event(space, owner, viewer):
    comm = await _listen(space, viewer)
    await sync_to_async(services.thought_create)(
        space=space, actor=owner, key="seeds", title="Buy seeds"
    )
    event = await comm.receive_json_from(timeout=2)
    assert event["type"] == "node.created"
    assert event["space_id"] == space.pk
    assert event["key"] == "seeds"
    assert event["actor"] == owner.username
    assert event["history_id"]
    assert event["data"]["title"] == "Buy seeds"
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@run_async
async def test_each_kind_of_change_sends_its_event(space, owner, editor):
    comm = await _listen(space, editor)

    def changes():
        a = services.thought_create(space=space, actor=owner, key="a", title="A")
        services.thought_create(space=space, actor=owner, key="b", title="B")
        services.thought_update(thought=a, actor=owner, changes={"title": "A2"})
        link = services.link_create(space=space, actor=owner, source="a", target="b")
        services.link_delete(space=space, actor=owner, link_id=link.pk)
        services.thought_delete(thought=a, actor=owner)
        services.space_update(space=space, actor=owner, changes={"title": "Renamed"})

    await sync_to_async(changes)()
    types = [(await comm.receive_json_from(timeout=2))["type"] for _ in range(7)]
    assert types == [
        "node.created",
        "node.created",
        "node.updated",
        "link.created",
        "link.deleted",
        "node.deleted",
        "space.updated",
    ]
    await comm.disconnect()


@run_async
async def test_event_is_sent_only_after_commit(space, owner, viewer):
    comm = await _listen(space, viewer)

    def write_and_look_before_commit() -> bool:
        with transaction.atomic():
            services.thought_create(space=space, actor=owner, key="seeds", title="Buy seeds")
            return async_to_sync(comm.receive_nothing)(timeout=0.3)

    assert await sync_to_async(write_and_look_before_commit)()
    event = await comm.receive_json_from(timeout=2)
    assert event["type"] == "node.created"
    await comm.disconnect()


@run_async
async def test_rolled_back_change_sends_nothing(space, owner, viewer):
    comm = await _listen(space, viewer)

    def write_and_roll_back() -> None:
        with contextlib.suppress(RuntimeError), transaction.atomic():
            services.thought_create(space=space, actor=owner, key="seeds", title="Buy seeds")
            raise RuntimeError("roll back")

    await sync_to_async(write_and_roll_back)()
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


@run_async
async def test_changes_of_other_spaces_are_not_sent(space, owner, viewer):
    comm = await _listen(space, viewer)

    def change_another_space() -> None:
        other = services.space_create(owner=owner, title="Elsewhere")
        services.thought_create(space=other, actor=owner, key="x", title="X")

    await sync_to_async(change_another_space)()
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


@run_async
async def test_deleting_the_space_sends_the_event_then_closes(space, owner, viewer):
    comm = await _listen(space, viewer)
    await sync_to_async(services.space_delete)(space=space, actor=owner)
    event = await comm.receive_json_from(timeout=2)
    assert event["type"] == "space.deleted"
    closed = await comm.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}


@run_async
async def test_removed_member_is_closed(space, owner, viewer):
    comm = await _listen(space, viewer)
    await sync_to_async(services.space_share)(
        space=space, actor=owner, username=viewer.username, role=None
    )
    event = await comm.receive_json_from(timeout=2)
    assert event["type"] == "space.shared"
    closed = await comm.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": CLOSE_NOT_FOUND}


@run_async
async def test_an_event_from_another_instance_runs_before_relay_first(
    space, owner, viewer, settings, monkeypatch
):
    seen: list[str] = []
    monkeypatch.setattr("tests.live.test_consumer_events.HOOK_CALLS", seen)
    settings.LIVE_BEFORE_RELAY = "tests.live.test_consumer_events.record_hook"
    comm = await _listen(space, viewer)
    from channels.layers import get_channel_layer

    from spaces import live

    event = {"type": "node.created", "space_id": space.pk, "key": "far", "history_id": "h1"}
    message = {"type": live.MESSAGE_TYPE, "event": event, "origin": "elsewhere", "relay_id": "r1"}
    await get_channel_layer().group_send(live.group_name(space.pk), message)
    assert (await comm.receive_json_from(timeout=2))["key"] == "far"
    assert seen == ["far"]

    own = {**message, "origin": live.INSTANCE_ID, "relay_id": "r2"}
    await get_channel_layer().group_send(live.group_name(space.pk), own)
    await comm.receive_json_from(timeout=2)
    assert seen == ["far"]  # an instance's own events need no pull
    await comm.disconnect()


HOOK_CALLS: list[str] = []


def record_hook(event: dict) -> None:
    HOOK_CALLS.append(event["key"])
