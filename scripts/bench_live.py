#!/usr/bin/env python
"""How long a change written on one instance takes to reach a WebSocket client of another.

Starts a throwaway Redis and two daphne instances (A and B: in local mode sharing one libSQL
file, in offline or replica mode each with its own replica of one local remote), connects a
client to each, writes N thoughts one after another through A's API, and prints the median,
p95 and max time from the start of each write to its event on B, to B's API returning it, to
the event on A, and to A's API response. The full benchmark (scripts/bench.sh) runs the same
measurement for every mode.

    .venv/bin/python scripts/bench_live.py --writes 200 [--mode local|offline|replica]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench.fleet import fleet, instance  # noqa: E402
from scripts.bench.measure import convergence  # noqa: E402
from scripts.bench.report import p50, p95  # noqa: E402
from tests.live.servers import redis_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--mode", choices=("local", "offline", "replica"), default="local")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between writes")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-live-") as tmp,
        redis_server() as redis_url,
        fleet(Path(tmp)) as running,
    ):
        url = ""
        if args.mode == "offline":
            url = running.turso("remote").url
        elif args.mode == "replica":
            url = running.sqld("remote").url
        a = instance(Path(tmp), "a", args.mode, remote_url=url, redis_url=redis_url)
        if args.mode == "local":
            running.start([a], extra=a)
            url_b = a.urls[1]
        else:
            b = instance(Path(tmp), "b", args.mode, remote_url=url, redis_url=redis_url)
            running.start([a])
            running.start([b])
            url_b = b.url
        results = convergence(a, url_b, args.writes, args.warmup, gap=args.gap)

    print(f"{args.writes} writes through the API of A, one at a time, {args.mode} mode; Redis;")
    print("times from the start of each write, in milliseconds:")
    print(f"{'':16} {'median':>8} {'p95':>8} {'max':>8}")
    for name, values in results.items():
        print(f"{name:16} {p50(values):8.1f} {p95(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    main()
