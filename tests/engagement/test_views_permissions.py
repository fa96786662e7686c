"""Permission matrix of every follow-up page: anonymous, each of the seven roles and an outsider.

The records: a strategic customer of the rep (华东组 under 销售部) with a contact, its policy tasks
and an interaction with a next action (a task of the rep) and an attachment. Interactions, tasks
and plans follow their customer: 404 outside its scope, 403 where it is visible but read-only.
Policies and settings are read by everyone and kept by administrators. A denied request changes
nothing; an allowed write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from guanxi.engagement import services
from guanxi.engagement.models import FollowUpTask, MaintenancePolicy
from guanxi.notifications.models import Notification
from tests.conftest import Org, login_client
from tests.engagement.conftest import db_state as engagement_state
from tests.engagement.conftest import make_contact, make_customer

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "administrator",
    "sales_manager",
    "sales_rep",
    "key_account_manager",
    "service_agent",
    "department_handler",
    "analyst",
    "outsider",
]
ROLES = ACTORS[1:]
PDF = b"%PDF-1.4\n%demo\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def db_state() -> dict[str, list[dict[str, Any]]]:
    state = engagement_state()
    state["notifications"] = list(Notification.objects.order_by("pk").values())
    return state


@dataclass
class Records:
    customer: Any
    contact: Any
    interaction: Any
    task: Any  # the next action's task, the rep's
    attachment: Any
    policy: Any
    rule: Any


def _records(org: Org) -> Records:
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="strategic")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    today = timezone.localdate()
    interaction = services.interaction_create(
        actor=org.rep,
        customer=customer,
        channel="visit",
        content="现场拜访",
        contacts=[contact.pk],
        next_action="寄送方案",
        next_action_date=today,
        attachments=[SimpleUploadedFile("方案.pdf", PDF)],
    )
    services.followups_generate(today=today)
    policy = MaintenancePolicy.objects.get(lifecycle="strategic")
    return Records(
        customer=customer,
        contact=contact,
        interaction=interaction,
        task=FollowUpTask.objects.get(origin=interaction),
        attachment=interaction.attachments.get(),
        policy=policy,
        rule=policy.rules.first(),
    )


def _client(org: Org, key: str) -> Client:
    if key == "anonymous":
        return Client()
    user = org.outsider if key == "outsider" else org.by_role()[key]
    return login_client(user)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records, Org], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool | frozenset[str]


EVERYONE_200 = dict.fromkeys(ROLES, 200)
READ = {
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 200,
    "analyst": 200,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}


def _write(ok: int) -> dict[str, int]:
    return {**READ, "administrator": ok, "sales_manager": ok, "sales_rep": ok, "analyst": 403}


def _reassign(ok: int) -> dict[str, int]:
    return {**READ, "administrator": ok, "sales_manager": ok, "sales_rep": 403, "analyst": 403}


def _admin(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok}


def _log(records: Records, org: Org) -> dict[str, Any]:
    return {
        "channel": "phone",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "content": "电话回访",
        "contacts": [records.contact.pk],
    }


def _snooze(records: Records, org: Org) -> dict[str, Any]:
    until = timezone.localdate() + timezone.timedelta(days=3)
    return {"until": until.isoformat(), "reason": "客户出差"}


def _interaction_edit(records: Records, org: Org) -> dict[str, Any]:
    occurred = timezone.localtime(records.interaction.occurred_at)
    return {
        "version": records.interaction.version,
        "channel": "video",
        "kind": "conversation",
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"),
        "content": "视频会议（更正）",
    }


def _plan(records: Records, org: Org) -> dict[str, Any]:
    return {"channels": ["wechat"], "frequency": "week", "themes": "新品"}


def _policy(records: Records, org: Org) -> dict[str, Any]:
    return {"name": "重要大客户维护策略", "account_class": "important", "is_active": "on"}


def _policy_edit(records: Records, org: Org) -> dict[str, Any]:
    return {
        "version": records.policy.version,
        "name": records.policy.name + "（改）",
        "lifecycle": "strategic",
        "is_active": "on",
    }


def _rule(records: Records, org: Org) -> dict[str, Any]:
    return {"kind": "touch", "interval": 1, "unit": "week"}


def _rule_edit(records: Records, org: Org) -> dict[str, Any]:
    return {
        "version": records.rule.version,
        "kind": records.rule.kind,
        "interval": 2,
        "unit": "month",
        "channels": ["visit"],
    }


def _settings(records: Records, org: Org) -> dict[str, Any]:
    return {
        "version": 1,
        "escalate_after_days": 5,
        "care_lead_days": 2,
        "festivals": ["spring_festival"],
    }


CASES = [
    Case("today", "GET", lambda r: "/engagement/", None, EVERYONE_200, False),
    Case(
        "task-list-all",
        "GET",
        lambda r: f"/engagement/tasks/?view=open&assignee=all&customer={r.customer.pk}",
        None,
        EVERYONE_200,
        False,
    ),
    Case("task-detail", "GET", lambda r: f"/engagement/tasks/{r.task.pk}/", None, READ, False),
    Case(
        "task-complete",
        "POST",
        lambda r: f"/engagement/tasks/{r.task.pk}/complete/",
        lambda r, o: {"note": "已寄出"},
        _write(302),
        True,
    ),
    Case(
        "task-snooze-get",
        "GET",
        lambda r: f"/engagement/tasks/{r.task.pk}/snooze/",
        None,
        _write(200),
        False,
    ),
    Case(
        "task-snooze",
        "POST",
        lambda r: f"/engagement/tasks/{r.task.pk}/snooze/",
        _snooze,
        _write(302),
        True,
    ),
    Case(
        "task-reassign",
        "POST",
        lambda r: f"/engagement/tasks/{r.task.pk}/reassign/",
        lambda r, o: {"assignee": o.manager.pk},
        {**_reassign(302), "sales_manager": 302},
        True,
    ),
    Case("interactions", "GET", lambda r: "/engagement/interactions/", None, EVERYONE_200, False),
    Case(
        "interaction-detail",
        "GET",
        lambda r: f"/engagement/interactions/{r.interaction.pk}/",
        None,
        READ,
        False,
    ),
    Case(
        "interaction-create-get",
        "GET",
        lambda r: f"/engagement/customers/{r.customer.pk}/log/?task={r.task.pk}",
        None,
        _write(200),
        False,
    ),
    Case(
        "interaction-create",
        "POST",
        lambda r: f"/engagement/customers/{r.customer.pk}/log/",
        _log,
        _write(302),
        True,
    ),
    Case(
        "interaction-edit",
        "POST",
        lambda r: f"/engagement/interactions/{r.interaction.pk}/edit/",
        _interaction_edit,
        _write(302),
        True,
    ),
    Case(
        "interaction-delete",
        "POST",
        lambda r: f"/engagement/interactions/{r.interaction.pk}/delete/",
        lambda r, o: {},
        _write(302),
        True,
    ),
    Case(
        "attachment-download",
        "GET",
        lambda r: f"/engagement/attachments/{r.attachment.pk}/",
        None,
        READ,
        False,
    ),
    Case(
        "attachment-add",
        "POST",
        lambda r: f"/engagement/interactions/{r.interaction.pk}/attachments/",
        lambda r, o: {"attachments": SimpleUploadedFile("纪要.txt", "会议纪要".encode())},
        _write(302),
        True,
    ),
    Case(
        "attachment-delete",
        "POST",
        lambda r: f"/engagement/attachments/{r.attachment.pk}/delete/",
        lambda r, o: {},
        _write(302),
        True,
    ),
    Case(
        "plan-get",
        "GET",
        lambda r: f"/engagement/customers/{r.customer.pk}/plan/",
        None,
        _write(200),
        False,
    ),
    Case(
        "plan",
        "POST",
        lambda r: f"/engagement/customers/{r.customer.pk}/plan/",
        _plan,
        _write(302),
        True,
    ),
    Case("compliance", "GET", lambda r: "/engagement/compliance/", None, EVERYONE_200, False),
    Case("care", "GET", lambda r: "/engagement/care/?days=90", None, EVERYONE_200, False),
    Case("policies", "GET", lambda r: "/engagement/policies/", None, EVERYONE_200, False),
    Case(
        "policy-create-get", "GET", lambda r: "/engagement/policies/new/", None, _admin(200), False
    ),
    Case(
        "policy-create", "POST", lambda r: "/engagement/policies/new/", _policy, _admin(302), True
    ),
    Case(
        "policy-edit",
        "POST",
        lambda r: f"/engagement/policies/{r.policy.pk}/edit/",
        _policy_edit,
        _admin(302),
        True,
    ),
    Case(
        "policy-delete",
        "POST",
        lambda r: f"/engagement/policies/{r.policy.pk}/delete/",
        lambda r, o: {},
        _admin(302),
        True,
    ),
    Case(
        "rule-create",
        "POST",
        lambda r: f"/engagement/policies/{r.policy.pk}/rules/new/",
        _rule,
        _admin(302),
        True,
    ),
    Case(
        "rule-edit",
        "POST",
        lambda r: f"/engagement/rules/{r.rule.pk}/edit/",
        _rule_edit,
        _admin(302),
        True,
    ),
    Case(
        "rule-delete",
        "POST",
        lambda r: f"/engagement/rules/{r.rule.pk}/delete/",
        lambda r, o: {},
        _admin(302),
        True,
    ),
    Case("settings-get", "GET", lambda r: "/engagement/settings/", None, _admin(200), False),
    Case("settings", "POST", lambda r: "/engagement/settings/", _settings, _admin(302), True),
    Case(
        "generate", "POST", lambda r: "/engagement/generate/", lambda r, o: {}, _admin(302), False
    ),
    Case("feed", "GET", lambda r: "/engagement/feed/", None, EVERYONE_200, False),
    Case(
        "feed-rotate",
        "POST",
        lambda r: "/engagement/feed/rotate/",
        lambda r, o: {},
        EVERYONE_200,
        True,
    ),
    Case(
        "feed-revoke",
        "POST",
        lambda r: "/engagement/feed/revoke/",
        lambda r, o: {},
        dict.fromkeys(ROLES, 302),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_engagement_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    client = _client(org, actor)
    path = case.path(records)
    data = case.data(records, org) if case.data else None
    before = db_state()
    # when
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor, getattr(response, "context", None))
    writes = case.writes if isinstance(case.writes, bool) else actor in case.writes
    if expected >= 400 or not writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_the_feed_is_a_404_for_an_unknown_secret(client) -> None:
    assert client.get("/engagement/feed/gxcal_nothing.ics").status_code == 404
    assert client.get("/engagement/feed/anything.ics").status_code == 404
