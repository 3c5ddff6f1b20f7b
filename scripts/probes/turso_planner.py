"""Probe which index the Turso engine's planner picks for a space's ordered lists.

The app's own schema as it was before migration ``spaces`` 0007 (``manage.py migrate spaces
0006`` into a scratch local-mode file), 7,000 thoughts and 20,000 history entries in one
space, queried as the app does: the first page of thoughts by position and key, the space's
recent history, one thought's history. Then with 0007's statements, and once more with
one-column indexes on ``space_id`` created after the composite ones. Prints each plan and
its median time.

Run: .venv/bin/python scripts/probes/turso_planner.py
Findings (pyturso 0.8.3): docs/sync-facts.md, "The planner and a space's lists".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import turso
from _common import median_ms

ROOT = Path(__file__).resolve().parents[2]
ONE_COLUMN = (
    'CREATE INDEX "later_thought_space" ON "spaces_thought" ("space_id")',
    'CREATE INDEX "later_history_space" ON "spaces_historyentry" ("space_id")',
)
MIGRATION_0007 = (
    'DROP INDEX "history_space_thought"',
    'CREATE INDEX "history_space_thought" ON "spaces_historyentry" '
    '("space_id", "thought_key", "id")',
    'CREATE INDEX "thought_space_order" ON "spaces_thought" ("space_id", "position", "key")',
    'CREATE INDEX "link_space_order" ON "spaces_link" ("space_id", "created_at", "id")',
    'DROP INDEX "spaces_thought_space_id_86a6ded3"',
    'DROP INDEX "spaces_link_space_id_0f678146"',
    'DROP INDEX "spaces_historyentry_space_id_c6494456"',
)
QUERIES = {
    "first page of thoughts": 'SELECT * FROM "spaces_thought" WHERE "space_id" = \'s\' '
    'ORDER BY "position", "key" LIMIT 50',
    "recent history": 'SELECT * FROM "spaces_historyentry" WHERE "space_id" = \'s\' '
    'ORDER BY "id" DESC LIMIT 50',
    "one thought's history": 'SELECT * FROM "spaces_historyentry" WHERE "space_id" = \'s\' '
    "AND \"thought_key\" = 'k-77' AND \"action\" IN ('node.updated', 'node.deleted') "
    'ORDER BY "id" DESC',
}


def migrate(path: str, *target: str) -> None:
    env = {**os.environ, "DJANGO_DEBUG": "1", "THOUGHTSPACE_DB_MODE": "local"}
    env["THOUGHTSPACE_DB_PATH"] = path
    argv = [sys.executable, "manage.py", "migrate", *target, "-v0"]
    subprocess.run(argv, cwd=ROOT, env=env, check=True)


def measure(conn: turso.Connection, label: str) -> None:
    print(label)
    for name, sql in QUERIES.items():
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
        median, _ = median_ms(lambda sql=sql: conn.execute(sql).fetchall(), n=20)
        print(f"  {name:<24} {median:7.2f} ms  {'; '.join(plan)}")


def fill(conn: turso.Connection) -> None:
    conn.execute(
        "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, "
        "email, is_staff, is_active, date_joined) VALUES (1, '', 0, 'u', '', '', '', 0, 1, "
        "'2026-01-01')"
    )
    conn.execute(
        "INSERT INTO spaces_space (id, title, description, owner_id, created_at, updated_at, "
        "version) VALUES ('s', 'Space', '', 1, '2026-01-01', '2026-01-01', 1)"
    )
    conn.execute("BEGIN")
    for n in range(7_000):
        conn.execute(
            "INSERT INTO spaces_thought (id, key, title, body, kind, metadata, position, "
            "version, created_at, updated_at, space_id) VALUES (?, ?, 'T', ?, 'note', '{}', "
            "0, 1, '2026-01-01', '2026-01-01', 's')",
            (f"t{n:06}", f"k-{n}", "x" * 200),
        )
    for n in range(20_000):
        conn.execute(
            "INSERT INTO spaces_historyentry (id, action, thought_key, after, actor_name, "
            "created_at, space_id) VALUES (?, 'node.updated', ?, ?, 'u', '2026-01-01', 's')",
            (f"h{n:06}", f"k-{n % 7_000}", '{"body": "' + "y" * 200 + '"}'),
        )
    conn.execute("COMMIT")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/planner.db"
        migrate(path, "spaces", "0006")
        migrate(path, "auth")  # its latest (spaces 0006 needs an older one)
        conn = turso.connect(path, isolation_level=None)
        fill(conn)
        measure(conn, "before 0007 (one-column indexes on space_id, created first)")
        for statement in MIGRATION_0007:  # what `manage.py sqlmigrate spaces 0007` does
            conn.execute(statement)
        measure(conn, "after 0007 (composite indexes only)")
        for statement in ONE_COLUMN:
            conn.execute(statement)
        measure(conn, "plus one-column indexes created after the composite ones")


if __name__ == "__main__":
    main()
