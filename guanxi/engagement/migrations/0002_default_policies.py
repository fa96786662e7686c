"""The default maintenance policies of C3, and the settings row.

- strategic customers (战略客户): a deep conversation (a visit or a video call) at least once a
  month, and a service or industry report every quarter;
- closed-deal customers (成交客户): a call or greeting every two weeks, and a product tip or an
  offer every month;
- potential customers (潜在客户): one light touch a month, and never more than one.

Strategic and closed-deal customers also get greeting tasks for their contacts' birthdays, the
anniversary of the first contact and the main festivals. Administrators change all of it on the
policies page. ``seed`` is importable so that browser tests can put the rows back after a flush.
"""

from django.db import migrations

FESTIVALS = [
    "new_years_day",
    "spring_festival",
    "dragon_boat_festival",
    "mid_autumn_festival",
    "national_day",
]

POLICIES = (
    (
        "战略客户维护策略",
        "strategic",
        "每月至少 1 次深度沟通（面谈或视频会议），每季度提供 1 次行业动态或定制化服务报告。",
        True,
        (
            ("conversation", 1, "month", ["visit", "video"], None, "面谈或视频会议"),
            ("report", 3, "month", [], None, "行业动态或定制化服务报告"),
        ),
    ),
    (
        "成交客户维护策略",
        "closed",
        "每 2 周 1 次电话或问候，每月推送 1 次产品使用技巧或优惠活动。",
        True,
        (
            ("greeting", 2, "week", ["phone", "wechat", "visit", "video"], None, "电话或问候"),
            ("tip", 1, "month", [], None, "产品使用技巧或优惠活动"),
        ),
    ),
    (
        "潜在客户维护策略",
        "potential",
        "每月 1 次轻量互动（如行业资讯分享），避免过度打扰。",
        False,
        (("touch", 1, "month", [], 1, "轻量互动，如行业资讯分享"),),
    ),
)


def seed(apps, schema_editor):
    Policy = apps.get_model("engagement", "MaintenancePolicy")
    Rule = apps.get_model("engagement", "MaintenanceRule")
    Settings = apps.get_model("engagement", "EngagementSettings")
    Settings.objects.get_or_create(pk=1, defaults={"festivals": FESTIVALS})
    for name, lifecycle, description, care, rules in POLICIES:
        if Policy.objects.filter(lifecycle=lifecycle, account_class="").exists():
            continue
        policy = Policy.objects.create(
            name=name,
            lifecycle=lifecycle,
            account_class="",
            description=description,
            care_birthdays=care,
            care_anniversaries=care,
            care_festivals=care,
        )
        for kind, interval, unit, channels, max_count, text in rules:
            Rule.objects.create(
                policy=policy,
                kind=kind,
                interval=interval,
                unit=unit,
                channels=channels,
                max_count=max_count,
                description=text,
            )


def unseed(apps, schema_editor):
    Policy = apps.get_model("engagement", "MaintenancePolicy")
    Settings = apps.get_model("engagement", "EngagementSettings")
    names = [name for name, *_rest in POLICIES]
    Policy.objects.filter(name__in=names).delete()
    Settings.objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
