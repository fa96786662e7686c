"""SQLite: an FTS5 external-content table over the article search key, kept in step by
triggers. Nothing on other databases (PostgreSQL has its GIN index in 0004).

tokenize = 'ascii' must equal guanxi.core.china.search.FTS5_TOKENIZE (a test holds them
together); it is written out here because a migration must not change when application code does.
A later migration that makes Django rebuild the article table on SQLite (changing a column,
adding a constraint) drops these triggers: such a migration must recreate them.
"""

from django.db import migrations

TABLE = "knowledge_article"
FTS = f"{TABLE}_fts"

FORWARD = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5("
    f"search_key, content='{TABLE}', content_rowid='id', tokenize = 'ascii')",
    f"INSERT INTO {FTS} (rowid, search_key) SELECT id, search_key FROM {TABLE}",
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS} (rowid, search_key) VALUES (new.id, new.search_key); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON {TABLE} BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, search_key) "
    f"VALUES ('delete', old.id, old.search_key); END",
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF search_key ON {TABLE} BEGIN "
    f"INSERT INTO {FTS} ({FTS}, rowid, search_key) "
    f"VALUES ('delete', old.id, old.search_key); "
    f"INSERT INTO {FTS} (rowid, search_key) VALUES (new.id, new.search_key); END",
]

REVERSE = [
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TABLE IF EXISTS {FTS}",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in REVERSE:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_default_categories")]

    operations = [migrations.RunPython(forward, reverse)]
