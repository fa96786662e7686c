"""PostgreSQL: GIN expression indexes over the customer and contact search keys.

The expression must equal guanxi.core.china.search.postgres_vector_sql("search_key") so that
the selectors' ``<expression> @@ tsquery`` can use it (a test holds them together). Nothing on
other databases (SQLite has its FTS5 tables from 0004).
"""

from django.db import migrations

VECTOR = "array_to_tsvector(array_remove(string_to_array(search_key, ' '), ''))"
INDEXES = (
    ("customers_customer", "customer_search_key_gin"),
    ("customers_contact", "contact_search_key_gin"),
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name in INDEXES:
        schema_editor.execute(f"CREATE INDEX {name} ON {table} USING gin (({VECTOR}))")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_search_fts5")]

    operations = [migrations.RunPython(forward, reverse)]
