"""An administrator resets a user's password or second factor; accounts without a password."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.services import (
    token_create,
    user_create,
    user_otp_reset,
    user_password_reset,
)
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import (
    current_code,
    db_state,
    make_totp_device,
    password_login,
    session_user_ids,
)
from tests.conftest import ApiClient, Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-unusual-passphrase-42"


def test_password_reset_sets_the_password_and_ends_the_sessions_but_keeps_the_tokens(
    org: Org,
) -> None:
    # given rep2 is signed in twice and has an API token
    browser, _r = password_login("rep2", PASSWORD)
    other, _r = password_login("rep2", PASSWORD)
    _token, raw = token_create(actor=org.other_rep, user=org.other_rep, name="script")
    version = User.objects.get(pk=org.other_rep.pk).version

    # when the administrator sets a new password
    response = ApiClient(org.admin).post(
        f"/api/v1/users/{org.other_rep.pk}/password", {"password": NEW_PASSWORD}
    )

    # then the new password works, the old one does not, every session ended
    assert response.status_code == 200
    user = User.objects.get(pk=org.other_rep.pk)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert org.other_rep.pk not in session_user_ids()
    assert browser.get("/accounts/profile/").status_code == 302
    assert other.get("/accounts/profile/").status_code == 302
    # and the version moved on, so a form opened before is told about the change
    assert user.version == version + 1
    assert response.json()["version"] == version + 1
    # and the API token still works (see user_password_reset for why)
    token_client = ApiClient(None)
    token_client.headers["Authorization"] = f"Bearer {raw}"
    assert token_client.get("/api/v1/me").status_code == 200
    # and it is on the audit trail, by the administrator
    entry = AuditEntry.objects.get(object_id=str(user.pk), note="password_reset")
    assert entry.actor_id == org.admin.pk


def test_password_reset_refuses_a_weak_password_and_changes_nothing(org: Org) -> None:
    # given
    client = ApiClient(org.admin)
    before = db_state()
    # when
    response = client.post(f"/api/v1/users/{org.other_rep.pk}/password", {"password": "123"})
    # then
    assert response.status_code == 422
    assert "password" in response.json()["fields"]
    assert db_state() == before


def test_password_reset_of_yourself_is_refused(org: Org) -> None:
    # given
    before = db_state()
    # when / then: one's own password is changed on the profile page, with the current one
    with pytest.raises(ApplicationError) as error:
        user_password_reset(actor=org.admin, user=org.admin, password=NEW_PASSWORD)
    assert error.value.code == "cannot_reset_self"
    assert db_state() == before


def test_password_reset_form_on_the_user_page(org: Org) -> None:
    # given the administrator opens rep2's page
    client = login_client(org.admin)
    page = client.get(f"/accounts/users/{org.other_rep.pk}/")
    body = page.content.decode()
    assert f'action="/accounts/users/{org.other_rep.pk}/password/"' in body
    assert "data-confirm" in body

    # when the two passwords differ, nothing changes
    before = db_state()
    response = client.post(
        f"/accounts/users/{org.other_rep.pk}/password/",
        {"reset-new_password": NEW_PASSWORD, "reset-new_password_again": "something-else-77"},
    )
    assert response.status_code == 400
    assert "new_password_again" in response.context["password_reset_form"].errors
    assert db_state() == before

    # when they match, the password is set
    response = client.post(
        f"/accounts/users/{org.other_rep.pk}/password/",
        {"reset-new_password": NEW_PASSWORD, "reset-new_password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=org.other_rep.pk).check_password(NEW_PASSWORD)


def test_otp_reset_removes_the_devices_and_ends_the_sessions(org: Org) -> None:
    # given rep2 has a device and signed in with it
    device = make_totp_device(org.other_rep)
    browser, _r = password_login("rep2", PASSWORD)
    browser.post("/accounts/login/verify/", {"otp_token": current_code(device)})
    assert browser.get("/accounts/profile/").status_code == 200

    # when the administrator resets their second factor on the user page
    response = login_client(org.admin).post(f"/accounts/users/{org.other_rep.pk}/otp-reset/")

    # then the devices are gone, the browser is signed out, and it is audited
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.other_rep).exists()
    assert browser.get("/accounts/profile/").status_code == 302
    assert SESSION_KEY not in browser.session
    entry = AuditEntry.objects.get(object_id=str(org.other_rep.pk), note="second_factor_reset")
    assert entry.actor_id == org.admin.pk
    # and signing in asks for no code any more
    _client, response = password_login("rep2", PASSWORD)
    assert response["Location"] == "/"


def test_otp_reset_without_a_device_is_refused_and_changes_nothing(org: Org) -> None:
    # given rep2 has no device
    client = ApiClient(org.admin)
    before = db_state()
    # when
    response = client.post(f"/api/v1/users/{org.other_rep.pk}/otp-reset")
    # then
    assert response.status_code == 400
    assert response.json()["code"] == "otp_not_set_up"
    assert db_state() == before


def test_otp_reset_of_yourself_is_refused(org: Org) -> None:
    # given the administrator has a device
    make_totp_device(org.admin)
    before = db_state()
    # when / then: switching one's own off needs the current password, on the profile page
    with pytest.raises(ApplicationError) as error:
        user_otp_reset(actor=org.admin, user=org.admin)
    assert error.value.code == "cannot_reset_self"
    assert db_state() == before


def test_an_account_created_without_a_password_is_flagged_until_one_is_set(org: Org) -> None:
    # given an account created without a password
    user = user_create(actor=org.admin, username="newbie", password=None)
    admin = login_client(org.admin)

    # then the list, the user page and the API say so
    listing = admin.get("/accounts/users/").content.decode()
    assert listing.count('data-testid="no-password"') == 1
    page = admin.get(f"/accounts/users/{user.pk}/").content.decode()
    assert 'data-testid="no-password"' in page
    api = ApiClient(org.admin)
    assert api.get(f"/api/v1/users/{user.pk}").json()["has_usable_password"] is False

    # when the administrator sets one
    api.post(f"/api/v1/users/{user.pk}/password", {"password": NEW_PASSWORD})

    # then the person can sign in and the flag is gone
    _client, response = password_login("newbie", NEW_PASSWORD)
    assert response.status_code == 302
    assert 'data-testid="no-password"' not in admin.get("/accounts/users/").content.decode()
    assert api.get(f"/api/v1/users/{user.pk}").json()["has_usable_password"] is True


def test_password_reset_is_validated_against_the_user(org: Org) -> None:
    # given / when a password equal to the username / then refused like on creation
    with pytest.raises(ValidationError) as error:
        user_password_reset(actor=org.admin, user=org.other_rep, password="rep2rep2")
    assert "password" in error.value.message_dict
    assert ApiToken.objects.count() == 0
