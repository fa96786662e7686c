"""The per-role "may reveal personal data" setting: defaults, the roles page, the roles API, the
audit trail, and the data migration that gave existing rows their role's default."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from guanxi.accounts.models import RoleSetting
from guanxi.accounts.roles import DEFAULT_REVEAL_PERSONAL_DATA, Role
from guanxi.accounts.services import role_setting_update
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import db_state
from tests.conftest import ApiClient, Org, login_client

pytestmark = pytest.mark.django_db

EXPECTED_DEFAULTS = {
    "administrator": True,
    "sales_manager": True,
    "key_account_manager": True,
    "sales_rep": True,
    "service_agent": True,
    "department_handler": False,
    "analyst": False,
}


def test_every_role_has_a_default_and_unsaved_settings_use_it(org: Org) -> None:
    assert {str(role): allowed for role, allowed in DEFAULT_REVEAL_PERSONAL_DATA.items()} == (
        EXPECTED_DEFAULTS
    )
    assert set(DEFAULT_REVEAL_PERSONAL_DATA) == set(Role.values)
    assert not RoleSetting.objects.exists()
    for role, allowed in EXPECTED_DEFAULTS.items():
        assert RoleSetting.for_role(role).reveal_personal_data is allowed
        assert org.by_role()[role].role_setting.reveal_personal_data is allowed


def test_the_roles_page_shows_and_saves_the_setting_with_an_audit_entry(org: Org) -> None:
    client = login_client(org.admin)
    # given the page, with the defaults ticked
    response = client.get("/accounts/roles/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "May reveal personal data" in body
    assert body.count('name="sales_rep-reveal_personal_data"') == 1
    ticked = {
        row["setting"].role
        for row in response.context["rows"]
        if row["form"]["reveal_personal_data"].value()
    }
    assert ticked == {role for role, allowed in EXPECTED_DEFAULTS.items() if allowed}
    # when the administrator switches it off for the reps (the box left unticked)
    response = client.post(
        "/accounts/roles/", {"role": "sales_rep", "sales_rep-data_scope": "self"}
    )
    # then it is saved and audited, and nothing else changed
    assert response.status_code == 302
    setting = RoleSetting.objects.get(role="sales_rep")
    assert (setting.data_scope, setting.require_otp, setting.reveal_personal_data) == (
        "self",
        False,
        False,
    )
    entry = AuditEntry.objects.get(object_type="accounts.rolesetting")
    assert entry.actor == org.admin
    assert entry.changes == {"reveal_personal_data": {"before": True, "after": False}}
    # and back on
    client.post(
        "/accounts/roles/",
        {
            "role": "sales_rep",
            "sales_rep-data_scope": "self",
            "sales_rep-reveal_personal_data": "on",
        },
    )
    assert RoleSetting.objects.get(role="sales_rep").reveal_personal_data is True


def test_the_roles_api_lists_and_changes_the_setting(org: Org) -> None:
    api = ApiClient(org.admin)
    listed = {r["role"]: r["reveal_personal_data"] for r in api.get("/api/v1/roles").json()}
    assert listed == EXPECTED_DEFAULTS
    # switching the analysts on
    response = api.put(
        "/api/v1/roles/analyst",
        {"data_scope": "all", "require_otp": False, "reveal_personal_data": True},
    )
    assert response.status_code == 200
    assert response.json()["reveal_personal_data"] is True
    entry = AuditEntry.objects.get(object_type="accounts.rolesetting")
    assert entry.changes == {"reveal_personal_data": {"before": False, "after": True}}
    # a client that does not send the field keeps the setting as it is
    response = api.put("/api/v1/roles/analyst", {"data_scope": "department", "require_otp": False})
    assert response.json()["reveal_personal_data"] is True
    assert RoleSetting.objects.get(role="analyst").reveal_personal_data is True


def test_the_api_refuses_a_setting_that_is_not_a_boolean(org: Org) -> None:
    api = ApiClient(org.admin)
    before = db_state()
    response = api.put(
        "/api/v1/roles/analyst",
        {"data_scope": "all", "require_otp": False, "reveal_personal_data": "perhaps"},
    )
    assert response.status_code == 422
    assert "reveal_personal_data" in response.json()["fields"]
    assert db_state() == before


def test_a_saved_row_starts_from_the_roles_default(org: Org) -> None:
    # saving only the scope of a role creates its row with the default permission
    role_setting_update(actor=org.admin, role=Role.ANALYST, data_scope="all", require_otp=False)
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=False)
    assert RoleSetting.objects.get(role="analyst").reveal_personal_data is False
    assert RoleSetting.objects.get(role="sales_rep").reveal_personal_data is True


def test_the_data_migration_gives_existing_rows_their_roles_default(org: Org) -> None:
    # given rows saved before the column existed (it was added with False everywhere)
    for role in Role.values:
        RoleSetting.objects.create(role=role, data_scope="self", reveal_personal_data=False)
    migration = importlib.import_module(
        "guanxi.accounts.migrations.0003_rolesetting_reveal_defaults"
    )
    # when
    migration.fill(apps, None)
    # then
    saved = dict(RoleSetting.objects.values_list("role", "reveal_personal_data"))
    assert saved == EXPECTED_DEFAULTS
