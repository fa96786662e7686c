"""Contact.birthday_lunar: the contact keeps their birthday in the lunar calendar (the care
calendar of guanxi.engagement greets them on the lunar date of their date of birth).

The column is added by hand (``ALTER TABLE … ADD COLUMN … NOT NULL DEFAULT false``), as in 0012:
on SQLite Django adds a NOT NULL column by rebuilding the table, and the rebuild drops the
triggers that keep the FTS5 search table of contacts in step (0004). On PostgreSQL the statement
is what Django would run, and instant.
"""

from django.db import migrations, models

TABLE = "customers_contact"


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN birthday_lunar boolean NOT NULL DEFAULT false"
        )
        # Django keeps no database default; the services always write the column.
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN birthday_lunar DROP DEFAULT")
    else:
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD COLUMN birthday_lunar bool NOT NULL DEFAULT 0")


def drop_column(apps, schema_editor):
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN birthday_lunar")


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_verification")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="contact",
                    name="birthday_lunar",
                    field=models.BooleanField(default=False, verbose_name="lunar birthday"),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
    ]
