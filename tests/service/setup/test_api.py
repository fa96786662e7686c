"""The set-up endpoints' answers and the error contract: field errors named as the API names
them, a stale version a 409, nothing written on any refusal."""

from __future__ import annotations

import pytest

from guanxi.service.models import ServiceTeam
from tests.conftest import ApiClient, Org
from tests.service.setup.conftest import category, db_state, make_customer, policy, records

pytestmark = pytest.mark.django_db


def refused(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"message", "code", "fields"}
    assert set(fields) <= set(body["fields"]), body
    return body


def test_categories_are_listed_in_order_for_everyone(org: Org):
    body = ApiClient(org.rep).get("/api/v1/service-categories").json()
    assert [c["code"] for c in body] == [
        "product_quality",
        "logistics_delay",
        "after_sales",
        "billing_dispute",
    ]
    assert set(body[0]) == {"id", "name", "code", "description", "active", "position", "version"}
    services_off = ApiClient(org.admin).patch(
        f"/api/v1/service-categories/{category('after_sales').pk}", {"version": 1, "active": False}
    )
    assert services_off.json()["active"] is False
    active = ApiClient(org.agent).get("/api/v1/service-categories", active="true").json()
    assert "after_sales" not in [c["code"] for c in active]


def test_category_refusals(org: Org):
    api = ApiClient(org.admin, language="en")
    recs = records(org)
    before = db_state()
    refused(
        api.post("/api/v1/service-categories", {"name": "质量", "code": "product_quality"}),
        422,
        "code",
    )
    refused(api.post("/api/v1/service-categories", {"name": "质量", "code": "a b"}), 422, "code")
    refused(api.post("/api/v1/service-categories", {"name": "质量"}), 422, "code")
    refused(
        api.patch(f"/api/v1/service-categories/{recs.spare.pk}", {"version": 1, "active": None}),
        422,
        "active",
    )
    body = refused(api.delete(f"/api/v1/service-categories/{recs.category.pk}"), 422, "active")
    assert "routing rules" in body["fields"]["active"][0]
    assert api.get("/api/v1/service-categories/999999").status_code == 404
    assert db_state() == before
    # a stale version is a 409 with both values
    api.patch(f"/api/v1/service-categories/{recs.spare.pk}", {"version": 1, "position": 3})
    before = db_state()
    body = refused(
        api.patch(f"/api/v1/service-categories/{recs.spare.pk}", {"version": 1, "name": "别的"}),
        409,
    )
    assert body["code"] == "conflict"
    assert body["conflicts"]["name"] == {"yours": "别的", "theirs": "其他"}
    assert db_state() == before


def test_a_team_round_trip(org: Org):
    api = ApiClient(org.admin, language="en")
    response = api.post(
        "/api/v1/service-teams",
        {
            "department_id": org.service.pk,
            "lead_id": org.agent.pk,
            "member_ids": [org.agent.pk, org.handler.pk],
            "assignment_mode": "round_robin",
            "work_start": "08:30",
            "work_end": "17:30",
            "break_start": "12:00",
            "break_end": "13:00",
        },
    )
    assert response.status_code == 201, response.content
    team = response.json()
    assert (team["department_name"], team["work_start"], team["break_end"]) == (
        "客服中心",
        "08:30",
        "13:00",
    )
    assert {m["id"] for m in team["members"]} == {org.agent.pk, org.handler.pk}
    # clearing the lead and the break
    changed = api.patch(
        f"/api/v1/service-teams/{team['id']}",
        {"version": team["version"], "lead_id": None, "break_start": None, "break_end": None},
    ).json()
    assert (changed["lead_id"], changed["break_start"], changed["version"]) == (
        None,
        None,
        team["version"] + 1,
    )
    assert api.get(f"/api/v1/service-teams/{team['id']}").json() == changed
    assert [t["id"] for t in api.get("/api/v1/service-teams").json()] == [team["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"department_id": 999999}, "department_id"),
        ({"lead_id": 999999}, "lead_id"),
        ({"member_ids": [999999]}, "member_ids"),
        ({"member_ids": ["REP"]}, "member_ids"),
        ({"assignment_mode": "lottery"}, "assignment_mode"),
        ({"work_start": "25:00"}, "work_start"),
        ({"work_start": "18:00", "work_end": "09:00"}, "work_end"),
        ({"break_start": "12:00"}, "break_end"),
        ({"time_zone": "Asia/Peking"}, "time_zone"),
    ],
)
def test_team_refusals_name_the_api_fields(org: Org, body, field):
    api = ApiClient(org.admin, language="en")
    if body.get("member_ids") == ["REP"]:
        body = {"member_ids": [org.rep.pk]}
    before = db_state()
    refused(
        api.post("/api/v1/service-teams", {"department_id": org.service.pk, **body}), 422, field
    )
    assert db_state() == before


