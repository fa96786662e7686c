"""Signing in: the login page, lockout, the TOTP second factor, the token endpoint, logout."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.models import ApiToken, LoginSession, RoleSetting
from guanxi.accounts.roles import Role
from guanxi.accounts.services import role_setting_update
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import (
    assert_only_a_failed_sign_in_added,
    current_code,
    db_state,
    in_language,
    make_totp_device,
    password_login,
    wrong_code,
)
from tests.conftest import ApiClient, Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG_LOGIN = "Wrong username or password, or the account is deactivated."
LOCKED = "Too many failed sign-in attempts. Try again in %(minutes)s minutes."


def token_request(username: str, password: str, **extra: str) -> object:
    return ApiClient(None).post(
        "/api/v1/auth/token", {"username": username, "password": password, **extra}
    )


# --- Password sign-in ---------------------------------------------------------------------------
def test_login_page_renders_for_anonymous(db: None) -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_successful_login_records_a_session_and_an_audit_entry(org: Org) -> None:
    # when rep1 signs in with the right password
    client, response = password_login("rep1", PASSWORD, HTTP_USER_AGENT="Firefox/130")

    # then they are redirected home and signed in
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert int(client.session[SESSION_KEY]) == org.rep.pk
    # and the session is listed with its address and browser
    recorded = LoginSession.objects.get(user=org.rep)
    assert recorded.session_key == client.session.session_key
    assert recorded.ip_address == "127.0.0.1"
    assert recorded.user_agent == "Firefox/130"
    # and the sign-in is in the audit trail
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN)
    assert entry.actor_id == org.rep.pk
    assert entry.object_id == str(org.rep.pk)
    assert entry.ip_address == "127.0.0.1"


def test_login_follows_a_local_next_url(org: Org) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": PASSWORD, "next": "/accounts/users/"}
    )
    assert response["Location"] == "/accounts/users/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "http:evil.example"]
)
def test_login_ignores_an_offsite_next_url(org: Org, target: str) -> None:
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "admin", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signed_in_user_opening_the_login_page_goes_home(org: Org) -> None:
    response = login_client(org.rep).get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("accept_language", "language"), [("zh-CN,zh;q=0.9", "zh-hans"), ("en-US,en;q=0.9", "en")]
)
def test_wrong_password_shows_a_translated_error_and_does_not_sign_in(
    org: Org, accept_language: str, language: str
) -> None:
    # given
    before = db_state()
    # when
    client, response = password_login(
        "rep1", "not-the-password", HTTP_ACCEPT_LANGUAGE=accept_language
    )
    # then the page says so in the browser's language
    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert in_language(language, WRONG_LOGIN) in response.content.decode()
    # and nobody is signed in; only the failed attempt was recorded
    assert SESSION_KEY not in client.session
    assert_only_a_failed_sign_in_added(
        before, object_id=str(org.rep.pk), note="login_invalid_credentials"
    )


def test_the_wrong_password_message_has_a_chinese_translation() -> None:
    translated = in_language("zh-hans", WRONG_LOGIN)
    assert translated != WRONG_LOGIN
    assert any("\u4e00" <= ch <= "\u9fff" for ch in translated)


def test_unknown_user_gets_the_same_message_as_a_wrong_password(org: Org) -> None:
    _client, response = password_login("nobody", "whatever-password", HTTP_ACCEPT_LANGUAGE="en")
    assert WRONG_LOGIN in response.content.decode()


def test_empty_login_form_shows_field_errors(org: Org) -> None:
    response = Client().post(
        "/accounts/login/", {"username": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"username", "password"}


# --- Lockout (django-axes) ----------------------------------------------------------------------
def test_html_login_locks_out_after_the_failure_limit(org: Org) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    limit = settings.AXES_FAILURE_LIMIT
    # given limit - 1 failures are plain wrong-password answers
    for _ in range(limit - 1):
        response = client.post(
            "/accounts/login/", {"username": "rep1", "password": "wrong-password"}
        )
        assert response.status_code == 200
    # when the limit is reached
    response = client.post("/accounts/login/", {"username": "rep1", "password": "wrong-password"})
    # then the answer is 429 with a message saying when to try again
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    assert response.status_code == 429
    assert LOCKED % {"minutes": minutes} in response.content.decode()
    assert int(response["Retry-After"]) == round(settings.AXES_COOLOFF_TIME * 3600)
    # and even the right password is refused now
    response = client.post("/accounts/login/", {"username": "rep1", "password": PASSWORD})
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    assert not LoginSession.objects.exists()


def test_lockout_message_is_translated_into_chinese(org: Org) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/accounts/login/", {"username": "rep1", "password": "wrong-password"}
        )
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    assert response.status_code == 429
    assert in_language("zh-hans", LOCKED) % {"minutes": minutes} in response.content.decode()


def test_lockout_is_per_username(org: Org) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "rep1", "password": "wrong-password"})
    # another account from the same address still signs in
    response = client.post("/accounts/login/", {"username": "rep2", "password": PASSWORD})
    assert response.status_code == 302


def test_a_successful_login_resets_the_failure_count(org: Org) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        password_login("rep1", "wrong-password")
    _client, ok = password_login("rep1", PASSWORD)
    assert ok.status_code == 302
    for _ in range(limit - 1):
        _client, response = password_login("rep1", "wrong-password")
        assert response.status_code == 200


def test_api_token_endpoint_locks_out_after_the_failure_limit(org: Org) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = token_request("rep1", "wrong-password")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    response = token_request("rep1", "wrong-password")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "locked_out"
    assert set(body) == {"message", "code", "fields"}
    # the right password does not get a token while locked out
    response = token_request("rep1", PASSWORD)
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert not ApiToken.objects.filter(user=org.rep).exists()


def test_failures_on_the_api_lock_the_login_page_too(org: Org) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_request("rep1", "wrong-password")
    _client, response = password_login("rep1", PASSWORD)
    assert response.status_code == 429


# --- Token endpoint -----------------------------------------------------------------------------
def test_token_endpoint_returns_a_working_token(org: Org) -> None:
    response = token_request("rep1", PASSWORD, name="my script")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "my script"
    assert body["token"].startswith(settings.GUANXI_API_TOKEN_PREFIX)
    client = ApiClient(None)
    client.headers["Authorization"] = f"Bearer {body['token']}"
    assert client.get("/api/v1/me").json()["username"] == "rep1"


def test_token_endpoint_refuses_a_wrong_password_and_creates_nothing(org: Org) -> None:
    before = db_state()
    response = token_request("rep1", "wrong-password")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert_only_a_failed_sign_in_added(
        before, object_id=str(org.rep.pk), note="login_invalid_credentials"
    )


def test_token_endpoint_validates_its_body(org: Org) -> None:
    response = ApiClient(None).post("/api/v1/auth/token", {"username": "rep1"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["fields"]


# --- Second factor (TOTP) -----------------------------------------------------------------------
def test_login_with_a_totp_device_asks_for_the_code_before_signing_in(org: Org) -> None:
    # given rep1 has a confirmed authenticator
    device = make_totp_device(org.rep)
    client = Client()

    # when they enter the right password
    response = client.post(
        "/accounts/login/", {"username": "rep1", "password": PASSWORD, "next": "/accounts/profile/"}
    )

    # then they are asked for the code and are not signed in yet
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/verify/"
    assert SESSION_KEY not in client.session
    assert client.get("/accounts/profile/").status_code == 302
    assert client.get("/accounts/login/verify/").status_code == 200

    # when they enter the current code
    response = client.post("/accounts/login/verify/", {"otp_token": current_code(device)})

    # then they are signed in, verified, sent on to where they wanted to go, and recorded
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert int(client.session[SESSION_KEY]) == org.rep.pk
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert LoginSession.objects.filter(
        user=org.rep, session_key=client.session.session_key
    ).exists()
    assert client.get("/accounts/profile/").status_code == 200


def test_login_verify_refuses_a_wrong_code(org: Org) -> None:
    device = make_totp_device(org.rep)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"username": "rep1", "password": PASSWORD})

    response = client.post("/accounts/login/verify/", {"otp_token": wrong_code(device)})

    assert response.status_code == 200
    assert "The two-factor code is wrong or expired." in response.content.decode()
    assert SESSION_KEY not in client.session
    assert not LoginSession.objects.exists()


def test_login_verify_refuses_a_malformed_code(org: Org) -> None:
    make_totp_device(org.rep)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"username": "rep1", "password": PASSWORD})
    response = client.post("/accounts/login/verify/", {"otp_token": "12ab"})
    assert "Enter the 6-digit code." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_login_verify_without_a_pending_sign_in_goes_back_to_login(db: None) -> None:
    response = Client().get("/accounts/login/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"


def test_login_verify_for_a_user_deactivated_meanwhile_goes_back_to_login(org: Org) -> None:
    device = make_totp_device(org.rep)
    client = Client()
    client.post("/accounts/login/", {"username": "rep1", "password": PASSWORD})
    org.rep.is_active = False
    org.rep.save()
    response = client.post("/accounts/login/verify/", {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session


def test_an_unconfirmed_device_does_not_ask_for_a_code(org: Org) -> None:
    make_totp_device(org.rep, confirmed=False)
    _client, response = password_login("rep1", PASSWORD)
    assert response["Location"] == "/"


def test_token_endpoint_requires_the_code_when_the_user_has_a_device(org: Org) -> None:
    make_totp_device(org.rep)
    before = db_state()
    response = token_request("rep1", PASSWORD)
    assert response.status_code == 401
    assert response.json()["code"] == "otp_required"
    assert "otp" in response.json()["fields"]
    assert db_state() == before


def test_token_endpoint_refuses_a_wrong_code(org: Org) -> None:
    device = make_totp_device(org.rep)
    response = token_request("rep1", PASSWORD, otp=wrong_code(device))
    assert response.status_code == 401
    assert response.json()["code"] == "otp_invalid"
    assert not ApiToken.objects.exists()


def test_token_endpoint_accepts_the_right_code(org: Org) -> None:
    device = make_totp_device(org.rep)
    response = token_request("rep1", PASSWORD, otp=current_code(device))
    assert response.status_code == 201
    assert ApiToken.objects.filter(user=org.rep).count() == 1


def test_a_code_cannot_be_used_twice(org: Org) -> None:
    device = make_totp_device(org.rep)
    code = current_code(device)
    assert token_request("rep1", PASSWORD, otp=code).status_code == 201
    response = token_request("rep1", PASSWORD, otp=code)
    assert response.status_code == 401
    assert response.json()["code"] == "otp_invalid"


def test_role_requiring_otp_sends_a_user_without_device_to_the_setup_page(org: Org) -> None:
    # given the administrator requires a second factor for sales reps
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True)

    # when rep1 (no device) signs in
    client, response = password_login("rep1", PASSWORD)
    assert response.status_code == 302

    # then every page sends them to the set-up page
    for path in ("/", "/accounts/profile/", "/accounts/departments/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/profile/two-factor/"
    # and the set-up page itself, logout and the language switch stay reachable
    response = client.get("/accounts/profile/two-factor/")
    assert response.status_code == 200
    assert response.context["required"] is True
    assert client.post("/accounts/profile/two-factor/", {"action": "start"}).status_code == 302

    # when they confirm the device with a current code
    device = TOTPDevice.objects.get(user=org.rep, confirmed=False)
    response = client.post("/accounts/profile/two-factor/", {"otp_token": current_code(device)})

    # then the device is confirmed, this session is verified, and the pages open
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/accounts/departments/").status_code == 200


def test_role_requiring_otp_leaves_other_roles_alone(org: Org) -> None:
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True)
    client, _response = password_login("manager", PASSWORD)
    assert client.get("/accounts/departments/").status_code == 200


def test_role_requiring_otp_refuses_api_tokens_until_a_device_is_set_up(org: Org) -> None:
    # given reps must use a second factor and rep1 has none yet
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=True)
    before = db_state()
    # when rep1 asks for a token with only a password
    response = token_request("rep1", PASSWORD)
    # then the password alone is not enough
    assert response.status_code == 401
    assert response.json()["code"] == "otp_setup_required"
    assert db_state() == before


def test_signing_out_ends_the_session_and_is_audited(org: Org) -> None:
    client, _response = password_login("rep1", PASSWORD)
    key = client.session.session_key
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not LoginSession.objects.filter(session_key=key).exists()
    assert client.get("/accounts/profile/").status_code == 302
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LOGOUT, actor=org.rep).exists()


def test_role_settings_are_created_on_first_change_only(org: Org) -> None:
    assert not RoleSetting.objects.exists()
    role_setting_update(
        actor=org.admin, role=Role.SALES_REP, data_scope="department", require_otp=False
    )
    assert RoleSetting.objects.get(role=Role.SALES_REP).data_scope == "department"
