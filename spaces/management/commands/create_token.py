"""``manage.py create_token USERNAME [--mode MODE]``: print a new API token as the last word."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from spaces import services
from spaces.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--mode", choices=ApiToken.Mode.values, default=ApiToken.Mode.DIRECT)
        parser.add_argument("--name", default="", help="A label to recognise the token by.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                f"There is no user named {options['username']!r}: create one with "
                "`manage.py createsuperuser` first."
            )
        token, raw = services.token_create(
            user=user, name=options["name"] or "created by create_token", mode=options["mode"]
        )
        self.stdout.write(f"Token for {user.get_username()} (mode {token.mode}): {raw}")
