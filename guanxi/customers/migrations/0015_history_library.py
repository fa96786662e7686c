"""The history library (客户历史库): churn reasons (seeded with a starting list that administrators
edit), the lifecycle "stopped cooperation", and on a customer when it was archived, why, and the
lifecycle it had before. Customers filed as churned before this migration go into the history
library with the reason "other" and their last update as the archiving time.

Self-contained: the seeded reasons are data of this migration, not imported from application
code. Their names are data, in Chinese, like the industry list.

Two columns with a default are added by hand (``ALTER TABLE … ADD COLUMN``), as in 0012: on
SQLite, Django adds them by rebuilding the table. The check constraint does need one rebuild
there (SQLite cannot add a constraint to a table), which drops the triggers that keep the FTS5
search table in step (0004): they are created again after it, in both directions. At a million
customers the rebuild copies the table once (tens of seconds).
"""

import importlib

import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TABLE = "customers_customer"

REASONS = [
    ("price", "价格原因"),
    ("competitor", "转向竞争对手"),
    ("needs-changed", "需求变化"),
    ("service", "服务不满意"),
    ("quality", "产品质量问题"),
    ("business-closed", "经营困难或倒闭"),
    ("unreachable", "联系不上"),
    ("other", "其他"),
]


def seed(apps, schema_editor):
    ChurnReason = apps.get_model("customers", "ChurnReason")
    existing = set(ChurnReason.objects.values_list("code", flat=True))
    ChurnReason.objects.bulk_create(
        [
            ChurnReason(code=code, name=name, sort_order=index * 10)
            for index, (code, name) in enumerate(REASONS, start=1)
            if code not in existing
        ]
    )


def add_columns(apps, schema_editor):
    for column, kind in (("churn_note", "text"), ("archived_from", "varchar(20)")):
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} {kind} NOT NULL DEFAULT ''")
        if schema_editor.connection.vendor == "postgresql":
            # Django keeps no database default; the services always write the column.
            schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN {column} DROP DEFAULT")


def drop_columns(apps, schema_editor):
    for column in ("churn_note", "archived_from"):
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN {column}")


def archive_churned(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The new foreign key is checked at commit by default; checked now instead, the updates
        # leave no pending trigger events that would refuse the ALTER TABLE of the constraint.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Customer = apps.get_model("customers", "Customer")
    ChurnReason = apps.get_model("customers", "ChurnReason")
    other = ChurnReason.objects.get(code="other")
    Customer._base_manager.filter(lifecycle="churned", archived_at__isnull=True).update(
        archived_at=models.F("updated_at"), churn_reason=other
    )


def unarchive_stopped(apps, schema_editor):
    # Going back: "stopped" is no lifecycle any more; the nearest one is churned.
    Customer = apps.get_model("customers", "Customer")
    Customer._base_manager.filter(lifecycle="stopped").update(lifecycle="churned")


def fts_triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    search = importlib.import_module("guanxi.customers.migrations.0004_search_fts5")
    for suffix in ("ai", "ad", "au"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_fts_{suffix}")
    for statement in search._forward_sql(TABLE):
        if statement.startswith("CREATE TRIGGER"):
            schema_editor.execute(statement)


LIFECYCLES = [
    ("potential", "Potential"),
    ("intent", "Intent"),
    ("closed", "Closed deal"),
    ("strategic", "Strategic"),
    ("churned", "Churned"),
    ("stopped", "Stopped cooperation"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0014_customer_merge"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Unapplying rebuilds the table too (dropping the foreign key): the triggers come back
        # last, which is this operation's reverse.
        migrations.RunPython(migrations.RunPython.noop, fts_triggers_create),
        migrations.CreateModel(
            name="ChurnReason",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
                ),
                (
                    "deleted_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="deleted at"
                    ),
                ),
                ("code", models.SlugField(max_length=30, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=50, unique=True, verbose_name="name")),
                (
                    "sort_order",
                    models.PositiveIntegerField(default=0, verbose_name="sort order"),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="in use")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "deleted_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="deleted by",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
            ],
            options={
                "verbose_name": "churn reason",
                "verbose_name_plural": "churn reasons",
                "ordering": ("sort_order", "id"),
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_objects", django.db.models.manager.Manager()),
            ],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="customer",
            name="lifecycle",
            field=models.CharField(
                choices=LIFECYCLES, default="potential", max_length=20, verbose_name="lifecycle"
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="archived_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="moved to the history library at",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="churn_reason",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customers",
                to="customers.churnreason",
                verbose_name="churn reason",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="customer",
                    name="churn_note",
                    field=models.TextField(
                        blank=True, editable=False, verbose_name="churn details"
                    ),
                ),
                migrations.AddField(
                    model_name="customer",
                    name="archived_from",
                    field=models.CharField(
                        blank=True,
                        choices=LIFECYCLES,
                        editable=False,
                        max_length=20,
                        verbose_name="lifecycle before the history library",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(add_columns, drop_columns)],
        ),
        migrations.RunPython(archive_churned, unarchive_stopped),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", False)),
                fields=["-updated_at", "-id"],
                name="customer_archived_updated",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("archived_at__isnull", False),
                        ("churn_reason__isnull", False),
                        ("lifecycle__in", ("churned", "stopped")),
                    ),
                    models.Q(
                        models.Q(("lifecycle__in", ("churned", "stopped")), _negated=True),
                        ("archived_at__isnull", True),
                        ("churn_reason__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="customer_archive_consistent",
                violation_error_message=(
                    "A churned or stopped customer needs a churn reason; no other customer has one."
                ),
            ),
        ),
        migrations.RunPython(fts_triggers_create, migrations.RunPython.noop),
    ]
