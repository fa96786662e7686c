"""Customer.name_key: the normalised company name the duplicate check compares, filled for the
existing rows, then indexed.

The column is added by hand (``ALTER TABLE … ADD COLUMN … NOT NULL DEFAULT ''``), not by
Django's AddField: on SQLite, Django adds a NOT NULL column by rebuilding the table, and the
rebuild drops the triggers that keep the FTS5 search table in step (0004). On PostgreSQL the
statement is what Django would run anyway, and instant. The index comes after the fill: at a
million customers, building it once is far cheaper than keeping it up to date through a million
updates.

The key is derived data that must equal what the services compute, so the fill calls the
application's normaliser (guanxi.core.china.names) with the region names read through the
historical Region model. A later change to the normaliser ships its own refill migration.
Government bodies keep their region in the key (selectors.customer_name_key): 北京市财政局 and
上海市财政局 are two customers.
"""

from django.db import migrations, models

TABLE = "customers_customer"
BATCH = 2000


def add_column(apps, schema_editor):
    schema_editor.execute(
        f"ALTER TABLE {TABLE} ADD COLUMN name_key varchar(200) NOT NULL DEFAULT ''"
    )
    if schema_editor.connection.vendor == "postgresql":
        # Django keeps no database default; the services always write the column.
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN name_key DROP DEFAULT")


def drop_column(apps, schema_editor):
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN name_key")


def fill(apps, schema_editor):
    from guanxi.core.china.names import company_name_key, region_names_from

    Region = apps.get_model("core", "Region")
    Customer = apps.get_model("customers", "Customer")
    regions = region_names_from(Region.objects.values_list("name", "level"))
    last = 0
    while True:
        rows = list(
            Customer.objects.filter(pk__gt=last).order_by("pk").only("pk", "name", "kind")[:BATCH]
        )
        if not rows:
            return
        for row in rows:
            row.name_key = company_name_key(
                row.name, regions=regions, keep_regions=row.kind == "government"
            )[:200]
        Customer.objects.bulk_update(rows, ["name_key"], batch_size=500)
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_region_data"),
        ("customers", "0011_needs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="customer",
                    name="name_key",
                    field=models.CharField(
                        blank=True, editable=False, max_length=200, verbose_name="name key"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name_key"], name="customer_name_key"),
        ),
    ]
