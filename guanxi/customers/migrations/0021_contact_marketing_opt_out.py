"""Contact.marketing_opt_out and marketing_opt_out_at: the person asked not to be sent surveys
or marketing, and since when (feedback.selectors.survey_recipients leaves them out).

The flag's column is added by hand (``ALTER TABLE … ADD COLUMN … NOT NULL DEFAULT false``), as in
0012 and 0017: on SQLite Django adds a NOT NULL column by rebuilding the table, and the rebuild
drops the triggers that keep the FTS5 search table of contacts in step (0004). On PostgreSQL the
statement is what Django would run, and instant. The time is nullable without a default, which
SQLite adds in place, so Django's AddField does.
"""

from django.db import migrations, models

TABLE = "customers_contact"


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN marketing_opt_out boolean NOT NULL DEFAULT false"
        )
        # Django keeps no database default; the services always write the column.
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN marketing_opt_out DROP DEFAULT")
    else:
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN marketing_opt_out bool NOT NULL DEFAULT 0"
        )


def drop_column(apps, schema_editor):
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN marketing_opt_out")


class Migration(migrations.Migration):
    dependencies = [("customers", "0020_customer_pool_search_postgres_gin")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="contact",
                    name="marketing_opt_out",
                    field=models.BooleanField(
                        default=False, verbose_name="opted out of surveys and marketing"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
        migrations.AddField(
            model_name="contact",
            name="marketing_opt_out_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="opted out at"
            ),
        ),
    ]
