"""The ticket categories and SLA policies a new service desk starts with (C5).

Categories: 产品质量, 物流延迟, 售后支持, 账务争议. Policies: the standard promise (first response
within 24 hours, a solution within 48 hours) on a 24 × 7 clock, tighter targets for high and
urgent tickets on the handling team's working hours, and strategic key accounts' own. Teams and
routing rules need departments, which a new installation does not have: the demo creates them and
the routing page offers to set up the usual ones (setup.services.service_defaults_ensure).
``seed`` is importable so that browser tests can put the rows back after a flush.
"""

from django.db import migrations

CATEGORIES = (
    ("product_quality", "产品质量", "产品故障、质量缺陷、性能不达标"),
    ("logistics_delay", "物流延迟", "发货、运输、签收延误或货损"),
    ("after_sales", "售后支持", "安装、使用、维修与退换货"),
    ("billing_dispute", "账务争议", "发票、对账、付款与退款"),
)

# name, category code, priority, account class, response minutes, resolution minutes, clock
POLICIES = (
    ("标准服务承诺", None, "", "", 24 * 60, 48 * 60, "24x7"),
    ("高优先级工单", None, "high", "", 4 * 60, 16 * 60, "working_hours"),
    ("紧急工单", None, "urgent", "", 60, 8 * 60, "working_hours"),
    ("战略大客户专属服务", None, "", "strategic", 2 * 60, 24 * 60, "24x7"),
)


def seed(apps, schema_editor=None):
    category_model = apps.get_model("service", "TicketCategory")
    policy_model = apps.get_model("service", "SlaPolicy")
    categories = {}
    for position, (code, name, description) in enumerate(CATEGORIES):
        categories[code], _created = category_model.objects.get_or_create(
            code=code,
            defaults={"name": name, "description": description, "position": position},
        )
    if policy_model.objects.exists():
        return
    for name, category, priority, account_class, response, resolution, clock in POLICIES:
        policy_model.objects.create(
            name=name,
            category=categories.get(category) if category else None,
            priority=priority,
            account_class=account_class,
            response_minutes=response,
            resolution_minutes=resolution,
            clock=clock,
        )


def unseed(apps, schema_editor):
    apps.get_model("service", "SlaPolicy").objects.filter(
        name__in=[policy[0] for policy in POLICIES]
    ).delete()
    apps.get_model("service", "TicketCategory").objects.filter(
        code__in=[category[0] for category in CATEGORIES], tickets__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("service", "0001_tickets")]

    operations = [migrations.RunPython(seed, unseed)]
