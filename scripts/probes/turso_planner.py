"""Probe which index the Turso engine's planner picks for a space's ordered lists.

A table of 7,000 thoughts and 20,000 history entries in one space, queried as the app does
(the first page of thoughts by position and key; the space's recent history; one thought's
history), with and without a one-column index on ``space_id`` beside the composite index
that starts with it. Prints each plan and its median time.

Run: .venv/bin/python scripts/probes/turso_planner.py
Findings (pyturso 0.8.3): docs/sync-facts.md, "The planner and a space's lists".
"""

from __future__ import annotations

import tempfile

import turso
from _common import median_ms

SCHEMA = """
CREATE TABLE thought (id TEXT PRIMARY KEY, space_id TEXT NOT NULL, key TEXT NOT NULL,
                      position INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE (space_id, key));
CREATE INDEX thought_space_order ON thought (space_id, position, key);
CREATE TABLE history (id TEXT PRIMARY KEY, space_id TEXT NOT NULL, thought_key TEXT NOT NULL,
                      action TEXT NOT NULL, after TEXT);
CREATE INDEX history_space_recent ON history (space_id, id DESC);
CREATE INDEX history_space_thought ON history (space_id, thought_key, id);
"""
ONE_COLUMN = (
    "CREATE INDEX thought_space ON thought (space_id)",
    "CREATE INDEX history_space ON history (space_id)",
)
QUERIES = {
    "first page of thoughts": "SELECT * FROM thought WHERE space_id = 's' "
    "ORDER BY position, key LIMIT 50",
    "recent history": "SELECT * FROM history WHERE space_id = 's' ORDER BY id DESC LIMIT 50",
    "one thought's history": "SELECT * FROM history WHERE space_id = 's' "
    "AND thought_key = 'k-77' AND action IN ('node.updated', 'node.deleted') ORDER BY id DESC",
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = turso.connect(f"{tmp}/p.db", isolation_level=None)
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("BEGIN")
        for n in range(7_000):
            conn.execute(
                "INSERT INTO thought VALUES (?, 's', ?, 0, ?)", (f"t{n:06}", f"k-{n}", "x" * 200)
            )
        for n in range(20_000):
            conn.execute(
                "INSERT INTO history VALUES (?, 's', ?, 'node.updated', ?)",
                (f"h{n:06}", f"k-{n % 7_000}", '{"body": "' + "y" * 200 + '"}'),
            )
        conn.execute("COMMIT")
        for label, extra in (
            ("composite indexes only", ()),
            ("plus one-column indexes", ONE_COLUMN),
        ):
            for statement in extra:
                conn.execute(statement)
            print(label)
            for name, sql in QUERIES.items():
                plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
                median, _ = median_ms(lambda sql=sql: conn.execute(sql).fetchall(), n=20)
                print(f"  {name:<24} {median:7.2f} ms  {'; '.join(plan)}")


if __name__ == "__main__":
    main()
