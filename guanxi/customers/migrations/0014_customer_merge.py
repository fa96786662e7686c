"""Merging duplicate customers: the pointer from a merged customer to the one it was merged into,
and the record of each merge (what moved, the survivor's fields before and after) that undoing
it reads."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_search_keys_private_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="merged_customers",
                to="customers.customer",
                verbose_name="merged into",
            ),
        ),
        migrations.CreateModel(
            name="CustomerMerge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "merged_record_id",
                    models.BigIntegerField(verbose_name="ID of the customer merged"),
                ),
                (
                    "merged_name",
                    models.CharField(max_length=200, verbose_name="name of the customer merged"),
                ),
                (
                    "merged_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="merged at"
                    ),
                ),
                (
                    "values",
                    models.JSONField(blank=True, default=dict, verbose_name="values chosen"),
                ),
                (
                    "survivor_before",
                    models.JSONField(blank=True, default=dict, verbose_name="survivor before"),
                ),
                (
                    "survivor_after",
                    models.JSONField(blank=True, default=dict, verbose_name="survivor after"),
                ),
                (
                    "contact_ids",
                    models.JSONField(blank=True, default=list, verbose_name="contacts moved"),
                ),
                (
                    "need_ids",
                    models.JSONField(blank=True, default=list, verbose_name="needs moved"),
                ),
                (
                    "tag_ids_added",
                    models.JSONField(blank=True, default=list, verbose_name="tags added"),
                ),
                (
                    "subsidiary_ids",
                    models.JSONField(blank=True, default=list, verbose_name="subsidiaries moved"),
                ),
                (
                    "undone_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="undone at"),
                ),
                (
                    "undo_report",
                    models.JSONField(blank=True, default=dict, verbose_name="undo report"),
                ),
                (
                    "merged",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="customers.customer",
                        verbose_name="customer merged",
                    ),
                ),
                (
                    "merged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="merged by",
                    ),
                ),
                (
                    "survivor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="merges",
                        to="customers.customer",
                        verbose_name="customer kept",
                    ),
                ),
                (
                    "undone_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="undone by",
                    ),
                ),
            ],
            options={
                "verbose_name": "customer merge",
                "verbose_name_plural": "customer merges",
                "ordering": ("-merged_at", "-id"),
                "indexes": [
                    models.Index(fields=["survivor", "-merged_at"], name="customer_merge_survivor")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("survivor", models.F("merged_record_id")), _negated=True
                        ),
                        name="customer_merge_two_customers",
                    )
                ],
            },
        ),
    ]
