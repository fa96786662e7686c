from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guanxi.accounts.models import Department
from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_create
from guanxi.core.exceptions import validation_error_fields


class Command(BaseCommand):
    help = "Create a user. Without --password the password is asked for (never echoed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.SALES_REP)
        parser.add_argument("--full-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--department", help="Department code.")
        parser.add_argument("--password", help="Initial password (prefer the prompt).")

    def handle(self, *args: Any, **options: Any) -> None:
        department = None
        if options["department"]:
            department = Department.objects.filter(code=options["department"]).first()
            if department is None:
                raise CommandError(
                    _("There is no department with the code %(code)s.")
                    % {"code": repr(options["department"])}
                )
        password = options["password"]
        if password is None:
            password = getpass.getpass(_("Password: "))
            if password != getpass.getpass(_("Password (again): ")):
                raise CommandError(_("The two passwords differ."))
        if not password:
            # An empty answer would create an account nobody can sign in to, silently.
            raise CommandError(_("The password is empty."))
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                password=password,
                full_name=options["full_name"],
                email=options["email"],
                role=options["role"],
                department=department,
            )
        except ValidationError as error:
            lines = [
                f"{field}: {' '.join(msgs)}"
                for field, msgs in validation_error_fields(error).items()
            ]
            raise CommandError("; ".join(lines)) from error
        self.stdout.write(
            _("Created %(username)s (%(role)s).")
            % {"username": user.username, "role": user.get_role_display()}
        )
