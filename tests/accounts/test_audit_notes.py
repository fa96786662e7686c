"""Audit notes are stored as keys and shown translated; failed sign-ins are on the audit trail;
the lockout says when to come back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from guanxi.accounts.audit_notes import AUDIT_NOTE_LABELS
from guanxi.accounts.services import (
    token_create,
    token_revoke,
    user_deactivate,
    user_password_reset,
)
from guanxi.core.audit import audit_note_display, audit_note_labels
from guanxi.core.models import AuditEntry
from tests.accounts.conftest import make_totp_device, password_login, wrong_code
from tests.conftest import ApiClient, Org
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_accounts_registers_its_note_labels_with_core() -> None:
    # given the apps are loaded / then core knows every accounts note key
    labels = audit_note_labels()
    assert set(AUDIT_NOTE_LABELS) <= set(labels)


def test_a_note_is_shown_in_the_active_language_with_its_values(org: Org) -> None:
    # given a deactivation, stored as a key with values
    client = ApiClient(org.rep)
    user_deactivate(actor=org.admin, user=org.rep)
    entry = AuditEntry.objects.get(note__startswith="user_deactivated")
    assert entry.note == "user_deactivated?sessions=0&tokens=1"
    # when shown / then it reads as a sentence, with the numbers in it
    with translation.override("en"):
        assert audit_note_display(entry.note) == (
            "Deactivated; sessions ended: 0; API tokens revoked: 1"
        )
    with translation.override("zh-hans"):
        label = translation.gettext(
            "Deactivated; sessions ended: %(sessions)s; API tokens revoked: %(tokens)s"
        )
        assert audit_note_display(entry.note) == label % {"sessions": "0", "tokens": "1"}
    assert client  # kept alive for its token


def test_an_unknown_note_is_shown_as_stored() -> None:
    assert audit_note_display("free text from elsewhere") == "free text from elsewhere"


def test_every_note_accounts_writes_is_a_registered_key(org: Org) -> None:
    # given the writes that leave notes
    token, _raw = token_create(actor=org.rep, user=org.rep, name="x")
    token_revoke(actor=org.rep, token=token)
    user_password_reset(actor=org.admin, user=org.other_rep, password="a-long-passphrase-42")
    user_deactivate(actor=org.admin, user=org.other_rep)
    password_login("rep1", "wrong-password")
    password_login("nobody", "wrong-password")
    device = make_totp_device(org.kam)
    ApiClient(None).post(
        "/api/v1/auth/token", {"username": "kam", "password": PASSWORD, "otp": wrong_code(device)}
    )
    # then every note is a key (plus values) that has a label
    notes = set(AuditEntry.objects.exclude(note="").values_list("note", flat=True))
    assert {n.partition("?")[0] for n in notes} == {
        "token_revoked",
        "password_reset",
        "user_deactivated",
        "login_invalid_credentials",
        "login_second_factor_invalid",
    }
    assert {n.partition("?")[0] for n in notes} <= set(AUDIT_NOTE_LABELS)


# --- Failed sign-ins ----------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["html", "api"])
def test_a_wrong_password_is_recorded_against_the_user(org: Org, channel: str) -> None:
    # when
    if channel == "html":
        password_login("rep1", "wrong-password")
    else:
        ApiClient(None).post("/api/v1/auth/token", {"username": "rep1", "password": "nope"})
    # then
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert (entry.actor_id, entry.actor_label) == (None, "system")
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(org.rep.pk))
    assert entry.note == "login_invalid_credentials"
    assert entry.ip_address == "127.0.0.1"


@pytest.mark.parametrize("channel", ["html", "api"])
def test_an_unknown_username_is_recorded_by_name(org: Org, channel: str) -> None:
    # given a made-up username as long as the form takes
    username = "nobody-" + "x" * 143
    # when
    if channel == "html":
        password_login(username, "wrong-password")
    else:
        ApiClient(None).post("/api/v1/auth/token", {"username": username, "password": "nope"})
    # then
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
    assert (entry.object_type, entry.object_id) == ("accounts.user", "")
    assert entry.object_label == username


def test_a_successful_sign_in_records_no_failure(org: Org) -> None:
    password_login("rep1", PASSWORD)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED).exists()


def test_a_locked_out_attempt_is_recorded_as_such(org: Org) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_login("rep1", "wrong-password")
    notes = list(
        AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED)
        .order_by("id")
        .values_list("note", flat=True)
    )
    assert notes[-1] == "login_locked_out"
    assert notes[:-1] == ["login_invalid_credentials"] * (settings.AXES_FAILURE_LIMIT - 1)


# --- Retry-After --------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["html", "api"])
def test_the_lockout_says_when_to_try_again(org: Org, channel: str) -> None:
    # when the failure limit is reached, and once more after it
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        if channel == "html":
            _client, response = password_login("rep1", "wrong-password")
        else:
            response = ApiClient(None).post(
                "/api/v1/auth/token", {"username": "rep1", "password": "wrong-password"}
            )
    # then the answer is 429 with the seconds until the cool-off ends
    assert response.status_code == 429
    assert int(response["Retry-After"]) == round(settings.AXES_COOLOFF_TIME * 3600)
