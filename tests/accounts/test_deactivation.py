"""Deactivating a user ends their browser sessions and API tokens at once; reactivation."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import ApiToken, LoginSession, User
from guanxi.accounts.services import token_create, user_deactivate, user_reactivate
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import db_state, in_language, password_login, session_user_ids
from tests.conftest import ApiClient, Org, login_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_deactivation_signs_out_a_browser_that_logged_in_through_the_form(org: Org) -> None:
    # given rep1 signed in through the login page, and can see their profile
    browser, response = password_login("rep1", PASSWORD)
    assert response.status_code == 302
    assert browser.get("/accounts/profile/").status_code == 200
    assert org.rep.pk in session_user_ids()

    # when an administrator deactivates rep1 through the users page
    admin = login_client(org.admin)
    response = admin.post(f"/accounts/users/{org.rep.pk}/deactivate/")
    assert response.status_code == 302

    # then rep1's next request is sent to the login page, and the session row is gone
    response = browser.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert org.rep.pk not in session_user_ids()
    assert not LoginSession.objects.filter(user=org.rep).exists()


def test_deactivation_signs_out_sessions_not_recorded_at_login(org: Org) -> None:
    # given a session made without the login page (no LoginSession row for it)
    browser = login_client(org.rep)
    assert browser.get("/accounts/profile/").status_code == 200
    # when
    user_deactivate(actor=org.admin, user=org.rep)
    # then that session no longer authenticates either
    response = browser.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_deactivation_revokes_api_tokens_at_once(org: Org) -> None:
    # given two working tokens of rep1
    client = ApiClient(org.rep)
    _second, raw = token_create(actor=org.rep, user=org.rep, name="second")
    assert client.get("/api/v1/me").status_code == 200

    # when an administrator deactivates rep1 through the API
    response = ApiClient(org.admin).post(f"/api/v1/users/{org.rep.pk}/deactivate")
    assert response.status_code == 200
    assert response.json()["is_active"] is False

    # then both tokens answer 401 and are marked revoked
    assert client.get("/api/v1/me").status_code == 401
    other = ApiClient(None)
    other.headers["Authorization"] = f"Bearer {raw}"
    assert other.get("/api/v1/me").status_code == 401
    assert not ApiToken.objects.filter(user=org.rep, revoked_at__isnull=True).exists()


def test_deactivation_is_audited_with_before_and_after(org: Org) -> None:
    user_deactivate(actor=org.admin, user=org.rep)
    entry = AuditEntry.objects.filter(
        object_type="accounts.user", object_id=str(org.rep.pk)
    ).first()
    assert entry.actor_id == org.admin.pk
    assert entry.changes == {"is_active": {"before": True, "after": False}}
    assert entry.note == "user_deactivated?sessions=0&tokens=0"


def test_deactivated_user_cannot_log_in(org: Org) -> None:
    user_deactivate(actor=org.admin, user=org.rep)
    browser, response = password_login("rep1", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in browser.session
    api = ApiClient(None).post("/api/v1/auth/token", {"username": "rep1", "password": PASSWORD})
    assert api.status_code == 401


@pytest.mark.parametrize("channel", ["html", "api", "service"])
def test_cannot_deactivate_yourself(org: Org, channel: str) -> None:
    # given
    before = db_state()
    # when the administrator tries to deactivate themself
    if channel == "html":
        response = login_client(org.admin).post(
            f"/accounts/users/{org.admin.pk}/deactivate/", follow=True
        )
        assert (
            in_language("zh-hans", "You cannot deactivate yourself.") in response.content.decode()
        )
    elif channel == "api":
        response = ApiClient(org.admin).post(f"/api/v1/users/{org.admin.pk}/deactivate")
        assert response.status_code == 400
        assert response.json()["code"] == "cannot_deactivate_self"
        before = db_state()  # the ApiClient's token was created above; compare from here on
    else:
        with pytest.raises(ApplicationError) as raised:
            user_deactivate(actor=org.admin, user=org.admin)
        assert raised.value.code == "cannot_deactivate_self"
    # then nothing changed and the administrator is still active
    if channel != "api":
        assert db_state() == before
    assert User.objects.get(pk=org.admin.pk).is_active


def test_deactivating_twice_is_refused_and_changes_nothing(org: Org) -> None:
    client = ApiClient(org.admin)
    assert client.post(f"/api/v1/users/{org.rep.pk}/deactivate").status_code == 200
    before = db_state()
    response = client.post(f"/api/v1/users/{org.rep.pk}/deactivate")
    assert response.status_code == 400
    assert response.json()["code"] == "already_inactive"
    assert db_state() == before


def test_reactivation_lets_the_user_sign_in_again_but_does_not_revive_old_tokens(org: Org) -> None:
    # given a deactivated rep with a token revoked by the deactivation
    old = ApiClient(org.rep)
    user_deactivate(actor=org.admin, user=org.rep)

    # when the administrator reactivates them through the users page
    response = login_client(org.admin).post(f"/accounts/users/{org.rep.pk}/reactivate/")
    assert response.status_code == 302

    # then they can sign in again, the old token stays dead, a new one works
    rep = User.objects.get(pk=org.rep.pk)
    assert rep.is_active and rep.deactivated_at is None
    _browser, response = password_login("rep1", PASSWORD)
    assert response.status_code == 302
    assert old.get("/api/v1/me").status_code == 401
    assert ApiClient(rep).get("/api/v1/me").status_code == 200


def test_reactivating_an_active_user_is_refused(org: Org) -> None:
    before = db_state()
    with pytest.raises(ApplicationError) as raised:
        user_reactivate(actor=org.admin, user=org.rep)
    assert raised.value.code == "already_active"
    assert db_state() == before


def test_deactivated_user_vanishes_from_the_default_list_but_shows_when_asked(org: Org) -> None:
    user_deactivate(actor=org.admin, user=org.rep)
    client = login_client(org.admin)
    active = {u.username for u in client.get("/accounts/users/").context["page"].items}
    gone = {
        u.username for u in client.get("/accounts/users/", {"active": "0"}).context["page"].items
    }
    assert "rep1" not in active
    assert gone == {"rep1"}
