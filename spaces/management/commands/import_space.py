"""``manage.py import_space PATH --owner USERNAME [--into SPACE_ID] [--dry-run]``: import a
lossless archive (.jsonl), a zip of Markdown files or a folder of them (an Obsidian vault);
the new or target space's id is the last word of the output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from spaces import archive, vault
from spaces.errors import ServiceError
from spaces.management.progress import bar
from spaces.models import Space


class Command(BaseCommand):
    help = "Import a space from an archive (.jsonl), a Markdown zip or a Markdown folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH")
        parser.add_argument("--owner", required=True, metavar="USERNAME")
        parser.add_argument("--into", metavar="SPACE_ID", help="merge into this space")
        parser.add_argument("--dry-run", action="store_true", help="check and count only")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"There is no user named {options['owner']!r}.")
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        into = None
        if options["into"]:
            into = Space.objects.filter(pk=options["into"]).first()
            if into is None:
                raise CommandError(f"There is no space with id {options['into']!r}.")
            if into.role_of(owner) not in ("owner", "editor"):
                raise CommandError(f"{owner.get_username()} cannot edit space {into.pk}.")
        try:
            if path.is_dir() or path.suffix.lower() == ".zip":
                plan = vault.read_markdown(path)
            else:
                with path.open("rb") as stream:
                    plan = archive.read_jsonl(stream, file=str(path))
            total = plan.thought_count()
            report = archive.apply(
                plan,
                actor=owner,
                into=into,
                dry_run=options["dry_run"],
                progress=lambda done: bar(self.stdout, done, total, "thoughts"),
            )
        except ServiceError as exc:
            raise CommandError(f"Nothing was imported: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"Could not read {path}: {exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        if into is not None or not options["dry_run"]:
            self.stdout.write(f"Space: {report.space_id}")
