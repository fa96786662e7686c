"""Load the demo organisation: departments, the six named demo users and some colleagues, then
the customer archive (customers, contacts, tags; see customers.py).

Later issues extend this with orders and tickets from the same generator.
Loading is idempotent: a second run finds the data and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_create, user_create
from guanxi.core.demo.customers import DEFAULT_CUSTOMER_COUNT, demo_customers_load
from guanxi.core.demo.engagement import demo_engagement_load
from guanxi.core.demo.generator import DemoGenerator
from guanxi.core.demo.history import demo_verification_load
from guanxi.core.demo.needs import demo_needs_load
from guanxi.core.demo.service import demo_service_load

# (code, name, parent code)
DEPARTMENTS = (
    ("hq", "总部", None),
    ("sales", "销售部", "hq"),
    ("sales-east", "华东销售组", "sales"),
    ("sales-north", "华北销售组", "sales"),
    ("key-accounts", "大客户部", "sales"),
    ("service", "客服中心", "hq"),
    ("tech", "技术部", "hq"),
    ("supply", "供应链部", "hq"),
    ("finance", "财务部", "hq"),
    ("marketing", "市场部", "hq"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    department: str


DEMO_USERS = (
    DemoUser("admin", "系统管理员", Role.ADMINISTRATOR, "hq"),
    DemoUser("manager", "王经理", Role.SALES_MANAGER, "sales"),
    DemoUser("rep1", "李娜", Role.SALES_REP, "sales-east"),
    DemoUser("rep2", "张伟", Role.SALES_REP, "sales-north"),
    DemoUser("agent", "陈静", Role.SERVICE_AGENT, "service"),
    DemoUser("analyst", "刘洋", Role.ANALYST, "marketing"),
)


def demo_load(
    *, seed: int = 20261122, extra_staff: int = 12, customers: int = DEFAULT_CUSTOMER_COUNT
) -> bool:
    """Create whatever part of the demo organisation is missing. Returns True if it created
    anything; a second run finds everything in place and changes nothing (passwords and edits
    made since are kept). The ``customers`` are filed only into an archive without any (so
    customers deleted or edited since are left alone), from the same seed."""
    password = settings.GUANXI_DEMO_PASSWORD
    generator = DemoGenerator(seed)
    created = False
    with transaction.atomic():
        departments: dict[str, Department] = {}
        for code, name, parent in DEPARTMENTS:
            existing = Department.all_objects.filter(code=code).first()
            if existing is None:
                existing = department_create(
                    actor=None, name=name, code=code, parent=departments[parent] if parent else None
                )
                created = True
            departments[code] = existing
        users: dict[str, User] = {}
        new_users: set[str] = set()
        for demo in DEMO_USERS:
            users[demo.username], made = _user(
                demo.username, demo.full_name, demo.role, departments[demo.department], password
            )
            if made:
                new_users.add(demo.username)
        created = created or bool(new_users)
        for username in {"rep1", "rep2"} & new_users:
            users[username].manager = users["manager"]
            users[username].save(update_fields=["manager"])
        staff_plan = [
            (Role.SALES_REP, "sales-east"),
            (Role.SALES_REP, "sales-north"),
            (Role.KEY_ACCOUNT_MANAGER, "key-accounts"),
            (Role.SERVICE_AGENT, "service"),
            (Role.DEPARTMENT_HANDLER, "tech"),
            (Role.DEPARTMENT_HANDLER, "supply"),
            (Role.DEPARTMENT_HANDLER, "finance"),
        ]
        for index in range(extra_staff):
            role, department = staff_plan[index % len(staff_plan)]
            # Drawn for every index, present or not, so each colleague keeps the same name.
            person = generator.person()
            _staff, made = _user(
                f"staff{index + 1:02d}", person.name, role, departments[department], password
            )
            created = created or made
        created = demo_customers_load(seed=seed, count=customers) or created
        # Once: a later run finds needs and adds none, whatever has been done with them since.
        if customers > 0:
            created = demo_needs_load(seed=seed) or created
            # --- verification: this quarter's tasks, some confirmed (once per quarter).
            created = demo_verification_load() or created
            # --- engagement: months of interactions, follow-ups and compliance figures (once).
            created = demo_engagement_load(seed=seed) or created
            # --- service desk: teams, routing and two months of tickets (once).
            created = demo_service_load(seed=seed) or created
    return created


def _user(
    username: str, full_name: str, role: str, department: Department, password: str
) -> tuple[User, bool]:
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing, False
    # The demo password is short and known on purpose, so skip the strength validators here and
    # only here: user_create applies them to every real account.
    user = user_create(
        actor=None,
        username=username,
        password=None,
        full_name=full_name,
        email=f"{username}@demo.guanxi.local",
        role=role,
        department=department,
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    return user, True
