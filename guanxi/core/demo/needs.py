"""Demo needs (C2): a few dozen needs of owned demo customers across the seeded categories, with
every fit (some partly or not met, with plans, a few of them overdue), some closed and some with
update notes, so that the customer pages, the needs page and its unmet view have something to
show.

Filed through the need services as the system (actor None), so the rules, the audit trail and the
update history apply as to any write. Demo data is data, not interface text: nothing here is
translated.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from guanxi.core.demo.generator import DemoGenerator
from guanxi.customers.models import Customer, Need, NeedCategory
from guanxi.customers.services import need_close, need_create, need_note_create

DEFAULT_NEED_CUSTOMERS = 30


@dataclass(frozen=True)
class NeedTemplate:
    category: str  # a code seeded by migration 0010
    title: str
    description: str
    quantity: Decimal | None
    unit: str
    fit_status: str
    solution: str
    source: str = Need.Source.SALES_MEETING


F = Need.FitStatus
S = Need.Source

TEMPLATES = (
    NeedTemplate(
        "product",
        "工业网关年度采购",
        "新建产线的数据采集，网关需同时支持 Modbus 和 OPC UA。",
        Decimal("200"),
        "台",
        F.MET,
        "标准型号的协议支持覆盖全部要求，按年度框架价供货。",
    ),
    NeedTemplate(
        "product",
        "户外机柜防护等级不低于 IP65",
        "设备安装在露天场站，要求整机防尘防水。",
        Decimal("40"),
        "套",
        F.UNMET,
        "现有机柜为 IP54；加装防护罩的方案在验证中，同时评估新机型立项。",
    ),
    NeedTemplate(
        "delivery",
        "首批货物开工前到场",
        "首批 50 套须在项目开工前到货，其余按月分批交付。",
        Decimal("150"),
        "套",
        F.PARTIAL,
        "首批从华东仓调拨；余量排入下月生产计划，供应链部确认产能后回复客户。",
    ),
    NeedTemplate(
        "delivery",
        "送货上门并负责安装调试",
        "客户没有安装队伍，希望到货后由我方完成安装和调试。",
        None,
        "",
        F.MET,
        "由当地服务商上门安装，费用含在合同内。",
    ),
    NeedTemplate(
        "price",
        "年度框架协议按季度结算",
        "希望签年度框架协议，按季度结算，账期 60 天。",
        None,
        "",
        F.PARTIAL,
        "财务部可接受 45 天账期；60 天需总经理审批，申请已提交。",
    ),
    NeedTemplate(
        "after-sales",
        "上线后三个月驻场运维",
        "系统上线后前三个月需要工程师驻场，工作日全天。",
        Decimal("3"),
        "人月",
        F.PARTIAL,
        "先远程值守并每周两次上门，驻场工程师下季度到位后切换。",
    ),
    NeedTemplate(
        "after-sales",
        "备件四小时送达",
        "关键备件故障时要求四小时内送达现场。",
        None,
        "",
        F.MET,
        "客户所在城市有备件库，可承诺四小时送达。",
        S.RETURN_VISIT,
    ),
    NeedTemplate(
        "training",
        "一线操作员上岗培训",
        "约 30 名操作员的上岗培训，需要中文教材和结业考核。",
        Decimal("30"),
        "人",
        F.MET,
        "标准培训课程加现场考核，两期完成。",
    ),
    NeedTemplate(
        "training",
        "系统管理员认证培训",
        "信息部 5 名管理员参加厂商认证培训。",
        Decimal("5"),
        "人",
        F.NOT_ASSESSED,
        "",
        S.PHONE_CALL,
    ),
    NeedTemplate(
        "customisation",
        "月报按集团模板导出",
        "月度报表要按集团财务模板导出，包含自定义科目。",
        None,
        "",
        F.UNMET,
        "报表模板功能列入下一版本；在此之前由实施团队配置导出脚本作为过渡。",
        S.FEEDBACK,
    ),
    NeedTemplate(
        "integration",
        "订单和库存与 ERP 双向同步",
        "订单与库存需要和客户现有 ERP 双向同步，每小时至少一次。",
        None,
        "",
        F.PARTIAL,
        "标准接口覆盖订单同步；库存回写需开发适配器，技术部评估工作量。",
    ),
    NeedTemplate(
        "integration",
        "单点登录接入企业微信",
        "员工希望用企业微信扫码登录。",
        None,
        "",
        F.NOT_ASSESSED,
        "",
        S.PHONE_CALL,
    ),
    NeedTemplate(
        "compliance",
        "提供等保三级测评报告",
        "招标文件要求投标方提供有效期内的等保三级测评报告。",
        None,
        "",
        F.UNMET,
        "已委托测评机构，预计两个月内出具报告。",
        S.TENDER,
    ),
    NeedTemplate(
        "compliance",
        "开具增值税专用发票",
        "按合同节点开具 13% 增值税专用发票。",
        None,
        "",
        F.MET,
        "",
        S.TENDER,
    ),
)

NOTES = (
    "客户回访时确认了数量，预算已经获批。",
    "技术部评估后认为可以先做部分满足，细节下周与客户确认。",
    "客户希望提前两周，已反馈给供应链部。",
    "采购经理提醒：需在下次招标前给出书面答复。",
)


def demo_needs_load(*, seed: int, customers: int = DEFAULT_NEED_CUSTOMERS) -> bool:
    """File needs for up to ``customers`` owned demo customers (华为 first), unless any need
    exists already (then nothing changes). Returns True if it created anything. Call inside a
    transaction."""
    if customers <= 0 or Need.all_objects.exists():
        return False
    categories = {row.code: row for row in NeedCategory.objects.filter(is_active=True)}
    if not categories:
        return False
    r = DemoGenerator.for_stream(seed, "needs").random
    owned = list(
        # Active customers only: not the history library (churned or stopped, archived_at).
        Customer.objects.filter(owner__isnull=False, archived_at__isnull=True)
        .select_related("owner")
        .order_by("pk")
    )
    if not owned:
        return False
    # 华为 (rep1's, the documented example) always has needs; the rest are drawn from the seed.
    chosen = [c for c in owned if c.name == "华为技术有限公司"][:1]
    rest = [c for c in owned if c not in chosen]
    chosen += r.sample(rest, min(len(rest), customers - len(chosen)))
    today = timezone.localdate()
    created = False
    for customer in chosen:
        for template in r.sample(TEMPLATES, r.randint(1, 3)):
            category = categories.get(template.category)
            if category is None:
                continue
            _need_load(customer, template, category, r, today)
            created = True
    return created


def _need_load(
    customer: Customer,
    template: NeedTemplate,
    category: NeedCategory,
    r: random.Random,
    today: dt.date,
) -> None:
    gap = template.fit_status in Need.GAP_FITS
    need = need_create(
        actor=None,
        customer=customer,
        title=template.title,
        category=category,
        description=template.description,
        priority=r.choice(
            (Need.Priority.HIGH, Need.Priority.MEDIUM, Need.Priority.MEDIUM, Need.Priority.LOW)
        ),
        quantity=template.quantity,
        unit=template.unit,
        expected_date=today + dt.timedelta(days=r.randint(14, 120)),
        fit_status=template.fit_status,
        solution=template.solution,
        # The customer's owner carries the plan: they can see the customer, as the rule requires.
        plan_owner=customer.owner if gap else None,
        # A few plans are already past their date, as in any real backlog.
        plan_due_date=today + dt.timedelta(days=r.randint(-10, 60)) if gap else None,
        source=template.source,
    )
    if r.random() < 0.3:
        need_note_create(actor=None, need=need, text=r.choice(NOTES))
    if template.fit_status == Need.FitStatus.MET and r.random() < 0.4:
        need_close(actor=None, need=need, note="已按约定交付，客户确认满足。")
