"""Seed the four preset tags of C1 (高意向客户, 价格敏感型, 技术型客户, 长期合作客户)."""

from django.db import migrations

PRESETS = [
    ("高意向客户", "red"),
    ("价格敏感型", "orange"),
    ("技术型客户", "blue"),
    ("长期合作客户", "green"),
]


def seed(apps, schema_editor):
    Tag = apps.get_model("customers", "Tag")
    existing = set(Tag.objects.filter(deleted_at__isnull=True).values_list("name", flat=True))
    Tag.objects.bulk_create(
        [
            Tag(name=name, color=color, is_preset=True)
            for name, color in PRESETS
            if name not in existing
        ]
    )


def unseed(apps, schema_editor):
    Tag = apps.get_model("customers", "Tag")
    Tag.objects.filter(is_preset=True, name__in=[name for name, _color in PRESETS]).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_industry_sections")]

    operations = [migrations.RunPython(seed, unseed)]
