"""Quarterly verification (定期信息核对): a task per customer and quarter for its owner, and when a
customer's and each contact's data were last confirmed as correct.

The two timestamps are nullable columns without a default: SQLite adds them in place, without the
table rebuild that would drop the FTS5 triggers of 0004.
"""

import django.db.models.deletion
import django.db.models.manager
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _user_fk(name, verbose_name, editable=True):
    return (
        name,
        models.ForeignKey(
            blank=True,
            editable=editable,
            null=True,
            on_delete=django.db.models.deletion.SET_NULL,
            related_name="+",
            to=settings.AUTH_USER_MODEL,
            verbose_name=verbose_name,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0015_history_library"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="verified_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="data verified at"
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="verified_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="data verified at"
            ),
        ),
        migrations.CreateModel(
            name="VerificationTask",
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
                ("quarter", models.CharField(max_length=6, verbose_name="quarter")),
                ("due_date", models.DateField(verbose_name="due date")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("verified", "Verified"),
                            ("skipped", "Skipped"),
                        ],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "verified_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="verified at"),
                ),
                ("note", models.TextField(blank=True, verbose_name="note")),
                ("changes", models.JSONField(blank=True, default=list, verbose_name="changes")),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="verification_tasks",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                _user_fk("owner", "owner"),
                _user_fk("verified_by", "verified by"),
                _user_fk("created_by", "created by", editable=False),
                _user_fk("updated_by", "updated by", editable=False),
                _user_fk("deleted_by", "deleted by", editable=False),
            ],
            options={
                "verbose_name": "verification task",
                "verbose_name_plural": "verification tasks",
                "ordering": ("created_at", "id"),
                "indexes": [
                    models.Index(
                        fields=["quarter", "status", "created_at", "id"],
                        name="verification_quarter",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("customer", "quarter"), name="verification_task_once_per_quarter"
                    )
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_objects", django.db.models.manager.Manager()),
            ],
        ),
    ]
