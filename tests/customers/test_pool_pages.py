"""The pool, bulk actions and list pages: claim, release, transfer, hand-over, pool rules, the
list's tabs, sort and recycle warning, and the bulk actions with their confirmation step.

The permission matrix follows test_views_permissions (same records, same actors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Customer, PoolPolicy, Tag
from tests.conftest import Org, login_client
from tests.customers.conftest import db_state, make_customer
from tests.customers.test_views_permissions import (
    ACTORS,
    EVERYONE_200,
    ROLES,
    Case,
    _owned_write,
    _pool_write,
    check_page_case,
)

pytestmark = pytest.mark.django_db

LIST = "/customers/"


def en_client(user: Any) -> Client:
    """A signed-in client whose browser asks for English, for asserting on messages."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _names(response: Any) -> list[str]:
    return [customer.name for customer in response.context["page"].items]


# --- permission matrix --------------------------------------------------------------------------

CLAIMERS = {"administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider"}
MANAGERS = {"administrator", "sales_manager"}


def _claimers(ok: int) -> dict[str, int]:
    return {key: ok if key in CLAIMERS else 403 for key in ROLES}


def _managers(ok: int) -> dict[str, int]:
    return {key: ok if key in MANAGERS else 403 for key in ROLES}


def _bulk(action: str, **extra: Any) -> Any:
    return lambda r: {"ids": [r.owned.pk], "action": action, "confirm": "1", **extra}


# Someone else's customer cannot be claimed: those who see it, and those who do not but may
# claim, get the list back with a message (302), and nothing changes.
PAGE_CASES = [
    Case(
        "claim-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/claim/",
        lambda r: {},
        _claimers(302),
        True,
    ),
    Case(
        "claim-owned",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/claim/",
        lambda r: {},
        _claimers(302),
        False,
    ),
    Case(
        "release-get",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/release/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "release",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/release/",
        lambda r: {"reason": "客户已转给代理商"},
        _owned_write(302),
        True,
    ),
    Case(
        "release-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/release/",
        lambda r: {"reason": "已在公海"},
        _pool_write(302),
        False,
    ),
    Case(
        "transfer-get",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/transfer/",
        None,
        _managers(200),
        False,
    ),
    Case(
        "transfer",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/transfer/",
        lambda r: {
            "to_user": r.owned.owner.__class__.objects.get(username="rep2").pk,
            "reason": "区域调整",
        },
        _managers(302),
        True,
    ),
    Case("hand-over-get", "GET", lambda r: "/customers/hand-over/", None, _managers(200), False),
    Case(
        "hand-over",
        "POST",
        lambda r: "/customers/hand-over/",
        lambda r: {
            "from_user": r.owned.owner_id,
            "to_user": r.owned.owner.__class__.objects.get(username="rep2").pk,
            "reason": "离职交接",
        },
        _managers(302),
        True,
    ),
    Case("pool-policy-get", "GET", lambda r: "/customers/pool-policy/", None, EVERYONE_200, False),
    Case(
        "pool-policy",
        "POST",
        lambda r: "/customers/pool-policy/",
        lambda r: {
            "version": PoolPolicy.objects.get().version,
            "daily_claim_cap": 5,
            "holding_cap": 100,
            "protection_days": 10,
            "reclaim_cooldown_days": 3,
            "recycle_after_days": 60,
            "warn_days_before": 5,
        },
        {**dict.fromkeys(ROLES, 403), "administrator": 302},
        True,
    ),
    # Without "confirm" the bulk form only shows what it would do.
    Case(
        "bulk-review",
        "POST",
        lambda r: "/customers/bulk/",
        lambda r: {"ids": [r.owned.pk], "action": "tag_add"},
        EVERYONE_200,
        False,
    ),
    # Confirmed: those who may write the customer tag it; the analyst sees it read-only, the
    # rest do not see it at all: the page comes back with the error, nothing changes.
    Case(
        "bulk-tag",
        "POST",
        lambda r: "/customers/bulk/",
        lambda r: {
            "ids": [r.owned.pk],
            "action": "tag_add",
            "tag": Tag.objects.get(name="高意向客户").pk,
            "confirm": "1",
        },
        {
            **dict.fromkeys(ROLES, 400),
            **dict.fromkeys(("administrator", "sales_manager", "sales_rep"), 302),
        },
        True,
    ),
    Case(
        "bulk-release",
        "POST",
        lambda r: "/customers/bulk/",
        _bulk("release", reason="批量退回"),
        {
            **dict.fromkeys(ROLES, 400),
            **dict.fromkeys(("administrator", "sales_manager", "sales_rep"), 302),
        },
        True,
    ),
]


