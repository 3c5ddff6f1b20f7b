"""A load test an operator can run before and after a change: a fleet as docs/deploy.md runs
one (nginx, N offline-mode processes, one tursodb primary, one Redis; all on 127.0.0.1 and
all stopped at the end), Locust's scenarios against it (scripts/loadtest/locustfile.py:
people browsing, editors writing, agents proposing), and at the same time:

- a write probe: a thought written through nginx every half second, and the time until
  every process holds it, after the write's answer. The processes log every push and pull
  (THOUGHTSPACE_LOG_LEVEL=debug, JSON) and each step of a pull: the push that carried the
  write's request, then on each other process the first pull that asked the primary for
  changes after that push ended; the write was readable there when that pull had applied
  them (an earlier pull may have brought it sooner: the figure errs long). Afterwards every
  process is asked once whether it holds every probe.
  Nothing is read during the load, which it would add to;
- a readiness probe: every process's /readyz, every second.

Then, with 3 processes, the same load again while deploy/rolling-restart.sh restarts them.

    .venv/bin/python scripts/loadtest.py                   # 1 and 3 processes, 50 users, 60 s
    .venv/bin/python scripts/loadtest.py --users 20 --seconds 30 --processes 3
    .venv/bin/python scripts/loadtest.py --env THOUGHTSPACE_MAX_CONCURRENT_REQUESTS=0

Prints a table (docs/BENCHMARKS.md, "Fleet load"). Targets (issue 19), through nginx to
three processes, 50 users for 60 s: no failed request, every write on every process within
1 s of its answer (p95), /readyz green throughout; with a rolling
restart, no failed request and /readyz green on every process in the upstream.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thoughtspace.settings")

from tests.fleet.fleet import (  # noqa: E402
    Fleet,
    call,
    restart_command,
    running_fleet,
    titles_on,
)


@dataclass(frozen=True)
class Lag:
    """Where one probe write's time went, in seconds from its answer."""

    every: float  # until the last process held it
    primary: float  # until its push ended
    to_push: float  # from its answer until its push began (gathering, the push interval)
    push: float
    to_pull: float  # from the push's end until the slowest process's pull asked for changes
    pull: float  # from then until that pull had applied them


class Probes:
    """The write probe and the readiness probe, on threads of their own, until ``stop``."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.writes: list[tuple[str, str, float]] = []  # (key, request id, answered: time.time())
        self.unready: list[str] = []
        self.probe_failures: list[str] = []
        self.done = threading.Event()
        self.threads = [
            threading.Thread(target=self._writes, daemon=True),
            threading.Thread(target=self._readiness, daemon=True),
        ]

    def __enter__(self) -> Probes:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(30)

    def _writes(self) -> None:
        """A thought every half second through nginx; its request id (``X-Request-ID``) and
        when its answer came. Nothing else: the processes' own logs tell when it reached
        each of them (``lags``), and reading to find out would add to the load."""
        fleet, number = self.fleet, 0
        path = f"/api/spaces/{fleet.space}/thoughts"
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {fleet.tokens[-1]}",
        }
        while not self.done.wait(0.5):
            key = f"probe-{time.monotonic_ns()}-{number}"
            number += 1
            body = json.dumps({"key": key, "title": key})
            connection = http.client.HTTPConnection(
                "127.0.0.1", fleet.nginx.port, timeout=30, source_address=("127.0.9.9", 0)
            )
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                answer = response.read()
            except OSError as exc:
                self.probe_failures.append(repr(exc))
                continue
            finally:
                connection.close()
            if response.status != 201:
                self.probe_failures.append(f"{response.status} {answer[:200]!r}")
                continue
            self.writes.append((key, response.getheader("X-Request-ID") or "", time.time()))

    def lags(self) -> tuple[list[Lag], list[str]]:
        """Seconds from each probe write's answer to when the last process held it, and what
        went wrong. Read from the processes' logs (THOUGHTSPACE_LOG_LEVEL=debug, JSON): the
        push that carried the write's request ended at some moment; a pull of another process
        that asked the primary for changes after it brought the write there, readable once
        applied (an earlier one may have brought it sooner: the figure errs long, never
        short). Then every process is asked once whether it holds every probe."""
        requests = {request_id for _, request_id, _ in self.writes}
        deadline = time.monotonic() + 10  # the last writes' push and pulls may be on their way
        while True:
            syncs = {process.port: _syncs(process.log) for process in self.fleet.processes}
            carried = {r for events in syncs.values() for event in events for r in event[3]}
            pushed = max(
                (b + d for ev in syncs.values() for k, b, d, _ in ev if k == "push"), default=0
            )
            pulled = [
                any(k == "pull" and b >= pushed for k, b, _, _ in events)
                for events in syncs.values()
            ]
            done = requests <= carried and (len(syncs) == 1 or all(pulled))
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        lags, problems = [], []
        for key, request_id, answered in self.writes:
            pushes = [
                (port, began, duration)
                for port, events in syncs.items()
                for kind, began, duration, requests in events
                if kind == "push" and request_id in requests
            ]
            if not pushes:
                problems.append(f"{key}: no push names request {request_id}")
                continue
            origin, push_began, push_took = min(pushes, key=lambda push: push[1] + push[2])
            pushed_at = push_began + push_took
            last = (answered, 0.0)  # (when the slowest pull fetched, how long until applied)
            for port, events in syncs.items():
                if port == origin:
                    continue
                pulls = [(b, d) for kind, b, d, _ in events if kind == "pull" and b >= pushed_at]
                if not pulls:
                    problems.append(f"{key}: no pull on {port} after its push")
                    break
                last = max(last, min(pulls, key=sum), key=sum)
            else:
                lags.append(
                    Lag(
                        every=max(0.0, sum(last) - answered),
                        primary=pushed_at - answered,
                        to_push=push_began - answered,
                        push=push_took,
                        to_pull=last[0] - pushed_at,
                        pull=last[1],
                    )
                )
        keys = {key for key, _, _ in self.writes}
        for process in self.fleet.processes:
            missing = keys - set(titles_on(process.port, self.fleet.tokens[-1], self.fleet.space))
            if missing:
                problems.append(f"{len(missing)} probe writes missing on {process.port}")
        return lags, problems

    def _readiness(self) -> None:
        """Every process nginx sends requests to (one a rolling restart took out and has
        not put back is restarting: not counted)."""
        while not self.done.wait(1.0):
            site = self.fleet.nginx.site.read_text()
            for process in self.fleet.processes:
                if re.search(rf"127\.0\.0\.1:{process.port} [^;]* down;", site):
                    continue
                try:
                    status: int | str = call("127.0.0.1", process.port, "GET", "/readyz")[0]
                except OSError as exc:
                    status = repr(exc)
                if status != 200:
                    self.unready.append(f"{process.port}: {status}")


def _syncs(log: Path) -> list[tuple[str, float, float, list[str]]]:
    """The pushes and pulls a process logged: (kind, began, seconds, request ids carried).
    A pull that applied changes counts from when it asked the primary for them to when it had
    applied them (its steps, ``phases_ms``): what it brought was readable from then on."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue  # daphne's access log
        record = json.loads(line)
        if "began" not in record:
            continue
        kind = "push" if "requests" in record else record.get("sync", "")
        began, seconds = record["began"], record["duration_ms"] / 1000
        steps = record.get("phases_ms") or {}
        if kind == "pull" and "apply" in steps:
            began += steps["check"] / 1000
            seconds = sum(steps[step] for step in ("fetch", "lock", "apply")) / 1000
        found.append((kind, began, seconds, record.get("requests", [])))
    return found


