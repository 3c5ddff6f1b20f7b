"""A space exported from one instance and imported into a fresh one, in each storage mode,
with the commands an operator runs: the same thoughts (ids included), links, keys, parents
and metadata; and the import reaches the fresh instance's remote like any write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from syncops.devservers import start_sqld, start_turso_sync_server
from tests.live.servers import app_env, manage, prepare_database
from tests.sync.instances import sync_env

GRAPH = """
import json
from spaces.models import Space

def graph(space_id):
    space = Space.objects.get(pk=space_id)
    thoughts = sorted(
        [t.id, t.key, t.title, t.body, t.kind, t.metadata, t.parent.key if t.parent else None,
         t.position]
        for t in space.thoughts.select_related("parent")
    )
    links = sorted(space.links.values_list("source__key", "target__key", "label"))
    return {"title": space.title, "thoughts": thoughts, "links": links}
"""

# On the first instance: more to carry (odd text, metadata, a moved thought, a labelled link),
# then both exports, with the commands.
EXPORT = (
    GRAPH
    + """
from django.contrib.auth.models import User
from django.core.management import call_command
from spaces import services
space = Space.objects.get(pk=SPACE)
user = User.objects.get(username="demo")
services.thought_create(space=space, actor=user, key="odd", title="Odd ✓", body="a\\r\\nb\\n",
                        metadata={"tags": ["x"], "n": 1.5}, position=-3, kind="task")
first = space.thoughts.exclude(key="odd").order_by("key").first()
services.thought_update(thought=first, actor=user, changes={"parent": "odd"})
services.link_create(space=space, actor=user, source="odd", target=first.key, label="why")
call_command("export_space", SPACE, "--format", "json", "--output", ARCHIVE)
call_command("export_space", SPACE, "--format", "markdown", "--output", ZIPPED)
print("GRAPH", json.dumps(graph(SPACE)))
"""
)

# On the fresh instance: a dry run, the archive, then the Markdown zip, with the commands.
IMPORT = (
    GRAPH
    + """
import io
from django.contrib.auth.models import User
from django.core.management import call_command
User.objects.create_user("kim")

def run(*args):
    out = io.StringIO()
    call_command("import_space", *args, "--owner", "kim", stdout=out)
    return out.getvalue()

print("DRY", json.dumps(run(ARCHIVE, "--dry-run")))
copy = run(ARCHIVE).split()[-1]
again = run(ZIPPED).split()[-1]
print("COPY", copy)
print("GRAPHS", json.dumps([graph(copy), graph(again)]))
"""
)


def found(output: str, label: str) -> object:
    return json.loads(output.split(f"{label} ", 1)[1].splitlines()[0])


@contextmanager
def instance(tmp_path: Path, name: str, mode: str) -> Iterator[dict[str, str]]:
    """A fresh instance in ``mode``, with a remote of its own."""
    with ExitStack() as stack:
        if mode == "local":
            yield app_env(tmp_path / name / "ts.db")
            return
        start = start_turso_sync_server if mode == "offline" else start_sqld
        where = tmp_path / f"{name}-remote" / ("remote.db" if mode == "offline" else "")
        server = stack.enter_context(start(where))
        yield sync_env(tmp_path, name, mode, server.url)


@pytest.mark.parametrize("mode", ["local", "offline", "replica", "remote"])
def test_a_space_moves_to_a_fresh_instance_whole(tmp_path: Path, mode: str):
    files = f"ARCHIVE = {str(tmp_path / 'a.jsonl')!r}\nZIPPED = {str(tmp_path / 'a.zip')!r}\n"
    with instance(tmp_path, "a", mode) as a, instance(tmp_path, "b", mode) as b:
        demo = prepare_database(a)
        exported = manage(
            a, "shell", "--no-imports", "-c", f"SPACE = {demo.space_id!r}\n" + files + EXPORT
        )
        original = found(exported, "GRAPH")
        manage(b, "migrate", "--noinput")
        imported = manage(b, "shell", "--no-imports", "-c", files + IMPORT)
        assert "would create" in found(imported, "DRY")
        copy, again = found(imported, "GRAPHS")
        assert copy == original  # ids too: no thought of b had them
        # From Markdown: the same graph under new ids (b has the first ones now).
        assert sorted(row[1:] for row in again["thoughts"]) == sorted(
            row[1:] for row in original["thoughts"]
        )
        assert again["links"] == original["links"]
        if mode in ("offline", "replica"):
            # Another replica of b's remote gets the imported space by syncing.
            c = sync_env(tmp_path, "c", mode, b["TURSO_DATABASE_URL"])
            manage(b, "sync")
            manage(c, "migrate", "--noinput")
            manage(c, "sync")
            space_id = imported.split("COPY ", 1)[1].split()[0]
            out = manage(
                c,
                "shell",
                "--no-imports",
                "-c",
                GRAPH + f"print('GRAPH', json.dumps(graph({space_id!r})))",
            )
            assert found(out, "GRAPH") == original
