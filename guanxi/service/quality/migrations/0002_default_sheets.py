"""Two score sheets to start from, one for tickets and one for interactions, each worth 100
points with a pass mark of 80 %. The last line of each is critical (服务红线 / 合规红线): it has
no partial credit, anything below full points fails the review whatever the total. Administrators
change all of it on the score sheets page; ``seed`` is importable so that tests can put the rows
back after a flush.
"""

from django.db import migrations

SHEETS = (
    (
        "工单服务质检表",
        "ticket",
        "用于抽检已解决或已关闭的工单：从响应、理解、方案、态度和用语五个方面打分，"
        "并检查服务红线。",
        (
            ("响应及时", "在时限内首次响应，处理过程中及时同步进度。", 20, False),
            ("问题理解", "准确把握客户诉求，工单记录清楚完整。", 20, False),
            ("解决方案", "方案正确有效，尽量一次解决，不推诿。", 25, False),
            ("沟通态度", "耐心礼貌，主动说明原因和后续安排。", 20, False),
            ("规范用语", "使用规范服务用语，表述准确，无口语化承诺。", 10, False),
            ("服务红线", "无泄露客户信息、无不当言辞、无违规承诺；违反任何一条即不合格。", 5, True),
        ),
    ),
    (
        "客户跟进质检表",
        "interaction",
        "用于抽检销售和客户经理的跟进记录：记录质量、需求把握、沟通和下一步安排。",
        (
            ("记录完整", "时间、对象、沟通内容和客户反应记录齐全。", 20, False),
            ("需求把握", "弄清客户当前的关注点和需求变化。", 25, False),
            ("沟通态度", "尊重客户节奏，不过度打扰。", 20, False),
            ("下一步明确", "约定了具体的后续行动和时间。", 25, False),
            ("规范用语", "表述专业准确，不夸大产品能力。", 5, False),
            ("合规红线", "未索取或外传客户个人信息，无违规承诺；违反任何一条即不合格。", 5, True),
        ),
    ),
)


def seed(apps, schema_editor):
    Sheet = apps.get_model("quality", "ScoreSheet")
    Criterion = apps.get_model("quality", "ScoreCriterion")
    for name, applies_to, description, criteria in SHEETS:
        if Sheet.objects.filter(name=name, applies_to=applies_to).exists():
            continue
        sheet = Sheet.objects.create(
            name=name, applies_to=applies_to, description=description, pass_percent=80
        )
        Criterion.objects.bulk_create(
            [
                Criterion(
                    sheet=sheet,
                    position=index,
                    name=criterion,
                    description=text,
                    max_points=points,
                    critical=critical,
                )
                for index, (criterion, text, points, critical) in enumerate(criteria, start=1)
            ]
        )


def unseed(apps, schema_editor):
    Sheet = apps.get_model("quality", "ScoreSheet")
    Review = apps.get_model("quality", "Review")
    Assignment = apps.get_model("quality", "ReviewAssignment")
    for name, applies_to, _description, _criteria in SHEETS:
        # A sheet that was used stays: its reviews are records, not seed data.
        for sheet in Sheet.objects.filter(name=name, applies_to=applies_to):
            used = (
                Review.objects.filter(sheet=sheet).exists()
                or Assignment.objects.filter(sheet=sheet).exists()
            )
            if not used:
                sheet.delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
