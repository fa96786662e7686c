"""The second-factor rules: one service for every sign-in, tokens under a role that requires a
device, and re-authentication before the device is replaced or switched off."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts import services
from guanxi.accounts.models import ApiToken
from guanxi.accounts.roles import Role
from guanxi.accounts.services import role_setting_update, second_factor_check, token_create
from guanxi.core.exceptions import AuthenticationFailedError
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import (
    current_code,
    db_state,
    make_totp_device,
    password_login,
    wrong_code,
)
from tests.conftest import ApiClient, Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _require_otp_for_reps(org: Org) -> services.RoleSettingChange:
    return role_setting_update(
        actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True
    )


# --- second_factor_check ------------------------------------------------------------------------
def test_second_factor_check_passes_a_user_without_device_whose_role_does_not_require_one(
    org: Org,
) -> None:
    assert second_factor_check(user=org.rep, code=None) is None


def test_second_factor_check_refuses_when_the_role_requires_a_device_and_there_is_none(
    org: Org,
) -> None:
    _require_otp_for_reps(org)
    org.rep.refresh_from_db()
    with pytest.raises(AuthenticationFailedError) as error:
        second_factor_check(user=org.rep, code="123456")
    assert error.value.code == "otp_setup_required"


def test_second_factor_check_asks_for_a_code_when_there_is_a_device(org: Org) -> None:
    make_totp_device(org.rep)
    with pytest.raises(AuthenticationFailedError) as error:
        second_factor_check(user=org.rep, code="")
    assert error.value.code == "otp_required"


def test_second_factor_check_refuses_a_wrong_code_and_records_the_failure(org: Org) -> None:
    device = make_totp_device(org.rep)
    with pytest.raises(AuthenticationFailedError) as error:
        second_factor_check(user=org.rep, code=wrong_code(device))
    assert error.value.code == "otp_invalid"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert (entry.object_id, entry.note) == (str(org.rep.pk), "login_second_factor_invalid")


def test_second_factor_check_returns_the_matching_device(org: Org) -> None:
    device = make_totp_device(org.rep)
    assert second_factor_check(user=org.rep, code=current_code(device)) == device


@pytest.mark.parametrize("channel", ["html", "api"])
def test_both_sign_in_channels_apply_the_one_second_factor_service(
    org: Org, channel: str, monkeypatch: Any
) -> None:
    # given the service refuses everyone
    calls = []

    def refuse(*, user: Any, code: Any) -> None:
        calls.append(user.username)
        raise AuthenticationFailedError("refused by the service", code="otp_invalid")

    monkeypatch.setattr(services, "second_factor_check", refuse)
    # when rep1 signs in with the right password
    if channel == "html":
        client, response = password_login("rep1", PASSWORD)
        signed_in = "_auth_user_id" in client.session
    else:
        response = ApiClient(None).post(
            "/api/v1/auth/token", {"username": "rep1", "password": PASSWORD}
        )
        signed_in = response.status_code == 201
    # then the decision was the service's
    assert calls == ["rep1"]
    assert not signed_in


# --- Tokens under a role that requires a second factor -----------------------------------------
def test_creating_a_token_with_a_token_is_refused_until_a_device_is_set_up(org: Org) -> None:
    # given reps must use a second factor, and rep1 (no device) holds a token the operator issued
    _require_otp_for_reps(org)
    _token, raw = token_create(actor=None, user=org.rep, name="issued by the operator")
    client = ApiClient(None)
    client.headers["Authorization"] = f"Bearer {raw}"
    before = db_state()
    # when they use it to ask for another token
    response = client.post("/api/v1/tokens", {"name": "more"})
    # then it is refused with a code the client can act on, and nothing changed
    assert response.status_code == 403
    assert response.json()["code"] == "otp_setup_required"
    assert db_state() == before


def test_creating_a_token_with_a_token_works_once_a_device_exists(org: Org) -> None:
    make_totp_device(org.rep)
    client = ApiClient(org.rep)
    _require_otp_for_reps(org)
    response = client.post("/api/v1/tokens", {"name": "more"})
    assert response.status_code == 201


def test_requiring_otp_revokes_the_tokens_of_users_without_a_device(org: Org) -> None:
    # given rep1 (no device), rep2 (a device) and the manager (another role) hold tokens
    make_totp_device(org.other_rep)
    rep1 = ApiClient(org.rep)
    rep2 = ApiClient(org.other_rep)
    manager = ApiClient(org.manager)

    # when the administrator requires a second factor for reps
    change = _require_otp_for_reps(org)

    # then only rep1's token stops working, and it is audited
    assert change.tokens_revoked == 1
    assert rep1.get("/api/v1/me").status_code == 401
    assert rep2.get("/api/v1/me").status_code == 200
    assert manager.get("/api/v1/me").status_code == 200
    token = ApiToken.objects.get(user=org.rep)
    entry = AuditEntry.objects.get(
        object_type="accounts.apitoken", object_id=str(token.pk), action="update"
    )
    assert (entry.actor_id, entry.note) == (org.admin.pk, "token_revoked_second_factor_required")


def test_saving_a_role_that_already_requires_otp_revokes_nothing_more(org: Org) -> None:
    _require_otp_for_reps(org)
    token_create(actor=None, user=org.rep, name="issued by the operator")
    assert _require_otp_for_reps(org).tokens_revoked == 0
    assert ApiToken.objects.filter(user=org.rep, revoked_at__isnull=True).count() == 1


def test_the_roles_page_says_how_many_tokens_were_revoked(org: Org) -> None:
    # given
    ApiClient(org.rep)
    ApiClient(org.other_rep)
    # when
    response = login_client(org.admin).post(
        "/accounts/roles/",
        {"role": "sales_rep", "sales_rep-data_scope": "self", "sales_rep-require_otp": "on"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    # then
    assert "2 API tokens were revoked: their owners have no two-factor device yet." in (
        response.content.decode()
    )


def test_requiring_otp_through_the_api_revokes_too(org: Org) -> None:
    rep = ApiClient(org.rep)
    response = ApiClient(org.admin).put(
        "/api/v1/roles/sales_rep", {"data_scope": "self", "require_otp": True}
    )
    assert response.status_code == 200
    assert rep.get("/api/v1/me").status_code == 401


# --- Re-authentication --------------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["", "wrong-password"])
def test_switching_off_needs_the_current_password(org: Org, secret: str) -> None:
    # given rep1 has a device
    make_totp_device(org.rep)
    client = login_client(org.rep)
    before = db_state()
    # when they switch it off without the right password
    response = client.post(
        "/accounts/profile/two-factor/disable/",
        {"otp_disable-current_password": secret},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    # then it stays on and the form says why
    assert response.status_code == 400
    assert "current_password" in response.context["otp_disable_form"].errors
    assert db_state() == before


def test_switching_off_accepts_a_current_code_instead_of_the_password(org: Org) -> None:
    device = make_totp_device(org.rep)
    response = login_client(org.rep).post(
        "/accounts/profile/two-factor/disable/",
        {"otp_disable-current_password": current_code(device)},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.rep).exists()


def test_opening_the_set_up_page_writes_nothing(org: Org) -> None:
    client = login_client(org.rep)
    before = db_state()
    for _ in range(3):
        assert client.get("/accounts/profile/two-factor/").status_code == 200
    assert db_state() == before


def test_replacing_a_device_needs_the_current_password(org: Org) -> None:
    # given rep1 has a device and starts setting up a new one
    old = make_totp_device(org.rep)
    client = login_client(org.rep)
    client.post("/accounts/profile/two-factor/", {"action": "start"})
    new = TOTPDevice.objects.get(user=org.rep, confirmed=False)
    assert "current_password" in client.get("/accounts/profile/two-factor/").context["form"].fields
    before = db_state()

    # when they confirm with a code from the new device but no password
    response = client.post("/accounts/profile/two-factor/", {"otp_token": current_code(new)})

    # then nothing changes
    assert response.status_code == 400
    assert "current_password" in response.context["form"].errors
    assert db_state() == before

    # when they give the password too, the new device replaces the old one
    response = client.post(
        "/accounts/profile/two-factor/",
        {"otp_token": current_code(new), "current_password": PASSWORD},
    )
    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=org.rep).values_list("pk", "confirmed")) == [
        (new.pk, True)
    ]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_confirming_without_starting_is_refused(org: Org) -> None:
    client = login_client(org.rep)
    before = db_state()
    response = client.post("/accounts/profile/two-factor/", {"otp_token": "123456"})
    assert response.status_code == 400
    assert db_state() == before


def test_the_service_refuses_to_switch_off_without_reauthentication(org: Org) -> None:
    make_totp_device(org.rep)
    with pytest.raises(ValidationError):
        services.otp_device_remove(user=org.rep, current_password=None)
    assert TOTPDevice.objects.filter(user=org.rep).exists()