@pytest.mark.parametrize("case", PAGE_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_pool_page_permissions(org: Org, case: Case, actor: str) -> None:
    check_page_case(org, case, actor)


# --- claim, release, transfer -------------------------------------------------------------------


def test_a_rep_claims_a_pool_customer_from_the_list(org: Org) -> None:
    pool = make_customer(None, "公海客户有限公司")
    client = login_client(org.rep)
    page = client.get(LIST, {"in_pool": "1"}).content.decode()
    assert f"/customers/{pool.pk}/claim/" in page
    response = client.post(
        f"/customers/{pool.pk}/claim/", {"from": "list", "next": "in_pool=1&cursor=abc"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/customers/?in_pool=1"
    pool.refresh_from_db()
    assert pool.owner == org.rep
    assert pool.protected_until is not None


def test_a_claim_that_lost_the_race_says_so_and_changes_nothing(org: Org) -> None:
    pool = make_customer(None, "公海客户有限公司")
    en_client(org.other_rep).post(f"/customers/{pool.pk}/claim/")
    before = db_state()
    client = en_client(org.rep)
    response = client.post(f"/customers/{pool.pk}/claim/", follow=True)
    assert "Someone else has just claimed this customer" in response.content.decode()
    assert db_state() == before


def test_the_daily_cap_is_a_message_not_an_error_page(org: Org) -> None:
    PoolPolicy.objects.update(daily_claim_cap=1)
    first, second = make_customer(None, "甲公司"), make_customer(None, "乙公司")
    client = en_client(org.rep)
    client.post(f"/customers/{first.pk}/claim/")
    response = client.post(f"/customers/{second.pk}/claim/", follow=True)
    assert response.status_code == 200
    assert "the daily limit" in response.content.decode()
    second.refresh_from_db()
    assert second.owner is None


def test_release_needs_a_reason_and_then_puts_the_customer_in_the_pool(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    before = db_state()
    response = client.post(f"/customers/{customer.pk}/release/", {"reason": "  "})
    assert response.status_code == 400
    assert db_state() == before
    response = client.post(f"/customers/{customer.pk}/release/", {"reason": "预算取消"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.owner is None and customer.previous_owner == org.rep
    entry = AuditEntry.objects.filter(note="customer_released").get()
    assert entry.changes["reason"]["after"] == "预算取消"


def test_a_manager_transfers_a_customer_and_the_history_says_why(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = en_client(org.manager)
    form = client.get(f"/customers/{customer.pk}/transfer/")
    assert org.other_rep.get_full_name() in form.content.decode()
    response = client.post(
        f"/customers/{customer.pk}/transfer/", {"to_user": org.other_rep.pk, "reason": "区域调整"}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.owner == org.other_rep
    detail = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Transferred to another owner" in detail


def test_transfer_to_the_current_owner_is_a_field_error(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    response = en_client(org.manager).post(
        f"/customers/{customer.pk}/transfer/", {"to_user": org.rep.pk, "reason": "重复"}
    )
    assert response.status_code == 400
    assert "already owns" in response.content.decode()
    assert db_state() == before


def test_hand_over_moves_everything_a_leaver_owns(org: Org) -> None:
    mine = [make_customer(org.rep, f"客户{n}") for n in range(3)]
    kept = make_customer(org.other_rep, "别人的客户")
    response = login_client(org.manager).post(
        "/customers/hand-over/",
        {"from_user": org.rep.pk, "to_user": org.other_rep.pk, "reason": "离职"},
    )
    assert response.status_code == 302
    assert Customer.objects.filter(owner=org.other_rep).count() == len(mine) + 1
    kept.refresh_from_db()
    assert kept.owner == org.other_rep


def test_the_detail_page_offers_what_the_user_may_do(org: Org) -> None:
    pool = make_customer(None, "公海客户有限公司")
    owned = make_customer(org.rep, "华为技术有限公司")
    rep = login_client(org.rep)
    pool_page = rep.get(f"/customers/{pool.pk}/").content.decode()
    assert f"/customers/{pool.pk}/claim/" in pool_page
    owned_page = rep.get(f"/customers/{owned.pk}/").content.decode()
    assert f"/customers/{owned.pk}/release/" in owned_page
    assert f"/customers/{owned.pk}/transfer/" not in owned_page
    assert 'data-testid="recycle-at"' in owned_page
    manager_page = login_client(org.manager).get(f"/customers/{owned.pk}/").content.decode()
    assert f"/customers/{owned.pk}/transfer/" in manager_page
    analyst_page = login_client(org.analyst).get(f"/customers/{pool.pk}/").content.decode()
    assert f"/customers/{pool.pk}/claim/" not in analyst_page


def test_pool_rules_are_read_only_for_everyone_but_administrators(org: Org) -> None:
    page = en_client(org.rep).get("/customers/pool-policy/").content.decode()
    assert "Only administrators change these rules." in page
    start = page.index('data-testid="pool-policy-form"')
    form = page[start : page.index("</form>", start)]
    assert form.count("disabled") == 7  # the six rules and the version
    assert "<button" not in form


def test_pool_rules_edit_checks_the_rules_and_the_version(org: Org) -> None:
    client = login_client(org.admin)
    policy = PoolPolicy.objects.get()
    data = {
        "version": policy.version,
        "daily_claim_cap": 5,
        "holding_cap": 100,
        "protection_days": 10,
        "reclaim_cooldown_days": 3,
        "recycle_after_days": 30,
        "warn_days_before": 30,
    }
    before = db_state()
    assert client.post("/customers/pool-policy/", data).status_code == 400
    assert db_state() == before
    assert (
        client.post("/customers/pool-policy/", {**data, "warn_days_before": 7}).status_code == 302
    )
    assert PoolPolicy.objects.get().daily_claim_cap == 5
    stale = client.post("/customers/pool-policy/", {**data, "warn_days_before": 6})
    assert stale.status_code == 409
    assert PoolPolicy.objects.get().warn_days_before == 7


# --- list: tabs, sort, recycle warning ----------------------------------------------------------


def test_the_tabs_narrow_the_list(org: Org) -> None:
    make_customer(org.rep, "我的客户")
    make_customer(None, "公海客户")
    make_customer(org.other_rep, "同事的客户", actor=org.manager)
    client = login_client(org.rep)
    assert sorted(_names(client.get(LIST))) == ["公海客户", "我的客户"]
    assert _names(client.get(LIST, {"in_pool": "1"})) == ["公海客户"]
    assert _names(client.get(LIST, {"owner": org.rep.pk})) == ["我的客户"]
    assert client.get(LIST, {"in_pool": "1"}).context["tab"] == "pool"


def test_sort_by_name_and_an_unknown_sort_falls_back(org: Org) -> None:
    for name in ("乙公司", "甲公司", "丙公司"):
        make_customer(org.rep, name)
    client = login_client(org.rep)
    names = _names(client.get(LIST, {"sort": "name"}))
    assert names == sorted(names)
    assert _names(client.get(LIST, {"sort": "-name"})) == sorted(names, reverse=True)
    assert client.get(LIST, {"sort": "drop table"}).status_code == 200


def test_customers_due_for_recycling_are_announced_and_listed(org: Org) -> None:
    quiet = make_customer(org.rep, "沉睡客户")
    make_customer(org.rep, "活跃客户")
    deal = make_customer(org.rep, "成交客户", lifecycle="closed")
    long_ago = timezone.now() - dt.timedelta(days=89)
    Customer.objects.filter(pk__in=[quiet.pk, deal.pk]).update(
        last_activity_at=long_ago, protected_until=None
    )
    client = login_client(org.rep)
    page = client.get(LIST)
    assert page.context["recycle_due_count"] == 1
    assert 'data-testid="recycle-warning"' in page.content.decode()
    assert _names(client.get(LIST, {"recycle_due": "1"})) == ["沉睡客户"]
    # The manager sees it in the list too, but the warning counts the user's own customers.
    assert login_client(org.manager).get(LIST).context["recycle_due_count"] == 0


# --- bulk actions -------------------------------------------------------------------------------


def test_bulk_review_lists_the_customers_and_changes_nothing(org: Org) -> None:
    customers = [make_customer(org.rep, f"客户{n}") for n in range(3)]
    tag = Tag.objects.get(name="高意向客户")
    before = db_state()
    response = login_client(org.rep).post(
        "/customers/bulk/",
        {"ids": [c.pk for c in customers], "action": "tag_add", "tag": tag.pk, "next": "q=客户"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert all(c.name in body for c in customers)
    assert 'name="confirm"' in body
    assert db_state() == before


def test_bulk_tag_add_and_remove_audit_each_customer(org: Org) -> None:
    customers = [make_customer(org.rep, f"客户{n}") for n in range(3)]
    tag = Tag.objects.get(name="高意向客户")
    client = login_client(org.rep)
    data = {"ids": [c.pk for c in customers], "tag": tag.pk, "confirm": "1", "next": "q=客户"}
    response = client.post("/customers/bulk/", {**data, "action": "tag_add"})
    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=%E5%AE%A2%E6%88%B7"
    assert all(tag in c.tags.all() for c in customers)
    updates = AuditEntry.objects.filter(action="update", changes__has_key="tags")
    assert updates.count() == 3
    client.post("/customers/bulk/", {**data, "action": "tag_remove"})
    assert not any(tag in c.tags.all() for c in customers)


def test_a_bulk_action_with_one_forbidden_customer_changes_none(org: Org) -> None:
    mine = make_customer(org.rep, "我的客户")
    pool = make_customer(None, "公海客户")  # visible to the rep, but only managers write it
    tag = Tag.objects.get(name="高意向客户")
    before = db_state()
    response = en_client(org.rep).post(
        "/customers/bulk/",
        {"ids": [mine.pk, pool.pk], "action": "tag_add", "tag": tag.pk, "confirm": "1"},
    )
    assert response.status_code == 400
    assert "Nothing changed" in response.content.decode()
    assert db_state() == before


def test_bulk_transfer_is_for_managers_and_needs_a_reason(org: Org) -> None:
    customers = [make_customer(org.rep, f"客户{n}") for n in range(2)]
    ids = [c.pk for c in customers]
    before = db_state()
    rep = login_client(org.rep).post(
        "/customers/bulk/",
        {
            "ids": ids,
            "action": "transfer",
            "to_user": org.other_rep.pk,
            "reason": "调整",
            "confirm": "1",
        },
    )
    assert rep.status_code == 400  # the rep's form does not offer transfers
    manager = login_client(org.manager)
    no_reason = manager.post(
        "/customers/bulk/",
        {"ids": ids, "action": "transfer", "to_user": org.other_rep.pk, "confirm": "1"},
    )
    assert no_reason.status_code == 400
    assert db_state() == before
    done = manager.post(
        "/customers/bulk/",
        {
            "ids": ids,
            "action": "transfer",
            "to_user": org.other_rep.pk,
            "reason": "区域调整",
            "confirm": "1",
        },
    )
    assert done.status_code == 302
    assert set(Customer.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {
        org.other_rep.pk
    }
    assert AuditEntry.objects.filter(note="customer_transferred").count() == 2


def test_bulk_release_skips_pool_customers_and_counts_the_rest(org: Org) -> None:
    owned = [make_customer(org.rep, f"客户{n}") for n in range(2)]
    pool = make_customer(None, "公海客户")
    response = en_client(org.manager).post(
        "/customers/bulk/",
        {
            "ids": [*(c.pk for c in owned), pool.pk],
            "action": "release",
            "reason": "清理",
            "confirm": "1",
        },
        follow=True,
    )
    assert "2 customers went back to the pool." in response.content.decode()
    assert Customer.objects.filter(owner__isnull=True).count() == 3


def test_bulk_without_ticked_rows_says_so(org: Org) -> None:
    response = en_client(org.rep).post("/customers/bulk/", {"action": "tag_add"})
    assert response.status_code == 400
    assert "Tick at least one customer" in response.content.decode()


# --- bulk actions through the API ---------------------------------------------------------------


def test_api_bulk_errors_follow_the_contract_and_change_nothing(org: Org) -> None:
    from tests.conftest import ApiClient

    mine = make_customer(org.rep, "我的客户")
    hidden = make_customer(org.other_rep, "同事的客户", actor=org.manager)
    api = ApiClient(org.rep)
    before = db_state()
    no_reason = api.post("/api/v1/customers/bulk", {"action": "release", "ids": [mine.pk]})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json()["fields"]
    no_tag = api.post("/api/v1/customers/bulk", {"action": "tag_add", "ids": [mine.pk]})
    assert no_tag.status_code == 422 and "tag_id" in no_tag.json()["fields"]
    outside = api.post(
        "/api/v1/customers/bulk",
        {"action": "release", "ids": [mine.pk, hidden.pk], "reason": "清理"},
    )
    assert outside.status_code == 404
    too_many = api.post(
        "/api/v1/customers/bulk", {"action": "release", "ids": list(range(1, 502)), "reason": "x"}
    )
    assert too_many.status_code == 422 and "ids" in too_many.json()["fields"]
    assert db_state() == before
    done = api.post(
        "/api/v1/customers/bulk", {"action": "release", "ids": [mine.pk], "reason": "清理"}
    )
    assert done.status_code == 200 and done.json() == {"count": 1}


# --- the timeline -------------------------------------------------------------------------------


def test_the_timeline_names_people_tags_and_choices_instead_of_ids(org: Org) -> None:
    from guanxi.customers import services

    customer = make_customer(org.rep, "华为技术有限公司", industry="I")
    tag = Tag.objects.get(name="高意向客户")
    services.customer_update(
        actor=org.rep, customer=customer, data={"lifecycle": "intent"}, expected_version=1
    )
    services.customer_tags_set(actor=org.rep, customer=customer, tags=[tag.pk])
    customer.refresh_from_db()
    services.customer_transfer(
        actor=org.manager, customer=customer, to_user=org.other_rep, reason="区域调整"
    )
    body = en_client(org.manager).get(f"/customers/{customer.pk}/").content.decode()
    timeline = body[body.index('data-testid="customer-history"') :]
    assert "Potential → Intent" in timeline
    assert "— → 高意向客户" in timeline
    assert f"{org.rep.get_full_name()} → {org.other_rep.get_full_name()}" in timeline
    assert "Reason: — → 区域调整" in timeline
    assert "Transferred to another owner" in timeline
    assert "信息传输、软件和信息技术服务业" in timeline  # industry I, named on creation


def test_the_timeline_does_not_name_customers_outside_the_viewers_scope(org: Org) -> None:
    from guanxi.customers import services

    mine = make_customer(org.rep, "甲方有限公司")
    secret = make_customer(org.other_rep, "乙方秘密集团有限公司", actor=org.manager)
    services.customer_update(
        actor=org.admin, customer=mine, data={"parent": secret.pk}, expected_version=1
    )
    mine.refresh_from_db()
    services.customer_update(
        actor=org.admin, customer=mine, data={"parent": None}, expected_version=mine.version
    )
    rep_page = en_client(org.rep).get(f"/customers/{mine.pk}/").content.decode()
    assert "乙方秘密集团有限公司" not in rep_page
    assert "a record you cannot see" in rep_page
    manager_page = en_client(org.manager).get(f"/customers/{mine.pk}/").content.decode()
    assert "乙方秘密集团有限公司" in manager_page
    # a deleted parent is no longer named either
    services.customer_delete(actor=org.manager, customer=secret)
    assert (
        "乙方秘密集团有限公司"
        not in en_client(org.manager).get(f"/customers/{mine.pk}/").content.decode()
    )
