"""PostgreSQL: statistics on how owner, lifecycle and key-account class occur together.

The planner otherwise multiplies their shares as if independent. They are not: the pool holds
no key accounts and no closed deals, and reps own few key accounts, so a rep's filter on them
was estimated at thousands of rows where there are none, and planned as a walk through every
key account (see 0009 and bench/customers_list_search.py). Nothing on other databases.
"""

from django.db import migrations

NAME = "customer_owner_lifecycle_class"
TABLE = "customers_customer"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE STATISTICS {NAME} (mcv) ON owner_id, lifecycle, account_class FROM {TABLE}"
    )
    # Room for every owner's combinations in the most-common-values list (the default keeps 100).
    schema_editor.execute(f"ALTER STATISTICS {NAME} SET STATISTICS 500")
    # Filled by the next ANALYZE; until then the planner would keep its independent guess.
    schema_editor.execute(f"ANALYZE {TABLE}")


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_customer_owner_filter_indexes")]

    operations = [migrations.RunPython(forward, reverse)]
