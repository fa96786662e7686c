"""A starting list of knowledge categories that administrators then edit.

Self-contained: the names are data of this migration (in Chinese, like the industry list), not
imported from application code. The reverse removes only seeded categories that no article uses.
"""

from django.db import migrations

CATEGORIES = [
    ("after-sales", "售后政策", "退换货、保修与赔付的规则和口径"),
    ("product-usage", "产品使用", "安装、配置与日常使用中的要点"),
    ("troubleshooting", "故障排查", "常见故障的现象、原因与处理步骤"),
    ("logistics", "物流配送", "发货、运输、签收与异常件的处理"),
    ("billing", "账务与发票", "付款、对账、开票与退款"),
    ("customer-notes", "客户备忘", "重要客户的习惯、约定与注意事项"),
]


def seed(apps, schema_editor):
    category_model = apps.get_model("knowledge", "KnowledgeCategory")
    existing = set(category_model._base_manager.values_list("code", flat=True))
    category_model.objects.bulk_create(
        [
            category_model(code=code, name=name, description=description, position=index * 10)
            for index, (code, name, description) in enumerate(CATEGORIES, start=1)
            if code not in existing
        ]
    )


def unseed(apps, schema_editor):
    category_model = apps.get_model("knowledge", "KnowledgeCategory")
    category_model._base_manager.filter(
        code__in=[code for code, _name, _description in CATEGORIES], articles__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_articles")]

    operations = [migrations.RunPython(seed, unseed)]
