"""Search latency at 10,000 thoughts and quality on the labelled set, for each embedder.

    .venv/bin/python scripts/bench_search.py                    # the hash embedder
    scripts/setup_model.sh && .venv-model/bin/python scripts/bench_search.py   # hash and minilm

It builds a throwaway local-mode database (libSQL file), a space with the labelled thoughts of
tests/search/labelled.py and a space of N synthetic thoughts with the labelled ones mixed in,
embeds both with each embedder installed, then times the search and related queries and
prints a table (docs/search.md has the figures and how to read them). The synthetic thoughts
are inserted in bulk, without history: this measures search, not writes.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = """account agenda alarm album anchor answer apple archive arrow artist atlas autumn badge
balance basket battery beach bench blanket border bottle branch bridge bucket budget
cabinet cable camera candle canvas carpet castle ceiling chair channel chapter cheese
circle city cliff clock cloud coffee column comet copper corner cotton council course
cousin crystal culture curtain cushion dancer danger desert detail device diary dinner
doctor dragon drawer dream editor effort engine evening export fabric factory feather
fence festival field figure filter finger flag flavor flower folder forest fossil frame
garage garlic gate glass globe guitar hammer harbor harvest helmet highway honey horizon
hotel island jacket jungle kettle kitchen ladder lantern laptop lemon letter library
lizard magnet marble market meadow medal meeting mirror module monitor morning mountain
museum needle network noodle notebook ocean office orange orbit oven packet paddle
palace panel paper parade parcel pencil pepper piano picnic pillow planet pocket poem
portal poster puzzle quarter rabbit radio rail ribbon river rocket saddle salad sample
sandal school season shadow shelf signal silver sketch socket sofa spider spring square
stadium statue stove studio summer sunset sweater switch symbol table tablet teacher
temple tennis theater ticket timber tower tractor traffic travel trophy tunnel turtle
uniform valley velvet village violin volcano wagon wallet window winter wizard wood
yogurt zebra""".split()  # noqa: SIM905
VERBS = """adjust borrow carry check clean compare count deliver design draw fix gather label
measure move open order paint plan polish print repair replace review sort store test
trim update visit wrap write""".split()  # noqa: SIM905


def synthetic_text(rng: random.Random) -> tuple[str, str]:
    title = f"{rng.choice(VERBS).title()} the {rng.choice(WORDS)} {rng.choice(WORDS)}"
    body = " ".join(
        f"{rng.choice(VERBS)} the {rng.choice(WORDS)} near the {rng.choice(WORDS)}."
        for _ in range(rng.randint(2, 4))
    )
    return title, body.capitalize()


def setup_django(db_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="thoughtspace.settings",
        DJANGO_DEBUG="1",
        THOUGHTSPACE_DB_MODE="local",
        THOUGHTSPACE_DB_PATH=f"{db_dir}/bench.db",
    )
    import django

    django.setup()
    from django.conf import settings

    settings.EMBEDDING_WORKER = False  # the bench embeds explicitly, and times it
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_spaces(count: int) -> tuple[object, object]:
    from django.contrib.auth import get_user_model

    from spaces import services
    from spaces.models import Thought
    from tests.search.conftest import add_labelled_thoughts

    user = get_user_model().objects.create_user("bench")
    labelled = services.space_create(owner=user, title="Labelled set")
    add_labelled_thoughts(labelled, user)
    big = services.space_create(owner=user, title=f"{count} thoughts")
    add_labelled_thoughts(big, user)
    rng = random.Random(8)
    thoughts = []
    for i in range(count - big.thoughts.count()):  # type: ignore[attr-defined]
        title, body = synthetic_text(rng)
        thoughts.append(Thought(space=big, key=f"t{i:05d}", title=title, body=body))
    Thought.objects.bulk_create(thoughts, batch_size=500)
    return labelled, big


def quality(space: object) -> tuple[float, float]:
    from spaces.search import search_thoughts
    from tests.search.labelled import QUERIES, recall_and_mrr

    ranked = {
        query: [hit.thought.key for hit in search_thoughts(space=space, query=query)]
        for query, _ in QUERIES
    }
    return recall_and_mrr(ranked)


def latencies(call, rounds: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def bench(name: str, labelled: object, big: object, rounds: int) -> dict[str, str]:
    from django.conf import settings
    from django.db import connection

    from spaces import indexing
    from spaces.search import related_thoughts, search_thoughts
    from tests.search.labelled import QUERIES

    settings.THOUGHTSPACE_EMBEDDER = name
    indexing.embed_thoughts(space=labelled)
    started = time.perf_counter()
    embedded = indexing.embed_thoughts(space=big)
    embed_rate = embedded / (time.perf_counter() - started)
    recall, mrr = quality(labelled)
    big_recall, big_mrr = quality(big)
    queries = [query for query, _ in QUERIES]
    search_thoughts(space=big, query=queries[0])  # warm up (loads the model)
    cycle = iter(queries * rounds)
    median, p95 = latencies(lambda: search_thoughts(space=big, query=next(cycle)), rounds)
    target = big.thoughts.get(key="compost")  # type: ignore[attr-defined]
    related, _ = latencies(lambda: related_thoughts(thought=target), rounds)
    connection.features.supports_vector_distance = False  # the portable path, for comparison
    cycle = iter(queries * rounds)
    python_median, _ = latencies(
        lambda: search_thoughts(space=big, query=next(cycle)), max(3, rounds // 10)
    )
    del connection.features.supports_vector_distance  # probe again
    return {
        "embedder": name,
        "recall@3": f"{recall:.2f}",
        "MRR": f"{mrr:.2f}",
        "recall@3 in big": f"{big_recall:.2f}",
        "MRR in big": f"{big_mrr:.2f}",
        "search p50 ms": f"{median:.1f}",
        "search p95 ms": f"{p95:.1f}",
        "related p50 ms": f"{related:.1f}",
        "python-scan p50 ms": f"{python_median:.0f}",
        "embed /s": f"{embed_rate:.0f}",
    }


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in columns]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [row[c].ljust(w) for c, w in zip(columns, widths, strict=True)]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thoughts", type=int, default=10_000, help="size of the big space")
    parser.add_argument("--rounds", type=int, default=100, help="timed searches per embedder")
    parser.add_argument("--embedders", default="", help="comma-separated; default: installed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-search-") as db_dir:
        setup_django(db_dir)
        from django.db import connection

        from spaces.embeddings import EMBEDDERS, minilm_installed

        names = [n for n in args.embedders.split(",") if n] or [
            n for n in EMBEDDERS if n != "minilm" or minilm_installed()
        ]
        labelled, big = build_spaces(args.thoughts)
        native = connection.features.supports_vector_distance  # type: ignore[attr-defined]
        print(
            f"{args.thoughts} thoughts in the big space; labelled set of "
            f"{labelled.thoughts.count()} thoughts; vector_distance_cos in the engine: {native}; "  # type: ignore[attr-defined]
            f"{args.rounds} timed searches each; {os.cpu_count()} CPUs",
            flush=True,
        )
        rows = []
        for name in names:
            print(f"-- {name} ...", flush=True)
            rows.append(bench(name, labelled, big, args.rounds))
        print_table(rows)


if __name__ == "__main__":
    main()
