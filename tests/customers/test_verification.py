"""Quarterly verification (定期信息核对): the quarterly job makes one task per active, owned
customer for its owner, idempotently; confirming records who and when and what changed; my
tasks; the stale-data report per owner within the data scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.quarters import quarter_bounds, quarter_clean, quarter_of, quarter_previous
from guanxi.customers import services
from guanxi.customers.models import ChurnReason, Contact, Customer, VerificationTask
from guanxi.customers.selectors import (
    verification_report,
    verification_stale_page,
    verification_task_list_mine,
)
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import db_state, make_contact, make_customer

QUARTER = quarter_of()


def _task(customer: Customer) -> VerificationTask:
    return VerificationTask.objects.get(customer=customer, quarter=QUARTER)


# --- quarters -----------------------------------------------------------------------------------


def test_quarters_are_named_and_bounded():
    assert quarter_of(dt.date(2026, 11, 22)) == "2026Q4"
    assert quarter_of(dt.date(2026, 1, 1)) == "2026Q1"
    assert quarter_bounds("2026Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert quarter_bounds("2024q1") == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert quarter_previous("2026Q1") == "2025Q4"
    for bad in ("2026Q5", "2026-4", "", "Q4", "1999Q1"):
        with pytest.raises(ValidationError):
            quarter_clean(bad)


# --- the quarterly job --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_job_makes_one_task_per_active_owned_customer_for_its_owner(org: Org):
    mine = make_customer(org.rep, "甲")
    theirs = make_customer(org.other_rep, "乙")
    make_customer(None, "公海客户")
    gone = make_customer(org.rep, "流失")
    services.customer_archive(actor=org.rep, customer=gone, reason="price")
    deleted = make_customer(org.rep, "已删除")
    services.customer_delete(actor=org.rep, customer=deleted)
    # when
    assert services.verification_tasks_create(actor=None) == 2
    # then
    tasks = {task.customer_id: task for task in VerificationTask.objects.all()}
    assert set(tasks) == {mine.pk, theirs.pk}
    assert tasks[mine.pk].owner == org.rep and tasks[theirs.pk].owner == org.other_rep
    assert {task.quarter for task in tasks.values()} == {QUARTER}
    assert {task.due_date for task in tasks.values()} == {quarter_bounds(QUARTER)[1]}
    assert {task.status for task in tasks.values()} == {"open"}
    (entry,) = AuditEntry.objects.filter(note__startswith="verification_tasks_created")
    assert entry.object_id == QUARTER and entry.actor_label == "system"


@pytest.mark.django_db
def test_running_the_job_twice_creates_nothing_new(org: Org):
    make_customer(org.rep, "甲")
    make_customer(org.manager, "乙")
    from guanxi.customers.tasks import verification_tasks_create_task

    assert verification_tasks_create_task.call() == 2
    before = db_state()
    assert verification_tasks_create_task.call() == 0
    assert db_state() == before
    # a customer filed since gets its task on the next run, and only it
    late = make_customer(org.rep, "新来的")
    assert services.verification_tasks_create(actor=None) == 1
    assert _task(late).owner == org.rep
    assert VerificationTask.objects.count() == 3


@pytest.mark.django_db
def test_a_past_quarter_is_its_own_batch(org: Org):
    customer = make_customer(org.rep, "甲")
    previous = quarter_previous(QUARTER)
    assert services.verification_tasks_create(actor=None, quarter=previous) == 1
    assert services.verification_tasks_create(actor=None) == 1
    assert set(customer.verification_tasks.values_list("quarter", flat=True)) == {
        previous,
        QUARTER,
    }


def test_the_job_runs_in_the_first_week_of_each_quarter():
    from guanxi.core.schedule import SCHEDULE, last_slot, validate_schedule

    validate_schedule()
    (job,) = [job for job in SCHEDULE if job.name == "verification-tasks"]
    assert job.task == "guanxi.customers.tasks.verification_tasks_create_task"
    # 10 April 2026, 12:00 in Shanghai: the last run was on 7 April at 01:20
    now = dt.datetime(2026, 4, 10, 4, 0, tzinfo=dt.UTC)
    assert last_slot(job, now) == dt.datetime(2026, 4, 6, 17, 20, tzinfo=dt.UTC)
    # 20 May: still the 7 April run, nothing in between
    assert last_slot(job, dt.datetime(2026, 5, 20, tzinfo=dt.UTC)) == dt.datetime(
        2026, 4, 6, 17, 20, tzinfo=dt.UTC
    )


@pytest.mark.django_db
def test_only_administrators_make_tasks_on_demand(org: Org):
    make_customer(org.rep, "甲")
    before = db_state()
    for actor in (org.manager, org.rep, org.analyst):
        with pytest.raises(PermissionDeniedError):
            services.verification_tasks_create(actor=actor)
    assert db_state() == before
    assert services.verification_tasks_create(actor=org.admin) == 1
    assert VerificationTask.objects.get().created_by == org.admin


# --- confirming ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_confirming_records_who_when_and_what_changed(org: Org):
    customer = make_customer(org.rep, "甲")
    kept = make_contact(customer, "张三", phones=["13800138000"])
    services.verification_tasks_create(actor=None)
    task = _task(customer)
    # the owner corrects a phone and adds a contact with the usual services
    services.contact_update(actor=org.rep, contact=kept, data={"phones": ["13900139000"]})
    added = make_contact(customer, "李四", phones=["13700137000"])
    # when
    verified = services.verification_task_verify(actor=org.rep, task=task, note="电话确认")
    # then
    verified.refresh_from_db()
    assert verified.status == "verified"
    assert verified.verified_by == org.rep and verified.verified_at is not None
    assert verified.note == "电话确认"
    assert [(c["contact_id"], c["action"], c["fields"]) for c in verified.changes] == [
        (kept.pk, "update", ["phones"]),
        (added.pk, "create", []),
    ]
    assert "13900139000" not in str(verified.changes)  # names of fields, never values
    customer.refresh_from_db()
    assert customer.verified_at == verified.verified_at
    assert set(Contact.objects.values_list("verified_at", flat=True)) == {verified.verified_at}
    # the customer's timeline says so
    (entry,) = AuditEntry.objects.filter(
        object_type="customers.customer",
        object_id=str(customer.pk),
        note=f"customer_verified?quarter={QUARTER}",
    )
    assert entry.actor == org.rep


@pytest.mark.django_db
def test_confirming_twice_or_an_archived_customer_changes_nothing(org: Org):
    customer = make_customer(org.rep, "甲")
    other = make_customer(org.rep, "乙")
    services.verification_tasks_create(actor=None)
    task = _task(customer)
    services.verification_task_verify(actor=org.rep, task=task)
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.verification_task_verify(actor=org.rep, task=task)
    assert raised.value.code == "task_not_open"
    with pytest.raises(PermissionDeniedError):
        services.verification_task_verify(actor=org.other_rep, task=_task(other))
    with pytest.raises(ValidationError):
        services.verification_task_verify(actor=org.rep, task=_task(other), note="长" * 2001)
    assert db_state() == before
    # a task left open on a customer in the history library (archived some other way)
    Customer.objects.filter(pk=other.pk).update(
        lifecycle="churned",
        archived_at=timezone.now(),
        churn_reason=ChurnReason.objects.get(code="price"),
    )
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.verification_task_verify(actor=org.rep, task=_task(other))
    assert raised.value.code == "customer_archived"
    assert db_state() == before


@pytest.mark.django_db
def test_archiving_skips_the_open_task_and_restoring_reopens_it(org: Org):
    customer = make_customer(org.rep, "甲")
    services.verification_tasks_create(actor=None)
    archived = services.customer_archive(actor=org.rep, customer=customer, reason="price")
    assert _task(customer).status == "skipped"
    assert not verification_task_list_mine(actor=org.rep).exists()
    services.customer_restore_from_history(actor=org.rep, customer=archived, lifecycle="intent")
    assert _task(customer).status == "open"


@pytest.mark.django_db
def test_my_tasks_follow_the_customer_to_its_new_owner_oldest_first(org: Org):
    first = make_customer(org.rep, "甲")
    second = make_customer(org.rep, "乙")
    services.verification_tasks_create(actor=None)
    VerificationTask.objects.filter(customer=first).update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )
    assert [
        t.customer_id
        for t in verification_task_list_mine(actor=org.rep).order_by("created_at", "id")
    ] == [first.pk, second.pk]
    services.customer_transfer(
        actor=org.manager, customer=second, to_user=org.other_rep, reason="调岗"
    )
    assert [t.customer_id for t in verification_task_list_mine(actor=org.rep)] == [first.pk]
    assert [t.customer_id for t in verification_task_list_mine(actor=org.other_rep)] == [second.pk]
    assert _task(second).owner == org.rep  # who owned it when the task was made
    # other quarters and confirmed tasks are not "open this quarter"
    services.verification_task_verify(actor=org.rep, task=_task(first))
    assert not verification_task_list_mine(actor=org.rep).exists()


# --- the stale-data report ----------------------------------------------------------------------


def _rows(report: Any) -> dict[str, tuple[int, int, int]]:
    return {row.owner.username: (row.customers, row.verified, row.stale) for row in report.rows}


@pytest.mark.django_db
def test_the_report_counts_per_owner_within_the_scope(org: Org):
    done = make_customer(org.rep, "已核对")
    make_customer(org.rep, "未核对")
    make_customer(org.other_rep, "华北未核对")
    make_customer(org.outsider, "海外客户")
    make_customer(None, "公海客户")
    gone = make_customer(org.rep, "流失")
    services.customer_archive(actor=org.rep, customer=gone, reason="price")
    services.verification_tasks_create(actor=None)
    services.verification_task_verify(actor=org.rep, task=_task(done))
    # the manager sees the sales department; the administrator everyone
    assert _rows(verification_report(actor=org.manager, quarter=QUARTER)) == {
        "rep1": (2, 1, 1),
        "rep2": (1, 0, 1),
    }
    report = verification_report(actor=org.admin, quarter=QUARTER)
    assert _rows(report) == {"rep1": (2, 1, 1), "rep2": (1, 0, 1), "outsider": (1, 0, 1)}
    assert (report.customers, report.verified, report.stale) == (4, 1, 3)
    stale = verification_stale_page(actor=org.manager, quarter=QUARTER)
    assert [c.name for c in stale.items] == ["华北未核对", "未核对"]
    one = verification_stale_page(actor=org.manager, quarter=QUARTER, owner=org.rep.pk)
    assert [c.name for c in one.items] == ["未核对"]
    # a verification of another quarter does not count for this one
    previous = quarter_previous(QUARTER)
    assert _rows(verification_report(actor=org.manager, quarter=previous))["rep1"] == (2, 0, 2)


@pytest.mark.django_db
def test_the_report_page_and_endpoint(org: Org):
    make_customer(org.rep, "未核对")
    services.verification_tasks_create(actor=None)
    client = login_client(org.manager, language="en")
    response = client.get("/customers/verification/report/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="report-stale-total">1<' in body and "未核对" in body
    bad = client.get("/customers/verification/report/?quarter=2026Q9")
    assert bad.status_code == 400
    assert "for example 2026Q4" in bad.content.decode()
    api = ApiClient(org.manager, language="en")
    data = api.get("/api/v1/verification-report").json()
    assert (data["quarter"], data["customers"], data["stale"]) == (QUARTER, 1, 1)
    assert data["owners"][0]["owner_id"] == org.rep.pk
    assert [c["name"] for c in data["stale_customers"]] == ["未核对"]
    response = api.get("/api/v1/verification-report", quarter="soon")
    assert response.status_code == 422 and "quarter" in response.json()["fields"]


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_checks_and_confirms_on_the_task_page(org: Org):
    customer = make_customer(org.rep, "甲")
    make_contact(customer, "张三", phones=["13800138000"])
    services.verification_tasks_create(actor=None)
    task = _task(customer)
    client = login_client(org.rep, language="en")
    listing = client.get("/customers/verification/").content.decode()
    assert f"/customers/verification/{task.pk}/" in listing
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="verification-banner"' in detail
    page = client.get(f"/customers/verification/{task.pk}/").content.decode()
    assert "13800138000" in page  # the owner sees the contacts in full
    assert "Confirm as correct" in page
    masked = login_client(org.manager, language="en").get(f"/customers/verification/{task.pk}/")
    assert "13800138000" not in masked.content.decode()
    response = client.post(f"/customers/verification/{task.pk}/verify/", {"note": "已电话确认"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "verified" and task.verified_by == org.rep
    # again: the task is closed, the page says so and nothing changes
    before = db_state()
    response = client.post(f"/customers/verification/{task.pk}/verify/", {"note": ""})
    assert response.status_code == 409
    assert "no longer open" in response.content.decode()
    assert db_state() == before


@pytest.mark.django_db
def test_the_api_lists_my_tasks_and_confirms_one(org: Org):
    customer = make_customer(org.rep, "甲")
    services.verification_tasks_create(actor=None)
    api = ApiClient(org.rep, language="en")
    items = api.get("/api/v1/verification-tasks").json()["items"]
    assert [(row["customer_id"], row["status"], row["quarter"]) for row in items] == [
        (customer.pk, "open", QUARTER)
    ]
    response = api.post(f"/api/v1/verification-tasks/{items[0]['id']}/verify", {"note": "好"})
    assert response.status_code == 200
    assert response.json()["verified_by_id"] == org.rep.pk
    assert api.get("/api/v1/verification-tasks").json()["items"] == []
    response = api.post(f"/api/v1/verification-tasks/{items[0]['id']}/verify", {})
    assert response.status_code == 409 and response.json()["code"] == "task_not_open"


@pytest.mark.django_db
def test_an_administrator_makes_the_tasks_from_the_page_and_the_api(org: Org):
    make_customer(org.rep, "甲")
    client = login_client(org.admin, language="en")
    response = client.post("/customers/verification/generate/", follow=True)
    assert "1 verification task was created" in response.content.decode()
    data = ApiClient(org.admin).post("/api/v1/verification-tasks/generate").json()
    assert data == {"quarter": QUARTER, "created": 0}
