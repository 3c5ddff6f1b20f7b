"""``manage.py embed --space ID | --all [--force]``: embed the thoughts whose vector is missing
or stale (new thoughts are embedded in the background; this catches up, e.g. after changing
``THOUGHTSPACE_EMBEDDER``), with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from spaces import indexing
from spaces.embeddings import get_embedder
from spaces.management.progress import bar
from spaces.models import Space


class Command(BaseCommand):
    help = "Embed the thoughts of one space (--space ID) or of all spaces (--all) for search."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--space", metavar="ID", help="The id of one space.")
        which.add_argument("--all", action="store_true", help="Every space.")
        parser.add_argument(
            "--force", action="store_true", help="Embed again even the thoughts that are current."
        )
        parser.add_argument("--batch-size", type=int, default=indexing.BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        space = None
        if options["space"]:
            space = Space.objects.filter(pk=options["space"]).first()
            if space is None:
                raise CommandError(f"There is no space with id {options['space']!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        embedder = get_embedder()
        where = f"space {space.pk} ({space.title})" if space else "all spaces"
        self.stdout.write(f"Embedding {where} with {embedder.key}")
        started = time.monotonic()
        stored = indexing.embed_thoughts(
            space=space,
            force=options["force"],
            batch_size=options["batch_size"],
            progress=self._progress,
        )
        elapsed = time.monotonic() - started
        if stored == 0:
            self.stdout.write("Every thought was embedded already.")
        else:
            self.stdout.write(f"Embedded {stored} thoughts in {elapsed:.1f} s.")

    def _progress(self, done: int, total: int) -> None:
        bar(self.stdout, done, total)
