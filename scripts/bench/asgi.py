"""The ASGI application of a benchmark instance: ``thoughtspace.asgi`` itself, after the
instance's database was prepared in the same process when ``BENCH_PREPARE_OUT`` is set (one
Django start per instance instead of two). The result goes to that file as JSON."""

import json
import os
from pathlib import Path

if os.environ.get("BENCH_PREPARE_OUT"):
    import django

    django.setup()
    from scripts.bench.worker import prepare_database

    data = prepare_database(os.environ.get("BENCH_PREPARE_SPACES", ""))
    target = Path(os.environ["BENCH_PREPARE_OUT"])
    target.with_suffix(".tmp").write_text(json.dumps(data))
    target.with_suffix(".tmp").rename(target)

if os.environ.get("BENCH_TRACEMALLOC"):  # the soak's --tracemalloc: what Python memory grows
    from scripts.bench.memory import watch_allocations

    watch_allocations(Path(os.environ["BENCH_TRACEMALLOC"]))

from thoughtspace.asgi import application  # noqa: E402

__all__ = ["application"]
