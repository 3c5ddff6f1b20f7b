"""What a space page costs as the space grows: the page, the graph's data and the live
fragment of spaces of 10, 1,000 and 10,000 thoughts, interleaved in one run.

    .venv/bin/python scripts/bench_pages.py                 # prints a table
    .venv/bin/python scripts/bench_pages.py --plot docs/benchmarks/pages.png

It builds a throwaway local-mode database (a libSQL file) with one space per size: a tree
three children wide (about ten levels at 10,000 thoughts) and one link per five thoughts,
written in bulk. Each request runs in this process through Django's test client, signed in
as the owner, with DEBUG off; "server ms" is the time the request takes in Django (the
same as the Server-Timing of scripts/bench, without the network), "KiB" its body. Rounds
visit every (size, page) in a shuffled order; the table gives medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_TARGET_RATIO = 2.0  # 10,000 thoughts against 10: server time and bytes
PAGE_TARGET_MS_1000 = 150.0
GRAPH_NODE_LIMIT = 500


def setup_django(db_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="thoughtspace.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-pages-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="testserver",
        THOUGHTSPACE_DB_MODE="local",
        THOUGHTSPACE_DB_PATH=f"{db_dir}/bench.db",
        THOUGHTSPACE_CHANNEL_LAYER="memory",
    )
    import django

    django.setup()
    from django.conf import settings

    settings.EMBEDDING_WORKER = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(sizes: list[int]) -> tuple[Any, dict[int, str]]:
    from django.contrib.auth import get_user_model

    from scripts.bench.worker import seed_space

    user = get_user_model().objects.create_user("bench", password="bench-password")
    spaces = {
        size: seed_space(
            owner=user, title=f"{size} thoughts", thoughts=size, links_every=5, width=3
        ).pk
        for size in sizes
    }
    return user, spaces


def pages(space_id: str) -> dict[str, str]:
    from django.urls import reverse

    return {
        "page": reverse("space-detail", args=[space_id]),
        "graph": reverse("space-graph", args=[space_id]),
        "live": reverse("space-live", args=[space_id]),
    }


def measure(client: Any, spaces: dict[int, str], rounds: int) -> dict[tuple[int, str], Any]:
    jobs = [(size, name, path) for size, sid in spaces.items() for name, path in pages(sid).items()]
    samples: dict[tuple[int, str], dict[str, Any]] = {}
    for size, name, path in jobs:  # warm up, and keep what the answer says
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        samples[(size, name)] = {"ms": [], "bytes": len(response.content), "body": response}
    for _ in range(rounds):
        for size, name, path in random.sample(jobs, len(jobs)):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            samples[(size, name)]["ms"].append(elapsed)
    return samples


def graph_facts(client: Any, path: str) -> dict[str, Any]:
    first = client.get(path).json()
    second = client.get(path).json()
    positions = {n["id"]: n.get("position") for n in first["nodes"]}
    same = positions == {n["id"]: n.get("position") for n in second["nodes"]}
    placed = all(p is not None for p in positions.values())
    return {"nodes": len(first["nodes"]), "same_positions": same and placed}


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def plot(results: dict[tuple[int, str], Any], sizes: list[int], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("page", "graph", "live"):
        left.plot(sizes, [statistics.median(results[(s, name)]["ms"]) for s in sizes], "o-")
        right.plot(sizes, [results[(s, name)]["bytes"] / 1024 for s in sizes], "o-", label=name)
    for ax, label in ((left, "server ms (median)"), (right, "KiB")):
        ax.set_xscale("log")
        ax.set_xlabel("thoughts in the space")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    right.legend()
    fig.suptitle("Space page, graph data and live fragment by space size")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--plot", type=Path, help="write a PNG plot here")
    parser.add_argument("--json", type=Path, help="write the medians here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    random.seed(17)

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as db_dir:
        setup_django(db_dir)
        from django.test import Client

        started = time.perf_counter()
        user, spaces = build(sizes)
        print(f"seeded {sum(sizes)} thoughts in {time.perf_counter() - started:.1f} s", flush=True)
        client = Client()
        client.force_login(user)
        results = measure(client, spaces, args.rounds)
        graphs = {s: graph_facts(client, pages(spaces[s])["graph"]) for s in sizes}

    small = sizes[0]
    rows, summary = [], {}
    for size in sizes:
        for name in ("page", "graph", "live"):
            ms = statistics.median(results[(size, name)]["ms"])
            kib = results[(size, name)]["bytes"] / 1024
            base = results[(small, name)]
            ratio_ms = ms / statistics.median(base["ms"])
            ratio_bytes = results[(size, name)]["bytes"] / base["bytes"]
            extra = f"{graphs[size]['nodes']} nodes" if name == "graph" else ""
            rows.append(
                [
                    str(size),
                    name,
                    f"{ms:.1f}",
                    f"{kib:.1f}",
                    f"{ratio_ms:.2f}×",
                    f"{ratio_bytes:.2f}×",
                    extra,
                ]
            )
            summary[f"{size}|{name}"] = {"ms": ms, "bytes": results[(size, name)]["bytes"]}
    header = ["thoughts", "request", "server ms", "KiB", f"ms vs {small}", f"bytes vs {small}"]
    print(f"{args.rounds} rounds, {os.cpu_count()} CPUs, local mode, DEBUG off")
    print(table(rows, [*header, "note"]))

    big, mid = sizes[-1], (1000 if 1000 in sizes else None)
    page = {s: summary[f"{s}|page"] for s in sizes}
    checks = [
        (
            f"space page at {big} thoughts ≤ {PAGE_TARGET_RATIO:g}× the {small}-thought page "
            "(server ms)",
            page[big]["ms"] / page[small]["ms"] <= PAGE_TARGET_RATIO,
            f"{page[big]['ms'] / page[small]['ms']:.2f}×",
        ),
        (
            f"space page at {big} thoughts ≤ {PAGE_TARGET_RATIO:g}× the {small}-thought page "
            "(bytes)",
            page[big]["bytes"] / page[small]["bytes"] <= PAGE_TARGET_RATIO,
            f"{page[big]['bytes'] / page[small]['bytes']:.2f}×",
        ),
        (
            f"graph data ≤ {GRAPH_NODE_LIMIT} nodes in every view",
            all(g["nodes"] <= GRAPH_NODE_LIMIT for g in graphs.values()),
            ", ".join(f"{s}: {g['nodes']}" for s, g in graphs.items()),
        ),
        (
            "the same graph view twice gives identical positions",
            all(g["same_positions"] for g in graphs.values()),
            ", ".join(f"{s}: {'yes' if g['same_positions'] else 'no'}" for s, g in graphs.items()),
        ),
    ]
    if mid:
        checks.insert(
            2,
            (
                f"space page at 1000 thoughts ≤ {PAGE_TARGET_MS_1000:g} ms server time",
                page[mid]["ms"] <= PAGE_TARGET_MS_1000,
                f"{page[mid]['ms']:.1f} ms",
            ),
        )
    print()
    verdicts = [[c, m, "pass" if ok else "MISS"] for c, ok, m in checks]
    print(table(verdicts, ["target", "measured", "result"]))
    if args.plot:
        plot(results, sizes, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps({"rounds": args.rounds, "medians": summary}, indent=2))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
