"""The history library (客户历史库): churned and stopped customers need a reason, leave the lists,
the search, the pool and the recycle job, keep their history, show in the library's tab and come
back with a restore; the churn-reason breakdown counts them per reason within the data scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from guanxi.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import ChurnReason, Customer
from guanxi.customers.selectors import (
    churn_breakdown,
    customer_list,
    customer_recycle_at,
    customer_tenure,
    customers_recycle_upcoming,
)
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


def _archive(customer: Customer, actor: Any = None, **fields: Any) -> Customer:
    fields.setdefault("reason", "price")
    return services.customer_archive(actor=actor or customer.owner, customer=customer, **fields)


def _entries(customer: Customer, note: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="customers.customer", object_id=str(customer.pk), note=note
        )
    )


def _ids(queryset: Any) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


# --- the reasons --------------------------------------------------------------------------------


def test_the_reasons_are_seeded_in_order():
    codes = list(ChurnReason.objects.values_list("code", flat=True))
    assert codes[:2] == ["price", "competitor"] and codes[-1] == "other"
    assert "联系不上" in set(ChurnReason.objects.values_list("name", flat=True))


def test_an_administrator_adds_renames_and_switches_off_a_reason(org: Org):
    reason = services.churn_reason_create(actor=org.admin, code="Merger", name="被收购")
    assert reason.code == "merger"
    services.churn_reason_update(
        actor=org.admin, reason=reason, data={"is_active": False, "name": "被并购"}
    )
    reason.refresh_from_db()
    assert reason.name == "被并购" and not reason.is_active
    with pytest.raises(ValidationError) as raised:
        services.churn_reason_update(actor=org.admin, reason=reason, data={"code": "x"})
    assert "code" in raised.value.message_dict
    # a switched-off reason cannot be chosen any more
    customer = make_customer(org.rep, "客户")
    with pytest.raises(ValidationError) as raised:
        _archive(customer, reason="merger")
    assert "churn_reason" in raised.value.message_dict


# --- archiving ----------------------------------------------------------------------------------


def test_archiving_records_reason_details_and_what_it_was(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle=Customer.Lifecycle.CLOSED)
    archived = _archive(
        customer, reason="competitor", note="改用同行方案", lifecycle=Customer.Lifecycle.STOPPED
    )
    archived.refresh_from_db()
    assert archived.lifecycle == Customer.Lifecycle.STOPPED
    assert archived.archived_at is not None
    assert archived.churn_reason.code == "competitor"
    assert archived.churn_note == "改用同行方案"
    assert archived.archived_from == Customer.Lifecycle.CLOSED
    assert archived.owner == org.rep  # the owner stays
    assert archived.version == customer.version + 1
    (entry,) = _entries(archived, "customer_archived")
    assert entry.actor == org.rep
    assert entry.changes["lifecycle"] == {"before": "closed", "after": "stopped"}
    assert entry.changes["churn_reason"]["after"] == archived.churn_reason_id


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"reason": ""}, {"churn_reason"}),
        ({"reason": None}, {"churn_reason"}),
        ({"reason": "no-such-reason"}, {"churn_reason"}),
        ({"reason": "price", "note": "很长" * 1001}, {"churn_note"}),
        ({"reason": "price", "lifecycle": "closed"}, {"lifecycle"}),
    ],
)
def test_archiving_without_a_good_reason_changes_nothing(org: Org, fields, errors):
    customer = make_customer(org.rep, "客户")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_archive(actor=org.rep, customer=customer, **fields)
    assert set(raised.value.message_dict) == errors
    assert db_state() == before


def test_archiving_twice_a_stale_version_or_someone_elses_customer_changes_nothing(org: Org):
    customer = make_customer(org.rep, "客户")
    with pytest.raises(PermissionDeniedError):
        _archive(customer, actor=org.other_rep)
    with pytest.raises(ConflictError):
        _archive(customer, expected_version=customer.version + 5)
    archived = _archive(customer)
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        _archive(archived)
    assert raised.value.code == "already_archived"
    assert db_state() == before


def test_the_database_refuses_a_churned_customer_without_a_reason(org: Org):
    customer = make_customer(org.rep, "客户")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(lifecycle=Customer.Lifecycle.CHURNED)


def test_editing_to_churned_needs_a_reason_and_goes_through_the_archive(org: Org):
    customer = make_customer(org.rep, "客户")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_update(
            actor=org.rep, customer=customer, data={"lifecycle": "churned", "name": "新名字"}
        )
    assert set(raised.value.message_dict) == {"churn_reason"}
    assert db_state() == before
    # with a reason: the edit and the move, each audited
    updated = services.customer_update(
        actor=org.rep,
        customer=customer,
        data={
            "lifecycle": "churned",
            "name": "新名字",
            "churn_reason": "price",
            "churn_note": "贵",
        },
        expected_version=customer.version,
    )
    assert updated.name == "新名字" and updated.archived_at is not None
    assert updated.churn_reason.code == "price" and updated.churn_note == "贵"
    assert len(_entries(updated, "customer_archived")) == 1
    # between churned and stopped, and a corrected reason: a plain edit that stays in the library
    again = services.customer_update(
        actor=org.rep,
        customer=updated,
        data={"lifecycle": "stopped", "churn_reason": "business-closed"},
    )
    assert again.lifecycle == "stopped" and again.churn_reason.code == "business-closed"
    assert again.archived_at == updated.archived_at
    # clearing the reason of an archived customer is refused
    with pytest.raises(ValidationError):
        services.customer_update(actor=org.rep, customer=again, data={"churn_reason": ""})


def test_a_reason_for_an_active_customer_is_refused(org: Org):
    customer = make_customer(org.rep, "客户")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_update(actor=org.rep, customer=customer, data={"churn_reason": "price"})
    assert set(raised.value.message_dict) == {"churn_reason"}
    assert db_state() == before


def test_filing_a_churned_customer_needs_a_reason(org: Org):
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        make_customer(org.rep, "新客户", lifecycle="churned")
    assert set(raised.value.message_dict) == {"churn_reason"}
    assert db_state() == before
    filed = make_customer(org.rep, "新客户", lifecycle="churned", churn_reason="unreachable")
    assert filed.archived_at is not None and filed.churn_reason.code == "unreachable"


# --- out of sight -------------------------------------------------------------------------------


def test_archived_customers_leave_the_lists_search_and_pool_but_show_in_the_library(org: Org):
    active = make_customer(org.rep, "华为技术有限公司")
    gone = make_customer(org.rep, "华为终端有限公司")
    make_contact(gone, "李四", phones=["13800138000"])
    pool_gone = make_customer(None, "华为公海客户")
    _archive(gone)
    _archive(pool_gone, actor=org.admin)
    for actor in (org.rep, org.manager, org.admin):
        assert gone.pk not in _ids(customer_list(actor=actor))
        assert gone.pk not in _ids(customer_list(actor=actor, query="华为"))
        assert gone.pk not in _ids(customer_list(actor=actor, query="8000"))
        assert pool_gone.pk not in _ids(customer_list(actor=actor, in_pool=True))
        assert active.pk in _ids(customer_list(actor=actor, query="华为"))
    # the library: the tab, its search, and a lifecycle filter of churned
    assert _ids(customer_list(actor=org.admin, archived=True)) == {gone.pk, pool_gone.pk}
    assert _ids(customer_list(actor=org.admin, archived=True, query="终端")) == {gone.pk}
    assert _ids(customer_list(actor=org.admin, lifecycle="churned")) == {gone.pk, pool_gone.pk}
    assert _ids(customer_list(actor=org.rep, archived=True)) >= {gone.pk}
    # the data scope still applies: another rep does not see the rep's archived customer
    assert gone.pk not in _ids(customer_list(actor=org.other_rep, archived=True))


def test_archived_customers_cannot_be_claimed_or_released(org: Org):
    pool_gone = _archive(make_customer(None, "公海客户"), actor=org.admin)
    owned_gone = _archive(make_customer(org.rep, "自己的"))
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.rep, customer=pool_gone)
    assert raised.value.code == "customer_archived"
    with pytest.raises(ApplicationError) as raised:
        services.customer_release(actor=org.rep, customer=owned_gone, reason="不做了")
    assert raised.value.code == "customer_archived"
    assert db_state() == before


def test_the_recycle_job_leaves_archived_customers_alone(org: Org):
    idle = make_customer(org.rep, "沉睡客户")
    gone = make_customer(org.rep, "已流失")
    long_ago = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk__in=[idle.pk, gone.pk]).update(
        last_activity_at=long_ago, protected_until=None
    )
    gone = _archive(Customer.objects.get(pk=gone.pk))
    Customer.objects.filter(pk=gone.pk).update(last_activity_at=long_ago)
    assert set(customers_recycle_upcoming()) == {Customer.objects.get(pk=idle.pk)}
    assert customer_recycle_at(customer=Customer.objects.get(pk=gone.pk)) is None
    assert services.customers_recycle() == 1
    gone.refresh_from_db()
    assert gone.owner == org.rep


# --- restoring ----------------------------------------------------------------------------------


def test_restore_brings_the_customer_back_with_its_history(org: Org):
    customer = make_customer(org.rep, "客户", lifecycle="closed")
    archived = _archive(customer, note="太贵")
    restored = services.customer_restore_from_history(
        actor=org.manager, customer=archived, lifecycle="intent"
    )
    restored.refresh_from_db()
    assert restored.lifecycle == "intent"
    assert restored.archived_at is None and restored.churn_reason is None
    assert restored.churn_note == "" and restored.archived_from == ""
    assert restored.owner == org.rep
    assert restored.last_activity_at > archived.archived_at
    assert restored.pk in _ids(customer_list(actor=org.rep))
    (entry,) = _entries(restored, "customer_restored_from_history")
    assert entry.actor == org.manager
    assert entry.changes["churn_note"] == {"before": "太贵", "after": ""}
    # the timeline keeps both moves
    assert _entries(restored, "customer_archived")


def test_restore_refusals_change_nothing(org: Org):
    active = make_customer(org.rep, "活跃")
    archived = _archive(make_customer(org.rep, "流失"))
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_restore_from_history(actor=org.rep, customer=active, lifecycle="intent")
    assert raised.value.code == "not_archived"
    with pytest.raises(ValidationError):
        services.customer_restore_from_history(
            actor=org.rep, customer=archived, lifecycle="stopped"
        )
    with pytest.raises(PermissionDeniedError):
        services.customer_restore_from_history(
            actor=org.other_rep, customer=archived, lifecycle="intent"
        )
    assert db_state() == before


def test_an_edit_out_of_churned_is_a_restore(org: Org):
    archived = _archive(make_customer(org.rep, "流失"))
    restored = services.customer_update(
        actor=org.rep, customer=archived, data={"lifecycle": "potential"}
    )
    assert restored.archived_at is None and restored.churn_reason is None
    assert len(_entries(restored, "customer_restored_from_history")) == 1


def test_tenure_runs_from_the_first_contact_to_the_archiving(org: Org):
    first = timezone.localdate() - dt.timedelta(days=400)
    customer = make_customer(org.rep, "客户", first_contact_date=first)
    tenure = customer_tenure(customer=_archive(customer))
    assert tenure.start == first and tenure.end == timezone.localdate() and tenure.days == 400
    # without a first contact date, from when it was filed
    other = make_customer(org.rep, "另一个")
    assert customer_tenure(customer=other).start == timezone.localdate(other.created_at)


# --- pages --------------------------------------------------------------------------------------


def test_the_edit_form_needs_a_reason_for_churned(org: Org):
    customer = make_customer(org.rep, "客户")
    client = login_client(org.rep, language="en")
    form = {
        "version": customer.version,
        "kind": customer.kind,
        "name": customer.name,
        "source": customer.source,
        "lifecycle": "churned",
        "account_class": customer.account_class,
    }
    before = db_state()
    response = client.post(f"/customers/{customer.pk}/edit/", form)
    assert response.status_code == 400
    assert response.context["form"].errors["churn_reason"] == [
        "Choose why the customer churned or stopped."
    ]
    assert db_state() == before
    response = client.post(
        f"/customers/{customer.pk}/edit/", {**form, "churn_reason": "price", "churn_note": "太贵"}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.archived_at is not None and customer.churn_note == "太贵"


def test_the_archive_page_moves_the_customer_and_says_so(org: Org):
    customer = make_customer(org.rep, "客户")
    client = login_client(org.rep, language="en")
    page = client.get(f"/customers/{customer.pk}/")
    assert f"/customers/{customer.pk}/archive/" in page.content.decode()
    before = db_state()
    response = client.post(
        f"/customers/{customer.pk}/archive/",
        {"version": customer.version, "lifecycle": "churned", "churn_reason": ""},
    )
    assert response.status_code == 400
    assert db_state() == before
    response = client.post(
        f"/customers/{customer.pk}/archive/",
        {
            "version": customer.version,
            "lifecycle": "stopped",
            "churn_reason": "business-closed",
            "churn_note": "工厂关停",
        },
        follow=True,
    )
    body = response.content.decode()
    assert "was moved to the history library" in body
    assert 'data-testid="history-card"' in body and "工厂关停" in body
    assert f"/customers/{customer.pk}/restore/" in body
    # stale form: a conflict, nothing changes
    before = db_state()
    response = client.post(
        f"/customers/{customer.pk}/restore/", {"version": 1, "lifecycle": "intent"}
    )
    assert response.status_code == 409
    assert db_state() == before


def test_the_history_tab_lists_archived_customers_with_their_reason(org: Org):
    make_customer(org.rep, "活跃客户")
    _archive(make_customer(org.rep, "流失客户"), reason="quality")
    client = login_client(org.rep, language="en")
    default = client.get("/customers/").content.decode()
    assert "活跃客户" in default and "流失客户" not in default
    tab = client.get("/customers/?archived=1")
    body = tab.content.decode()
    assert tab.context["tab"] == "history"
    assert "流失客户" in body and "活跃客户" not in body
    assert "产品质量问题" in body


def test_the_detail_page_of_an_archived_customer_shows_tenure_and_no_last_order(org: Org):
    first = timezone.localdate() - dt.timedelta(days=30)
    customer = _archive(make_customer(org.rep, "客户", first_contact_date=first))
    body = login_client(org.rep, language="en").get(f"/customers/{customer.pk}/").content.decode()
    assert "30 days" in body
    assert 'data-testid="history-last-order">—<' in body
    assert "Moved to the history library" in body  # the timeline
    assert "claim-button" not in body


def test_the_api_lists_the_library_with_archived_and_patches_with_a_reason(org: Org):
    active = make_customer(org.rep, "活跃")
    gone = _archive(make_customer(org.rep, "流失"), reason="service", note="售后慢")
    client = ApiClient(org.rep, language="en")
    default = client.get("/api/v1/customers").json()["items"]
    assert [row["id"] for row in default] == [active.pk]
    library = client.get("/api/v1/customers", archived=1).json()["items"]
    assert [(row["id"], row["churn_reason"], row["churn_note"]) for row in library] == [
        (gone.pk, "service", "售后慢")
    ]
    assert library[0]["archived_at"] is not None
    # PATCH to churned without a reason: a field error, nothing changes
    before = db_state()
    response = client.patch(
        f"/api/v1/customers/{active.pk}", {"version": active.version, "lifecycle": "churned"}
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"churn_reason"}
    assert db_state() == before
    response = client.patch(
        f"/api/v1/customers/{active.pk}",
        {"version": active.version, "lifecycle": "churned", "churn_reason": "price"},
    )
    assert response.status_code == 200
    assert response.json()["churn_reason"] == "price"
    # restore through its endpoint, archive through its own
    response = client.post(f"/api/v1/customers/{active.pk}/restore", {"lifecycle": "intent"})
    assert response.status_code == 200 and response.json()["archived_at"] is None
    response = client.post(f"/api/v1/customers/{active.pk}/archive", {"churn_reason": "nope"})
    assert response.status_code == 422 and set(response.json()["fields"]) == {"churn_reason"}


# --- the breakdown ------------------------------------------------------------------------------


def _archived_at(customer: Customer, days_ago: int) -> None:
    Customer.objects.filter(pk=customer.pk).update(
        archived_at=timezone.now() - dt.timedelta(days=days_ago)
    )


def _counts(breakdown: Any) -> dict[str, tuple[int, int]]:
    return {row.reason.code: (row.churned, row.stopped) for row in breakdown.rows if row.total}


def test_the_breakdown_counts_per_reason_within_the_period_and_scope(org: Org):
    today = timezone.localdate()
    _archive(make_customer(org.rep, "甲"), reason="price")
    _archive(make_customer(org.rep, "乙"), reason="price", lifecycle="stopped")
    _archive(make_customer(org.other_rep, "丙"), reason="competitor")
    old = _archive(make_customer(org.rep, "丁"), reason="service")
    _archived_at(old, 100)
    make_customer(org.rep, "活跃")
    period = {"date_from": today - dt.timedelta(days=30), "date_to": today}
    assert _counts(churn_breakdown(actor=org.admin, **period)) == {
        "price": (1, 1),
        "competitor": (1, 0),
    }
    assert _counts(churn_breakdown(actor=org.rep, **period)) == {"price": (1, 1)}
    assert _counts(churn_breakdown(actor=org.outsider, **period)) == {}
    longer = {"date_from": today - dt.timedelta(days=365), "date_to": today}
    breakdown = churn_breakdown(actor=org.manager, **longer)
    assert _counts(breakdown) == {"price": (1, 1), "competitor": (1, 0), "service": (1, 0)}
    assert breakdown.total == 4
    # every reason in use is listed, even with no customers
    assert len(breakdown.rows) == ChurnReason.objects.filter(is_active=True).count()


def test_a_switched_off_reason_still_counts_its_customers(org: Org):
    _archive(make_customer(org.rep, "甲"), reason="unreachable")
    ChurnReason.objects.filter(code="unreachable").update(is_active=False)
    ChurnReason.objects.filter(code="other").update(is_active=False)
    today = timezone.localdate()
    breakdown = churn_breakdown(actor=org.admin, date_from=today, date_to=today)
    codes = [row.reason.code for row in breakdown.rows]
    assert "unreachable" in codes and "other" not in codes


def test_the_breakdown_page_and_endpoint(org: Org):
    _archive(make_customer(org.rep, "甲"), reason="price")
    page = login_client(org.manager, language="en").get("/customers/history/reasons/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-bar-chart="churn-breakdown-data"' in body
    assert 'id="churn-breakdown-data" type="application/json"' in body
    assert "<script>" not in body  # no inline script: CSP
    assert 'data-testid="breakdown-sum">1<' in body
    bad = login_client(org.manager, language="en").get(
        "/customers/history/reasons/?date_from=2026-05-01&date_to=2026-01-01"
    )
    assert bad.status_code == 400
    assert "The end of the period comes before its start." in bad.content.decode()
    api = ApiClient(org.rep, language="en")
    data = api.get("/api/v1/churn-breakdown").json()
    assert data["total"] == 1
    assert {row["reason"]: row["total"] for row in data["items"]}["price"] == 1
    response = api.get("/api/v1/churn-breakdown", date_from="2026-05-01", date_to="2026-01-01")
    assert response.status_code == 422 and "date_to" in response.json()["fields"]
    assert api.get("/api/v1/churn-breakdown", date_from="nope").status_code == 422


def test_bulk_actions_from_the_library_tab_review_and_tag_archived_customers(org: Org):
    from guanxi.customers.models import Tag

    gone = _archive(make_customer(org.rep, "流失客户"))
    tag = Tag.objects.get(name="价格敏感型")
    client = login_client(org.rep)
    data = {"ids": [gone.pk], "action": "tag_add", "tag": tag.pk, "next": "archived=1"}
    review = client.post("/customers/bulk/", data)
    assert review.status_code == 200 and "流失客户" in review.content.decode()
    done = client.post("/customers/bulk/", {**data, "confirm": "1"})
    assert done.status_code == 302 and done["Location"] == "/customers/?archived=1"
    assert tag in gone.tags.all()
    # releasing it to the pool is refused, and nothing changes
    before = db_state()
    refused = client.post(
        "/customers/bulk/",
        {"ids": [gone.pk], "action": "release", "reason": "不做了", "confirm": "1"},
    )
    assert refused.status_code == 400
    assert db_state() == before
