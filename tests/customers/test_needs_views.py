"""The needs pages: the Needs card on the customer page (with and without HTMX), the need form
with its errors and conflicts, the need's page with its history, and the cross-customer needs
page with the unmet view, filters, grouping and keyset pages."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from guanxi.customers import services
from guanxi.customers.models import Need, NeedNote
from tests.conftest import Org, login_client
from tests.customers.conftest import db_state, make_customer, make_need, need_category

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LIST = "/customers/needs/"


def _text(response) -> str:
    return response.content.decode()


# --- the Needs card on the customer page --------------------------------------------------------


def test_the_customer_page_shows_its_open_needs_and_offers_writes_to_writers(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    make_need(customer, "低优先", priority="low")
    make_need(customer, "高优先", priority="high", fit_status="unmet")
    services.need_close(actor=org.rep, need=make_need(customer, "早已关闭"))
    body = _text(login_client(org.rep, language="en").get(f"/customers/{customer.pk}/"))
    card = body[body.index('data-testid="needs-card"') :]
    # urgent first, closed ones counted, not listed
    assert card.index("高优先") < card.index("低优先")
    assert "早已关闭" not in card
    assert "1 closed need" in card
    assert f"/customers/{customer.pk}/needs/new/" in card
    # a read-only viewer sees the needs, not the buttons
    body = _text(login_client(org.analyst).get(f"/customers/{customer.pk}/"))
    assert "高优先" in body
    assert f"/customers/{customer.pk}/needs/new/" not in body
    assert "/close/" not in body


def test_closing_from_the_card_with_htmx_swaps_the_row(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    client = login_client(org.rep, language="en")
    response = client.post(
        f"/customers/needs/{need.pk}/close/",
        {"version": need.version, "from": "customer"},
        headers=HTMX,
    )
    assert response.status_code == 200
    body = _text(response)
    assert body.lstrip().startswith(f'<div class="list-group-item" id="need-{need.pk}"')
    assert "Reopen" in body and 'data-testid="need-closed"' in body
    need.refresh_from_db()
    assert need.status == "closed"
    # a stale version comes back in the row, changing nothing
    before = db_state()
    response = client.post(
        f"/customers/needs/{need.pk}/reopen/", {"version": 1, "from": "customer"}, headers=HTMX
    )
    assert response.status_code == 200
    assert 'data-testid="need-error"' in _text(response)
    assert db_state() == before


def test_closing_without_javascript_returns_to_the_page_it_came_from(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    client = login_client(org.rep)
    response = client.post(
        f"/customers/needs/{need.pk}/close/", {"version": need.version, "from": "customer"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{need.customer_id}/#need-{need.pk}"
    response = client.post(f"/customers/needs/{need.pk}/reopen/", {"version": 2})
    assert response["Location"] == f"/customers/needs/{need.pk}/"
    # no version: refused with a message, nothing changed
    before = db_state()
    response = client.post(
        f"/customers/needs/{need.pk}/close/", {}, follow=True, headers={"Accept-Language": "en"}
    )
    assert "out of date" in _text(response)
    assert db_state() == before


# --- the form -----------------------------------------------------------------------------------


def test_filing_through_the_form(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    client = login_client(org.rep)
    form = client.get(f"/customers/{customer.pk}/needs/new/")
    assert form.status_code == 200
    # a rep may name only themselves as the plan owner
    assert re.findall(r'name="plan_owner".*?</select>', _text(form), re.S)[0].count("<option") == 2
    response = client.post(
        f"/customers/{customer.pk}/needs/new/",
        {
            "title": "等保三级报告",
            "category": need_category("compliance").pk,
            "priority": "high",
            "source": "tender",
            "fit_status": "unmet",
            "solution": "委托测评机构",
            "plan_owner": org.rep.pk,
            "plan_due_date": str(timezone.localdate()),
            "quantity": "1",
            "note": "招标文件要求",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/#needs"
    need = Need.objects.get()
    assert (need.fit_status, need.plan_owner, need.quantity) == ("unmet", org.rep, 1)
    assert NeedNote.objects.get().text == "招标文件要求"


def test_a_gap_without_a_plan_comes_back_with_the_fields_marked(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    before = db_state()
    response = login_client(org.rep).post(
        f"/customers/{customer.pk}/needs/new/",
        {
            "title": "防护等级",
            "category": need_category().pk,
            "priority": "medium",
            "source": "other",
            "fit_status": "partial",
            "quantity": "-2",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"solution", "plan_owner", "plan_due_date", "quantity"}
    assert db_state() == before


def test_a_stale_edit_shows_both_values_and_saves_nothing(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    services.need_update(actor=org.manager, need=need, data={"title": "经理改的"})
    before = db_state()
    response = login_client(org.rep).post(
        f"/customers/needs/{need.pk}/edit/",
        {
            "version": 1,
            "title": "我改的",
            "category": need.category_id,
            "priority": need.priority,
            "source": need.source,
            "fit_status": need.fit_status,
            "note": "不应保存",
        },
    )
    assert response.status_code == 409
    assert 'data-testid="conflict"' in _text(response)
    assert "经理改的" in _text(response) and "我改的" in _text(response)
    assert db_state() == before


def test_an_edit_that_drops_the_gap_drops_the_plan(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), fit_status="partial")
    response = login_client(org.rep).post(
        f"/customers/needs/{need.pk}/edit/",
        {
            "version": need.version,
            "title": need.title,
            "category": need.category_id,
            "priority": need.priority,
            "source": need.source,
            "fit_status": "met",
            "solution": need.solution,
            "plan_owner": need.plan_owner_id,
            "plan_due_date": str(need.plan_due_date),
        },
    )
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.fit_status, need.plan_owner_id, need.plan_due_date) == ("met", None, None)


# --- the need's page ----------------------------------------------------------------------------


def test_the_need_page_shows_changes_and_notes(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), note="第一次沟通")
    services.need_update(actor=org.rep, need=need, data={"priority": "high"})
    client = login_client(org.rep)
    response = client.post(f"/customers/needs/{need.pk}/notes/", {"text": "客户确认数量"})
    assert response["Location"] == f"/customers/needs/{need.pk}/#history"
    body = _text(client.get(f"/customers/needs/{need.pk}/"))
    assert body.count('data-testid="need-note"') == 2
    assert body.count('data-testid="need-change"') == 2
    assert body.index("客户确认数量") < body.index("第一次沟通")
    # an empty note is an error on the page, nothing added
    before = db_state()
    response = client.post(f"/customers/needs/{need.pk}/notes/", {"text": " "})
    assert response.status_code == 400
    assert db_state() == before


def test_a_deleted_need_is_gone_from_its_pages(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    client = login_client(org.rep)
    response = client.post(f"/customers/needs/{need.pk}/delete/")
    assert response["Location"] == f"/customers/{need.customer_id}/#needs"
    assert client.get(f"/customers/needs/{need.pk}/").status_code == 404
    assert client.get(f"/customers/needs/{need.pk}/edit/").status_code == 404


# --- the needs page -----------------------------------------------------------------------------


@pytest.fixture
def spread(org: Org) -> dict[str, Need]:
    mine = make_customer(org.rep, "华东客户")
    return {
        "delivery": make_need(
            mine, "分批交付", category=need_category("delivery"), fit_status="partial"
        ),
        "product": make_need(mine, "IP65", category=need_category("product"), fit_status="unmet"),
        "met": make_need(mine, "送货上门", category=need_category("delivery"), fit_status="met"),
        "theirs": make_need(
            make_customer(org.other_rep, "华北客户"), "别人的需求", fit_status="unmet"
        ),
    }


def test_the_needs_page_groups_by_category_inside_the_scope(org: Org, spread) -> None:
    response = login_client(org.rep).get(LIST)
    assert response.status_code == 200
    body = _text(response)
    assert "别人的需求" not in body
    groups = re.findall(r'data-testid="need-group"><th colspan="7">([^<]+)<', body)
    assert groups == ["产品功能", "交付与物流"]
    # the unmet view: product 1 (unmet), delivery 1 (partly met); the met need is not counted
    totals = re.findall(r'data-testid="unmet-total">(\d+)<', body)
    assert totals == ["1", "1"]
    # the manager sees both reps'
    body = _text(login_client(org.manager).get(LIST))
    assert "别人的需求" in body


def test_the_needs_page_filters_and_htmx_updates_the_summary_too(org: Org, spread) -> None:
    client = login_client(org.manager)
    response = client.get(LIST, {"owner": org.rep.pk, "fit_status": "unmet_any"}, headers=HTMX)
    body = _text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="unmet-summary"' in body and 'hx-swap-oob="true"' in body
    assert "分批交付" in body and "IP65" in body
    assert "送货上门" not in body and "别人的需求" not in body
    # a filter value that does not parse is ignored, never an error page
    assert client.get(LIST, {"category": "abc", "owner": "x", "customer": "-1"}).status_code == 200


def test_the_needs_page_pages_with_a_cursor_and_does_not_repeat_a_heading(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    for index in range(3):
        make_need(customer, f"需求{index}", category=need_category("delivery"))
    client = login_client(org.rep)
    from guanxi.customers import views

    original = views.NEEDS_PAGE_SIZE
    views.NEEDS_PAGE_SIZE = 2
    try:
        first = _text(client.get(LIST))
        more = re.search(r'hx-get="\?([^"]+)"', first).group(1).replace("&amp;", "&")
        second = client.get(f"{LIST}?{more}", headers=HTMX)
    finally:
        views.NEEDS_PAGE_SIZE = original
    assert first.count('data-testid="need-row"') == 2
    body = _text(second)
    assert body.count('data-testid="need-row"') == 1
    assert 'data-testid="need-group"' not in body  # still 交付与物流
    bad = client.get(LIST, {"cursor": "garbage"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 200 and "invalid or expired" in _text(bad)


# Pinned: session, user, role setting, the data scope's department, the filter form's choices
# (owners, categories), the page of needs with their customers, categories and plan owners
# joined, the unmet view's counts and its categories. A query per row shows up here.
NEEDS_PAGE_QUERIES = 9


def test_the_needs_page_query_count_does_not_grow_with_the_rows(
    org: Org, django_assert_num_queries
) -> None:
    customers = [make_customer(org.rep, f"客户{i}") for i in range(3)]
    client = login_client(org.manager)
    client.get(LIST)

    def add(count: int, start: int) -> None:
        for index in range(start, start + count):
            make_need(
                customers[index % 3],
                f"需求{index}",
                category=need_category(("product", "delivery", "price")[index % 3]),
                fit_status=("partial", "unmet", "met")[index % 3],
            )

    add(3, 0)
    with django_assert_num_queries(NEEDS_PAGE_QUERIES):
        assert client.get(LIST).status_code == 200
    add(12, 3)
    with django_assert_num_queries(NEEDS_PAGE_QUERIES):
        response = client.get(LIST)
    assert _text(response).count('data-testid="need-row"') == 15


def test_the_navigation_marks_needs_not_customers_on_the_needs_page(org: Org) -> None:
    body = _text(login_client(org.rep).get(LIST))
    active = re.findall(r'<li class="nav-item active">\s*<a class="nav-link" href="([^"]+)"', body)
    assert active == ["/customers/needs/"]
    body = _text(login_client(org.rep).get("/customers/"))
    active = re.findall(r'<li class="nav-item active">\s*<a class="nav-link" href="([^"]+)"', body)
    assert active == ["/customers/"]


def test_the_category_page_adds_and_edits_for_administrators(org: Org) -> None:
    client = login_client(org.admin)
    response = client.post(
        "/customers/needs/categories/",
        {"code": "safety", "name": "安全", "sort_order": 5, "is_active": "on"},
    )
    assert response.status_code == 302
    before = db_state()
    response = client.post(
        "/customers/needs/categories/", {"code": "safety", "name": "安全", "sort_order": 5}
    )
    assert response.status_code == 400 and db_state() == before
    body = _text(login_client(org.rep).get("/customers/needs/categories/"))
    assert "安全" in body and 'data-testid="need-category-form"' not in body
