"""Indexes for a filter within a rep's scope (own customers and the pool): key-account class and
lifecycle behind the owner, in the list's keyset order."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_pool_policy_defaults")]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["owner", "account_class", "-updated_at", "-id"],
                name="customer_owner_class",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["owner", "lifecycle", "-updated_at", "-id"],
                name="customer_owner_lifecycle",
            ),
        ),
    ]
