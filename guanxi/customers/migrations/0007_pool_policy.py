"""The customer pool's policy: one row of caps and periods, edited by administrators."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_customer_pool_fields"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PoolPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "daily_claim_cap",
                    models.PositiveIntegerField(
                        default=20,
                        validators=[django.core.validators.MaxValueValidator(10000)],
                        verbose_name="claims per rep per day",
                    ),
                ),
                (
                    "holding_cap",
                    models.PositiveIntegerField(
                        default=300,
                        validators=[django.core.validators.MaxValueValidator(1000000)],
                        verbose_name="customers a rep may own",
                    ),
                ),
                (
                    "protection_days",
                    models.PositiveIntegerField(
                        default=30,
                        validators=[django.core.validators.MaxValueValidator(3650)],
                        verbose_name="protection after a claim (days)",
                    ),
                ),
                (
                    "reclaim_cooldown_days",
                    models.PositiveIntegerField(
                        default=7,
                        validators=[django.core.validators.MaxValueValidator(3650)],
                        verbose_name="re-claim cooldown for the previous owner (days)",
                    ),
                ),
                (
                    "recycle_after_days",
                    models.PositiveIntegerField(
                        default=90,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(3650),
                        ],
                        verbose_name="recycle after days without activity",
                    ),
                ),
                (
                    "warn_days_before",
                    models.PositiveIntegerField(
                        default=7,
                        validators=[django.core.validators.MaxValueValidator(3650)],
                        verbose_name="warn days before recycling",
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(default=1, editable=False, verbose_name="version"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
            ],
            options={
                "verbose_name": "pool policy",
                "verbose_name_plural": "pool policies",
            },
        ),
        migrations.AddField(
            model_name="poolpolicy",
            name="updated_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="updated by",
            ),
        ),
        migrations.AddConstraint(
            model_name="poolpolicy",
            constraint=models.CheckConstraint(
                condition=models.Q(("pk", 1)), name="pool_policy_single_row"
            ),
        ),
    ]
