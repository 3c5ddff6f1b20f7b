"""Offline mode runs for weeks: the replica's WAL is checkpointed, so its files stay bounded
however many writes and pushes go through (measured in file sizes, not in time)."""

from __future__ import annotations

import json
from pathlib import Path

from syncops.devservers import Server
from tests.live.servers import manage, prepare_database
from tests.sync.instances import sync_env

# 1,200 thoughts, pushed every 50 (as the worker does while writes keep coming). Without
# checkpoints the -wal file passed 40 MiB here; the engine's change log (turso_cdc) is
# emptied by every pull that applies changes, so it is reported too.
WRITES_AND_PUSHES = """
import os
from django.db import connection
from spaces import services
from spaces.models import Space
from django.contrib.auth.models import User
from syncops.replica import replica_for
from syncops.runtime import background_sync_paused

space = Space.objects.get(title="Demo space")
user = User.objects.get(username="demo")
replica = replica_for(connection.settings_dict)
with background_sync_paused():
    largest = 0
    for batch in range(24):
        for index in range(50):
            key = f"w{batch}-{index}"
            thought = services.thought_create(space=space, actor=user, key=key, title="t" * 200)
            services.thought_update(thought=thought, actor=user, changes={"body": "b" * 400})
        replica.push()
        replica.pull()
        largest = max(largest, replica.wal_bytes())
    cdc = replica.raw_connection().execute("SELECT COUNT(*) FROM turso_cdc").fetchall()[0][0]
    print("LARGEST_WAL", largest)
    print("CHECKPOINTS", replica.state.checkpoints)
    print("CDC_ROWS", cdc)
    print("DB", os.path.getsize(replica.path))
"""


def figure(output: str, name: str) -> int:
    return int(output.split(name, 1)[1].split()[0])


def test_the_offline_replicas_wal_stays_bounded_over_many_writes_and_pushes(
    turso_server: Server, tmp_path: Path
):
    env = sync_env(tmp_path, "a", "offline", turso_server.url)
    prepare_database(env)
    output = manage(env, "shell", "--no-imports", "-c", WRITES_AND_PUSHES)
    largest_wal, database = figure(output, "LARGEST_WAL"), figure(output, "DB")
    assert figure(output, "CHECKPOINTS") > 0, output
    # A checkpoint runs once the WAL passes 4 MiB; one batch adds well under 4 MiB more.
    assert largest_wal <= 8 * 2**20, output
    assert figure(output, "CDC_ROWS") < 200, output  # pushed changes are not kept for ever
    files = sum(p.stat().st_size for p in Path(env["THOUGHTSPACE_DB_PATH"]).parent.glob("ts.db*"))
    assert files <= 4 * database + 64 * 2**20, output
    report = json.loads(manage(env, "storage", "--json"))  # no server: measured in-process
    assert report["wal_bytes"] <= 8 * 2**20 and report["replica_bytes"] <= files
    assert sum(group["rows"] for group in report["history_rows_by_space_id"]) >= 2400
