"""The profile page: password, sessions, two-factor set-up and removal."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.models import LoginSession, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import role_setting_update, user_create
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import (
    PRODUCTION_HASHERS,
    current_code,
    db_state,
    make_totp_device,
    password_login,
    wrong_code,
)
from tests.conftest import Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-77"


def test_profile_lists_tokens_and_sessions_of_the_user_only(org: Org) -> None:
    client, _response = password_login("rep1", PASSWORD, HTTP_USER_AGENT="Firefox/130")
    password_login("rep2", PASSWORD)
    response = client.get("/accounts/profile/")
    assert response.status_code == 200
    sessions = list(response.context["sessions"])
    assert [s.user_id for s in sessions] == [org.rep.pk]
    assert response.context["current_session"] == sessions[0].session_key
    assert "Firefox/130" in response.content.decode()


def test_password_change_works_and_keeps_this_session(org: Org) -> None:
    client, _response = password_login("rep1", PASSWORD)
    response = client.post(
        "/accounts/profile/password/",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(pk=org.rep.pk).check_password(NEW_PASSWORD)
    assert client.get("/accounts/profile/").status_code == 200
    assert AuditEntry.objects.filter(object_id=str(org.rep.pk), note="password_changed").exists()


def test_password_change_signs_out_other_sessions(org: Org) -> None:
    here, _r = password_login("rep1", PASSWORD)
    elsewhere, _r = password_login("rep1", PASSWORD)
    here.post(
        "/accounts/profile/password/",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert elsewhere.get("/accounts/profile/").status_code == 302
    assert LoginSession.objects.filter(user=org.rep).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {
                "current_password": "wrong-one",
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
            "current_password",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": "different-77",
            },
            "new_password_again",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "12345678",
                "new_password_again": "12345678",
            },
            "new_password",
        ),
        (
            {"current_password": PASSWORD, "new_password": "", "new_password_again": ""},
            "new_password",
        ),
    ],
)
def test_password_change_errors_show_inline_and_change_nothing(
    org: Org, data: dict, field: str
) -> None:
    client = login_client(org.rep)
    before = db_state()
    response = client.post("/accounts/profile/password/", data)
    assert response.status_code == 400
    assert field in response.context["password_form"].errors
    assert db_state() == before
    assert User.objects.get(pk=org.rep.pk).check_password(PASSWORD)


def test_sign_out_everywhere_else_ends_the_other_sessions_only(org: Org) -> None:
    # given rep1 signed in from two browsers, and rep2 from one
    here, _r = password_login("rep1", PASSWORD)
    elsewhere, _r = password_login("rep1", PASSWORD)
    colleague, _r = password_login("rep2", PASSWORD)
    # when rep1 signs out everywhere else
    response = here.post("/accounts/profile/sessions/end-others/")
    # then the other browser is signed out, this one and the colleague's are not
    assert response.status_code == 302
    assert here.get("/accounts/profile/").status_code == 200
    assert elsewhere.get("/accounts/profile/").status_code == 302
    assert colleague.get("/accounts/profile/").status_code == 200
    assert LoginSession.objects.filter(user=org.rep).count() == 1


def test_two_factor_set_up_and_removal(org: Org) -> None:
    client = login_client(org.rep)
    # when rep1 opens the set-up page, nothing is written until they press Start
    page = client.get("/accounts/profile/two-factor/")
    assert page.status_code == 200
    assert "qr" not in page.context
    assert not TOTPDevice.objects.filter(user=org.rep).exists()
    response = client.post("/accounts/profile/two-factor/", {"action": "start"})
    assert response.status_code == 302
    # then a pending device with a QR code and key is offered
    page = client.get("/accounts/profile/two-factor/")
    assert page.context["qr"].startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=org.rep, confirmed=False)
    # and starting again reuses it rather than piling up devices
    client.post("/accounts/profile/two-factor/", {"action": "start"})
    assert TOTPDevice.objects.filter(user=org.rep).count() == 1

    # a wrong code is refused, inline
    response = client.post("/accounts/profile/two-factor/", {"otp_token": wrong_code(device)})
    assert response.status_code == 400
    assert "otp_token" in response.context["form"].errors
    assert not TOTPDevice.objects.filter(user=org.rep, confirmed=True).exists()
    device.throttle_reset()

    # the right code turns it on
    response = client.post("/accounts/profile/two-factor/", {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=org.rep).confirmed
    assert client.get("/accounts/profile/").context["has_otp"] is True

    # the next sign-in asks for the code
    _browser, response = password_login("rep1", PASSWORD)
    assert response["Location"] == "/accounts/login/verify/"

    # and rep1 may switch it off again, giving their password
    response = client.post(
        "/accounts/profile/two-factor/disable/", {"otp_disable-current_password": PASSWORD}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=org.rep).exists()
    assert AuditEntry.objects.filter(
        object_id=str(org.rep.pk), note="second_factor_removed"
    ).exists()


def test_two_factor_cannot_be_switched_off_when_the_role_requires_it(org: Org) -> None:
    # given rep1 has a device, and reps must use one
    device = make_totp_device(org.rep)
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True)
    client, _r = password_login("rep1", PASSWORD)
    client.post("/accounts/login/verify/", {"otp_token": current_code(device)})
    before = db_state()
    # when rep1 tries to switch it off
    response = client.post(
        "/accounts/profile/two-factor/disable/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    # then it stays on, and they are told why
    assert (
        "Your role requires two-factor sign-in, so it cannot be switched off."
        in response.content.decode()
    )
    assert db_state() == before


def test_a_verified_session_is_not_sent_to_set_up_when_the_role_requires_otp(org: Org) -> None:
    device = make_totp_device(org.rep)
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True)
    client, _r = password_login("rep1", PASSWORD)
    client.post("/accounts/login/verify/", {"otp_token": current_code(device)})
    assert int(client.session[SESSION_KEY]) == org.rep.pk
    assert client.get("/accounts/departments/").status_code == 200


def test_argon2_is_the_production_hasher(db: None, settings: object) -> None:
    # the accounts tests use a fast hasher; production must hash with Argon2
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS  # type: ignore[attr-defined]
    user = user_create(actor=None, username="argon", password=NEW_PASSWORD)
    assert User.objects.get(pk=user.pk).password.startswith("argon2$")
    assert PRODUCTION_HASHERS[0].endswith("Argon2PasswordHasher")


def test_session_cleanup_task_drops_expired_sessions_and_their_records(org: Org) -> None:
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from guanxi.accounts.tasks import sessions_cleanup_task

    live, _r = password_login("rep1", PASSWORD)
    stale, _r = password_login("rep2", PASSWORD)
    Session.objects.filter(session_key=stale.session.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    assert sessions_cleanup_task.call() == 1
    assert list(LoginSession.objects.values_list("user_id", flat=True)) == [org.rep.pk]
    assert sessions_cleanup_task.call() == 0
    assert settings.SESSION_ENGINE.endswith("db")


def test_after_a_password_change_this_session_is_still_tracked(org: Org) -> None:
    # given rep1 changed their password (which gives the session a new key)
    client, _r = password_login("rep1", PASSWORD)
    client.post(
        "/accounts/profile/password/",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    # then the session row follows the new key, so deactivation can still end it
    assert LoginSession.objects.get(user=org.rep).session_key == client.session.session_key
    from guanxi.accounts.services import user_deactivate

    user_deactivate(actor=org.admin, user=org.rep)
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=client.session.session_key).exists()
