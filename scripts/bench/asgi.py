"""The ASGI application of a benchmark instance: ``thoughtspace.asgi`` itself, after the
instance's database was prepared in the same process when ``BENCH_PREPARE_OUT`` is set (one
Django start per instance instead of two). The result goes to that file as JSON. The malloc
arenas are capped first (``syncops.memory``), as the server does when it starts."""

import json
import os
from pathlib import Path

from syncops.memory import limit_malloc_arenas

limit_malloc_arenas()  # as the server does, but before preparing spawns the drivers' threads

if os.environ.get("BENCH_PREPARE_OUT"):
    import django

    django.setup()
    from scripts.bench.worker import prepare_database

    data = prepare_database(os.environ.get("BENCH_PREPARE_SPACES", ""))
    target = Path(os.environ["BENCH_PREPARE_OUT"])
    target.with_suffix(".tmp").write_text(json.dumps(data))
    target.with_suffix(".tmp").rename(target)

if os.environ.get("BENCH_MEMORY_LOG"):  # the soak: what memory grows (--tracemalloc: Python's)
    from scripts.bench.memory import watch_memory

    python = bool(os.environ.get("BENCH_TRACEMALLOC"))
    watch_memory(Path(os.environ["BENCH_MEMORY_LOG"]), python=python)

from thoughtspace.asgi import application  # noqa: E402

__all__ = ["application"]
