"""Fixtures for the customer archive tests: the fast organisation of the accounts suite, a
fingerprint of every table the customers app writes, and builders that go through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import (
    ChurnReason,
    Contact,
    Customer,
    CustomerMerge,
    Industry,
    Need,
    NeedCategory,
    NeedNote,
    PoolPolicy,
    Tag,
    VerificationTask,
)
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.conftest import skip_or_fail

HUAWEI_CODE = "914403001922038216"
TENCENT_CODE = "91440300708461136T"


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the customers app can write (soft-deleted ones too), plus tag links and audit."""
    state: dict[str, list[dict[str, Any]]] = {}
    tables = (Customer, Contact, Tag, Industry, PoolPolicy, AuditEntry, Customer.tags.through)
    for model in (*tables, Need, NeedCategory, NeedNote, CustomerMerge):
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    # --- history library and verification
    for model in (ChurnReason, VerificationTask):
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


def make_customer(owner: User | None, name: str = "测试客户有限公司", **fields: Any) -> Customer:
    """A customer filed through the service; ``owner`` None puts it in the pool (filed by an
    administrator, as only managers may do that)."""
    actor = fields.pop("actor", None) or owner
    if actor is None:
        actor = User.objects.get(username="admin")
    # Tests file the same name more than once on purpose (scope, search); the duplicate check
    # has its own tests, which pass allow_duplicates=False.
    fields.setdefault("allow_duplicates", True)
    return services.customer_create(actor=actor, name=name, owner=owner, **fields)


def make_contact(customer: Customer, name: str = "张三", **fields: Any) -> Contact:
    actor = fields.pop("actor", None) or customer.owner or User.objects.get(username="admin")
    return services.contact_create(actor=actor, customer=customer, name=name, **fields)


@pytest.fixture
def postgresql(db: Any) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


# --- needs (C2) ---------------------------------------------------------------------------------


def need_category(code: str = "product") -> NeedCategory:
    """One of the categories migration 0010 seeds."""
    return NeedCategory.objects.get(code=code)


def make_need(customer: Customer, title: str = "年度采购工业网关", **fields: Any) -> Need:
    """A need filed through the service by the customer's owner (an administrator for the
    pool). A gap (partial or unmet fit) gets a complete plan unless the fields say otherwise."""
    actor = fields.pop("actor", None) or customer.owner or User.objects.get(username="admin")
    fields.setdefault("category", need_category())
    if fields.get("fit_status") in Need.GAP_FITS:
        fields.setdefault("solution", "分两期满足")
        fields.setdefault("plan_owner", actor)
        fields.setdefault("plan_due_date", timezone.localdate() + dt.timedelta(days=30))
    return services.need_create(actor=actor, customer=customer, title=title, **fields)
