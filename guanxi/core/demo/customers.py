"""Demo customers, contacts and tags: a few hundred customers across regions, industries and
owners, some in the pool (公海), and the 华为技术有限公司 example the search documentation uses.

Two steps. ``customer_plans`` draws everything from the seed without touching the database, so a
test can reproduce the names; ``demo_customers_load`` resolves the plan to rows (regions,
industries, owners, tags) and files every customer and contact through the customer services as
the system (actor None), so validation, search keys and the audit trail apply as to any write.

Demo data is data, not interface text: nothing here is translated. E-mail addresses and websites
use the reserved ``.example`` domain so that no demo message can reach a real mailbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import phonenumbers
from django.utils import timezone
from pypinyin import Style, lazy_pinyin
from stdnum.cn import uscc

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.china.credit_code import credit_code_clean
from guanxi.core.demo.generator import REGIONS, DemoGenerator
from guanxi.core.demo.history import demo_churn, demo_churn_backdate
from guanxi.core.models import Region
from guanxi.core.services import model_update
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Contact, Customer, Industry, Tag
from guanxi.customers.services import contact_create, customer_create, tag_create

DEFAULT_CUSTOMER_COUNT = 300

PRESET_TAGS = (
    ("高意向客户", "red"),
    ("价格敏感型", "orange"),
    ("技术型客户", "blue"),
    ("长期合作客户", "green"),
)
CUSTOM_TAGS = (("政府采购", "gray"), ("展会线索", "teal"))

# The business word of a generated company name decides its GB/T 4754 section, so that a
# "精密制造" company is in manufacturing rather than in a random section.
BUSINESS_SECTIONS = {
    "科技": "I",
    "信息技术": "I",
    "软件": "I",
    "网络": "I",
    "电子": "C",
    "机械": "C",
    "精密制造": "C",
    "新材料": "C",
    "医疗器械": "C",
    "食品": "C",
    "生物医药": "C",
    "汽车零部件": "C",
    "智能装备": "C",
    "物流": "G",
    "供应链": "L",
    "贸易": "F",
    "能源": "D",
    "环保": "N",
    "建设工程": "E",
    "文化传媒": "R",
}
PUBLIC_ADMINISTRATION = "S"
# Government bodies: organs of state register under 11, public institutions (事业单位) under 12.
ORGAN_SUFFIXES = ("局",)

# Fixed-line area codes of the generator's cities, for the occasional work phone.
AREA_CODES = {
    "北京": "10", "上海": "21", "天津": "22", "重庆": "23",
    "广州": "20", "深圳": "755", "东莞": "769", "佛山": "757", "珠海": "756",
    "南京": "25", "苏州": "512", "无锡": "510", "常州": "519", "南通": "513",
    "杭州": "571", "宁波": "574", "温州": "577", "嘉兴": "573", "绍兴": "575",
    "济南": "531", "青岛": "532", "烟台": "535", "潍坊": "536",
    "成都": "28", "绵阳": "816", "德阳": "838",
    "武汉": "27", "宜昌": "717", "襄阳": "710",
    "郑州": "371", "洛阳": "379",
    "福州": "591", "厦门": "592", "泉州": "595",
    "长沙": "731", "株洲": "731",
    "合肥": "551", "芜湖": "553",
    "西安": "29",
    "沈阳": "24", "大连": "411",
}  # fmt: skip

STREETS = (
    "人民路", "中山路", "解放路", "建设路", "科技路", "和平路", "工业大道", "创业路", "高新路",
    "长江路", "黄河路", "新华路", "文化路", "光明大道", "滨海大道", "学府路", "金融街", "迎宾大道",
)  # fmt: skip
TRADE_SHOWS = (
    "中国国际高新技术成果交易会",
    "中国国际工业博览会",
    "中国进出口商品交易会",
    "中国国际进口博览会",
    "世界人工智能大会",
    "中国国际智能产业博览会",
)
WEBSITE_NOTE = "官网咨询表单"
COMPANY_NEEDS = (
    "希望替换现有的Excel客户台账，统一管理客户和联系人。",
    "计划采购一批设备，要求年内交付并提供安装调试。",
    "对现有供应商的售后响应不满意，考虑更换。",
    "需要定制化方案，希望先安排一次技术交流。",
    "预算已经批复，主要关注价格和付款方式。",
    "新厂区投产，需要整体解决方案和驻场服务。",
    "年度框架采购，需要提供资质文件和成功案例。",
    "试用反馈良好，准备小批量采购。",
    "要求与现有ERP系统对接。",
    "关注数据安全，倾向本地化部署。",
)
GOVERNMENT_NEEDS = (
    "信息化建设项目，需要提供方案和报价，走公开招标流程。",
    "年度政府采购计划内项目，关注资质、案例和售后网点。",
    "现有系统维保到期，需要续保或替换方案。",
)
INDIVIDUAL_NEEDS = (
    "个人采购，关注价格和送货时间。",
    "朋友推荐，想了解产品和售后政策。",
)
COMPANY_TITLES = {
    Contact.DecisionRole.DECISION_MAKER: ("总经理", "副总经理", "董事长", "采购总监", "技术总监"),
    Contact.DecisionRole.INFLUENCER: ("采购经理", "IT经理", "财务经理", "项目经理", "生产经理"),
    Contact.DecisionRole.USER: ("工程师", "行政主管", "采购专员", "销售助理", "仓储主管"),
    Contact.DecisionRole.OTHER: ("前台", "商务专员", "总经理助理"),
}
GOVERNMENT_TITLES = {
    Contact.DecisionRole.DECISION_MAKER: ("主任", "副局长", "院长", "处长"),
    Contact.DecisionRole.INFLUENCER: ("信息科科长", "办公室主任", "财务科科长"),
    Contact.DecisionRole.USER: ("科员", "信息科工程师", "采购专员"),
    Contact.DecisionRole.OTHER: ("办公室文员",),
}
CONSENT_NOTES = {
    Customer.Source.WEBSITE_FORM: "官网表单勾选同意《隐私政策》",
    Customer.Source.TRADE_SHOW: "展会登记表签字同意接收产品信息",
}


@dataclass(frozen=True)
class ContactPlan:
    name: str
    title: str
    decision_role: str
    phones: tuple[tuple[str, str], ...]  # (number, label)
    email: str
    wechat: str
    birthday: dt.date | None
    preferred_channel: str
    legal_basis: str
    consent_note: str
    consented: bool  # consent given on the first contact date


@dataclass(frozen=True)
class CustomerPlan:
    name: str
    short_name: str
    kind: str
    province: str  # generator names: "广东省"
    city: str  # "深圳"
    district: str  # a district by name, or "" to pick one with district_pick
    district_pick: float
    industry: str  # GB/T 4754 section code, "" for none
    credit_prefix: str  # "91" company, "11" organ of state, "12" public institution, "" none
    organisation_code: str  # the 9 characters after the region code
    credit_code: str  # a fixed, complete code (the Huawei example), else ""
    street: str
    website: str
    source: str
    source_note: str
    lifecycle: str
    account_class: str
    owner_role: str  # "" for the pool
    owner_username: str  # a fixed owner, else ""
    owner_pick: float
    first_contact_days_ago: int
    first_needs: str
    tags: tuple[str, ...]
    contacts: tuple[ContactPlan, ...]


HUAWEI = CustomerPlan(
    name="华为技术有限公司",
    short_name="华为",
    kind=Customer.Kind.COMPANY,
    province="广东省",
    city="深圳",
    district="龙岗区",
    district_pick=0.0,
    industry="C",
    credit_prefix="",
    organisation_code="",
    credit_code="914403001922038216",
    street="坂田街道华为基地",
    website="https://www.huawei.com",
    source=Customer.Source.SALES_MEETING,
    source_note="",
    lifecycle=Customer.Lifecycle.CLOSED,
    account_class=Customer.AccountClass.IMPORTANT,
    owner_role=Role.SALES_REP,
    owner_username="rep1",
    owner_pick=0.0,
    first_contact_days_ago=800,
    first_needs="园区网络设备分期升级，要求驻场服务。",
    tags=("长期合作客户", "技术型客户"),
    contacts=(
        ContactPlan(
            name="王磊",
            title="采购经理",
            decision_role=Contact.DecisionRole.DECISION_MAKER,
            phones=(("13800138000", Contact.PhoneLabel.MOBILE),),
            email="wanglei@huawei.example",
            wechat="wanglei2024",
            birthday=None,
            preferred_channel=Contact.Channel.WECHAT,
            legal_basis=Contact.LegalBasis.CONTRACT,
            consent_note="",
            consented=False,
        ),
        ContactPlan(
            name="赵敏",
            title="技术总监",
            decision_role=Contact.DecisionRole.INFLUENCER,
            phones=(("13926851234", Contact.PhoneLabel.MOBILE),),
            email="zhaomin@huawei.example",
            wechat="",
            birthday=None,
            preferred_channel=Contact.Channel.EMAIL,
            legal_basis=Contact.LegalBasis.CONTRACT,
            consent_note="",
            consented=False,
        ),
    ),
)


# --- planning (no database) ---------------------------------------------------------------------


def customer_plans(*, seed: int, count: int = DEFAULT_CUSTOMER_COUNT) -> list[CustomerPlan]:
    """``count`` customers drawn from ``seed``, names unique, the Huawei example last (so it is
    the most recently updated row of a fresh demo). The same seed gives the same plans."""
    if count <= 0:
        return []
    generator = DemoGenerator.for_stream(seed, "customers")
    plans: list[CustomerPlan] = []
    names = {HUAWEI.name}
    while len(plans) < count - 1:
        plan = _plan(generator)
        if plan.name not in names:
            names.add(plan.name)
            plans.append(plan)
    plans.append(HUAWEI)
    return plans


def _weighted(generator: DemoGenerator, weights: dict[str, int]) -> str:
    return generator.random.choices(list(weights), weights=list(weights.values()))[0]


def _plan(generator: DemoGenerator) -> CustomerPlan:
    r = generator.random
    in_pool = r.random() < 0.15
    if r.random() < 0.04:
        province, cities = r.choice(REGIONS)
        city = r.choice(cities)
        name, short_name, kind, industry, prefix = (
            generator.person_name(),
            "",
            Customer.Kind.INDIVIDUAL,
            "",
            "",
        )
    else:
        company = generator.company()
        province, city, name, short_name = (
            company.province,
            company.city,
            company.name,
            company.short_name,
        )
        if company.kind == "government":
            kind, industry = Customer.Kind.GOVERNMENT, PUBLIC_ADMINISTRATION
            prefix = "11" if short_name.endswith(ORGAN_SUFFIXES) else "12"
        else:
            kind, industry, prefix = Customer.Kind.COMPANY, _section_of(name), "91"
    L, A = Customer.Lifecycle, Customer.AccountClass
    lifecycle = _weighted(
        generator,
        {L.POTENTIAL: 55, L.INTENT: 20, L.CHURNED: 25}
        if in_pool
        else {L.POTENTIAL: 30, L.INTENT: 25, L.CLOSED: 30, L.STRATEGIC: 5, L.CHURNED: 10},
    )
    if kind == Customer.Kind.INDIVIDUAL and lifecycle == L.STRATEGIC:
        lifecycle = L.CLOSED
    account_class = A.NONE
    if kind != Customer.Kind.INDIVIDUAL and not in_pool:
        if lifecycle == L.STRATEGIC:
            account_class = _weighted(generator, {A.IMPORTANT: 50, A.STRATEGIC: 50})
        elif lifecycle == L.CLOSED:
            account_class = _weighted(generator, {A.NONE: 65, A.ORDINARY: 25, A.IMPORTANT: 10})
        elif lifecycle == L.INTENT:
            account_class = _weighted(generator, {A.NONE: 90, A.ORDINARY: 10})
    if in_pool:
        owner_role = ""
    elif account_class in {A.IMPORTANT, A.STRATEGIC}:
        owner_role = _weighted(generator, {Role.KEY_ACCOUNT_MANAGER: 75, Role.SALES_MANAGER: 25})
    else:
        owner_role = _weighted(
            generator, {Role.SALES_REP: 85, Role.KEY_ACCOUNT_MANAGER: 7, Role.SALES_MANAGER: 8}
        )
    S = Customer.Source
    source = _weighted(
        generator,
        {S.WEBSITE_FORM: 25, S.TRADE_SHOW: 20, S.SALES_MEETING: 25, S.REFERRAL: 15, S.OTHER: 15},
    )
    source_note = {
        S.WEBSITE_FORM: WEBSITE_NOTE,
        S.TRADE_SHOW: r.choice(TRADE_SHOWS),
        S.REFERRAL: f"{generator.person_name()}介绍",
    }.get(source, "")
    days_ago = r.randrange(3 * 365)
    needs_pool = {
        Customer.Kind.COMPANY: COMPANY_NEEDS,
        Customer.Kind.GOVERNMENT: GOVERNMENT_NEEDS,
        Customer.Kind.INDIVIDUAL: INDIVIDUAL_NEEDS,
    }[kind]
    first_needs = r.choice(needs_pool) if r.random() < 0.6 else ""
    domain = _domain(short_name or name) if kind != Customer.Kind.INDIVIDUAL else "mail.example"
    website = f"https://www.{domain}" if kind == Customer.Kind.COMPANY and r.random() < 0.4 else ""
    street = f"{r.choice(STREETS)}{r.randrange(1, 999)}号"
    if kind != Customer.Kind.INDIVIDUAL and r.random() < 0.4:
        street += f"{r.choice('ABCDE')}座{r.randrange(2, 30)}{r.randrange(1, 20):02d}室"
    return CustomerPlan(
        name=name,
        short_name=short_name,
        kind=kind,
        province=province,
        city=city,
        district="",
        district_pick=r.random(),
        industry=industry,
        credit_prefix=prefix,
        organisation_code=_organisation_code(generator) if prefix else "",
        credit_code="",
        street=street,
        website=website,
        source=source,
        source_note=source_note,
        lifecycle=lifecycle,
        account_class=account_class,
        owner_role=owner_role,
        owner_username="",
        owner_pick=r.random(),
        first_contact_days_ago=days_ago,
        first_needs=first_needs,
        tags=_tag_names(generator, kind, industry, lifecycle, source, days_ago),
        contacts=_contacts(generator, kind, name, city, domain, lifecycle, source),
    )


def _section_of(name: str) -> str:
    words = [word for word in BUSINESS_SECTIONS if word in name]
    return BUSINESS_SECTIONS[max(words, key=len)] if words else "L"


def _organisation_code(generator: DemoGenerator) -> str:
    """Eight digits and their GB 11714 check character: the organisation code inside a USCC."""
    body = "".join(str(generator.random.randrange(10)) for _ in range(8))
    check = 11 - sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def _spelled(text: str) -> str:
    return "".join(c for c in "".join(lazy_pinyin(text, style=Style.NORMAL)) if c.isascii())


def _domain(name: str) -> str:
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return "".join(c for c in initials if c.isascii() and c.isalnum()).lower() + ".example"


def _tag_names(
    generator: DemoGenerator, kind: str, industry: str, lifecycle: str, source: str, days_ago: int
) -> tuple[str, ...]:
    r = generator.random
    L = Customer.Lifecycle
    names = []
    if lifecycle == L.INTENT and r.random() < 0.5:
        names.append("高意向客户")
    if kind != Customer.Kind.GOVERNMENT and r.random() < 0.15:
        names.append("价格敏感型")
    if industry in {"C", "I", "M"} and r.random() < 0.25:
        names.append("技术型客户")
    if lifecycle in {L.CLOSED, L.STRATEGIC} and days_ago > 365 and r.random() < 0.6:
        names.append("长期合作客户")
    if kind == Customer.Kind.GOVERNMENT and r.random() < 0.7:
        names.append("政府采购")
    if source == Customer.Source.TRADE_SHOW and r.random() < 0.4:
        names.append("展会线索")
    return tuple(names)


def _contacts(
    generator: DemoGenerator,
    kind: str,
    customer_name: str,
    city: str,
    domain: str,
    lifecycle: str,
    source: str,
) -> tuple[ContactPlan, ...]:
    r = generator.random
    D = Contact.DecisionRole
    L = Customer.Lifecycle
    if lifecycle in {L.CLOSED, L.STRATEGIC, L.CHURNED}:
        legal_basis = Contact.LegalBasis.CONTRACT
    elif source in CONSENT_NOTES:
        legal_basis = Contact.LegalBasis.CONSENT
    else:
        legal_basis = Contact.LegalBasis.LEGITIMATE_INTEREST
    consent_note = (
        CONSENT_NOTES.get(source, "") if legal_basis == Contact.LegalBasis.CONSENT else ""
    )
    titles = GOVERNMENT_TITLES if kind == Customer.Kind.GOVERNMENT else COMPANY_TITLES
    count = 1 if kind == Customer.Kind.INDIVIDUAL else r.choices((1, 2, 3), (40, 40, 20))[0]
    contacts = []
    for index in range(count):
        person = generator.person()
        if kind == Customer.Kind.INDIVIDUAL:
            name, role, title = customer_name, D.DECISION_MAKER, ""
        else:
            name = person.name
            if index == 0:
                role = D.DECISION_MAKER if r.random() < 0.7 else D.INFLUENCER
            else:
                role = _weighted(generator, {D.INFLUENCER: 45, D.USER: 40, D.OTHER: 15})
            title = r.choice(titles[role])
        phones = [(person.phone, Contact.PhoneLabel.MOBILE)]
        if kind != Customer.Kind.INDIVIDUAL and r.random() < 0.3:
            local = str(r.randrange(2, 9)) + "".join(str(r.randrange(10)) for _ in range(7))
            work = f"+86{AREA_CODES.get(city, '10')}{local}"
            if phonenumbers.is_valid_number(phonenumbers.parse(work)):
                phones.append((work, Contact.PhoneLabel.WORK))
        spelled = _spelled(name)
        email = ""
        if r.random() < 0.7:
            suffix = str(r.randrange(100, 1000)) if kind == Customer.Kind.INDIVIDUAL else ""
            email = f"{spelled}{suffix}@{domain}"
        wechat = f"{spelled}{r.randrange(100, 10000)}" if r.random() < 0.4 else ""
        birthday = (
            dt.date(1965 + r.randrange(34), 1 + r.randrange(12), 1 + r.randrange(28))
            if r.random() < 0.2
            else None
        )
        C = Contact.Channel
        channel = _weighted(
            generator, {C.WECHAT: 40, C.PHONE: 30, C.EMAIL: 15, C.VISIT: 5, C.NONE: 10}
        )
        contacts.append(
            ContactPlan(
                name=name,
                title=title,
                decision_role=role,
                phones=tuple(phones),
                email=email,
                wechat=wechat,
                birthday=birthday,
                preferred_channel=channel,
                legal_basis=legal_basis,
                consent_note=consent_note,
                consented=legal_basis == Contact.LegalBasis.CONSENT,
            )
        )
    return tuple(contacts)


# --- loading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    province: Region | None
    city: Region | None
    districts: tuple[Region, ...]


def demo_customers_load(*, seed: int, count: int = DEFAULT_CUSTOMER_COUNT) -> bool:
    """File the planned customers, contacts and tags, unless any customer exists already (then
    nothing changes). Returns True if it created anything. Call inside a transaction."""
    if count <= 0 or Customer.all_objects.exists():
        return False
    plans = customer_plans(seed=seed, count=count)
    places = _places()
    industries = {row.code: row for row in Industry.objects.all()}
    tags = _tags()
    owners = _owners()
    today = timezone.localdate()
    for plan in plans:
        _customer_load(plan, places, industries, tags, owners, today)
    return True


def _places() -> dict[tuple[str, str], _Place]:
    """Generator (province, city) names to region rows. A city is "深圳" in the generator and
    深圳市 in the table; a municipality (北京) has a same-named city row (北京市 110100) holding
    its districts, and 重庆 has two, of which the first is taken."""
    provinces = {
        row.name: row
        for row in Region.objects.filter(
            level=Region.Level.PROVINCE, name__in=[name for name, _cities in REGIONS]
        )
    }
    cities: dict[str, list[Region]] = {}
    for row in Region.objects.filter(
        level=Region.Level.CITY, parent_id__in=[row.code for row in provinces.values()]
    ).order_by("code"):
        cities.setdefault(row.parent_id, []).append(row)
    districts: dict[str, list[Region]] = {}
    for row in Region.objects.filter(
        level=Region.Level.DISTRICT,
        is_active=True,
        parent_id__in=[row.code for rows in cities.values() for row in rows],
    ).order_by("code"):
        districts.setdefault(row.parent_id, []).append(row)
    places: dict[tuple[str, str], _Place] = {}
    for province_name, city_names in REGIONS:
        province = provinces.get(province_name)
        for city_name in city_names:
            candidates = cities.get(province.code, []) if province else []
            city = next(
                (row for row in candidates if row.name in {city_name, f"{city_name}市"}), None
            )
            places[province_name, city_name] = _Place(
                province=province,
                city=city,
                districts=tuple(districts.get(city.code, [])) if city else (),
            )
    return places


def _tags() -> dict[str, Tag]:
    tags: dict[str, Tag] = {}
    for name, color in PRESET_TAGS + CUSTOM_TAGS:
        tag = Tag.objects.filter(name=name).first()
        tags[name] = tag if tag is not None else tag_create(actor=None, name=name, color=color)
    return tags


def _owners() -> dict[str, list[User]]:
    """Active users per owning role, by username: the sales reps, the key-account managers and
    the sales managers."""
    roles = (Role.SALES_REP, Role.KEY_ACCOUNT_MANAGER, Role.SALES_MANAGER)
    owners: dict[str, list[User]] = {role: [] for role in roles}
    for user in (
        User.objects.filter(role__in=roles, is_active=True)
        .select_related("department")
        .order_by("username")
    ):
        owners[user.role].append(user)
    return owners


def _owner(plan: CustomerPlan, owners: dict[str, list[User]]) -> User | None:
    if not plan.owner_role:
        return None
    everyone = [user for users in owners.values() for user in users]
    if plan.owner_username:
        fixed = next((user for user in everyone if user.username == plan.owner_username), None)
        if fixed is not None:
            return fixed
    candidates = owners.get(plan.owner_role) or everyone
    if not candidates:
        return None
    return candidates[int(plan.owner_pick * len(candidates))]


def _customer_load(
    plan: CustomerPlan,
    places: dict[tuple[str, str], _Place],
    industries: dict[str, Industry],
    tags: dict[str, Tag],
    owners: dict[str, list[User]],
    today: dt.date,
) -> Customer:
    place = places.get((plan.province, plan.city), _Place(None, None, ()))
    district = next((row for row in place.districts if row.name == plan.district), None)
    if district is None and place.districts and not plan.district:
        district = place.districts[int(plan.district_pick * len(place.districts))]
    region = district or place.city or place.province
    credit_code = plan.credit_code
    if plan.credit_prefix and region is not None:
        base = plan.credit_prefix + region.code + plan.organisation_code
        credit_code = credit_code_clean(base + uscc.calc_check_digit(base))
    first_contact = today - dt.timedelta(days=plan.first_contact_days_ago)
    # --- history library: a churned customer goes there with a reason (some stopped instead).
    churn = (
        demo_churn(plan.name, first_contact_days_ago=plan.first_contact_days_ago)
        if plan.lifecycle in ARCHIVED_LIFECYCLES
        else None
    )
    customer = customer_create(
        actor=None,
        name=plan.name,
        kind=plan.kind,
        short_name=plan.short_name,
        credit_code=credit_code,
        industry=industries.get(plan.industry),
        region_code=region.code if region is not None else None,
        address=f"{district.name if district else ''}{plan.street}",
        website=plan.website,
        source=plan.source,
        source_note=plan.source_note,
        lifecycle=churn.lifecycle if churn else plan.lifecycle,
        churn_reason=churn.reason if churn else None,
        churn_note=churn.note if churn else "",
        account_class=plan.account_class,
        first_contact_date=first_contact,
        first_needs=plan.first_needs,
        tags=[tags[name].pk for name in plan.tags if name in tags],
        # Generated names repeat (深圳华信科技, 上海华信科技): the demo keeps such pairs, which
        # is what the duplicate scan is there to show.
        allow_duplicates=True,
    )
    if churn is not None:
        demo_churn_backdate(customer, churn)
    owner = _owner(plan, owners)
    if owner is not None:
        # The system files into the pool; assigning is a second, audited step (the services let
        # only a manager or the owner name an owner, and the demo loader is neither).
        customer = model_update(
            instance=customer,
            data={"owner": owner, "department": owner.department},
            actor=None,
        )
    consent_at = timezone.make_aware(dt.datetime.combine(first_contact, dt.time(10, 0)))
    for contact in plan.contacts:
        contact_create(
            actor=None,
            customer=customer,
            name=contact.name,
            title=contact.title,
            decision_role=contact.decision_role,
            phones=[{"number": number, "label": label} for number, label in contact.phones],
            email=contact.email,
            wechat=contact.wechat,
            birthday=contact.birthday,
            preferred_channel=contact.preferred_channel,
            legal_basis=contact.legal_basis,
            consent_note=contact.consent_note,
            consent_at=consent_at if contact.consented else None,
        )
    return customer
