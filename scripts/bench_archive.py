"""Export, import and restore of large spaces: time and peak Python memory, by size.

    .venv/bin/python scripts/bench_archive.py              # 1,000 and 10,000 thoughts
    .venv/bin/python scripts/bench_archive.py --sizes 500  # quicker

A throwaway local-mode database (libSQL file); each space is a tree ten levels deep with a
link for every fifth thought, made through ``services.space_import`` (with history). Then,
per size: the JSON Lines export and its import into a new space, the Markdown zip export and
its import, and a restore of the space over a window of 1,000 changes (edits, deletes and
links made after the moment). Each export and import runs twice: once timed, with the most
the process's resident memory grew over its start (sampled every 5 ms: everything, SQLite's
caches included), once under tracemalloc for its peak (the Python heap: what grows with the
space if anything is held whole), since tracing slows Python several times over. Prints a
table (docs/BENCHMARKS.md).
Targets (issue 21): export and import of 10,000 thoughts <= 10 s each, in memory that does
not grow with the space; restore of a 1,000-change window <= 5 s.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(db_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="thoughtspace.settings",
        DJANGO_DEBUG="0",  # DEBUG keeps every query's SQL: memory that grows with the work
        DJANGO_SECRET_KEY="bench-" + "x" * 50,
        THOUGHTSPACE_DB_MODE="local",
        THOUGHTSPACE_DB_PATH=f"{db_dir}/bench.db",
        RUST_LOG="error",
    )
    import django

    django.setup()
    from django.conf import settings

    settings.EMBEDDING_WORKER = False  # embedding is search's cost, not the archive's
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssGrowth:
    """The most the resident memory grew over its value at the start, while in the block."""

    def __init__(self) -> None:
        self.start = self.peak = rss()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> RssGrowth:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / 2**20


def measured(step: Callable[[], Any], *, memory: bool = True) -> tuple[Any, float, float, float]:
    """``step()``'s result, seconds and resident growth in MiB, then (a second run) its peak
    traced memory in MiB."""
    with RssGrowth() as growth:
        started = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - started
    if not memory:
        return result, seconds, growth.mib, float("nan")
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, growth.mib, peak


def build(user: Any, size: int) -> Any:
    from django.db import transaction

    from spaces import archive, services

    space = services.space_create(owner=user, title=f"{size} thoughts")
    records = [
        archive.ThoughtRecord(
            key=f"t{n}",
            title=f"Thought {n}",
            body=f"Body of thought {n}, with a few words to carry. " * 4,
            parent=f"t{(n - 1) // 10}" if n else None,  # ten children each: depth ~ log10
            position=n % 10,
            metadata={"n": n},
        )
        for n in range(size)
    ]
    with transaction.atomic():
        services.space_import(space=space, actor=user, thoughts=records)
        for n in range(0, size - 1, 5):
            services.link_create(space=space, actor=user, source=f"t{n}", target=f"t{n + 1}")
    return space


def window(space: Any, user: Any, changes: int) -> int:
    """``changes`` ordinary changes: edits, then deletes of leaves, then links."""
    from spaces import services

    made = 0
    thoughts = list(space.thoughts.order_by("-key")[: changes // 2])
    for thought in thoughts:
        services.thought_update(thought=thought, actor=user, changes={"title": "Changed"})
        made += 1
    for thought in list(space.thoughts.filter(children__isnull=True)[: changes // 4]):
        services.thought_delete(thought=thought, actor=user)
        made += 1
    keys = list(space.thoughts.values_list("key", flat=True)[: 2 * (changes - made) + 2])
    while made < changes and len(keys) > 1:
        source, target = keys.pop(), keys.pop()
        services.link_create(space=space, actor=user, source=source, target=target, label="w")
        made += 1
    return made


def run(size: int, user: Any) -> list[tuple[str, int, float, float, float]]:
    from django.utils import timezone

    from spaces import archive, timeline, vault

    rows: list[tuple[str, int, float, float, float]] = []
    space = build(user, size)

    def export_json() -> bytes:
        out = io.BytesIO()
        for line in archive.export_jsonl(space):
            out.write(line)
        return out.getvalue()

    with tempfile.TemporaryFile() as sink:

        def export_json_to_file() -> None:
            for line in archive.export_jsonl(space):
                sink.write(line)

        _, seconds, grew, peak = measured(export_json_to_file)
    rows.append(("export json", size, seconds, grew, peak))
    data = export_json()

    def import_json() -> archive.Report:
        plan = archive.read_jsonl(io.BytesIO(data), file="bench")
        return archive.apply(plan, actor=user)

    report, seconds, grew, peak = measured(import_json)
    assert report.created == size, report.lines()
    rows.append(("import json", size, seconds, grew, peak))

    with tempfile.TemporaryDirectory() as folder:
        zipped = Path(folder) / "space.zip"

        def export_markdown() -> None:
            with zipped.open("wb") as out:
                vault.export_markdown(space, out)

        _, seconds, grew, peak = measured(export_markdown)
        rows.append(("export markdown", size, seconds, grew, peak))

        def import_markdown() -> archive.Report:
            return archive.apply(vault.read_markdown(zipped), actor=user)

        report, seconds, grew, peak = measured(import_markdown)
        assert report.created == size, report.lines()
        rows.append(("import markdown", size, seconds, grew, peak))

    moment = timezone.now()
    time.sleep(0.01)
    made = window(space, user, min(1000, size))
    _, seconds, grew, peak = measured(
        lambda: timeline.restore_to(space, moment, actor=user), memory=False
    )
    rows.append((f"restore {made} changes", size, seconds, grew, peak))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="thoughts per space")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="thoughtspace-bench-archive-") as db_dir:
        setup_django(db_dir)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_user("bench")
        rows = [row for size in sizes for row in run(size, user)]
    print("| step | thoughts | seconds | resident growth MiB | peak Python MiB |")
    print("|---|---:|---:|---:|---:|")
    for step, size, seconds, grew, peak in rows:
        memory = "-" if peak != peak else f"{peak:.1f}"  # NaN: not measured
        print(f"| {step} | {size:,} | {seconds:.2f} | {grew:.1f} | {memory} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
