"""SQLite: FTS5 external-content tables over the customer and contact search keys, kept in step
by triggers. Nothing on other databases (PostgreSQL has its GIN index in 0005).

tokenize = 'ascii' must equal guanxi.core.china.search.FTS5_TOKENIZE (a test holds them
together); it is written out here because a migration must not change when application code does.
"""

from django.db import migrations

TABLES = ("customers_customer", "customers_contact")


def _forward_sql(table):
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5("
        f"search_key, content='{table}', content_rowid='id', tokenize = 'ascii')",
        f"INSERT INTO {fts} (rowid, search_key) SELECT id, search_key FROM {table}",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (rowid, search_key) VALUES (new.id, new.search_key); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, search_key) "
        f"VALUES ('delete', old.id, old.search_key); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_key ON {table} BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, search_key) "
        f"VALUES ('delete', old.id, old.search_key); "
        f"INSERT INTO {fts} (rowid, search_key) VALUES (new.id, new.search_key); END",
    ]


def _reverse_sql(table):
    fts = f"{table}_fts"
    return [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"DROP TABLE IF EXISTS {fts}",
    ]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table in TABLES:
        for statement in _forward_sql(table):
            schema_editor.execute(statement)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table in TABLES:
        for statement in _reverse_sql(table):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_preset_tags")]

    operations = [migrations.RunPython(forward, reverse)]
