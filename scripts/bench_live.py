#!/usr/bin/env python
"""How long a change written on one instance takes to reach a WebSocket client of another.

Starts a throwaway Redis and two daphne instances (A and B) sharing one local libSQL file,
connects a client to each, writes N thoughts one after another through A's API, and prints the
median, p95 and max time from the start of each write to its event on B (and, for comparison,
on A, how much later B hears it than A, and the API call itself).

    .venv/bin/python scripts/bench_live.py --writes 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import connect  # noqa: E402

from tests.live.servers import (  # noqa: E402
    api,
    app_env,
    daphnes,
    prepare_database,
    redis_server,
    ws_url,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def listen(socket, arrivals: dict[str, float]) -> None:  # type: ignore[no-untyped-def]
    async for raw in socket:
        event = json.loads(raw)
        if event.get("key"):
            arrivals.setdefault(event["key"], time.perf_counter())


async def measure(a: str, b: str, token: str, space_id: str, writes: int, warmup: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    on_a: dict[str, float] = {}
    on_b: dict[str, float] = {}
    results: dict[str, list[float]] = {
        "event on B": [],
        "event on A": [],
        "B later than A": [],
        "API write on A": [],
    }
    async with (
        connect(ws_url(a, space_id), additional_headers=headers) as socket_a,
        connect(ws_url(b, space_id), additional_headers=headers) as socket_b,
    ):
        listeners = [
            asyncio.create_task(listen(s, d)) for s, d in ((socket_a, on_a), (socket_b, on_b))
        ]
        for i in range(warmup + writes):
            key = f"bench-{i}"
            started = time.perf_counter()
            body = {"key": key, "title": f"Benchmark write {i}"}
            await asyncio.to_thread(api, a, token, "POST", f"/api/spaces/{space_id}/thoughts", body)
            answered = time.perf_counter()
            deadline = answered + 10
            while (key not in on_a or key not in on_b) and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if key not in on_b:
                raise RuntimeError(f"no event for {key} on B within 10 s")
            if i >= warmup:
                results["event on B"].append(on_b[key] - started)
                results["event on A"].append(on_a[key] - started)
                results["B later than A"].append(on_b[key] - on_a[key])
                results["API write on A"].append(answered - started)
        for task in listeners:
            task.cancel()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, redis_server() as redis_url:
        env = app_env(Path(tmp) / "thoughtspace.db", redis_url)
        demo = prepare_database(env)
        with daphnes(env, 2) as (a, b):
            api(a, demo.token, "GET", "/api/spaces")  # both instances answer before timing
            api(b, demo.token, "GET", "/api/spaces")
            results = asyncio.run(
                measure(a, b, demo.token, demo.space_id, args.writes, args.warmup)
            )

    print(f"{args.writes} writes through the API of A, one at a time; Redis channel layer;")
    print("times from the start of each write, in milliseconds:")
    print(f"{'':16} {'median':>8} {'p95':>8} {'max':>8}")
    for name, values in results.items():
        ms = [v * 1000 for v in values]
        row = f"{statistics.median(ms):8.1f} {percentile(ms, 0.95):8.1f} {max(ms):8.1f}"
        print(f"{name:16} {row}")


if __name__ == "__main__":
    main()
