"""Create the single pool-policy row with the defaults (20 claims a day, 300 held, 30 days of
protection, 7 days of re-claim cooldown, recycle after 90 idle days with a warning 7 days before)."""

from django.db import migrations


def seed(apps, schema_editor):
    PoolPolicy = apps.get_model("customers", "PoolPolicy")
    PoolPolicy.objects.get_or_create(pk=1)


def unseed(apps, schema_editor):
    PoolPolicy = apps.get_model("customers", "PoolPolicy")
    PoolPolicy.objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_pool_policy")]

    operations = [migrations.RunPython(seed, unseed)]
