"""API tokens: hashed at rest, listed per user, revocable, expiring, last use recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import token_authenticate, token_create, token_hash, token_revoke
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import db_state
from tests.conftest import ApiClient, Org, login_client

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> ApiClient:
    client = ApiClient(None)
    client.headers["Authorization"] = f"Bearer {raw}"
    return client


def test_the_raw_token_is_never_stored(org: Org) -> None:
    # given a new token
    token, raw = token_create(actor=org.rep, user=org.rep, name="script")
    # then only its hash and a short prefix are in the database, in no column of any row
    assert token.key_hash == token_hash(raw) != raw
    assert raw.startswith(token.prefix) and len(token.prefix) < len(raw) // 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert rows
    assert not any(raw in str(value) for row in rows for value in row)
    # and the audit trail does not carry it either
    assert not any(
        raw in str(e.changes) + e.note + e.object_label for e in AuditEntry.objects.all()
    )


def test_a_token_created_on_the_profile_page_is_shown_once(org: Org) -> None:
    client = login_client(org.rep)
    response = client.post("/accounts/profile/tokens/", {"name": "laptop"})
    raw = response.context["new_token"]
    assert response.status_code == 200
    assert raw in response.content.decode()
    assert bearer(raw).get("/api/v1/me").json()["username"] == "rep1"
    # a later visit of the profile shows the prefix, never the token
    page = client.get("/accounts/profile/").content.decode()
    assert raw not in page
    assert ApiToken.objects.get(user=org.rep).prefix in page


def test_profile_token_form_refuses_an_empty_name(org: Org) -> None:
    client = login_client(org.rep)
    before = db_state()
    response = client.post("/accounts/profile/tokens/", {"name": "   "})
    assert response.status_code == 400
    assert "name" in response.context["token_form"].errors
    assert db_state() == before


def test_tokens_are_listed_per_user(org: Org) -> None:
    # given tokens of two users
    token_create(actor=org.rep, user=org.rep, name="rep1 a")
    token_create(actor=org.rep, user=org.rep, name="rep1 b")
    token_create(actor=org.other_rep, user=org.other_rep, name="rep2")
    # when rep1 lists tokens (the ApiClient's own token is one more)
    body = ApiClient(org.rep).get("/api/v1/tokens").json()
    # then only rep1's show, without any secret
    assert {t["name"] for t in body} == {"rep1 a", "rep1 b", "test"}
    assert all("token" not in t and "key_hash" not in t for t in body)
    # and even the administrator's list holds only their own tokens
    assert {t["name"] for t in ApiClient(org.admin).get("/api/v1/tokens").json()} == {"test"}


def test_token_created_through_the_api_works_and_can_expire(org: Org) -> None:
    client = ApiClient(org.rep)
    expires = (timezone.now() + dt.timedelta(days=30)).isoformat()
    response = client.post("/api/v1/tokens", {"name": "ci", "expires_at": expires})
    assert response.status_code == 201
    raw = response.json()["token"]
    assert bearer(raw).get("/api/v1/me").status_code == 200
    assert response.json()["expires_at"] is not None


def test_an_expired_token_is_refused(org: Org) -> None:
    token, raw = token_create(actor=org.rep, user=org.rep, name="old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert bearer(raw).get("/api/v1/me").status_code == 401


def test_a_token_cannot_be_created_already_expired(org: Org) -> None:
    client = ApiClient(org.rep)
    before = db_state()
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    response = client.post("/api/v1/tokens", {"name": "ci", "expires_at": past})
    assert response.status_code == 422
    assert "expires_at" in response.json()["fields"]
    assert db_state() == before


@pytest.mark.parametrize(("name", "field"), [("", "name"), ("x" * 101, "name")])
def test_token_name_is_validated(org: Org, name: str, field: str) -> None:
    client = ApiClient(org.rep)
    before = db_state()
    response = client.post("/api/v1/tokens", {"name": name})
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert db_state() == before


def test_revoking_a_token_makes_it_401_at_once(org: Org) -> None:
    # given a working token and a second client holding it
    token, raw = token_create(actor=org.rep, user=org.rep, name="script")
    assert bearer(raw).get("/api/v1/me").status_code == 200
    # when rep1 revokes it through the API
    response = ApiClient(org.rep).delete(f"/api/v1/tokens/{token.pk}")
    # then
    assert response.status_code == 204
    assert bearer(raw).get("/api/v1/me").status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None
    # and the revoked token is still listed, marked revoked
    listed = {t["id"]: t for t in ApiClient(org.rep).get("/api/v1/tokens").json()}
    assert listed[token.pk]["revoked_at"] is not None


def test_a_token_can_revoke_itself(org: Org) -> None:
    client = ApiClient(org.rep)
    own = ApiToken.objects.get(user=org.rep)
    assert client.delete(f"/api/v1/tokens/{own.pk}").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_revoking_twice_is_refused_and_changes_nothing(org: Org) -> None:
    token, _raw = token_create(actor=org.rep, user=org.rep, name="script")
    token_revoke(actor=org.rep, token=token)
    client = ApiClient(org.rep)
    before = db_state()
    response = client.delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 400
    assert response.json()["code"] == "already_revoked"
    assert db_state() == before


@pytest.mark.parametrize("actor", ["sales_manager", "analyst", "sales_rep", "outsider"])
def test_a_non_administrator_cannot_revoke_another_users_token(org: Org, actor: str) -> None:
    # given a token of rep2
    token, raw = token_create(actor=org.other_rep, user=org.other_rep, name="rep2")
    user = org.outsider if actor == "outsider" else org.by_role()[actor]
    client = ApiClient(user)
    before = db_state()
    # when someone else tries to revoke it, by API and on the profile page
    response = client.delete(f"/api/v1/tokens/{token.pk}")
    page = login_client(user).post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    # then it is not found for them, and still works
    assert response.status_code == 404
    assert page.status_code == 404
    assert db_state() == before
    assert bearer(raw).get("/api/v1/me").status_code == 200


def test_an_administrator_can_revoke_anyones_token(org: Org) -> None:
    token, raw = token_create(actor=org.other_rep, user=org.other_rep, name="rep2")
    assert ApiClient(org.admin).delete(f"/api/v1/tokens/{token.pk}").status_code == 204
    assert bearer(raw).get("/api/v1/me").status_code == 401
    entry = AuditEntry.objects.filter(
        object_type="accounts.apitoken", object_id=str(token.pk)
    ).first()
    assert entry.actor_id == org.admin.pk and entry.note == "token_revoked"


def test_revoking_an_unknown_token_is_404(org: Org) -> None:
    response = ApiClient(org.admin).delete("/api/v1/tokens/987654")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_last_used_is_recorded(org: Org) -> None:
    # given a token never used
    token, raw = token_create(actor=org.rep, user=org.rep, name="script")
    assert token.last_used_at is None
    # when it is used
    started = timezone.now()
    bearer(raw).get("/api/v1/me")
    # then its last use is now
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= started


def test_last_used_is_touched_at_most_once_a_minute(org: Org) -> None:
    token, raw = token_create(actor=org.rep, user=org.rep, name="script")
    earlier = timezone.now() - dt.timedelta(seconds=30)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at == earlier
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier - dt.timedelta(minutes=2))
    token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at > earlier


@pytest.mark.parametrize("raw", ["", "gx_", "nothing-like-a-token", "gx_" + "a" * 200])
def test_token_authenticate_rejects_garbage(org: Org, raw: str) -> None:
    assert token_authenticate(raw) is None


def test_a_token_for_a_deactivated_user_cannot_be_created(org: Org) -> None:
    org.rep.is_active = False
    org.rep.save()
    with pytest.raises(ApplicationError) as raised:
        token_create(actor=org.admin, user=org.rep, name="x")
    assert raised.value.code == "user_inactive"
    assert not ApiToken.objects.filter(user=org.rep).exists()


def test_revoking_on_the_profile_page_twice_shows_an_error(org: Org) -> None:
    token, _raw = token_create(actor=org.rep, user=org.rep, name="script")
    client = login_client(org.rep)
    client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    response = client.post(
        f"/accounts/profile/tokens/{token.pk}/revoke/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "This token is already revoked." in response.content.decode()


@pytest.mark.django_db
def test_moving_a_user_into_a_role_that_requires_a_second_factor_revokes_their_tokens(org):
    # given the analyst role requires a second factor, and a rep without one holds a token
    from guanxi.accounts.services import role_setting_update, user_update

    role_setting_update(actor=org.admin, role="analyst", data_scope="all", require_otp=True)
    api = ApiClient(org.rep)
    assert api.get("/api/v1/me").status_code == 200

    # when an administrator makes the rep an analyst
    user_update(actor=org.admin, user=org.rep, data={"role": "analyst"})

    # then the token issued without a second factor no longer works
    assert api.get("/api/v1/me").status_code == 401
