from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guanxi.core.china.calendar import chinese_calendar_version, chinese_calendar_years
from guanxi.core.services import calendar_seed


class Command(BaseCommand):
    help = (
        "Seed the holiday and adjusted-working-day table from the installed chinese-calendar "
        "package and mark the seeded years complete. Days an administrator edited, added or "
        "removed are kept unless --overwrite-edited. Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--year",
            type=int,
            action="append",
            dest="years",
            help="A year to seed (repeatable; default: every year the package covers).",
        )
        parser.add_argument(
            "--overwrite-edited",
            action="store_true",
            help="Also replace the days an administrator edited with the package's.",
        )

    def handle(
        self, *args: Any, years: list[int] | None, overwrite_edited: bool, **options: Any
    ) -> None:
        available = chinese_calendar_years()
        try:
            result = calendar_seed(actor=None, years=years, overwrite_edited=overwrite_edited)
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from error
        self.stdout.write(
            f"chinese-calendar {chinese_calendar_version()} "
            f"(covers {available.start}-{available.stop - 1}): "
            f"years {', '.join(str(year) for year in result.years)}: "
            f"{result.created} added, {result.updated} changed, {result.removed} removed, "
            f"{result.unchanged} unchanged, {result.kept} kept as an administrator edited them"
        )