def locust(fleet: Fleet, users: int, seconds: int, out: Path) -> dict[str, Any]:
    """Run the scenarios headless against nginx; the aggregated row of Locust's CSV."""
    status, listed = call(
        "127.0.0.1",
        fleet.nginx.port,
        "GET",
        f"/api/spaces/{fleet.space}/thoughts?limit=100",
        fleet.tokens[0],
    )
    assert status == 200, listed
    env = {
        **os.environ,
        "LOADTEST_KEYS": ",".join(item["key"] for item in listed["items"]),
        "LOADTEST_SPACE": fleet.space,
        "LOADTEST_TOKEN": fleet.tokens[0],
        "LOADTEST_CONFIRM_TOKEN": fleet.confirm_token,
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "scripts" / "loadtest" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(users // 5, 1)),
        "--run-time",
        f"{seconds}s",
        "--host",
        f"http://127.0.0.1:{fleet.nginx.port}",
        "--csv",
        str(out),
        "--only-summary",
        "--stop-timeout",
        "10",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120)
    with open(f"{out}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    failures = (
        Path(f"{out}_failures.csv").read_text() if Path(f"{out}_failures.csv").exists() else ""
    )
    aggregated = next(row for row in rows if row["Name"] == "Aggregated")
    return {
        "requests": int(aggregated["Request Count"]),
        "failures": int(aggregated["Failure Count"]),
        "rps": float(aggregated["Requests/s"]),
        "p50": float(aggregated["50%"]),
        "p95": float(aggregated["95%"]),
        "failure_kinds": failures.strip().splitlines()[1:6],
        "exit": result.returncode,
        "rows": rows,
    }


def rolling_restart(fleet: Fleet, after: float) -> subprocess.CompletedProcess[str]:
    time.sleep(after)
    return subprocess.run(
        [
            "bash",
            str(ROOT / "deploy" / "rolling-restart.sh"),
            *(str(p.port) for p in fleet.processes),
        ],
        env={
            **os.environ,
            "UPSTREAM_CONF": str(fleet.nginx.site),
            "NGINX_RELOAD": fleet.nginx.reload,
            "RESTART": restart_command(fleet.root),
            "DRAIN_SECONDS": "2",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


def run(
    processes: int,
    users: int,
    seconds: int,
    *,
    restart: bool,
    folder: Path,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    name = f"fleet-{processes}{'-restart' if restart else ''}"  # each run on fresh files
    # JSON logs with a record for every push and pull: how the probe's writes are followed.
    logs = {"THOUGHTSPACE_LOG_FORMAT": "json", "THOUGHTSPACE_LOG_LEVEL": "debug"}
    extra = logs | (env or {})
    with running_fleet(folder / name, processes=processes, tokens=2, extra_env=extra) as fleet:
        restarted: list[subprocess.CompletedProcess[str]] = []
        with Probes(fleet) as probes:
            if restart:
                thread = threading.Thread(
                    target=lambda: restarted.append(rolling_restart(fleet, seconds / 6)),
                    daemon=True,
                )
                thread.start()
            result = locust(fleet, users, seconds, folder / f"locust-{processes}-{restart}")
            if restart:
                thread.join(600)
        if restart and (not restarted or restarted[0].returncode != 0):
            result["restart_error"] = (
                restarted[0].stdout + restarted[0].stderr if restarted else "?"
            )
        lags, problems = probes.lags()
        parts = {name: sorted(getattr(lag, name) for lag in lags) for name in Lag.__annotations__}
        every, primary = parts["every"], parts["primary"]
        result.update(
            processes=processes,
            users=users,
            seconds=seconds,
            restart=restart,
            lag_p50=_p(every, 0.5),
            lag_p95=_p(every, 0.95),
            primary_p50=_p(primary, 0.5),
            primary_p95=_p(primary, 0.95),
            probes=len(lags),
            parts={name: (_p(v, 0.5), _p(v, 0.95)) for name, v in parts.items()},
            probe_failures=(probes.probe_failures + problems)[:5],
            unready=len(probes.unready),
            unready_examples=probes.unready[:5],
            starts=[process.starts for process in fleet.processes],
        )
        return result


def _p(values: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``values`` (nearest rank below); nan when empty."""
    return values[int(q * (len(values) - 1))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1,3", help="fleet sizes to run (1,3)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--no-restart", action="store_true", help="skip the rolling restart run")
    parser.add_argument("--only-restart", action="store_true", help="only the rolling restart run")
    parser.add_argument("--keep", type=Path, help="keep the logs and Locust's CSVs in this folder")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of every process (THOUGHTSPACE_MAX_CONCURRENT_REQUESTS=0); repeatable",
    )
    args = parser.parse_args()
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    env = dict(item.split("=", 1) for item in args.env)
    results = []
    with tempfile.TemporaryDirectory(prefix="thoughtspace-loadtest-") as scratch:
        folder = str(args.keep or scratch)
        for processes in [] if args.only_restart else [int(n) for n in args.processes.split(",")]:
            results.append(
                run(
                    processes,
                    args.users,
                    args.seconds,
                    restart=False,
                    folder=Path(folder),
                    env=env,
                )
            )
        if not args.no_restart and 3 in [int(n) for n in args.processes.split(",")]:
            results.append(
                run(3, args.users, args.seconds, restart=True, folder=Path(folder), env=env)
            )
    print(
        "| processes | rolling restart | users | requests/s | p50 ms | p95 ms | failed "
        "| write on every process p50 / p95 s | of which to the primary | /readyz not 200 |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    missed = 0
    for r in results:
        print(
            f"| {r['processes']} | {'yes' if r['restart'] else 'no'} | {r['users']} "
            f"| {r['rps']:.1f} "
            f"| {r['p50']:.0f} | {r['p95']:.0f} | {r['failures']} of {r['requests']} "
            f"| {r['lag_p50']:.2f} / {r['lag_p95']:.2f} ({r['probes']} writes) "
            f"| {r['primary_p50']:.2f} / {r['primary_p95']:.2f} | {r['unready']} |"
        )
        if r["processes"] == 3:
            # During a restart the probe also waits for the process being restarted: its lag
            # is not a target there.
            missed += r["failures"] > 0 or r["unready"] > 0 or bool(r["probe_failures"])
            missed += bool(r.get("restart_error")) or (not r["restart"] and r["lag_p95"] > 1.0)
    print()
    print("Where a write's time went until every process held it, p50 / p95 s:")
    print(
        "| processes | rolling restart | to its push | push | to the slowest pull's fetch "
        "| fetch and apply |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for r in results:
        if r["processes"] > 1:
            parts = " | ".join(
                f"{r['parts'][name][0]:.2f} / {r['parts'][name][1]:.2f}"
                for name in ("to_push", "push", "to_pull", "pull")
            )
            print(f"| {r['processes']} | {'yes' if r['restart'] else 'no'} | {parts} |")
    for r in results:
        for name in ("failure_kinds", "probe_failures", "unready_examples"):
            if r[name]:
                print(f"{r['processes']} processes, restart={r['restart']}, {name}: {r[name]}")
        if r.get("restart_error"):
            print(f"rolling restart failed: {r['restart_error'][-2000:]}")
    print("targets (3 processes):", "met" if not missed else f"{missed} missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
