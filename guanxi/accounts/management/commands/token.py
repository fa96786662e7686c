from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.accounts.services import token_create
from guanxi.core.exceptions import ApplicationError, validation_error_fields


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("There is no user %(username)s.") % {"username": repr(username)})
        try:
            _token, raw = token_create(actor=None, user=user, name=name)
        except ValidationError as error:
            lines = [
                f"{field}: {' '.join(msgs)}"
                for field, msgs in validation_error_fields(error).items()
            ]
            raise CommandError("; ".join(lines)) from error
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        # Only the token on stdout, so scripts can capture it.
        self.stdout.write(raw)