def test_a_team_patch_cannot_null_the_members(org: Org):
    recs = records(org)
    api = ApiClient(org.admin, language="en")
    before = db_state()
    refused(
        api.patch(f"/api/v1/service-teams/{recs.team.pk}", {"version": 1, "member_ids": None}),
        422,
        "member_ids",
    )
    assert db_state() == before
    assert ServiceTeam.objects.get(pk=recs.team.pk).members.count() == 2


def test_a_rule_round_trip(org: Org):
    recs = records(org)
    api = ApiClient(org.admin, language="en")
    created = api.post(
        "/api/v1/routing-rules",
        {
            "category_id": recs.spare.pk,
            "team_id": recs.team.pk,
            "position": 20,
            "priority": "high",
            "region_code": "440300",
            "assignee_id": org.handler.pk,
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["region_name"] == "广东省深圳市"
    assert rule["description"] == "其他 · High · 广东省深圳市 → 客服中心 · 用户handler"
    listed = api.get("/api/v1/routing-rules").json()
    assert [r["id"] for r in listed] == [rule["id"], recs.rule.pk]  # by position
    changed = api.patch(
        f"/api/v1/routing-rules/{rule['id']}",
        {"version": rule["version"], "region_code": None, "priority": None, "assignee_id": None},
    ).json()
    assert (changed["region_code"], changed["priority"], changed["assignee_id"]) == (None, "", None)
    assert changed["description"] == "其他 → 客服中心 (Least loaded)"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region_code": "999999"}, "region_code"),
        ({"priority": "asap"}, "priority"),
        ({"account_class": "vip"}, "account_class"),
        ({"team_id": 999999}, "team_id"),
        ({"category_id": 999999}, "category_id"),
        ({"assignee_id": "ANALYST"}, "assignee_id"),
        ({"position": -1}, "position"),
    ],
)
def test_rule_refusals_name_the_api_fields(org: Org, body, field):
    recs = records(org)
    api = ApiClient(org.admin, language="en")
    if body.get("assignee_id") == "ANALYST":
        body = {"assignee_id": org.analyst.pk}
    before = db_state()
    refused(
        api.post(
            "/api/v1/routing-rules",
            {"category_id": recs.spare.pk, "team_id": recs.team.pk, **body},
        ),
        422,
        field,
    )
    refused(
        api.patch(f"/api/v1/routing-rules/{recs.rule.pk}", {"version": 1, "category_id": None}),
        422,
        "category_id",
    )
    assert db_state() == before


def test_policy_refusals_and_a_patch(org: Org):
    api = ApiClient(org.admin, language="en")
    before = db_state()
    body = refused(
        api.post(
            "/api/v1/sla-policies",
            {"name": "又一个", "response_minutes": 60, "resolution_minutes": 120},
        ),
        422,
        "category_id",
    )
    assert "标准服务承诺" in body["fields"]["category_id"][0]
    refused(
        api.post(
            "/api/v1/sla-policies",
            {"name": "反了", "priority": "low", "response_minutes": 60, "resolution_minutes": 30},
        ),
        422,
        "resolution_minutes",
    )
    refused(
        api.post(
            "/api/v1/sla-policies",
            {
                "name": "x",
                "priority": "low",
                "response_minutes": 60,
                "resolution_minutes": 90,
                "warn_percent": 100,
                "clock": "lunar",
            },
        ),
        422,
        "warn_percent",
        "clock",
    )
    # the high-priority policy made condition-less would be the standard promise's twin
    high = policy("高优先级工单")
    refused(
        api.patch(f"/api/v1/sla-policies/{high.pk}", {"version": 1, "priority": None}),
        422,
        "category_id",
    )
    assert db_state() == before
    changed = api.patch(
        f"/api/v1/sla-policies/{high.pk}",
        {"version": 1, "category_id": category("logistics_delay").pk, "clock": "24x7"},
    ).json()
    assert (changed["category_id"], changed["clock"], changed["version"]) == (
        category("logistics_delay").pk,
        "24x7",
        2,
    )
    listed = [p["name"] for p in api.get("/api/v1/sla-policies").json()]
    assert listed[0] == "战略大客户专属服务"  # the most specific first


def test_defaults_and_preview(org: Org):
    api = ApiClient(org.admin, language="en")
    assert api.post("/api/v1/service-defaults").json() == {
        "departments": 3,
        "teams": 4,
        "rules": 4,
    }
    assert api.post("/api/v1/service-defaults").json() == {
        "departments": 0,
        "teams": 0,
        "rules": 0,
    }
    customer = make_customer(org.rep, "某公司", account_class="strategic")
    preview = api.get(
        "/api/v1/routing-preview",
        category_id=category("billing_dispute").pk,
        priority="urgent",
        customer_id=customer.pk,
    ).json()
    assert preview["rule_description"] == "账务争议 → 财务部 (Least loaded)"
    assert preview["policy_name"] == "战略大客户专属服务"
    assert preview["response_due_at"] and preview["calendar_missing"] is None
    before = db_state()
    refused(
        api.get(
            "/api/v1/routing-preview",
            category_id=999999,
            priority="someday",
            customer_id=999999,
        ),
        422,
        "category_id",
        "priority",
        "customer_id",
    )
    assert db_state() == before
