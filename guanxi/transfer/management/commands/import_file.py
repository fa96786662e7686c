"""``guanxi import KIND FILE``: import a CSV or XLSX file from the command line, through the same
services as the pages and the API, in this process (no job queue), in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.core.exceptions import ApplicationError, validation_error_fields
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob


class Command(BaseCommand):
    help = (
        "Import customers or contacts from a CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX file. "
        "Columns are matched by their headers (Chinese or English). A commit is one "
        "transaction: an interrupted import leaves nothing behind."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=sorted(import_services.IMPORT_KINDS))
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and write nothing"
        )
        parser.add_argument(
            "--policy",
            choices=ImportJob.DuplicatePolicy.values,
            default=ImportJob.DuplicatePolicy.SKIP,
            help="what to do with a row that matches an existing record (default: skip)",
        )
        parser.add_argument(
            "--on-error",
            choices=ImportJob.ErrorPolicy.values,
            default=ImportJob.ErrorPolicy.ALL_OR_NOTHING,
            help="all: import nothing if any row is bad (default); skip: import the good rows",
        )
        parser.add_argument(
            "--user",
            help="import as this user (their data scope and permissions); the system by default",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(
                    _("There is no user %(username)s.") % {"username": repr(options["user"])}
                )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": str(path)})
        try:
            with path.open("rb") as handle:
                job = import_services.import_upload(
                    actor=actor, kind=options["kind"], file=handle, file_name=path.name
                )
            self.stderr.write(
                _("Import %(id)s: %(rows)s rows.") % {"id": job.pk, "rows": job.total_rows}
            )
            start = (
                import_services.import_check
                if options["dry_run"]
                else import_services.import_commit
            )
            job = start(
                actor=actor,
                job=job,
                duplicate_policy=options["policy"],
                error_policy=options["on_error"],
                run_now=True,
            )
        except ValidationError as error:
            lines = [
                f"{field}: {' '.join(messages)}"
                for field, messages in validation_error_fields(error).items()
            ]
            raise CommandError("; ".join(lines)) from error
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            f"{job.get_status_display()}: {import_services.import_message_counts(job)}"
        )
        for row, column, value, reason in job.error_preview[:20]:
            self.stdout.write(f"  {row or '-'} · {column} · {value} · {reason}")
        if job.status in (ImportJob.Status.FAILED, ImportJob.Status.REJECTED):
            raise CommandError(_("Nothing was imported."))
