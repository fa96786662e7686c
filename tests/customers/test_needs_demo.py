"""Demo needs (core/demo/needs.py): filed through the services for owned customers, plans owned
by the customer's owner, deterministic from the seed, and loaded once."""

from __future__ import annotations

import pytest

from guanxi.core.demo.needs import TEMPLATES, demo_needs_load
from guanxi.core.models import AuditEntry
from guanxi.customers.models import Need, NeedCategory
from tests.conftest import Org
from tests.customers.conftest import db_state, make_customer

pytestmark = pytest.mark.django_db


def _archive(org: Org) -> None:
    for index in range(6):
        make_customer((org.rep, org.other_rep, org.kam)[index % 3], f"演示客户{index}")
    make_customer(None, "公海客户")


def test_demo_needs_are_filed_through_the_services_for_owned_customers(org: Org) -> None:
    _archive(org)
    assert demo_needs_load(seed=7, customers=4) is True
    needs = list(Need.objects.select_related("customer", "plan_owner"))
    assert len({need.customer_id for need in needs}) == 4
    assert all(need.customer.owner_id is not None for need in needs)
    for need in needs:
        if need.has_gap and need.status == Need.Status.OPEN:
            assert need.plan_owner == need.customer.owner
            assert need.solution and need.plan_due_date
    assert AuditEntry.objects.filter(object_type="customers.need", action="create").count() == len(
        needs
    )
    # the same seed draws the same needs
    first = sorted((n.customer.name, n.title, n.priority) for n in needs)
    Need.all_objects.all().delete()
    demo_needs_load(seed=7, customers=4)
    again = sorted(
        (n.customer.name, n.title, n.priority) for n in Need.objects.select_related("customer")
    )
    assert again == first


def test_demo_needs_load_once(org: Org) -> None:
    _archive(org)
    demo_needs_load(seed=7, customers=2)
    before = db_state()
    assert demo_needs_load(seed=7, customers=2) is False
    assert db_state() == before


def test_every_template_names_a_seeded_category_and_keeps_the_rules() -> None:
    # Checked without a database: the codes are migration 0010's, the gaps have plans.
    seeded = {
        "product",
        "customisation",
        "delivery",
        "price",
        "after-sales",
        "training",
        "integration",
        "compliance",
        "other",
    }
    assert {template.category for template in TEMPLATES} <= seeded
    assert all(t.solution for t in TEMPLATES if t.fit_status in Need.GAP_FITS)
    assert NeedCategory._meta.get_field("code").max_length >= max(len(c) for c in seeded)
