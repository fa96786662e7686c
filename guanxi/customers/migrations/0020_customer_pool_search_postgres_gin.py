"""PostgreSQL: a GIN index over the search keys of the pool's customers alone.

A sales rep sees their own customers and the pool. Searched with the whole table's index, a term
such as "shenzhen" (12,000 customers in a million) meant a bitmap of all its customers and a
visit to each, to keep the 1,500 of the rep's scope: 33 ms. The selectors ask such a reader for
(pool AND term) OR (own AND term); the pool's part then reads this index (1,800 entries) and the
own part the whole index AND-ed with the owner's: 17 ms (bench/customers_list_search.py). The
expression must equal guanxi.core.china.search.postgres_vector_sql("search_key") and the
predicate the pool's condition as the selectors write it (a test holds them together). Nothing
on other databases.
"""

from django.db import migrations

VECTOR = "array_to_tsvector(array_remove(string_to_array(search_key, ' '), ''))"
NAME = "customer_pool_search_key_gin"
PREDICATE = "owner_id IS NULL AND deleted_at IS NULL"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # CONCURRENTLY: a company upgrading with a million customers keeps filing and editing them
    # while the index builds (about 20 s there), so the migration runs outside a transaction.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON customers_customer "
        f"USING gin (({VECTOR})) WHERE {PREDICATE}"
    )


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0019_customer_district_owner_index")]

    operations = [migrations.RunPython(forward, reverse)]
