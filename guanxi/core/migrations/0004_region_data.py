"""Load the shipped national region table (guanxi/core/china/data/regions.csv).

Self-contained on purpose: a migration must not import application code that may change after it
has run. Later refreshes of the table go through ``manage.py region_load``, not a new migration.
"""

import csv
from pathlib import Path

from django.db import migrations

REGIONS_CSV = Path(__file__).resolve().parent.parent / "china" / "data" / "regions.csv"
# Parents first, so every foreign key points at a row that is already there.
LEVEL_ORDER = ("province", "city", "district")


def load_regions(apps, schema_editor):
    Region = apps.get_model("core", "Region")
    with REGIONS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    existing = set(Region.objects.values_list("code", flat=True))
    for level in LEVEL_ORDER:
        Region.objects.bulk_create(
            [
                Region(
                    code=row["code"],
                    name=row["name"],
                    level=row["level"],
                    parent_id=row["parent_code"] or None,
                )
                for row in rows
                if row["level"] == level and row["code"] not in existing
            ],
            batch_size=500,
        )


def unload_regions(apps, schema_editor):
    Region = apps.get_model("core", "Region")
    # Children first: the parent foreign key protects a region that still has children.
    for level in reversed(LEVEL_ORDER):
        Region.objects.filter(level=level).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_region"),
    ]

    operations = [
        migrations.RunPython(load_regions, unload_regions),
    ]
