"""Benchmark steps that run inside a ThoughtSpace process of their own (its environment picks
the storage mode and database), each printing one JSON line on stdout.

    python -m scripts.bench.worker prepare --spaces 1000,10000
    python -m scripts.bench.worker delete-cost --sizes 30,300 --repeat 5 --relay-control PORT
    python -m scripts.bench.worker sustained --seconds 5
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scripts.bench.settings")
    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0, stdout=io.StringIO())


def demo_user() -> Any:
    from django.contrib.auth.models import User

    user = User.objects.filter(username="demo").first()
    if user is None:
        user = User.objects.create_user("demo", password="demo-password")
    return user


def seed_space(
    *, owner: Any, title: str, thoughts: int, links_every: int = 10, width: int = 10
) -> Any:
    """A space of ``thoughts`` thoughts (a tree, ``width`` children each) with one link per
    ``links_every`` thoughts and a history entry per thought, written in bulk."""
    from django.db import transaction

    from spaces import services
    from spaces.models import HistoryEntry, Link, Thought

    space = services.space_create(owner=owner, title=title)
    rows: list[Thought] = []
    for index in range(thoughts):
        parent = rows[(index - 1) // width] if index else None
        rows.append(
            Thought(
                space=space,
                key=f"t{index:05d}",
                title=f"Thought number {index}",
                body="Some words about this thought. " * 4,
                parent=parent,
                position=index % width,
            )
        )
    links = [
        Link(space=space, source=rows[i], target=rows[(i * 7 + 3) % thoughts], label="relates")
        for i in range(0, thoughts, links_every)
        if rows[i] is not rows[(i * 7 + 3) % thoughts]
    ]
    history = [
        HistoryEntry(
            space=space,
            action=HistoryEntry.Action.NODE_CREATED,
            thought_key=row.key,
            after=row.snapshot(),
            actor=owner,
            actor_name=owner.username,
        )
        for row in rows
    ]
    with transaction.atomic():
        for start in range(0, thoughts, 500):
            Thought.objects.bulk_create(rows[start : start + 500])
        Link.objects.bulk_create(links, batch_size=500)
        HistoryEntry.objects.bulk_create(history, batch_size=500)
    return space


def sync_now() -> dict[str, Any]:
    from django.db import connections

    from syncops.replica import replica_for
    from syncops.runtime import run_sync

    replica = replica_for(connections["default"].settings_dict)
    if not replica.syncs:
        return {"ok": True}
    return run_sync(replica)


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    setup_django()
    return prepare_database(args.spaces)


def prepare_database(sizes: str) -> dict[str, Any]:
    """Migrate, add the demo user and space, a bearer token, a browser session and spaces of
    the given sizes (comma-separated); sync them to the remote."""
    from django.core.management import call_command
    from django.test import Client

    from spaces import services
    from spaces.models import Space

    migrate()
    call_command("seed_demo", stdout=io.StringIO())
    user = demo_user()
    _, token = services.token_create(user=user, name="bench")
    client = Client()
    client.force_login(user)
    spaces = {"demo": Space.objects.get(owner=user, title="Demo space").pk}
    for size in [int(s) for s in sizes.split(",") if s]:
        spaces[str(size)] = seed_space(owner=user, title=f"{size} thoughts", thoughts=size).pk
    synced = sync_now()
    if not synced["ok"]:
        raise SystemExit(f"sync after prepare failed: {synced}")
    return {"token": token, "session": client.cookies["sessionid"].value, "spaces": spaces}


def _relay_stats(port: int | None) -> dict[str, Any]:
    if not port:
        return {"bytes_up": 0, "bytes_down": 0, "connections": 0}
    from scripts.bench.netdelay import ask

    return dict(ask(port, "stats"))


def delete_cost(args: argparse.Namespace) -> dict[str, Any]:
    """One thought delete (the service) against a whole-space rewrite (delete every thought
    and link of the space, insert them again without the deleted one, as the old app did):
    transactions, statements, rows changed, and bytes each push sent (offline mode)."""
    setup_django()
    from django.db import connection, transaction

    from spaces import services
    from spaces.models import Link, Thought
    from syncops.replica import replica_for
    from syncops.runtime import background_sync_paused

    results: dict[str, Any] = {}
    with background_sync_paused():
        migrate()
        replica = replica_for(connection.settings_dict)
        commits = {"count": 0}
        original = replica.committed_write

        def counted(connection: Any) -> None:
            commits["count"] += 1
            original(connection)

        replica.committed_write = counted  # type: ignore[method-assign]
        user = demo_user()
        for size in [int(s) for s in args.sizes.split(",") if s]:
            space = seed_space(owner=user, title=f"delete {size}", thoughts=size, links_every=2)
            # Leaves to delete, each left with exactly one link (the usual thought), and
            # inner thoughts with ten children each (the expensive case) where there are any.
            leaves = [f"t{size - 1 - i:05d}" for i in range(args.repeat)]
            inner = [f"t{1 + i:05d}" for i in range(args.repeat)]
            # (the rewrite removes t{size // 2 + index}: none of these)
            for key in leaves:
                thought = Thought.objects.get(space=space, key=key)
                Link.objects.filter(space=space, source=thought).delete()
                Link.objects.filter(space=space, target=thought).delete()
                services.link_create(
                    space=space, actor=user, source=key, target="t00000", label="one link"
                )
            replica.push()

            def delete_leaf(index: int, space: Any = space, keys: list = leaves) -> None:
                thought = Thought.objects.get(space=space, key=keys[index])
                services.thought_delete(thought=thought, actor=user)

            def delete_inner(index: int, space: Any = space, keys: list = inner) -> None:
                thought = Thought.objects.get(space=space, key=keys[index])
                services.thought_delete(thought=thought, actor=user)

            def rewrite(index: int, space: Any = space, size: int = size) -> None:
                thoughts = list(Thought.objects.filter(space=space).order_by("key"))
                links = list(Link.objects.filter(space=space))
                gone = next(t for t in thoughts if t.key == f"t{size // 2 + index:05d}")
                thoughts.remove(gone)  # the thought this "save" removes
                links = [x for x in links if gone.pk not in (x.source_id, x.target_id)]
                for t in thoughts:
                    if t.parent_id == gone.pk:
                        t.parent_id = gone.parent_id
                with transaction.atomic():
                    Link.objects.filter(space=space).delete()
                    Thought.objects.filter(space=space).update(parent=None)
                    Thought.objects.filter(space=space).delete()
                    Thought.objects.bulk_create(thoughts, batch_size=500)
                    Link.objects.bulk_create(links, batch_size=500)

            operations = {"delete a thought with one link": delete_leaf}
            if size > 10 * args.repeat + 10:  # t00001.. each have ten children
                operations["delete a thought with ten children and links"] = delete_inner
            operations["whole-space rewrite (old app)"] = rewrite
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in operations}
            for index in range(args.repeat):
                for name, operation in operations.items():
                    statements = {"count": 0, "rows": 0}

                    def count(
                        execute: Any, sql: str, params: Any, many: bool, context: dict, s=statements
                    ) -> Any:
                        s["count"] += 1
                        result = execute(sql, params, many, context)
                        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                            s["rows"] += max(context["cursor"].rowcount, 0)
                        return result

                    with connection.cursor() as cursor:
                        cursor.execute("SELECT total_changes()")
                        changes_before = cursor.fetchone()[0]
                    commits["count"] = 0
                    with connection.execute_wrapper(count):
                        operation(index)
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT total_changes()")
                        changes = cursor.fetchone()[0] - changes_before
                    transactions = commits["count"]
                    before = _relay_stats(args.relay_control)
                    started = time.perf_counter()
                    if replica.syncs:
                        replica.push()
                    push_ms = (time.perf_counter() - started) * 1000
                    after = _relay_stats(args.relay_control)
                    samples[name].append(
                        {
                            "transactions": transactions,
                            "statements": statements["count"],
                            "rows_changed": statements["rows"],
                            "total_changes": changes,
                            "bytes_up": after["bytes_up"] - before["bytes_up"],
                            "bytes_down": after["bytes_down"] - before["bytes_down"],
                            "http_requests": after["connections"] - before["connections"],
                            "push_ms": push_ms,
                        }
                    )
            results[str(size)] = samples
    return {"mode": replica.mode, "sizes": results}


def sustained(args: argparse.Namespace) -> dict[str, Any]:
    """thought_create in a loop for ``seconds`` with background sync on; then how long the
    backlog takes to reach the remote."""
    setup_django()
    from django.db import connection

    from spaces import services
    from syncops.replica import replica_for

    migrate()
    user = demo_user()
    space = services.space_create(owner=user, title=f"sustained {os.getpid()}")
    replica = replica_for(connection.settings_dict)
    pushes_before = replica.state.pushes
    writes, started = 0, time.perf_counter()
    deadline = started + args.seconds
    while time.perf_counter() < deadline:
        services.thought_create(space=space, actor=user, key=f"s{writes}", title="Sustained")
        writes += 1
    elapsed = time.perf_counter() - started
    drained_s = None
    if replica.syncs:
        while time.perf_counter() - started < elapsed + 30:
            if replica.pending_changes() == 0 and replica.state.pushes > pushes_before:
                drained_s = time.perf_counter() - started - elapsed
                break
            time.sleep(0.005)
    return {
        "mode": replica.mode,
        "writes": writes,
        "seconds": elapsed,
        "writes_per_s": writes / elapsed,
        "pushes": replica.state.pushes - pushes_before,
        "drained_s": drained_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("prepare")
    p.add_argument("--spaces", default="")
    d = steps.add_parser("delete-cost")
    d.add_argument("--sizes", default="30")
    d.add_argument("--repeat", type=int, default=3)
    d.add_argument("--relay-control", type=int, default=0)
    s = steps.add_parser("sustained")
    s.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    step = {"prepare": prepare, "delete-cost": delete_cost, "sustained": sustained}[args.step]
    result = step(args)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
