"""What grows an offline replica's memory (RSS).

``sync [rounds [writes-per-round [modes]]]``: rounds of writes alone, writes + push,
writes + push + pull (with checkpoints; ``modes``: e.g. ``push+pull``) on the replica's
pooled connections against a real tursodb --sync-server.
``cache``: what the page caches of 1 and 9 connections scanning a 39 MiB file add, with the
default cache size and explicit ones (each measurement in a fresh process).

Run: .venv/bin/python scripts/probes/turso_memory.py sync|cache
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import turso
from _common import start_turso_sync_server
from turso_checkpoint import pull, push

from syncops.replica import TursoReplica


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def writes(replica: TursoReplica, start: int, n: int = 200) -> None:
    """``n`` small transactions, spread over the pooled connections as requests would be."""
    for i in range(start, start + n):
        conn = replica.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (id, body) VALUES (?, ?)", (f"k{i}", "x" * 400))
            conn.execute("SELECT body FROM t WHERE id = ?", (f"k{i // 2}",)).fetchall()
            conn.execute("SELECT COUNT(*), MAX(body) FROM t").fetchall()  # reads every page
            conn.execute("COMMIT")
        finally:
            replica.release(conn)


def run(
    label: str, server_url: str, root: Path, rounds: int, *, sync: str, per_round: int = 200
) -> None:
    replica = TursoReplica(str(root / f"{label}.db"), url=server_url)
    conn = replica.connect()
    conn.execute(f"CREATE TABLE IF NOT EXISTS t_{label} (x)")  # schema per run, one remote
    conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, body TEXT)")
    replica.release(conn)
    push(replica)
    base = rss_mib()
    figures = []
    for round_ in range(rounds):
        writes(replica, round_ * 1000 + hash(label) % 1000 * 1_000_000, per_round)
        if sync in ("push", "push+pull"):
            push(replica)
        if sync == "push+pull":
            pull(replica)
        replica.checkpoint(min_wal_bytes=1)
        gc.collect()
        figures.append(rss_mib() - base)
    db = Path(replica.path).stat().st_size / 2**20
    shown = " ".join(f"{f:+.0f}" for f in figures[:: max(1, rounds // 8)])
    print(f"{label:<10} RSS growth (MiB) per round: {shown}  (db {db:.1f} MiB)")
    replica.close()


def make_file(path: str) -> None:
    conn = turso.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("BEGIN")
    for i in range(80000):
        conn.execute("INSERT INTO t VALUES (?, ?)", (i, "x" * 500))
    conn.execute("COMMIT")
    conn.close()


def scan(path: str, cache: str, count: int) -> None:
    """Open ``count`` connections, set ``cache`` (or not), read every page on each."""
    base = rss_mib()
    connections = [turso.connect(path, isolation_level=None) for _ in range(count)]
    for conn in connections:
        if cache != "default":
            conn.execute(f"PRAGMA cache_size = {cache}")
        conn.execute("SELECT COUNT(*), MAX(body) FROM t").fetchall()
    size = os.path.getsize(path) / 2**20
    print(
        f"cache_size {cache:>8}, {count} connection(s) scanning {size:.0f} MiB: "
        f"RSS +{rss_mib() - base:.0f} MiB"
    )


def caches() -> None:
    path = str(Path(tempfile.mkdtemp(prefix="turso-cache-")) / "big.db")
    make_file(path)
    for count in (1, 9):
        for cache in ("default", "-2000", "-20000"):
            subprocess.run([sys.executable, __file__, "scan", path, cache, str(count)], check=True)


def main() -> None:
    step = sys.argv[1] if len(sys.argv) > 1 else "sync"
    if step == "scan":
        scan(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if step == "cache":
        caches()
        return
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    per_round = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    modes = sys.argv[4].split(",") if len(sys.argv) > 4 else ["none", "push", "push+pull"]
    root = Path(tempfile.mkdtemp(prefix="turso-memory-"))
    with start_turso_sync_server(root / "remote" / "remote.db") as server:
        for sync in modes:
            run(sync.replace("+", "_"), server.url, root, rounds, sync=sync, per_round=per_round)


if __name__ == "__main__":
    main()
