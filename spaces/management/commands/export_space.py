"""``manage.py export_space SPACE_ID --format json|markdown --output PATH``: the space as a
lossless archive (JSON Lines, docs/archive.md) or a zip of Markdown files, with a progress
bar; ``--output -`` writes the archive to standard output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from spaces import archive, vault
from spaces.management.progress import bar
from spaces.models import Space


class Command(BaseCommand):
    help = "Export a space as a lossless archive (json) or a zip of Markdown files (markdown)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("space_id", metavar="SPACE_ID")
        parser.add_argument("--format", choices=("json", "markdown"), default="json")
        parser.add_argument("--output", required=True, metavar="PATH", help="or - for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        space = Space.objects.select_related("owner").filter(pk=options["space_id"]).first()
        if space is None:
            raise CommandError(f"There is no space with id {options['space_id']!r}.")
        total = space.thoughts.count()
        to_stdout = options["output"] == "-"
        log = self.stderr if to_stdout else self.stdout

        def progress(done: int) -> None:
            bar(log, done, total, "thoughts")

        path = Path(options["output"])
        if not to_stdout and not path.parent.is_dir():
            raise CommandError(f"{path.parent} is not a folder: create it first.")
        partial = path.with_name(path.name + ".partial")
        try:
            with (
                open(sys.stdout.fileno(), "wb", closefd=False)
                if to_stdout
                else partial.open("wb") as out
            ):
                if options["format"] == "json":
                    for line in archive.export_jsonl(space, progress=progress):
                        out.write(line)
                else:
                    vault.export_markdown(space, out, progress=progress)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Could not write {path}: {exc}") from exc
        if not to_stdout:
            partial.replace(path)  # a finished archive or none: never half of one
            log.write(f"Exported {total} thoughts of {space.title!r} to {path}")
