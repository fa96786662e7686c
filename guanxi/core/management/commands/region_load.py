from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guanxi.core.china.regions import REGIONS_CSV, region_csv_read, region_load


class Command(BaseCommand):
    help = (
        "Load or refresh the national region table from a CSV (code,name,level,parent_code). "
        "Idempotent: new codes are added, changed ones updated, none deleted."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            default=REGIONS_CSV,
            help="CSV to load (default: the table shipped with Guanxi).",
        )
        parser.add_argument(
            "--retire-missing",
            action="store_true",
            help="Mark codes that are not in the file as no longer in use (never deletes).",
        )

    def handle(self, *args: Any, file: Path, retire_missing: bool, **options: Any) -> None:
        try:
            rows = region_csv_read(path=file)
            result = region_load(rows=rows, retire_missing=retire_missing)
        except FileNotFoundError as error:
            raise CommandError(f"{file}: no such file") from error
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from error
        self.stdout.write(
            f"regions: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.retired} retired"
        )
