"""``guanxi import KIND FILE``: import a CSV or XLSX file from the command line, through the same
services as the pages and the API, in this process (no job queue), in one transaction.

Exit codes: 0 when every row went in (or, with --dry-run, would); 3 when the import finished but
rows had errors (written without them under --on-error skip; listed by a dry run); 1 when nothing
was imported (an unreadable or hostile file, a bad mapping, an all-or-nothing import with bad
rows, a failure); 2 for a command line argparse cannot read.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.accounts.models import User
from guanxi.core.exceptions import ApplicationError, validation_error_fields
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob

EXIT_ROW_ERRORS = 3


class Command(BaseCommand):
    help = (
        "Import customers or contacts from a CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX file. "
        "Columns are matched by their headers (Chinese or English) unless --map says otherwise. "
        "A commit is one transaction: an interrupted import leaves nothing behind. Exit codes: 0 "
        "all rows imported (or, with --dry-run, importable), 3 finished with rows in error, 1 "
        "nothing imported, 2 bad command line."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=sorted(import_services.IMPORT_KINDS))
        parser.add_argument("file", nargs="?")
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
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map the column with this header (or this number, from 1) to FIELD; an empty "
            "FIELD leaves the column out; repeat for more columns. The other columns keep the "
            "mapping guessed from their headers. --fields lists the fields.",
        )
        parser.add_argument(
            "--fields", action="store_true", help="list the fields of KIND and exit"
        )
        parser.add_argument("--errors", metavar="PATH", help="write the error report (CSV) to PATH")
        parser.add_argument(
            "--user",
            help="import as this user (their data scope and permissions); the system by default",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = import_services.IMPORT_KINDS[options["kind"]]
        if options["fields"]:
            for item in kind.fields:
                mark = " *" if item.required else ""
                self.stdout.write(f"{item.name}{mark}\t{item.label}")
            return
        if not options["file"]:
            raise CommandError(_("Name the file to import."))
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(
                    _("There is no active user %(username)s.") % {"username": repr(options["user"])}
                )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": str(path)})
        job = None
        try:
            with path.open("rb") as handle:
                job = import_services.import_upload(
                    actor=actor, kind=options["kind"], file=handle, file_name=path.name
                )
            mapping = _mapping(job, options["map"])
            self.stderr.write(
                _("Import %(id)s: about %(rows)s rows.") % {"id": job.pk, "rows": job.total_rows}
            )
            start = (
                import_services.import_check
                if options["dry_run"]
                else import_services.import_commit
            )
            job = start(
                actor=actor,
                job=job,
                mapping=mapping,
                duplicate_policy=options["policy"],
                error_policy=options["on_error"],
                run_now=True,
            )
        except ValidationError as error:
            if job is not None and job.status == ImportJob.Status.UPLOADED:
                import_services.import_discard(job=job)
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
        if job.error_count > 20:
            self.stdout.write(_("  … and more: see the error report."))
        if options["errors"] and job.error_file:
            try:
                with (
                    import_services.import_error_file_open(job=job) as report,
                    Path(options["errors"]).open("wb") as target,
                ):
                    shutil.copyfileobj(report, target)
            except OSError as error:
                raise CommandError(
                    _("The error report cannot be written to %(path)s: %(reason)s")
                    % {"path": options["errors"], "reason": error.strerror or error}
                ) from error
            self.stderr.write(_("Error report written to %(path)s.") % {"path": options["errors"]})
        if job.status in (ImportJob.Status.FAILED, ImportJob.Status.REJECTED):
            raise CommandError(_("Nothing was imported."))
        if job.error_count:
            if job.status == ImportJob.Status.DONE:
                message = ngettext(
                    "%(count)s row with errors was not imported.",
                    "%(count)s rows with errors were not imported.",
                    job.error_count,
                )
            else:
                message = ngettext(
                    "%(count)s row has errors.", "%(count)s rows have errors.", job.error_count
                )
            raise CommandError(message % {"count": job.error_count}, returncode=EXIT_ROW_ERRORS)


def _mapping(job: ImportJob, pairs: list[str]) -> dict[str, str]:
    """The guessed mapping of ``job`` with the --map COLUMN=FIELD pairs applied: COLUMN is a
    header of the file (compared as the synonyms are) or a column number counted from 1."""
    mapping = dict(job.mapping)
    keys = [import_services.header_key(header) for header in job.headers]
    errors = []
    for pair in pairs:
        column, separator, field = pair.partition("=")
        index = None
        key = import_services.header_key(column)
        if separator and key in keys:
            index = keys.index(key)
        elif separator and column.strip().isdigit() and 0 < int(column) <= len(job.headers):
            index = int(column) - 1
        if index is None:
            errors.append(
                _("%(pair)s: name a column of the file by its header or number, as COLUMN=FIELD.")
                % {"pair": pair}
            )
            continue
        field = field.strip()
        mapping = {position: name for position, name in mapping.items() if name != field}
        if field:
            mapping[str(index)] = field
        else:
            mapping.pop(str(index), None)
    if errors:
        raise ValidationError({"map": errors})
    return mapping
