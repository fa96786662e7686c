"""The customer pool (公海 / 私海): claim, caps, protection, cooldown, release, transfer, hand-over,
the policy, the API's error contract, and ten reps claiming one customer at once."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Customer, PoolPolicy
from guanxi.customers.selectors import customers_recycle_upcoming, pool_claims_today
from tests.conftest import ApiClient
from tests.customers.conftest import db_state, make_customer
from tests.factories import UserFactory


def _policy(**values: int) -> None:
    PoolPolicy.objects.filter(pk=1).update(**values)


def _moves(customer: Customer, note: str) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="customers.customer", object_id=str(customer.pk), note=note
        ).order_by("pk")
    )


# --- the system as actor --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_system_files_a_customer_for_a_named_owner(org):
    customer = services.customer_create(actor=None, name="演示客户", owner=org.rep)
    customer.refresh_from_db()
    assert customer.owner == org.rep
    assert customer.department == org.rep.department
    assert customer.claimed_at is not None and customer.last_activity_at is not None
    entry = AuditEntry.objects.get(object_id=str(customer.pk), action=AuditEntry.Action.CREATE)
    assert entry.actor is None and entry.actor_label == "system"


@pytest.mark.django_db
def test_the_system_files_pool_customers_and_refuses_inactive_owners(org):
    assert services.customer_create(actor=None, name="公海一", owner=None).owner is None
    assert services.customer_create(actor=None, name="公海二").owner is None
    org.other_rep.is_active = False
    org.other_rep.save(update_fields=["is_active"])
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_create(actor=None, name="离职者的", owner=org.other_rep.pk)
    assert "owner" in raised.value.message_dict
    assert db_state() == before


# --- the policy ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_policy_row_is_seeded_with_the_defaults():
    policy = PoolPolicy.objects.get()
    assert (
        policy.pk,
        policy.daily_claim_cap,
        policy.holding_cap,
        policy.protection_days,
        policy.reclaim_cooldown_days,
        policy.recycle_after_days,
        policy.warn_days_before,
    ) == (1, 20, 300, 30, 7, 90, 7)


@pytest.mark.django_db
def test_an_administrator_edits_the_policy_with_audit_and_version(org):
    policy = services.pool_policy_update(
        actor=org.admin, data={"daily_claim_cap": 5}, expected_version=1
    )
    assert (policy.daily_claim_cap, policy.version) == (5, 2)
    entry = AuditEntry.objects.get(object_type="customers.poolpolicy")
    assert entry.changes == {"daily_claim_cap": {"before": 20, "after": 5}}
    with pytest.raises(PermissionDeniedError):
        services.pool_policy_update(actor=org.manager, data={"daily_claim_cap": 1})


@pytest.mark.django_db
def test_the_policy_api_validates_and_locks(org):
    client = ApiClient(org.admin)
    body = client.get("/api/v1/customers/pool-policy").json()
    assert body["daily_claim_cap"] == 20
    sent = {k: body[k] for k in PoolPolicy.audit_fields} | {"version": body["version"]}
    # warning later than the recycling
    before = db_state()
    response = client.request(
        "PUT", "/api/v1/customers/pool-policy", json=sent | {"warn_days_before": 90}
    )
    assert response.status_code == 422
    assert "warn_days_before" in response.json()["fields"]
    assert db_state() == before
    assert client.request("PUT", "/api/v1/customers/pool-policy", json=sent).status_code == 200
    stale = client.request("PUT", "/api/v1/customers/pool-policy", json=sent)
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"


# --- claim ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_makes_the_rep_owner_with_protection_and_audit(org):
    pool = make_customer(None, "公海客户")
    claimed = services.customer_claim(actor=org.rep, customer=pool)
    claimed.refresh_from_db()
    assert claimed.owner == org.rep
    assert claimed.department == org.rep.department
    assert claimed.protected_until - claimed.claimed_at == dt.timedelta(days=30)
    assert claimed.last_activity_at == claimed.claimed_at
    assert claimed.version == pool.version + 1
    (entry,) = _moves(pool, "customer_claimed")
    assert entry.action == AuditEntry.Action.ACTION
    assert entry.actor == org.rep
    assert entry.changes["owner"] == {"before": None, "after": org.rep.pk}
    assert entry.changes["department"] == {"before": None, "after": org.east.pk}


@pytest.mark.django_db
def test_claiming_an_owned_customer_is_already_claimed_and_changes_nothing(org):
    owned = make_customer(org.rep, "已有主")
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.other_rep, customer=owned)
    assert raised.value.code == "already_claimed"
    assert raised.value.status_code == 409
    assert "claimed" in str(raised.value.message)
    assert db_state() == before


@pytest.mark.django_db
def test_roles_that_do_not_sell_cannot_claim(org):
    pool = make_customer(None, "公海客户")
    before = db_state()
    for actor in (org.agent, org.handler, org.analyst):
        with pytest.raises(PermissionDeniedError):
            services.customer_claim(actor=actor, customer=pool)
    assert db_state() == before


@pytest.mark.django_db
def test_the_daily_claim_cap_counts_claims_not_holdings(org):
    _policy(daily_claim_cap=2)
    pools = [make_customer(None, f"公海{i}") for i in range(3)]
    services.customer_claim(actor=org.rep, customer=pools[0])
    services.customer_claim(actor=org.rep, customer=pools[1])
    # giving one back does not give the claim back
    services.customer_release(actor=org.rep, customer=pools[0], reason="无需求")
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.rep, customer=pools[2])
    assert raised.value.code == "daily_cap_reached"
    assert db_state() == before
    # another rep has a day of their own
    services.customer_claim(actor=org.other_rep, customer=pools[2])


@pytest.mark.django_db
def test_the_day_of_the_daily_cap_starts_at_midnight_in_the_deployment_time_zone(org, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai = ZoneInfo("Asia/Shanghai")
    pool = make_customer(None, "公海客户")
    for local in (
        dt.datetime(2026, 3, 1, 23, 59, tzinfo=shanghai),
        dt.datetime(2026, 3, 2, 0, 1, tzinfo=shanghai),
    ):
        AuditEntry.objects.create(
            occurred_at=local,
            actor=org.rep,
            actor_label=org.rep.username,
            action=AuditEntry.Action.ACTION,
            object_type="customers.customer",
            object_id=str(pool.pk),
            note="customer_claimed",
        )
    # 08:00 in Shanghai is 00:00 UTC: a UTC day would count both
    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=shanghai)
    assert pool_claims_today(user=org.rep, now=now) == 1


@pytest.mark.django_db
def test_the_holding_cap_binds_reps_but_not_managers(org):
    _policy(holding_cap=1)
    make_customer(org.rep, "已有")
    make_customer(org.manager, "经理的")
    pool = make_customer(None, "公海客户")
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.rep, customer=pool)
    assert raised.value.code == "holding_cap_reached"
    assert db_state() == before
    assert services.customer_claim(actor=org.manager, customer=pool).owner == org.manager


@pytest.mark.django_db
def test_the_previous_owner_waits_out_the_cooldown_others_do_not(org):
    customer = make_customer(org.rep, "回收的")
    services.customer_release(actor=org.rep, customer=customer, reason="暂不跟进")
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.rep, customer=customer)
    assert raised.value.code == "reclaim_cooldown"
    assert db_state() == before
    # eight days later the rep may take it back
    Customer.objects.filter(pk=customer.pk).update(
        released_at=timezone.now() - dt.timedelta(days=8)
    )
    assert services.customer_claim(actor=org.rep, customer=customer).owner == org.rep


@pytest.mark.django_db
def test_a_colleague_may_claim_a_released_customer_at_once(org):
    customer = make_customer(org.rep, "回收的")
    services.customer_release(actor=org.rep, customer=customer, reason="暂不跟进")
    claimed = services.customer_claim(actor=org.other_rep, customer=customer)
    assert claimed.owner == org.other_rep
    assert claimed.previous_owner == org.rep


# --- release, transfer, hand-over ---------------------------------------------------------------


@pytest.mark.django_db
def test_release_returns_the_customer_to_the_pool_with_reason_and_audit(org):
    customer = make_customer(org.rep, "我的")
    released = services.customer_release(actor=org.rep, customer=customer, reason=" 客户已倒闭 ")
    released.refresh_from_db()
    assert (released.owner, released.department) == (None, None)
    assert released.previous_owner == org.rep
    assert released.released_at is not None
    assert (released.claimed_at, released.protected_until) == (None, None)
    (entry,) = _moves(customer, "customer_released")
    assert entry.changes["reason"] == {"before": None, "after": "客户已倒闭"}
    assert entry.changes["owner"] == {"before": org.rep.pk, "after": None}


@pytest.mark.django_db
def test_release_needs_a_reason_the_owner_and_an_owned_customer(org):
    customer = make_customer(org.rep, "我的")
    pool = make_customer(None, "公海")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.customer_release(actor=org.rep, customer=customer, reason="  ")
    assert list(raised.value.message_dict) == ["reason"]
    with pytest.raises(PermissionDeniedError):
        services.customer_release(actor=org.other_rep, customer=customer, reason="抢")
    with pytest.raises(ApplicationError) as raised:
        services.customer_release(actor=org.manager, customer=pool, reason="再放")
    assert raised.value.code == "in_pool"
    assert db_state() == before
    # a manager may release a rep's customer
    assert services.customer_release(actor=org.manager, customer=customer, reason="调整").in_pool


@pytest.mark.django_db
def test_a_manager_transfers_to_an_active_colleague_with_reason(org):
    customer = make_customer(org.rep, "转出")
    moved = services.customer_transfer(
        actor=org.manager, customer=customer, to_user=org.other_rep, reason="区域调整"
    )
    moved.refresh_from_db()
    assert moved.owner == org.other_rep
    assert moved.department == org.north
    assert moved.previous_owner == org.rep
    assert moved.protected_until - moved.claimed_at == dt.timedelta(days=30)
    (entry,) = _moves(customer, "customer_transferred")
    assert entry.actor == org.manager
    assert entry.changes["owner"] == {"before": org.rep.pk, "after": org.other_rep.pk}
    assert entry.changes["reason"]["after"] == "区域调整"


@pytest.mark.django_db
def test_transfer_refusals_change_nothing(org):
    customer = make_customer(org.rep, "转出")
    gone = UserFactory(username="gone", role=Role.SALES_REP, department=org.east, is_active=False)
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        services.customer_transfer(
            actor=org.rep, customer=customer, to_user=org.other_rep, reason="给同事"
        )
    with pytest.raises(ValidationError) as raised:
        services.customer_transfer(actor=org.manager, customer=customer, to_user=gone, reason="")
    assert set(raised.value.message_dict) == {"reason", "to_user"}
    with pytest.raises(ValidationError) as raised:
        services.customer_transfer(
            actor=org.manager, customer=customer, to_user=org.rep, reason="x"
        )
    assert set(raised.value.message_dict) == {"to_user"}
    assert db_state() == before


@pytest.mark.django_db
def test_hand_over_moves_every_customer_of_a_leaving_rep_in_one_go(org):
    mine = [make_customer(org.rep, f"客户{i}") for i in range(3)]
    services.customer_delete(actor=org.rep, customer=mine[2])
    theirs = make_customer(org.other_rep, "别人的")
    count = services.customers_hand_over(
        actor=org.manager, from_user=org.rep, to_user=org.kam, reason="离职交接"
    )
    assert count == 3
    assert set(Customer.all_objects.filter(owner=org.kam).values_list("pk", flat=True)) == {
        c.pk for c in mine
    }
    assert not Customer.all_objects.filter(owner=org.rep).exists()
    theirs.refresh_from_db()
    assert theirs.owner == org.other_rep
    for customer in mine:
        (entry,) = _moves(customer, "customer_handed_over")
        assert entry.changes["previous_owner"]["after"] == org.rep.pk
        assert entry.changes["reason"]["after"] == "离职交接"


@pytest.mark.django_db
def test_hand_over_refusals_change_nothing(org):
    make_customer(org.rep, "客户")
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        services.customers_hand_over(
            actor=org.rep, from_user=org.rep, to_user=org.other_rep, reason="走了"
        )
    with pytest.raises(ValidationError) as raised:
        services.customers_hand_over(
            actor=org.manager, from_user=org.rep, to_user=org.rep, reason=""
        )
    assert set(raised.value.message_dict) == {"reason", "to_user"}
    assert db_state() == before


@pytest.mark.django_db
def test_an_edit_counts_as_activity(org):
    customer = make_customer(org.rep, "活跃")
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=None)
    customer.refresh_from_db()
    updated = services.customer_update(actor=org.rep, customer=customer, data={"address": "上海"})
    updated.refresh_from_db()
    assert updated.last_activity_at is not None


# --- the API's error contract --------------------------------------------------------------------


@pytest.mark.django_db
def test_claim_api_answers_with_codes(org):
    _policy(daily_claim_cap=1)
    first, second = make_customer(None, "公海一"), make_customer(None, "公海二")
    client = ApiClient(org.rep)
    won = client.post(f"/api/v1/customers/{first.pk}/claim", {})
    assert won.status_code == 200
    assert won.json()["owner_id"] == org.rep.pk
    assert won.json()["protected_until"] is not None
    other = ApiClient(org.other_rep)
    before = db_state()
    # rep2 saw it in the pool a moment ago; now it is out of sight, and the answer says why
    lost = other.post(f"/api/v1/customers/{first.pk}/claim", {})
    assert lost.status_code == 409
    assert lost.json()["code"] == "already_claimed"
    assert other.post("/api/v1/customers/999999/claim", {}).status_code == 404
    capped = client.post(f"/api/v1/customers/{second.pk}/claim", {})
    assert capped.status_code == 400
    assert capped.json()["code"] == "daily_cap_reached"
    assert db_state() == before


@pytest.mark.django_db
def test_claim_api_reports_already_claimed_to_those_who_can_still_see_it(org):
    customer = make_customer(org.rep, "已有主")
    response = ApiClient(org.manager).post(f"/api/v1/customers/{customer.pk}/claim", {})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_claimed"
    assert set(body) == {"message", "code", "fields"}


@pytest.mark.django_db
def test_release_transfer_and_hand_over_need_a_reason(org):
    customer = make_customer(org.rep, "我的")
    manager, rep = ApiClient(org.manager), ApiClient(org.rep)
    before = db_state()
    calls = [
        (rep, f"/api/v1/customers/{customer.pk}/release", {}),
        (manager, f"/api/v1/customers/{customer.pk}/transfer", {"to_user_id": org.kam.pk}),
        (
            manager,
            "/api/v1/customers/hand-over",
            {"from_user_id": org.rep.pk, "to_user_id": org.kam.pk, "reason": " "},
        ),
    ]
    for client, path, body in calls:
        response = client.post(path, body)
        assert response.status_code == 422, path
        assert response.json()["code"] == "invalid"
        assert "reason" in response.json()["fields"]
    assert db_state() == before


@pytest.mark.django_db
def test_transfer_and_hand_over_name_the_bad_user_field(org):
    customer = make_customer(org.rep, "我的")
    manager = ApiClient(org.manager)
    before = db_state()
    response = manager.post(
        f"/api/v1/customers/{customer.pk}/transfer", {"to_user_id": 999999, "reason": "调整"}
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["to_user_id"]
    response = manager.post(
        "/api/v1/customers/hand-over",
        {"from_user_id": 999999, "to_user_id": org.kam.pk, "reason": "离职"},
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["from_user_id"]
    assert db_state() == before


@pytest.mark.django_db
def test_hand_over_api_returns_the_count(org):
    make_customer(org.rep, "一")
    make_customer(org.rep, "二")
    response = ApiClient(org.admin).post(
        "/api/v1/customers/hand-over",
        {"from_user_id": org.rep.pk, "to_user_id": org.other_rep.pk, "reason": "离职"},
    )
    assert response.status_code == 200
    assert response.json() == {"count": 2}


# --- the race ------------------------------------------------------------------------------------


def _claim_race(pool_id: int, rep_ids: list[int]) -> list[str]:
    barrier = threading.Barrier(len(rep_ids))

    def claim(rep_id: int) -> str:
        try:
            rep = User.objects.get(pk=rep_id)
            customer = Customer.objects.get(pk=pool_id)
            barrier.wait(timeout=30)
            services.customer_claim(actor=rep, customer=customer)
            return "won"
        except ApplicationError as error:
            return error.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(rep_ids)) as pool:
        return list(pool.map(claim, rep_ids))


@pytest.mark.django_db
def test_ten_claims_in_turn_leave_one_owner_and_nine_already_claimed(org):
    # SQLite's in-memory test database is shared-cache, where a second writer fails at once
    # ("table is locked") instead of waiting, so the threaded race runs on PostgreSQL only; here
    # the ten claims come one after another from reps who all loaded the pool customer first.
    reps = [
        UserFactory(username=f"racer{i}", role=Role.SALES_REP, department=org.east)
        for i in range(10)
    ]
    pool = make_customer(None, "抢手客户")
    stale = [Customer.objects.get(pk=pool.pk) for _rep in reps]
    results = []
    for rep, customer in zip(reps, stale, strict=True):
        try:
            services.customer_claim(actor=rep, customer=customer)
            results.append("won")
        except ApplicationError as error:
            results.append(error.code)
    assert results == ["won"] + ["already_claimed"] * 9
    pool.refresh_from_db()
    assert pool.owner == reps[0]
    assert len(_moves(pool, "customer_claimed")) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_reps_claiming_one_pool_customer_at_once_one_wins(postgresql, org):
    # given ten reps (one more than the pool entries of the org) and one pool customer
    reps = [
        UserFactory(username=f"racer{i}", role=Role.SALES_REP, department=org.east)
        for i in range(10)
    ]
    pool = make_customer(None, "抢手客户")
    # when all ten claim it at the same moment, each on its own connection
    results = _claim_race(pool.pk, [rep.pk for rep in reps])
    # then exactly one owns it and nine were told it is gone
    assert sorted(results) == ["already_claimed"] * 9 + ["won"]
    pool.refresh_from_db()
    winner = reps[results.index("won")]
    assert pool.owner_id == winner.pk
    assert pool.version == 2
    assert len(_moves(pool, "customer_claimed")) == 1


# --- recycling -----------------------------------------------------------------------------------


def _idle(customer: Customer, *, days: int, protected_days: int | None = None) -> None:
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        last_activity_at=now - dt.timedelta(days=days),
        protected_until=None if protected_days is None else now + dt.timedelta(days=protected_days),
    )


@pytest.mark.django_db
def test_recycling_returns_idle_unprotected_customers_once_and_audits_them(org):
    idle = make_customer(org.rep, "沉睡客户")
    busy = make_customer(org.rep, "活跃客户")
    protected = make_customer(org.rep, "保护期内")
    dealt = make_customer(org.rep, "已成交", lifecycle=Customer.Lifecycle.CLOSED)
    _idle(idle, days=91)
    _idle(busy, days=89)
    _idle(protected, days=120, protected_days=3)
    _idle(dealt, days=200)
    # the warning list: due now, due tomorrow, protected for three more days; never the deal
    assert set(customers_recycle_upcoming()) == {idle, busy, protected}
    # when
    assert services.customers_recycle() == 1
    # then
    idle.refresh_from_db()
    assert idle.in_pool
    assert idle.previous_owner == org.rep
    (entry,) = _moves(idle, "customer_recycled")
    assert entry.actor is None and entry.actor_label == "system"
    for kept in (busy, protected, dealt):
        kept.refresh_from_db()
        assert kept.owner == org.rep
    # and a rerun changes nothing; the rep waits out the cooldown
    before = db_state()
    assert services.customers_recycle() == 0
    assert db_state() == before
    with pytest.raises(ApplicationError) as raised:
        services.customer_claim(actor=org.rep, customer=idle)
    assert raised.value.code == "reclaim_cooldown"


@pytest.mark.django_db
def test_the_warning_list_shows_what_recycling_takes_within_the_warning_days(org):
    soon = make_customer(org.rep, "快到期")
    later = make_customer(org.rep, "还早")
    _idle(soon, days=85)
    _idle(later, days=80)
    assert list(customers_recycle_upcoming()) == [soon]


def test_the_recycle_job_is_scheduled():
    from guanxi.core.schedule import SCHEDULE, validate_schedule

    validate_schedule()
    assert "guanxi.customers.tasks.customers_recycle_task" in {job.task for job in SCHEDULE}


@pytest.mark.django_db
def test_the_recycle_task_runs_the_service(org):
    from guanxi.customers.tasks import customers_recycle_task

    idle = make_customer(org.rep, "沉睡客户")
    _idle(idle, days=100)
    assert customers_recycle_task.call() == 1
