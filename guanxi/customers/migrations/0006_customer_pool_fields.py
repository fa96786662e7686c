"""The customer pool's fields on a customer: claim, protection, activity, previous owner."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("core", "0004_region_data"),
        ("customers", "0005_search_postgres_gin"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="claimed_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="claimed at"
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="last_activity_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="last activity at"
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="previous_owner",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="previous owner",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="protected_until",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="protected until"
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="released_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="released to the pool at"
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["owner", "last_activity_at"], name="customer_owner_activity"
            ),
        ),
    ]
