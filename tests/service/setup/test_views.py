"""The set-up pages as an administrator uses them: the tabs (whole page, or the tab alone for
HTMX), the usual set-up button, the tester, and the services' refusals shown on the forms."""

from __future__ import annotations

import pytest

from guanxi.service.models import RoutingRule, ServiceTeam
from guanxi.service.setup import services
from tests.conftest import Org, login_client
from tests.service.setup.conftest import category, db_state, make_customer, policy, records

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_page_shows_each_tab_and_htmx_gets_the_tab_alone(org: Org):
    recs = records(org)
    client = login_client(org.admin, language="en")
    page = client.get("/service/setup/").content.decode()
    assert "<html" in page and "产品质量" in page and 'data-testid="setup-tabs"' in page
    tab = client.get("/service/setup/teams/", **HTMX)
    body = tab.content.decode()
    assert tab.status_code == 200
    assert "<html" not in body and 'data-testid="setup-tabs"' in body
    assert "客服中心" in body and "09:00–18:00 (Asia/Shanghai)" in body
    assert recs.team.lead.full_name in body
    assert tab["Vary"] and "HX-Request" in tab["Vary"]


def test_the_sla_tab_shows_targets_in_hours_and_minutes(org: Org):
    services.sla_policy_create(
        actor=org.admin,
        name="九十分钟",
        priority="low",
        response_minutes=90,
        resolution_minutes=45 * 60,
    )
    body = login_client(org.admin, language="en").get("/service/setup/sla/").content.decode()
    assert "24 h" in body and "48 h" in body  # the standard promise
    assert "1 h 30 min" in body and "45 h" in body
    assert "Strategic key account" in body  # the key-account policy's condition in words


def test_the_usual_set_up_is_offered_until_rules_exist(org: Org):
    client = login_client(org.admin, language="en")
    assert 'data-testid="defaults-button"' in client.get("/service/setup/routing/").content.decode()
    response = client.post("/service/setup/routing/defaults/", follow=True)
    body = response.content.decode()
    assert "4 new routing rules" in body
    assert "产品质量 → 技术部 (Least loaded)" in body
    assert 'data-testid="defaults-button"' not in body
    assert RoutingRule.objects.count() == 4


def test_the_tester_shows_rule_policy_and_deadlines(org: Org):
    services.service_defaults_ensure(actor=org.admin)
    customer = make_customer(org.rep, "深圳某公司", region_code="440300")
    client = login_client(org.admin, language="en")
    query = {
        "category": category("logistics_delay").pk,
        "priority": "normal",
        "customer": customer.pk,
    }
    page = client.get("/service/setup/routing/test/", query)
    body = page.content.decode()
    assert page.status_code == 200 and "<html" in body
    assert "物流延迟 → 供应链部 (Least loaded)" in body
    assert "标准服务承诺" in body and "Respond by" in body
    assert "深圳某公司" in body  # the customer stays chosen
    fragment = client.get("/service/setup/routing/test/", query, **HTMX).content.decode()
    assert "<html" not in fragment and "物流延迟 → 供应链部" in fragment


