"""The set-up's writes: each rule refuses with a field error and writes nothing; what passes is
saved, versioned and audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.exceptions import ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.service.models import RoutingRule, ServiceTeam, SlaPolicy, TicketCategory
from guanxi.service.services import ticket_create
from guanxi.service.setup import services
from tests.conftest import Org
from tests.service.setup.conftest import (
    category,
    db_state,
    make_customer,
    policy,
    records,
)

pytestmark = pytest.mark.django_db


def refused(call: Callable[[], Any], *fields: str) -> dict[str, list[str]]:
    """``call`` raises a ValidationError naming ``fields`` and changes nothing."""
    before = db_state()
    with pytest.raises(ValidationError) as error:
        call()
    messages = error.value.message_dict
    assert set(fields) <= set(messages), messages
    assert db_state() == before
    return messages


# --- categories -----------------------------------------------------------------------------------


def test_a_category_is_created_and_audited(org: Org):
    created = services.ticket_category_create(
        actor=org.admin, name=" 安装调试 ", code="installation", position=5
    )
    assert (created.name, created.code, created.active, created.version) == (
        "安装调试",
        "installation",
        True,
        1,
    )
    entry = AuditEntry.objects.get(object_type="service.ticketcategory", object_id=created.pk)
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == org.admin


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "", "code": "empty"}, "name"),
        ({"name": "x" * 61, "code": "long"}, "name"),
        ({"name": "产品质量", "code": "quality_again"}, "name"),  # the seeded category's name
        ({"name": "质量", "code": ""}, "code"),
        ({"name": "质量", "code": "产品 质量"}, "code"),  # not a slug
        ({"name": "质量", "code": "product_quality"}, "code"),  # the seeded category's code
        ({"name": "质量", "code": "quality", "position": -1}, "position"),
        ({"name": "质量", "code": "quality", "position": 40000}, "position"),
    ],
)
def test_a_bad_category_is_refused(org: Org, values, field):
    refused(lambda: services.ticket_category_create(actor=org.admin, **values), field)


def test_a_code_kept_by_a_category_in_the_recycle_bin_is_refused(org: Org):
    spare = services.ticket_category_create(actor=org.admin, name="其他", code="other")
    services.ticket_category_delete(actor=org.admin, category=spare)
    messages = refused(
        lambda: services.ticket_category_create(actor=org.admin, name="别的", code="other"),
        "code",
    )
    assert "in the recycle bin has this code" in str(messages["code"])


def test_a_category_in_use_by_tickets_is_only_switched_off(org: Org):
    # given a ticket filed under 产品质量
    customer = make_customer(org.rep, "华为技术有限公司")
    quality = category("product_quality")
    ticket_create(
        actor=org.admin, customer=customer, category=quality, subject="屏幕坏点", description="…"
    )
    # when the category is deleted: refused, with the way out
    messages = refused(
        lambda: services.ticket_category_delete(actor=org.admin, category=quality), "active"
    )
    assert "Switch it off" in messages["active"][0]
    # switching it off works and is audited
    updated = services.ticket_category_update(
        actor=org.admin, category=quality, data={"active": False}, expected_version=1
    )
    assert (updated.active, updated.version) == (False, 2)
    assert AuditEntry.objects.filter(
        object_type="service.ticketcategory", object_id=quality.pk, action="update"
    ).exists()


def test_a_category_used_by_rules_or_policies_is_not_deleted(org: Org):
    recs = records(org)
    refused(
        lambda: services.ticket_category_delete(actor=org.admin, category=recs.category),
        "active",
    )
    # an unused one goes to the recycle bin
    services.ticket_category_delete(actor=org.admin, category=recs.spare)
    assert TicketCategory.all_objects.get(pk=recs.spare.pk).deleted_at is not None
    assert not TicketCategory.objects.filter(pk=recs.spare.pk).exists()


def test_a_stale_version_is_a_conflict_and_changes_nothing(org: Org):
    quality = category("product_quality")
    services.ticket_category_update(actor=org.admin, category=quality, data={"position": 9})
    before = db_state()
    with pytest.raises(ConflictError):
        services.ticket_category_update(
            actor=org.admin, category=quality, data={"name": "质量问题"}, expected_version=1
        )
    assert db_state() == before


def test_an_unknown_field_is_refused(org: Org):
    refused(
        lambda: services.ticket_category_update(
            actor=org.admin, category=category(), data={"version": 5}
        ),
        "version",
    )


@pytest.mark.parametrize("role", ["manager", "rep", "agent", "handler", "analyst", "outsider"])
def test_only_administrators_change_the_set_up(org: Org, role: str):
    actor = getattr(org, role)
    recs = records(org)
    before = db_state()
    calls = [
        lambda: services.ticket_category_create(actor=actor, name="其他2", code="other2"),
        lambda: services.ticket_category_update(
            actor=actor, category=recs.spare, data={"active": False}
        ),
        lambda: services.ticket_category_delete(actor=actor, category=recs.spare),
        lambda: services.service_team_create(actor=actor, department=org.hq),
        lambda: services.service_team_update(
            actor=actor, team=recs.team, data={"time_zone": "UTC"}
        ),
        lambda: services.service_team_delete(actor=actor, team=recs.team),
        lambda: services.routing_rule_create(actor=actor, category=recs.spare, team=recs.team),
        lambda: services.routing_rule_update(actor=actor, rule=recs.rule, data={"position": 1}),
        lambda: services.routing_rule_delete(actor=actor, rule=recs.rule),
        lambda: services.sla_policy_create(
            actor=actor, name="x", response_minutes=1, resolution_minutes=2, priority="low"
        ),
        lambda: services.sla_policy_update(
            actor=actor, policy=recs.policy, data={"warn_percent": 50}
        ),
        lambda: services.sla_policy_delete(actor=actor, policy=recs.policy),
        lambda: services.service_defaults_ensure(actor=actor),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError):
            call()
    assert db_state() == before


# --- teams ----------------------------------------------------------------------------------------


def test_a_team_is_created_with_its_members_audited(org: Org):
    team = services.service_team_create(
        actor=org.admin,
        department=org.service.pk,
        lead=org.agent.pk,
        members=[org.handler.pk, org.agent],
        assignment_mode="round_robin",
        work_start="08:30",
        work_end=dt.time(17, 30),
        break_start="12:00",
        break_end="13:00",
        time_zone="Asia/Urumqi",
    )
    team.refresh_from_db()
    assert team.department == org.service
    assert team.lead == org.agent
    assert set(team.members.all()) == {org.agent, org.handler}
    assert (team.work_start, team.work_end) == (dt.time(8, 30), dt.time(17, 30))
    assert (team.break_start, team.break_end) == (dt.time(12), dt.time(13))
    entries = AuditEntry.objects.filter(object_type="service.serviceteam", object_id=team.pk)
    members_entry = entries.get(action="update")
    assert sorted(members_entry.changes["members"]["after"]) == sorted(
        [org.agent.pk, org.handler.pk]
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"work_start": "18:00", "work_end": "09:00"}, "work_end"),
        ({"work_start": "09:00", "work_end": "09:00"}, "work_end"),
        ({"work_start": "9 o'clock"}, "work_start"),
        ({"break_start": "12:00"}, "break_end"),
        ({"break_end": "13:00"}, "break_start"),
        ({"break_start": "13:00", "break_end": "12:00"}, "break_end"),
        ({"break_start": "08:00", "break_end": "09:30"}, "break_start"),  # starts before work
        ({"break_start": "17:30", "break_end": "18:00"}, "break_start"),  # ends with the day
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"assignment_mode": "lottery"}, "assignment_mode"),
        ({"department": 999999}, "department"),
        ({"lead": 999999}, "lead"),
    ],
)
def test_bad_team_values_are_refused(org: Org, values, field):
    values = {"department": org.service, **values}
    refused(lambda: services.service_team_create(actor=org.admin, **values), field)


def test_members_must_be_active_and_work_tickets(org: Org):
    org.handler.is_active = False
    org.handler.save(update_fields=["is_active"])
    messages = refused(
        lambda: services.service_team_create(
            actor=org.admin, department=org.service, members=[org.agent, org.handler, org.rep]
        ),
        "members",
    )
    assert len(messages["members"]) == 2  # the deactivated handler and the sales rep
    refused(
        lambda: services.service_team_create(
            actor=org.admin, department=org.service, lead=org.handler
        ),
        "lead",
    )


def test_one_team_per_department_the_recycle_bin_included(org: Org):
    recs = records(org)
    messages = refused(
        lambda: services.service_team_create(actor=org.admin, department=org.service),
        "department",
    )
    assert "already has a service team" in messages["department"][0]
    services.routing_rule_delete(actor=org.admin, rule=recs.rule)
    services.service_team_delete(actor=org.admin, team=recs.team)
    messages = refused(
        lambda: services.service_team_create(actor=org.admin, department=org.service),
        "department",
    )
    assert "restore" in messages["department"][0]


def test_a_team_update_keeps_its_hours_valid_against_the_current_values(org: Org):
    recs = records(org)  # 09:00–18:00
    refused(
        lambda: services.service_team_update(
            actor=org.admin, team=recs.team, data={"work_start": "19:00"}
        ),
        "work_end",
    )
    updated = services.service_team_update(
        actor=org.admin,
        team=recs.team,
        data={"break_start": "12:00", "break_end": "13:30"},
        expected_version=recs.team.version,
    )
    assert (updated.break_start, updated.version) == (dt.time(12), recs.team.version + 1)
    # the break now limits how far the day may shrink
    refused(
        lambda: services.service_team_update(
            actor=org.admin, team=updated, data={"work_end": "13:00"}
        ),
        "break_start",
    )


def test_members_only_change_bumps_the_version_and_is_audited(org: Org):
    recs = records(org)
    updated = services.service_team_update(
        actor=org.admin,
        team=recs.team,
        data={"members": [org.agent.pk]},
        expected_version=recs.team.version,
    )
    assert updated.version == recs.team.version + 1
    assert list(updated.members.all()) == [org.agent]
    entry = AuditEntry.objects.filter(
        object_type="service.serviceteam", object_id=recs.team.pk
    ).latest("pk")
    assert entry.changes["members"]["after"] == [org.agent.pk]


def test_a_member_a_rule_names_stays_on_the_team(org: Org):
    recs = records(org)
    services.routing_rule_update(actor=org.admin, rule=recs.rule, data={"assignee": org.handler})
    messages = refused(
        lambda: services.service_team_update(
            actor=org.admin, team=recs.team, data={"members": [org.agent]}
        ),
        "members",
    )
    assert org.handler.full_name in messages["members"][0]


def test_a_team_with_rules_is_not_deleted(org: Org):
    recs = records(org)
    refused(lambda: services.service_team_delete(actor=org.admin, team=recs.team), "team")
    services.routing_rule_delete(actor=org.admin, rule=recs.rule)
    services.service_team_delete(actor=org.admin, team=recs.team)
    assert not ServiceTeam.objects.filter(pk=recs.team.pk).exists()


# --- routing rules --------------------------------------------------------------------------------


def test_a_rule_is_created_with_its_conditions(org: Org):
    recs = records(org)
    rule = services.routing_rule_create(
        actor=org.admin,
        category=category("product_quality").pk,
        team=recs.team.pk,
        position=10,
        priority="urgent",
        region="440000",
        account_class="strategic",
        assignee=org.agent.pk,  # the lead, not a member: allowed
    )
    rule.refresh_from_db()
    assert (rule.priority, rule.region_id, rule.account_class, rule.assignee) == (
        "urgent",
        "440000",
        "strategic",
        org.agent,
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"priority": "asap"}, "priority"),
        ({"account_class": "vip"}, "account_class"),
        ({"region": "999999"}, "region"),
        ({"position": -5}, "position"),
        ({"position": "first"}, "position"),
        ({"category": 999999}, "category"),
        ({"team": 999999}, "team"),
        ({"assignee": 999999}, "assignee"),
    ],
)
def test_bad_rule_values_are_refused(org: Org, values, field):
    recs = records(org)
    values = {"category": recs.spare, "team": recs.team, **values}
    refused(lambda: services.routing_rule_create(actor=org.admin, **values), field)


def test_the_assignee_is_a_member_or_the_lead_of_the_team(org: Org):
    recs = records(org)
    messages = refused(
        lambda: services.routing_rule_create(
            actor=org.admin, category=recs.spare, team=recs.team, assignee=org.analyst
        ),
        "assignee",
    )
    assert "not a member or the lead" in messages["assignee"][0]
    outsider = User.objects.create(username="ghost", role=Role.SERVICE_AGENT, is_active=False)
    refused(
        lambda: services.routing_rule_create(
            actor=org.admin, category=recs.spare, team=recs.team, assignee=outsider
        ),
        "assignee",
    )
    # moving the rule to another team re-checks its named assignee
    rule = services.routing_rule_update(
        actor=org.admin, rule=recs.rule, data={"assignee": org.handler}
    )
    other = services.service_team_create(actor=org.admin, department=org.hq, members=[org.agent])
    refused(
        lambda: services.routing_rule_update(actor=org.admin, rule=rule, data={"team": other}),
        "assignee",
    )


def test_a_rule_on_a_deleted_category_is_refused(org: Org):
    recs = records(org)
    services.ticket_category_delete(actor=org.admin, category=recs.spare)
    refused(
        lambda: services.routing_rule_create(
            actor=org.admin, category=recs.spare.pk, team=recs.team
        ),
        "category",
    )


@pytest.mark.parametrize(
    ("codes", "field"),
    [
        (("440000", "110100", ""), "city_code"),  # 北京市 is not in 广东省
        (("", "440300", ""), "province_code"),  # a city without its province
        (("440300", "", ""), "province_code"),  # a city where the province goes
    ],
)
def test_the_region_selects_must_name_one_place(org: Org, codes, field):
    with pytest.raises(ValidationError) as error:
        services.routing_rule_region_code(
            province_code=codes[0], city_code=codes[1], district_code=codes[2]
        )
    assert field in error.value.message_dict


def test_the_region_selects_give_the_most_specific_code(org: Org):
    assert services.routing_rule_region_code(province_code="440000", city_code="440300") == (
        "440300"
    )
    assert services.routing_rule_region_code(province_code="") is None


# --- SLA policies ---------------------------------------------------------------------------------


def test_a_policy_is_created(org: Org):
    created = services.sla_policy_create(
        actor=org.admin,
        name="物流加急",
        category=category("logistics_delay").pk,
        priority="high",
        response_minutes=30,
        resolution_minutes=30,  # equal targets are fine
        clock="24x7",
        warn_percent=50,
    )
    assert (created.category.code, created.warn_percent, created.active) == (
        "logistics_delay",
        50,
        True,
    )


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"response_minutes": 120, "resolution_minutes": 60}, "resolution_minutes"),
        ({"response_minutes": 0}, "response_minutes"),
        ({"resolution_minutes": 0}, "resolution_minutes"),
        ({"response_minutes": "soon"}, "response_minutes"),
        ({"resolution_minutes": 366 * 24 * 60}, "resolution_minutes"),
        ({"warn_percent": 0}, "warn_percent"),
        ({"warn_percent": 100}, "warn_percent"),
        ({"clock": "sometimes"}, "clock"),
        ({"priority": "asap"}, "priority"),
        ({"account_class": "vip"}, "account_class"),
        ({"category": 999999}, "category"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_policy_values_are_refused(org: Org, values, field):
    values = {
        "name": "测试",
        "priority": "low",
        "response_minutes": 60,
        "resolution_minutes": 120,
        **values,
    }
    refused(lambda: services.sla_policy_create(actor=org.admin, **values), field)


def test_two_active_policies_with_the_same_conditions_are_refused(org: Org):
    # the seeded standard promise has no conditions; another without any is its twin
    messages = refused(
        lambda: services.sla_policy_create(
            actor=org.admin, name="又一个标准", response_minutes=60, resolution_minutes=120
        ),
        "category",
    )
    assert "标准服务承诺" in messages["category"][0]
    # the seeded urgent one is for priority urgent, any category: its twin too
    refused(
        lambda: services.sla_policy_create(
            actor=org.admin,
            name="紧急2",
            priority="urgent",
            response_minutes=30,
            resolution_minutes=60,
        ),
        "category",
    )
    # switched off it may exist, but not be switched on beside the other
    spare = services.sla_policy_create(
        actor=org.admin,
        name="备用标准",
        response_minutes=60,
        resolution_minutes=120,
        active=False,
    )
    refused(
        lambda: services.sla_policy_update(actor=org.admin, policy=spare, data={"active": True}),
        "category",
    )
    # a policy is not its own twin
    standard = policy()
    standard = services.sla_policy_update(
        actor=org.admin, policy=standard, data={"warn_percent": 75}
    )
    # once the seeded one is off, the spare may take over
    services.sla_policy_update(actor=org.admin, policy=standard, data={"active": False})
    services.sla_policy_update(actor=org.admin, policy=spare, data={"active": True})
    assert set(SlaPolicy.objects.filter(active=True, priority="", account_class="")) == {spare}


def test_a_policy_update_checks_the_targets_against_the_current_ones(org: Org):
    standard = policy()  # 24 h / 48 h
    refused(
        lambda: services.sla_policy_update(
            actor=org.admin, policy=standard, data={"response_minutes": 49 * 60}
        ),
        "resolution_minutes",
    )


def test_a_policy_goes_to_the_recycle_bin(org: Org):
    standard = policy()
    services.sla_policy_delete(actor=org.admin, policy=standard)
    assert not SlaPolicy.objects.filter(pk=standard.pk).exists()
    assert RoutingRule.objects.count() == 0
