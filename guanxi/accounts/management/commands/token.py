from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from guanxi.accounts.models import User
from guanxi.accounts.services import token_create
from guanxi.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            _token, raw = token_create(actor=None, user=user, name=name)
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(raw)