def test_the_tester_refuses_an_unknown_customer(org: Org):
    client = login_client(org.admin, language="en")
    query = {"category": category().pk, "priority": "normal", "customer": 999999}
    body = client.get("/service/setup/routing/test/", query, **HTMX).content.decode()
    assert 'data-testid="tester-errors"' in body
    assert 'data-testid="tester-result"' not in body


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (
            "/service/setup/sla/new/",
            {
                "name": "反了",
                "priority": "low",
                "response_minutes": 120,
                "resolution_minutes": 60,
                "clock": "24x7",
                "warn_percent": 80,
                "active": "on",
            },
            "cannot be shorter than the response target",
        ),
        (
            "/service/setup/sla/new/",
            {
                "name": "重复",
                "response_minutes": 60,
                "resolution_minutes": 120,
                "clock": "24x7",
                "warn_percent": 80,
                "active": "on",
            },
            "has exactly these conditions",
        ),
        (
            "/service/setup/teams/new/",
            {
                "department": "HQ",
                "assignment_mode": "least_loaded",
                "work_start": "09:00",
                "work_end": "18:00",
                "break_start": "12:00",
                "time_zone": "Asia/Shanghai",
            },
            "Give both ends of the break",
        ),
        (
            "/service/setup/teams/new/",
            {
                "department": "HQ",
                "assignment_mode": "least_loaded",
                "work_start": "09:00",
                "work_end": "18:00",
                "time_zone": "Asia/Shanghia",
            },
            "is not a time zone name",
        ),
        (
            "/service/setup/categories/new/",
            {"name": "质量", "code": "product_quality", "position": 0},
            "has this code",
        ),
    ],
)
def test_a_refusal_is_shown_on_the_form_and_nothing_is_written(org: Org, path, data, message):
    if data.get("department") == "HQ":
        data = {**data, "department": org.hq.pk}
    client = login_client(org.admin, language="en")
    before = db_state()
    response = client.post(path, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert db_state() == before


def test_a_rule_whose_assignee_is_not_in_the_team_is_refused_on_the_form(org: Org):
    recs = records(org)
    other = services.service_team_create(actor=org.admin, department=org.hq, members=[org.analyst])
    client = login_client(org.admin, language="en")
    before = db_state()
    response = client.post(
        "/service/setup/routing/new/",
        {
            "position": 1,
            "category": recs.spare.pk,
            "team": recs.team.pk,
            "assignee": org.analyst.pk,
        },
    )
    assert response.status_code == 400
    assert "is not a member or the lead of" in response.content.decode()
    assert db_state() == before
    assert other.members.count() == 1


def test_a_stale_form_shows_the_conflict(org: Org):
    standard = policy()
    services.sla_policy_update(actor=org.admin, policy=standard, data={"warn_percent": 60})
    client = login_client(org.admin, language="en")
    before = db_state()
    response = client.post(
        f"/service/setup/sla/{standard.pk}/edit/",
        {
            "version": 1,
            "name": standard.name,
            "response_minutes": 60,
            "resolution_minutes": 120,
            "clock": "24x7",
            "warn_percent": 90,
            "active": "on",
        },
    )
    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.content.decode()
    assert db_state() == before


def test_the_region_selects_refresh_without_javascript(org: Org):
    recs = records(org)
    client = login_client(org.admin, language="en")
    before = db_state()
    response = client.post(
        "/service/setup/routing/new/",
        {
            "category": recs.spare.pk,
            "team": recs.team.pk,
            "province_code": "440000",
            "refresh_regions": "1",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert '<option value="440300">深圳市</option>' in body
    assert db_state() == before


def test_a_rule_form_and_its_region_round_trip(org: Org):
    recs = records(org)
    client = login_client(org.admin, language="en")
    response = client.post(
        f"/service/setup/routing/{recs.rule.pk}/edit/",
        {
            "version": recs.rule.version,
            "position": 7,
            "category": recs.category.pk,
            "priority": "",
            "province_code": "440000",
            "city_code": "440300",
            "district_code": "440305",
            "account_class": "important",
            "team": recs.team.pk,
            "assignee": org.handler.pk,
            "active": "on",
        },
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(pk=recs.rule.pk)
    assert (rule.region_id, rule.assignee, rule.account_class) == (
        "440305",
        org.handler,
        "important",
    )
    page = client.get(f"/service/setup/routing/{rule.pk}/edit/").content.decode()
    assert '<option value="440305" selected>南山区</option>' in page
    assert '<option value="440300" selected>深圳市</option>' in page
    listing = client.get("/service/setup/routing/").content.decode()
    assert (
        "售后支持 · 广东省深圳市南山区 · Important key account → 客服中心 · 用户handler" in listing
    )


def test_a_team_form_round_trip(org: Org):
    recs = records(org)
    client = login_client(org.admin, language="en")
    page = client.get(f"/service/setup/teams/{recs.team.pk}/edit/").content.decode()
    assert 'name="department"' not in page  # a team keeps its department
    response = client.post(
        f"/service/setup/teams/{recs.team.pk}/edit/",
        {
            "version": recs.team.version,
            "lead": "",
            "members": [org.agent.pk, org.handler.pk, org.analyst.pk],
            "assignment_mode": "round_robin",
            "work_start": "08:00",
            "work_end": "17:00",
            "break_start": "12:00",
            "break_end": "13:00",
            "time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302
    team = ServiceTeam.objects.get(pk=recs.team.pk)
    assert team.lead is None and team.members.count() == 3
    tab = client.get("/service/setup/teams/").content.decode()
    assert "08:00–12:00, 13:00–17:00 (Asia/Shanghai)" in tab


def _queries(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "path",
    ["/service/setup/", "/service/setup/teams/", "/service/setup/routing/", "/service/setup/sla/"],
)
def test_the_tabs_query_count_does_not_grow_with_the_rows(org: Org, path: str):
    # given one team, rule and extra policy; then many more of each with members and regions
    recs = records(org)
    client = login_client(org.admin)
    few = _queries(client, path)
    services.service_defaults_ensure(actor=org.admin)
    for number, team in enumerate(ServiceTeam.objects.exclude(pk=recs.team.pk)):
        services.service_team_update(
            actor=org.admin, team=team, data={"members": [org.agent, org.handler]}
        )
        services.routing_rule_create(
            actor=org.admin,
            category=recs.spare,
            team=team,
            region="440300",
            priority="high",
            assignee=org.handler,
            position=number,
        )
        services.sla_policy_create(
            actor=org.admin,
            name=f"策略{number}",
            category=recs.spare,
            priority=["low", "normal", "high"][number],
            response_minutes=60,
            resolution_minutes=120,
        )
        services.ticket_category_create(actor=org.admin, name=f"类别{number}", code=f"c{number}")
    # when / then
    assert _queries(client, path) == few
