"""PostgreSQL: a GIN expression index over the article search key.

The expression must equal guanxi.core.china.search.postgres_vector_sql("search_key") so that
the selectors' ``<expression> @@ tsquery`` can use it (a test holds them together). Nothing on
other databases (SQLite has its FTS5 table from 0003).
"""

from django.db import migrations

VECTOR = "array_to_tsvector(array_remove(string_to_array(search_key, ' '), ''))"
INDEX = "article_search_key_gin"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX {INDEX} ON knowledge_article USING gin (({VECTOR}))")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_search_fts5")]

    operations = [migrations.RunPython(forward, reverse)]
