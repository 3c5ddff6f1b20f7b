"""``manage.py seed_demo``: a demo user and a small demo space (safe to run again)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from spaces import services
from spaces.models import Space

DEMO_THOUGHTS = [
    ("local-first", "Local-first software", "Data lives on your device first.", None),
    ("replica", "Embedded replica", "A local copy of the remote primary.", "local-first"),
    ("sync", "Sync after write", "Push right after commit, off the request path.", "replica"),
    ("history", "Append-only history", "Every change is recorded with before and after.", None),
    ("conflicts", "Conflicts", "Concurrent edits keep the losing version visible.", "history"),
]
DEMO_LINKS = [("sync", "conflicts", "can cause"), ("history", "conflicts", "records")]


class Command(BaseCommand):
    help = "Create the demo user and the demo space (does nothing when they exist)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-password")
        parser.add_argument(
            "--admin",
            action="store_true",
            help="make the demo user a staff superuser, for the admin (development only)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(username=options["username"])
        if created:
            user.set_password(options["password"])
        if options["admin"]:
            user.is_staff = user.is_superuser = True
        if created or options["admin"]:
            user.save()
        if Space.objects.filter(owner=user, title="Demo space").exists():
            self.stdout.write("The demo space exists already.")
        else:
            space = services.space_create(
                owner=user, title="Demo space", description="A small graph to try ThoughtSpace."
            )
            for position, (key, title, body, parent) in enumerate(DEMO_THOUGHTS):
                services.thought_create(
                    space=space,
                    actor=user,
                    key=key,
                    title=title,
                    body=body,
                    parent=parent,
                    position=position,
                )
            for source, target, label in DEMO_LINKS:
                services.link_create(
                    space=space, actor=user, source=source, target=target, label=label
                )
            self.stdout.write(f"Created the demo space with {len(DEMO_THOUGHTS)} thoughts.")
        password = options["password"] if created else "(unchanged)"
        self.stdout.write(f"Log in as {user.get_username()} / {password}")
        if user.is_staff:
            self.stdout.write(f"{user.get_username()} may use the admin, at /admin/")
