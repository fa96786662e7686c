"""Permission matrix of every follow-up API endpoint: anonymous, each role and an outsider.

Anonymous calls get 401; a denied call answers the error contract and changes nothing; an allowed
write changes something. The records are those of the pages' matrix: a strategic customer of the
rep (华东组), its tasks and an interaction with a next action and an attachment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.conftest import ApiClient, Org
from tests.engagement.test_views_permissions import ACTORS, ROLES, Records, _records, db_state

pytestmark = pytest.mark.django_db

EVERYONE_200 = dict.fromkeys(ROLES, 200)
READ = {"administrator": 200, "sales_manager": 200, "sales_rep": 200, "analyst": 200}
HIDDEN = dict.fromkeys(
    ("key_account_manager", "service_agent", "department_handler", "outsider"), 404
)
WRITE_DENIED = {"analyst": 403, **HIDDEN}


def _ok(status: int) -> dict[str, int]:
    return {"administrator": status, "sales_manager": status, "sales_rep": status}


REASSIGN_DENIED = {"sales_rep": 403, **WRITE_DENIED}
ADMIN_DENIED = {key: 403 for key in ROLES if key != "administrator"}
DENIED_CODES = {403: "permission_denied", 404: "not_found"}


def actor_for(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    return org.outsider if key == "outsider" else org.by_role()[key]


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Records], str]
    body: Callable[[Records, Org], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    writes: bool


ENDPOINTS = [
    Endpoint(
        "interactions", "GET", lambda r: "/api/v1/interactions", None, EVERYONE_200, {}, False
    ),
    Endpoint(
        "interaction-add",
        "POST",
        lambda r: "/api/v1/interactions",
        lambda r, o: {
            "customer_id": r.customer.pk,
            "channel": "phone",
            "content": "电话回访",
            "contact_ids": [r.contact.pk],
            "task_id": r.task.pk,
        },
        _ok(201),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "interaction-show",
        "GET",
        lambda r: f"/api/v1/interactions/{r.interaction.pk}",
        None,
        READ,
        HIDDEN,
        False,
    ),
    Endpoint(
        "interaction-edit",
        "PATCH",
        lambda r: f"/api/v1/interactions/{r.interaction.pk}",
        lambda r, o: {"version": r.interaction.version, "content": "更正", "reaction": "positive"},
        _ok(200),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "interaction-delete",
        "DELETE",
        lambda r: f"/api/v1/interactions/{r.interaction.pk}",
        None,
        _ok(204),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "attachments-add",
        "MULTIPART",
        lambda r: f"/api/v1/interactions/{r.interaction.pk}/attachments",
        lambda r, o: {"files": [SimpleUploadedFile("纪要.txt", "会议纪要".encode())]},
        _ok(201),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "attachment-download",
        "GET",
        lambda r: f"/api/v1/attachments/{r.attachment.pk}",
        None,
        READ,
        HIDDEN,
        False,
    ),
    Endpoint(
        "attachment-delete",
        "DELETE",
        lambda r: f"/api/v1/attachments/{r.attachment.pk}",
        None,
        _ok(204),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "followups",
        "GET",
        lambda r: "/api/v1/followups?view=open&mine=false",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "followup-show",
        "GET",
        lambda r: f"/api/v1/followups/{r.task.pk}",
        None,
        READ,
        HIDDEN,
        False,
    ),
    Endpoint(
        "followup-complete",
        "POST",
        lambda r: f"/api/v1/followups/{r.task.pk}/complete",
        lambda r, o: {"note": "已寄出"},
        _ok(200),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "followup-snooze",
        "POST",
        lambda r: f"/api/v1/followups/{r.task.pk}/snooze",
        lambda r, o: {
            "until": (timezone.localdate() + timezone.timedelta(days=2)).isoformat(),
            "reason": "客户出差",
        },
        _ok(200),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "followup-reassign",
        "POST",
        lambda r: f"/api/v1/followups/{r.task.pk}/reassign",
        lambda r, o: {"assignee_id": o.manager.pk},
        {"administrator": 200, "sales_manager": 200},
        REASSIGN_DENIED,
        True,
    ),
    Endpoint(
        "compliance",
        "GET",
        lambda r: "/api/v1/followups/compliance",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "generate",
        "POST",
        lambda r: "/api/v1/followups/generate",
        lambda r, o: {},
        {"administrator": 200},
        ADMIN_DENIED,
        False,
    ),
    Endpoint(
        "policies", "GET", lambda r: "/api/v1/maintenance-policies", None, EVERYONE_200, {}, False
    ),
    Endpoint(
        "policy-add",
        "POST",
        lambda r: "/api/v1/maintenance-policies",
        lambda r, o: {"name": "重要大客户维护策略", "account_class": "important"},
        {"administrator": 201},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "policy-show",
        "GET",
        lambda r: f"/api/v1/maintenance-policies/{r.policy.pk}",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "policy-edit",
        "PATCH",
        lambda r: f"/api/v1/maintenance-policies/{r.policy.pk}",
        lambda r, o: {"version": r.policy.version, "care_festivals": False},
        {"administrator": 200},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "policy-delete",
        "DELETE",
        lambda r: f"/api/v1/maintenance-policies/{r.policy.pk}",
        None,
        {"administrator": 204},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "rule-add",
        "POST",
        lambda r: f"/api/v1/maintenance-policies/{r.policy.pk}/rules",
        lambda r, o: {"kind": "touch", "interval": 1, "unit": "week"},
        {"administrator": 201},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "rule-edit",
        "PATCH",
        lambda r: f"/api/v1/maintenance-rules/{r.rule.pk}",
        lambda r, o: {"version": r.rule.version, "interval": 2},
        {"administrator": 200},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "rule-delete",
        "DELETE",
        lambda r: f"/api/v1/maintenance-rules/{r.rule.pk}",
        None,
        {"administrator": 204},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "settings", "GET", lambda r: "/api/v1/followup-settings", None, EVERYONE_200, {}, False
    ),
    Endpoint(
        "settings-edit",
        "PUT",
        lambda r: "/api/v1/followup-settings",
        lambda r, o: {"version": 1, "escalate_after_days": 4, "care_lead_days": 3, "festivals": []},
        {"administrator": 200},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "plan-show",
        "GET",
        lambda r: f"/api/v1/customers/{r.customer.pk}/communication-plan",
        None,
        READ,
        HIDDEN,
        False,
    ),
    Endpoint(
        "plan-edit",
        "PUT",
        lambda r: f"/api/v1/customers/{r.customer.pk}/communication-plan",
        lambda r, o: {"channels": ["wechat"], "max_per_month": 4},
        _ok(200),
        WRITE_DENIED,
        True,
    ),
    Endpoint(
        "care-calendar",
        "GET",
        lambda r: "/api/v1/care-calendar?days=60",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "feed-rotate",
        "POST",
        lambda r: "/api/v1/calendar-feed/rotate",
        lambda r, o: {},
        EVERYONE_200,
        {},
        True,
    ),
    Endpoint(
        "feed-revoke",
        "DELETE",
        lambda r: "/api/v1/calendar-feed",
        None,
        dict.fromkeys(ROLES, 204),
        {},
        False,
    ),
]


def _call(client: ApiClient, endpoint: Endpoint, path: str, body: Any) -> Any:
    if endpoint.method == "MULTIPART":
        return client.client.post(path, data=body, headers=client.headers)
    return client.request(endpoint.method, path, json=body)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_engagement_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    records = _records(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(records)
    body = endpoint.body(records, org) if endpoint.body else None
    before = db_state()
    # when
    response = _call(client, endpoint, path, body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
    elif actor in endpoint.allowed:
        assert response.status_code == endpoint.allowed[actor], response.content[:500]
        if endpoint.writes:
            assert db_state() != before
        else:
            assert db_state() == before
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[response.status_code]
        assert db_state() == before


def test_every_engagement_endpoint_is_in_the_matrix() -> None:
    from guanxi.engagement.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert operations == {
        ("GET", "/interactions"),
        ("POST", "/interactions"),
        ("GET", "/interactions/{interaction_id}"),
        ("PATCH", "/interactions/{interaction_id}"),
        ("DELETE", "/interactions/{interaction_id}"),
        ("POST", "/interactions/{interaction_id}/attachments"),
        ("GET", "/attachments/{attachment_id}"),
        ("DELETE", "/attachments/{attachment_id}"),
        ("GET", "/followups"),
        ("GET", "/followups/compliance"),
        ("POST", "/followups/generate"),
        ("GET", "/followups/{task_id}"),
        ("POST", "/followups/{task_id}/complete"),
        ("POST", "/followups/{task_id}/snooze"),
        ("POST", "/followups/{task_id}/reassign"),
        ("GET", "/maintenance-policies"),
        ("POST", "/maintenance-policies"),
        ("GET", "/maintenance-policies/{policy_id}"),
        ("PATCH", "/maintenance-policies/{policy_id}"),
        ("DELETE", "/maintenance-policies/{policy_id}"),
        ("POST", "/maintenance-policies/{policy_id}/rules"),
        ("PATCH", "/maintenance-rules/{rule_id}"),
        ("DELETE", "/maintenance-rules/{rule_id}"),
        ("GET", "/followup-settings"),
        ("PUT", "/followup-settings"),
        ("GET", "/customers/{customer_id}/communication-plan"),
        ("PUT", "/customers/{customer_id}/communication-plan"),
        ("GET", "/care-calendar"),
        ("POST", "/calendar-feed/rotate"),
        ("DELETE", "/calendar-feed"),
    }
    assert len(ENDPOINTS) == len(operations)
