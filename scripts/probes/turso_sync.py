"""Probe pyturso's sync engine (turso.sync) against a real tursodb --sync-server.

Run: .venv/bin/python scripts/probes/turso_sync.py
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import turso
import turso.lib_sync
import turso.sync
from _common import describe, median_ms, run_bounded, start_turso_sync_server

ORIGINAL_URLLIB = turso.lib_sync.urllib


def bounded_urllib(timeout: float) -> types.SimpleNamespace:
    """A stand-in for lib_sync's ``urllib`` whose urlopen has a socket timeout."""
    return types.SimpleNamespace(
        request=types.SimpleNamespace(
            Request=urllib.request.Request,
            urlopen=functools.partial(urllib.request.urlopen, timeout=timeout),
        ),
        error=urllib.error,
    )


def try_(label: str, fn) -> None:  # type: ignore[no-untyped-def]
    try:
        result = fn()
        print(f"{label}: ok {result!r}")
    except Exception as exc:  # noqa: BLE001
        print(f"{label}: {describe(exc)}")


tmp = Path(tempfile.mkdtemp(prefix="turso-probe-"))

# --- latency ---------------------------------------------------------------------------
with start_turso_sync_server(tmp / "remote1" / "remote.db") as server:
    a = turso.sync.connect(str(tmp / "lat-a.db"), remote_url=server.url)
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    a.commit()
    a.push()
    b = turso.sync.connect(str(tmp / "lat-b.db"), remote_url=server.url)
    counter = iter(range(10**9))

    def write_push() -> None:
        a.execute("INSERT INTO t VALUES (?, 'x')", (f"k{next(counter)}",))
        a.commit()
        a.push()

    med, p95 = median_ms(write_push, 200)
    print(f"[latency] INSERT+COMMIT+push(): median {med:.2f} ms, p95 {p95:.2f} ms (n=200)")
    med, p95 = median_ms(a.push, 200)
    print(f"[latency] push() with nothing pending: median {med:.2f} ms, p95 {p95:.2f} ms")
    med, p95 = median_ms(b.pull, 50)
    print(
        f"[latency] pull() (first brings 200 rows, then nothing new): median {med:.2f} ms, "
        f"p95 {p95:.2f} ms (n=50)"
    )

    def write_push_pull() -> None:
        write_push()
        b.pull()

    med, p95 = median_ms(write_push_pull, 100)
    print(f"[latency] A write+push, then B pull(): median {med:.2f} ms, p95 {p95:.2f} ms (n=100)")
    n = b.execute("SELECT count(*) FROM t").fetchall()
    print(f"[latency] rows on B after the pulls: {n} (A wrote 300)")

    # --- busy_timeout -------------------------------------------------------------------
    try_(
        "[busy] PRAGMA busy_timeout=2000 on a sync connection",
        lambda: (
            a.execute("PRAGMA busy_timeout=2000").fetchall(),
            a.execute("PRAGMA busy_timeout").fetchall(),
        ),
    )
    p1 = turso.connect(str(tmp / "plain.db"))
    p1.execute("CREATE TABLE t (x)")
    p1.commit()
    p2 = turso.connect(str(tmp / "plain.db"))
    p1.execute("BEGIN IMMEDIATE")
    p1.execute("INSERT INTO t VALUES (1)")
    t0 = time.perf_counter()
    try_("[busy] second writer, no busy_timeout", lambda: p2.execute("BEGIN IMMEDIATE"))
    print(f"[busy]   ... after {(time.perf_counter() - t0) * 1000:.1f} ms")
    p2.rollback() if p2.in_transaction else None
    p2.execute("PRAGMA busy_timeout=500")
    t0 = time.perf_counter()
    try_("[busy] second writer, busy_timeout=500", lambda: p2.execute("BEGIN IMMEDIATE"))
    print(f"[busy]   ... after {(time.perf_counter() - t0) * 1000:.1f} ms")
    if p2.in_transaction:
        p2.rollback()
    threading.Timer(0.3, p1.commit).start()
    t0 = time.perf_counter()
    try_(
        "[busy] busy_timeout=2000, holder commits after 300 ms",
        lambda: (p2.execute("PRAGMA busy_timeout=2000"), p2.execute("BEGIN IMMEDIATE")),
    )
    print(f"[busy]   ... after {(time.perf_counter() - t0) * 1000:.1f} ms")
    if p2.in_transaction:
        p2.rollback()

    # --- several connections from ONE sync database, one thread each --------------------
    sync_db = a._sync
    ctx = a._http_ctx
    conns = []
    for _ in range(5):
        raw = turso.lib_sync._run_op(sync_db, sync_db.connect(), ctx)
        conns.append(
            turso.lib_sync.ConnectionSync(raw, sync=sync_db, http_ctx=ctx, isolation_level=None)
        )
    for c in conns:
        c.execute("PRAGMA busy_timeout=5000")
    errors: list[str] = []
    pushes = [0]
    stop = threading.Event()
    written = [0] * 4
    prefix = ["a"]

    def writer(i: int) -> None:
        c = conns[i]
        for j in range(200):
            try:
                c.execute("BEGIN IMMEDIATE")
                c.execute("INSERT INTO t VALUES (?, 'mt')", (f"w{prefix[0]}{i}-{j}",))
                c.execute("COMMIT")
                written[i] += 1
            except BaseException as exc:  # noqa: BLE001
                errors.append(f"writer{i}: {describe(exc)}")
                with contextlib.suppress(BaseException):
                    c.execute("ROLLBACK")

    def pusher() -> None:
        c = conns[4]
        while not stop.is_set():
            try:
                c.push()
                pushes[0] += 1
            except BaseException as exc:  # noqa: BLE001
                errors.append(f"pusher: {describe(exc)}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    pt = threading.Thread(target=pusher)
    t0 = time.perf_counter()
    pt.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    pt.join()
    conns[4].push()
    elapsed = time.perf_counter() - t0
    print(
        f"[threads] 4 writer threads x 200 tx (own connection each, busy_timeout=5000) + "
        f"1 pushing thread, one sync db: {sum(written)}/800 committed, {pushes[0]} pushes, "
        f"{len(errors)} errors, {elapsed:.2f} s"
    )
    for e in sorted(set(errors))[:8]:
        print(f"[threads]   error: {e} (x{errors.count(e)})")
    c = turso.sync.connect(str(tmp / "verify.db"), remote_url=server.url)
    print(
        f"[threads] rows 'mt' on the remote (fresh replica): "
        f"{c.execute('SELECT count(*) FROM t WHERE v = ?', ('mt',)).fetchall()}"
    )

    # same, without busy_timeout
    for cc in conns:
        cc.execute("PRAGMA busy_timeout=0")
    errors.clear()
    written[:] = [0] * 4
    prefix[0] = "b"
    stop.clear()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    pt = threading.Thread(target=pusher)
    pt.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    pt.join()
    print(f"[threads] same with busy_timeout=0: {sum(written)}/800 committed, {len(errors)} errors")
    for e in sorted(set(errors))[:8]:
        print(f"[threads]   error: {e} (x{errors.count(e)})")

    # one connection shared by two threads (DESIGN.md: 'concurrent use forbidden')
    errors.clear()

    def hammer() -> None:
        for _ in range(300):
            try:
                a.execute("SELECT count(*) FROM t").fetchall()
            except BaseException as exc:  # noqa: BLE001
                errors.append(describe(exc))

    ts = [threading.Thread(target=hammer) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(
        f"[threads] ONE connection, 2 threads x 300 SELECTs: {len(errors)} errors "
        f"{sorted(set(errors))[:2]}"
    )

    # --- hung server ---------------------------------------------------------------------
    a.execute("INSERT INTO t VALUES ('hung1', 'x')")
    a.commit()
    server.pause()
    outcome, elapsed, th = run_bounded(a.push, 6.0)
    print(f"[hung] push() against SIGSTOPped server, stock lib_sync: {outcome} ({elapsed:.2f} s)")
    hung_thread = th
    turso.lib_sync.urllib = bounded_urllib(2.0)
    try:
        d = (
            turso.sync.connect(
                str(tmp / "lat-a.db.other"), remote_url=server.url, bootstrap_if_empty=True
            )
            if False
            else None
        )  # noqa: SIM108
        b.execute("INSERT INTO t VALUES ('hung2', 'x')")
        b.commit()
        outcome, elapsed, _ = run_bounded(b.push, 10.0)
        print(f"[hung] push() with urlopen timeout=2: {outcome} ({elapsed:.2f} s)")
        outcome, elapsed, _ = run_bounded(b.pull, 10.0)
        print(f"[hung] pull() with urlopen timeout=2: {outcome} ({elapsed:.2f} s)")
        outcome, elapsed, _ = run_bounded(
            lambda: turso.sync.connect(str(tmp / "new-while-hung.db"), remote_url=server.url), 10.0
        )
        print(f"[hung] connect() bootstrap with urlopen timeout=2: {outcome} ({elapsed:.2f} s)")
        t0 = time.perf_counter()
        print(
            f"[hung] local read on B while hung: "
            f"{b.execute('SELECT count(*) FROM t').fetchall()} "
            f"({(time.perf_counter() - t0) * 1000:.2f} ms)"
        )
    finally:
        turso.lib_sync.urllib = ORIGINAL_URLLIB
    server.resume()
    hung_thread.join(10)
    print(f"[hung] after SIGCONT the stock push thread finished: {not hung_thread.is_alive()}")
    try_("[hung] B push() after resume", b.push)
    try_("[hung] B pull() after resume", b.pull)
    print(
        f"[hung] 'hung1','hung2' on B: "
        f"{b.execute('SELECT id FROM t WHERE id LIKE ?', ('hung%',)).fetchall()}"
    )
    server.stop()
    try_(
        "[down] push() with server stopped (connection refused)",
        lambda: (b.execute("INSERT INTO t VALUES ('down', 'x')"), b.commit(), b.push()),
    )
    try_("[down] pull() with server stopped", b.pull)

# --- remote reset ----------------------------------------------------------------------
remote_db = tmp / "remote2" / "remote.db"
with start_turso_sync_server(remote_db) as server:
    port = server.port
    r = turso.sync.connect(str(tmp / "reset.db"), remote_url=server.url)
    r.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    r.execute("INSERT INTO t VALUES ('before', 'x')")
    r.commit()
    r.push()
for f in remote_db.parent.iterdir():
    f.unlink()
with start_turso_sync_server(remote_db, port=port) as server:
    r.execute("INSERT INTO t VALUES ('after', 'x')")
    r.commit()
    try_("[reset] push() after remote reset (new empty tursodb file)", r.push)
    try_("[reset] push() again", r.push)
    try_("[reset] pull() after remote reset", r.pull)
    print(f"[reset] local rows still there: {r.execute('SELECT id FROM t').fetchall()}")
    r2 = turso.sync.connect(str(tmp / "reset-fresh.db"), remote_url=server.url)
    try_(
        "[reset] rows on the reset remote (fresh replica)",
        lambda: r2.execute("SELECT id FROM t").fetchall(),
    )
    try_(
        "[reset] what the remote has now (fresh replica)",
        lambda: r2.execute("SELECT name FROM sqlite_master").fetchall(),
    )
print(f"[reset] local files of the replica: {sorted(p.name for p in tmp.glob('reset.db*'))}")

# --- conflicts -------------------------------------------------------------------------
with start_turso_sync_server(tmp / "remote3" / "remote.db") as server:
    x = turso.sync.connect(str(tmp / "x.db"), remote_url=server.url)
    x.execute(
        "CREATE TABLE n (id TEXT PRIMARY KEY, space TEXT, key TEXT, v TEXT, UNIQUE (space, key))"
    )
    x.execute("CREATE TABLE h (id TEXT PRIMARY KEY, note TEXT)")
    x.commit()
    x.push()
    y = turso.sync.connect(str(tmp / "y.db"), remote_url=server.url)
    # same primary key
    x.execute("INSERT INTO n VALUES ('id1', 's', 'kx', 'from X')")
    x.commit()
    y.execute("INSERT INTO n VALUES ('id1', 's', 'ky', 'from Y')")
    y.commit()
    try_("[conflict-pk] X push", x.push)
    try_("[conflict-pk] Y push", y.push)
    try_("[conflict-pk] X pull", x.pull)
    try_("[conflict-pk] Y pull", y.pull)
    print(
        f"[conflict-pk] X has {x.execute('SELECT * FROM n').fetchall()}; "
        f"Y has {y.execute('SELECT * FROM n').fetchall()}"
    )
    # same unique key, different ids, with a history row in the same transaction
    x.execute("INSERT INTO n VALUES ('idX', 's', 'dup', 'X version')")
    x.execute("INSERT INTO h VALUES ('hX', 'X created dup')")
    x.commit()
    y.execute("INSERT INTO n VALUES ('idY', 's', 'dup', 'Y version')")
    y.execute("INSERT INTO h VALUES ('hY', 'Y created dup')")
    y.commit()
    try_("[conflict-unique] X push", x.push)
    try_("[conflict-unique] Y push", y.push)
    try_("[conflict-unique] Y push again", y.push)
    print(
        f"[conflict-unique] Y before pull: n={y.execute('SELECT id FROM n').fetchall()} "
        f"h={y.execute('SELECT id FROM h').fetchall()}"
    )
    try_("[conflict-unique] Y pull", y.pull)
    print(
        f"[conflict-unique] Y after pull: n={y.execute('SELECT id FROM n').fetchall()} "
        f"h={y.execute('SELECT id FROM h').fetchall()}"
    )
    x.pull()
    print(
        f"[conflict-unique] X after pull: n={x.execute('SELECT id FROM n').fetchall()} "
        f"h={x.execute('SELECT id FROM h').fetchall()}"
    )
    # update vs delete
    x.execute("INSERT INTO n VALUES ('idU', 's', 'upd', 'v1')")
    x.commit()
    x.push()
    y.pull()
    x.execute("DELETE FROM n WHERE id = 'idU'")
    x.commit()
    y.execute("UPDATE n SET v = 'v2 by Y' WHERE id = 'idU'")
    y.commit()
    try_("[conflict-upd-del] X push (delete)", x.push)
    try_("[conflict-upd-del] Y push (update)", y.push)
    x.pull()
    y.pull()
    q = "SELECT v FROM n WHERE id = 'idU'"
    print(f"[conflict-upd-del] X: {x.execute(q).fetchall()} Y: {y.execute(q).fetchall()}")
print("done")
