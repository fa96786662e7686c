"""Seed the industry list with the 20 sections (门类) of GB/T 4754-2017 《国民经济行业分类》.

Self-contained: the names are data of this migration, not imported from application code.
"""

from django.db import migrations

SECTIONS = [
    ("A", "农、林、牧、渔业"),
    ("B", "采矿业"),
    ("C", "制造业"),
    ("D", "电力、热力、燃气及水生产和供应业"),
    ("E", "建筑业"),
    ("F", "批发和零售业"),
    ("G", "交通运输、仓储和邮政业"),
    ("H", "住宿和餐饮业"),
    ("I", "信息传输、软件和信息技术服务业"),
    ("J", "金融业"),
    ("K", "房地产业"),
    ("L", "租赁和商务服务业"),
    ("M", "科学研究和技术服务业"),
    ("N", "水利、环境和公共设施管理业"),
    ("O", "居民服务、修理和其他服务业"),
    ("P", "教育"),
    ("Q", "卫生和社会工作"),
    ("R", "文化、体育和娱乐业"),
    ("S", "公共管理、社会保障和社会组织"),
    ("T", "国际组织"),
]


def seed(apps, schema_editor):
    Industry = apps.get_model("customers", "Industry")
    existing = set(Industry.objects.values_list("code", flat=True))
    Industry.objects.bulk_create(
        [
            Industry(code=code, name=name, sort_order=index * 10)
            for index, (code, name) in enumerate(SECTIONS, start=1)
            if code not in existing
        ]
    )


def unseed(apps, schema_editor):
    Industry = apps.get_model("customers", "Industry")
    Industry.objects.filter(code__in=[code for code, _name in SECTIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
