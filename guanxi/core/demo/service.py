"""Demo service desk (C5): the usual teams and routing rules, then two months of tickets taken
by phone, e-mail and WeChat, walked through the real services with the clock set to each step's
moment: routed, started, sometimes waiting on the customer, resolved on time or late, confirmed
and scored by the customer (a few low scores, which reopen the ticket with a feedback item),
closed; the last days' tickets are still open, some past their deadlines. The timeliness page,
the customer timeline and the feedback list have figures.

Deterministic for a seed, relative to now. Demo data is data, not interface text: nothing here
is translated. Once: a later run finds tickets and adds none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.china.calendar import CalendarMissing
from guanxi.core.demo.generator import DemoGenerator
from guanxi.customers.models import Customer
from guanxi.service import services
from guanxi.service.models import ServiceTeam, Ticket, TicketCategory, TicketStatus

DAYS = 60
TICKETS = 80
# (category code, subject, description, resolution)
PROBLEMS = (
    (
        "product_quality",
        "设备运行异响",
        "客户来电：新装设备主轴运行时有明显异响，影响加工精度，希望尽快派人检查。",
        "工程师上门检查，更换主轴轴承并重新校准，试运行正常。",
    ),
    (
        "product_quality",
        "批次产品外观瑕疵",
        "客户反映本批次到货产品表面有划痕，约占 5%，要求说明原因并处理。",
        "确认为包装内衬不足导致运输摩擦，已补发合格品并改进包装。",
    ),
    (
        "product_quality",
        "控制软件频繁报警",
        "控制面板每天多次误报温度超限，生产线被迫停机。",
        "远程升级控制软件至 3.2.1，修正温度传感器采样阈值。",
    ),
    (
        "logistics_delay",
        "订单延迟发货",
        "客户催问上周的订单，承诺三天内发货但至今未收到物流信息。",
        "协调仓库加急出库，已提供物流单号，预计明日送达。",
    ),
    (
        "logistics_delay",
        "到货破损",
        "客户签收时发现两箱外包装破损，部分配件变形。",
        "联系承运商定责，破损配件已补发，运费由我方承担。",
    ),
    (
        "after_sales",
        "安装调试预约",
        "客户新购设备到货，需要安排工程师上门安装调试。",
        "已安排工程师上门完成安装调试，并对操作人员进行了培训。",
    ),
    (
        "after_sales",
        "操作培训需求",
        "客户新入职操作员不熟悉设备，希望提供一次现场培训。",
        "已完成两小时现场培训，并发送操作手册电子版。",
    ),
    (
        "after_sales",
        "保修期内维修",
        "设备液压系统漏油，仍在保修期内，客户要求免费维修。",
        "更换液压密封件，保修期内免费处理。",
    ),
    (
        "billing_dispute",
        "发票金额与合同不符",
        "客户财务反映发票金额比合同多出运费部分，要求重开。",
        "核对合同后确认运费已含在总价内，已作废原发票并重开。",
    ),
    (
        "billing_dispute",
        "重复扣款",
        "客户称同一笔货款被扣了两次，要求退还。",
        "确认系银行重复提交，多扣款项已原路退回。",
    ),
)
# Knowledge articles: (knowledge category code, ticket category code, title, tags, body)
ARTICLES = (
    (
        "troubleshooting",
        "product_quality",
        "主轴异响的排查步骤",
        "主轴 异响 轴承",
        "1. 确认异响出现的转速区间。\n2. 检查主轴轴承润滑与磨损，必要时更换轴承。\n"
        "3. 更换后重新校准并空载试运行 30 分钟。",
    ),
    (
        "troubleshooting",
        "product_quality",
        "控制软件温度误报处理",
        "控制软件 温度 报警 升级",
        "多为传感器采样阈值设置不当。远程升级控制软件至 3.2.1 及以上版本，升级后观察一天。",
    ),
    (
        "logistics",
        "logistics_delay",
        "到货破损的处理流程",
        "破损 补发 承运商",
        "请客户拍照留证并在签收单注明；我方联系承运商定责，破损件 48 小时内补发，运费由我方承担。",
    ),
    (
        "after-sales",
        "after_sales",
        "保修期内维修政策",
        "保修 维修 液压",
        "设备自验收之日起保修 12 个月。保修期内非人为损坏的部件免费更换，上门服务不收费。",
    ),
    (
        "billing",
        "billing_dispute",
        "发票重开的条件与流程",
        "发票 重开 红冲",
        "金额或抬头有误可申请重开：作废或红冲原发票后 3 个工作日内开具新发票。",
    ),
)
CHANNELS = ("phone", "phone", "phone", "email", "wechat", "web")
PRIORITIES = ("normal", "normal", "normal", "high", "high", "urgent", "low")
COMMENTS_GOOD = ("处理很及时，谢谢。", "工程师很专业。", "", "满意。", "问题解决了。")
COMMENTS_BAD = ("处理太慢，影响了生产。", "问了好几次才有人回复。", "问题没有彻底解决。")


def _teams_ensure() -> dict[str, ServiceTeam]:
    """The usual teams and routing rules (the routing page's set-up), with a lead for each team
    so that breaches reach someone: the department's first handler, or the demo agent 陈静 for
    the service centre."""
    from guanxi.service.setup.services import service_defaults_ensure

    service_defaults_ensure(actor=None)
    teams = {
        team.department.code: team for team in ServiceTeam.objects.select_related("department")
    }
    for code, team in teams.items():
        if team.lead_id is not None:
            continue
        lead = (
            User.objects.filter(username="agent").first()
            if code == "service"
            else team.members.order_by("pk").first()
        )
        if lead is not None:
            ServiceTeam.objects.filter(pk=team.pk).update(lead=lead)
    return teams


def _articles_ensure() -> dict[str, Any]:
    """A published article per ticket category, written by the demo administrator; the handlers
    link them to the tickets they solve with them, so usage counts have figures."""
    from guanxi.service.knowledge.models import Article, KnowledgeCategory
    from guanxi.service.knowledge.services import article_create

    author = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
    if author is None:
        return {}
    kinds = {category.code: category for category in KnowledgeCategory.objects.all()}
    found: dict[str, Any] = {}
    for knowledge_code, ticket_code, title, tags, body in ARTICLES:
        article = Article.objects.filter(title=title).first() or article_create(
            actor=author,
            title=title,
            body=body,
            category=kinds.get(knowledge_code),
            tags=tags.split(),
            ticket_categories=TicketCategory.objects.filter(code=ticket_code),
            status="published",
        )
        found.setdefault(ticket_code, article)
    return found


def demo_service_load(*, seed: int, now: dt.datetime | None = None) -> bool:
    """Once: a later run finds tickets and adds none. Returns True if it created any."""
    if Ticket.all_objects.exists():
        return False
    agents = list(User.objects.filter(role=Role.SERVICE_AGENT, is_active=True).order_by("pk"))
    customers = list(
        Customer.objects.filter(owner__isnull=False, archived_at__isnull=True).order_by("pk")[:400]
    )
    if not agents or not customers:
        return False
    _teams_ensure()
    articles = _articles_ensure()
    now = now or timezone.now()
    random = DemoGenerator.for_stream(seed, "service").random
    categories = {category.code: category for category in TicketCategory.objects.all()}
    contacts: dict[int, list[Any]] = {}
    for customer in customers:
        contacts[customer.pk] = list(customer.contacts.all()[:3])
    moments = sorted(
        now - dt.timedelta(days=DAYS) + dt.timedelta(seconds=random.randrange(DAYS * 86400))
        for _ in range(TICKETS)
    )
    for opened in moments:
        # Office-hours calls mostly: a ticket at 03:00 is rare.
        local = timezone.localtime(opened)
        if not 8 <= local.hour < 20:
            opened += dt.timedelta(hours=12)
        if opened >= now:
            continue
        code, subject, description, resolution = random.choice(PROBLEMS)
        customer = random.choice(customers)
        people = contacts.get(customer.pk) or [None]
        try:
            with transaction.atomic():
                _ticket_life(
                    random=random,
                    agent=random.choice(agents),
                    customer=customer,
                    contact=random.choice(people),
                    category=categories[code],
                    subject=subject,
                    description=description,
                    resolution=resolution,
                    opened=opened,
                    now=now,
                    articles=articles,
                )
        except CalendarMissing:
            continue
    services.tickets_sla_check(now=now)
    _survey_load(random=random, now=now)
    return True


def _survey_load(*, random: Any, now: dt.datetime) -> None:
    """Last month's satisfaction survey of the closed-deal customers (product quality, price,
    attitude, response speed), sent as links and answered by about two thirds of them; the
    low answers opened feedback items. The analysis page has figures."""
    from django.utils import translation

    from guanxi.feedback.models import QuestionType
    from guanxi.feedback.services import survey_create, survey_response_submit, survey_send

    admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
    if admin is None:
        return
    sent = now - dt.timedelta(days=30)
    # The survey's questions are its own text from now on, written in Chinese.
    with translation.override("zh-hans"):
        survey = survey_create(actor=admin, title="2026 年第四季度客户满意度调查", kind="custom")
    result = survey_send(
        actor=admin, survey=survey, filters={"lifecycle": "closed"}, email=False, now=sent
    )
    questions = list(survey.questions.order_by("position", "id"))
    for link in result.links:
        if random.random() > 0.65:
            continue
        mood = random.choices((5, 4, 3, 2), weights=(40, 35, 17, 8))[0]
        answers: dict[int, Any] = {}
        for question in questions:
            if question.type == QuestionType.SCORE:
                answers[question.pk] = max(1, min(5, mood + random.choice((-1, 0, 0, 1))))
            elif random.random() < 0.3:
                answers[question.pk] = random.choice(COMMENTS_GOOD if mood >= 3 else COMMENTS_BAD)
        token = link.url.rstrip("/").rsplit("/", 1)[-1]
        answered = sent + dt.timedelta(hours=random.randrange(2, 24 * 10))
        survey_response_submit(token=token, answers=answers, language="zh-hans", now=answered)


def _ticket_life(
    *,
    random: Any,
    agent: User,
    customer: Customer,
    contact: Any,
    category: TicketCategory,
    subject: str,
    description: str,
    resolution: str,
    opened: dt.datetime,
    now: dt.datetime,
    articles: dict[str, Any],
) -> None:
    ticket = services.ticket_create(
        actor=agent,
        customer=customer,
        category=category,
        subject=subject,
        description=description,
        channel=random.choice(CHANNELS),
        priority=random.choice(PRIORITIES),
        contact=contact,
        now=opened,
    )
    handler = ticket.assignee
    if handler is None:
        # Nothing routed it (no team for the category): the desk gives it to the service team.
        team = ServiceTeam.objects.filter(department__code="service").first()
        member = team.members.order_by("pk").first() if team else None
        if member is None:
            return
        ticket = services.ticket_assign(
            actor=agent, ticket=ticket, assignee=member, now=opened + dt.timedelta(minutes=20)
        )
        handler = member
    age = now - opened
    if age < dt.timedelta(hours=20) and random.random() < 0.5:
        return  # this morning's: not picked up yet
    started = opened + dt.timedelta(minutes=random.choice((15, 40, 90, 180, 600, 1500)))
    if started >= now:
        return
    ticket = services.ticket_start(actor=handler, ticket=ticket, now=started)
    moment = started
    if random.random() < 0.2:
        waited = moment + dt.timedelta(hours=random.choice((1, 3, 6)))
        back = waited + dt.timedelta(hours=random.choice((4, 20, 30)))
        if back >= now:
            if waited < now:
                services.ticket_wait(
                    actor=handler, ticket=ticket, reason="等待客户提供现场照片", now=waited
                )
            return
        ticket = services.ticket_wait(
            actor=handler, ticket=ticket, reason="等待客户提供现场照片", now=waited
        )
        ticket = services.ticket_resume(actor=handler, ticket=ticket, now=back)
        moment = back
    # Most are solved within the target; one in six late.
    target = ticket.resolution_due_at or moment + dt.timedelta(hours=24)
    if random.random() < 0.83:
        resolved = moment + (target - moment) * random.uniform(0.2, 0.9)
    else:
        resolved = target + dt.timedelta(hours=random.choice((2, 8, 30)))
    if resolved >= now or age < dt.timedelta(days=2) and random.random() < 0.6:
        return
    article = articles.get(category.code)
    if article is not None and random.random() < 0.6:
        from guanxi.service.knowledge.services import article_ticket_link

        article_ticket_link(actor=handler, article=article, ticket=ticket)
    ticket, token = services.ticket_resolve(
        actor=handler,
        ticket=ticket,
        resolution=resolution,
        now=max(resolved, moment),
        send_link=False,
    )
    answered = ticket.resolved_at + dt.timedelta(hours=random.choice((2, 5, 20, 40)))
    if answered >= now or random.random() < 0.25:
        return  # no answer (yet): the automatic close takes it after a week
    score = random.choices((5, 4, 3, 2, 1), weights=(45, 30, 12, 8, 5))[0]
    solved = score >= 3 or random.random() < 0.5
    comment = random.choice(COMMENTS_GOOD if score >= 3 else COMMENTS_BAD)
    ticket = services.ticket_confirmation_submit(
        token=token, solved=solved, score=score, comment=comment, now=answered
    )
    if ticket.status == TicketStatus.CONFIRMED:
        closed = answered + dt.timedelta(hours=random.choice((1, 4, 24)))
        if closed < now:
            services.ticket_close(actor=agent, ticket=ticket, now=closed)
