"""Probe libsql-experimental against a real sqld: embedded replica and remote (HTTP) mode.

Run: .venv/bin/python scripts/probes/libsql_replica.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import libsql_experimental as libsql
from _common import describe, median_ms, start_sqld

print(f"libsql_experimental connect signature: {libsql.connect.__text_signature__}")

with tempfile.TemporaryDirectory() as tmp, start_sqld(Path(tmp) / "sqld") as server:
    print(f"sqld at {server.url}")
    replica = libsql.connect(str(Path(tmp) / "replica.db"), sync_url=server.url)
    replica.sync()
    replica.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    replica.commit()
    replica.sync()

    # Is the write forwarded? Read it back straight from the primary over HTTP.
    replica.execute("INSERT INTO t (v) VALUES ('forwarded')")
    replica.commit()
    remote = libsql.connect(server.url)
    rows = remote.execute("SELECT v FROM t").fetchall()
    print(f"[replica] write visible on primary via HTTP before any sync(): {rows}")
    local_before = replica.execute("SELECT count(*) FROM t").fetchall()
    replica.sync()
    local_after = replica.execute("SELECT count(*) FROM t").fetchall()
    print(f"[replica] local count before sync {local_before}, after sync {local_after}")

    def write_commit() -> None:
        replica.execute("INSERT INTO t (v) VALUES ('x')")
        replica.commit()

    med, p95 = median_ms(write_commit, 200)
    print(f"[replica] forwarded INSERT+COMMIT: median {med:.2f} ms, p95 {p95:.2f} ms (n=200)")
    med, p95 = median_ms(replica.sync, 200)
    print(f"[replica] sync() with nothing new: median {med:.3f} ms, p95 {p95:.3f} ms (n=200)")

    def write_sync_read() -> None:
        write_commit()
        replica.sync()

    med, p95 = median_ms(write_sync_read, 200)
    print(f"[replica] INSERT+COMMIT+sync(): median {med:.2f} ms, p95 {p95:.2f} ms (n=200)")

    ryw_fail = 0
    for i in range(200):
        replica.execute("INSERT INTO t (v) VALUES (?)", (f"ryw{i}",))
        replica.commit()
        replica.sync()
        if replica.execute("SELECT count(*) FROM t WHERE v = ?", (f"ryw{i}",)).fetchall() != [(1,)]:
            ryw_fail += 1
    print(f"[replica] read-your-writes after sync(): {200 - ryw_fail}/200 visible locally")
    no_sync_missing = 0
    for i in range(50):
        replica.execute("INSERT INTO t (v) VALUES (?)", (f"nosync{i}",))
        replica.commit()
        if replica.execute("SELECT count(*) FROM t WHERE v = ?", (f"nosync{i}",)).fetchall() != [
            (1,)
        ]:
            no_sync_missing += 1
    print(f"[replica] without sync(): {no_sync_missing}/50 own writes NOT visible locally")

    # Remote mode: no local file.
    for url in (server.url, server.url.replace("http://", "libsql://")):
        try:
            r = libsql.connect(url)
            r.execute("INSERT INTO t (v) VALUES ('remote')")
            r.commit()
            n = r.execute("SELECT count(*) FROM t WHERE v = 'remote'").fetchall()
            print(f"[remote] connect({url!r}): write+read ok, rows={n}")
        except Exception as exc:  # noqa: BLE001
            print(f"[remote] connect({url!r}) failed: {describe(exc)}")
    print(
        "[remote] local files created by remote connect: "
        f"{sorted(p.name for p in Path.cwd().glob('127.0.0.1*'))}"
    )
    med, p95 = median_ms(lambda: remote.execute("SELECT count(*) FROM t").fetchall(), 200)
    print(f"[remote] SELECT over HTTP: median {med:.2f} ms, p95 {p95:.2f} ms")
    med, p95 = median_ms(
        lambda: (remote.execute("INSERT INTO t (v) VALUES ('r')"), remote.commit()), 200
    )
    print(f"[remote] INSERT+COMMIT over HTTP: median {med:.2f} ms, p95 {p95:.2f} ms")

    # A hung (SIGSTOPped) server. Each call runs in a child process (the call may hold the
    # GIL while it blocks, which would freeze this process too) with a heartbeat thread that
    # ticks every 100 ms: no ticks during the call means the whole interpreter was frozen.
    server.pause()
    print("[hung] server SIGSTOPped")
    child = textwrap.dedent(
        """
        import os, sys, threading, time
        os.environ["RUST_LOG"] = "error"
        import libsql_experimental as libsql
        url, replica_path, what = sys.argv[1:]
        ticks = 0
        def beat():
            global ticks
            while True:
                time.sleep(0.1)
                ticks += 1
                print("tick", ticks, flush=True)
        threading.Thread(target=beat, daemon=True).start()
        print("opening", flush=True)
        if what == "remote":
            conn = libsql.connect(url)
            call = lambda: conn.execute("SELECT 1").fetchall()
        elif what.startswith("replica"):
            conn = libsql.connect(replica_path, sync_url=url)
            call = {
                "replica-read": lambda: conn.execute("SELECT count(*) FROM t").fetchall(),
                "replica-write": lambda: conn.execute("INSERT INTO t (v) VALUES ('h')"),
                "replica-sync": conn.sync,
            }[what]
        print("opened", flush=True)
        time.sleep(0.35)
        print("call start", flush=True)
        t0 = time.perf_counter()
        try:
            r = call()
            print(f"call returned {r!r} after {time.perf_counter() - t0:.2f} s", flush=True)
        except Exception as exc:
            print(f"call raised {type(exc).__name__}: {exc} after "
                  f"{time.perf_counter() - t0:.2f} s", flush=True)
        """
    )
    labels = {
        "remote": "remote-mode connect+SELECT",
        "replica-read": "replica open+local SELECT",
        "replica-write": "replica open+INSERT (forwarded)",
        "replica-sync": "replica open+sync()",
    }
    for what, label in labels.items():
        try:
            proc = subprocess.run(
                [sys.executable, "-c", child, server.url, str(Path(tmp) / "replica.db"), what],
                capture_output=True,
                text=True,
                timeout=6,
            )
            out = proc.stdout
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode() + "\n(child killed after 6 s)"
        lines = out.splitlines()
        stage = "the call" if "call start" in lines else "connect()"
        started = lines.index("opening") if "opening" in lines else len(lines)
        ticks_during = sum(1 for line in lines[started:] if line.startswith("tick"))
        verdict = [line for line in lines[started:] if line.startswith(("call ", "(child"))]
        print(
            f"[hung] {label}: blocked in {stage}; {verdict[-1] if verdict else 'no result'}; "
            f"heartbeat ticks after connect() began: {ticks_during} (3 = only the 0.35 s pause "
            "before the call; fewer = the GIL was held, the whole process froze)"
        )
    server.resume()
    print("[hung] server resumed (SIGCONT)")
    time.sleep(1)
    try:
        print(f"[hung] after resume, remote SELECT: {remote.execute('SELECT 1').fetchall()}")
    except Exception as exc:  # noqa: BLE001
        print(f"[hung] after resume, remote SELECT raised {describe(exc)}")
    server.stop()
    try:
        remote.execute("SELECT 1").fetchall()
        print("[down] remote SELECT with server stopped: returned?!")
    except Exception as exc:  # noqa: BLE001
        print(f"[down] remote SELECT with server stopped raised {describe(exc)}")
    try:
        r2 = libsql.connect(str(Path(tmp) / "replica.db"), sync_url=server.url)
    except Exception as exc:  # noqa: BLE001
        print(f"[down] replica connect(sync_url=...) with server stopped raised {describe(exc)}")
        r2 = libsql.connect(str(Path(tmp) / "replica.db"))
        print("[down] (reopened the replica file without sync_url for the next checks)")
    try:
        r2.execute("INSERT INTO t (v) VALUES ('down')")
        print("[down] replica forwarded INSERT with server stopped: returned?!")
    except Exception as exc:  # noqa: BLE001
        print(f"[down] replica forwarded INSERT with server stopped raised {describe(exc)}")
    print(f"[down] replica local read with server stopped: {r2.execute('SELECT 1').fetchall()}")
