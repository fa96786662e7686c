"""The `createuser` and `token` management commands, and their error paths."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.services import token_authenticate
from tests.accounts.conftest import db_state
from tests.conftest import Org

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a-long-unusual-passphrase-42"


def run(*args: str, **options: object) -> str:
    """Run a command in English, so the tests can match its messages."""
    out = StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_createuser_creates_a_user_who_can_sign_in(org: Org) -> None:
    output = run(
        "createuser",
        "wang.fang",
        "--role",
        "service_agent",
        "--full-name",
        "王芳",
        "--email",
        "wang.fang@example.com",
        "--department",
        "service",
        "--password",
        GOOD_PASSWORD,
    )
    user = User.objects.get(username="wang.fang")
    assert "wang.fang" in output
    assert user.role == "service_agent" and user.full_name == "王芳"
    assert user.department == org.service
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_staff and not user.is_superuser


def test_createuser_asks_for_the_password_twice_when_not_given(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    run("createuser", "li.lei")
    assert User.objects.get(username="li.lei").check_password(GOOD_PASSWORD)


def test_createuser_refuses_differing_passwords(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    before = db_state()
    with pytest.raises(CommandError, match="differ"):
        run("createuser", "li.lei")
    assert db_state() == before


def test_createuser_refuses_an_empty_password(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "")
    before = db_state()
    with pytest.raises(CommandError, match="password"):
        run("createuser", "li.lei")
    assert db_state() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rep1", "--password", GOOD_PASSWORD], "username"),
        (["li.lei", "--password", "short"], "password"),
        (["li.lei", "--password", GOOD_PASSWORD, "--email", "nope"], "email"),
        (["li.lei", "--password", GOOD_PASSWORD, "--department", "nowhere"], "nowhere"),
        (["li lei", "--password", GOOD_PASSWORD], "username"),
    ],
)
def test_createuser_error_paths_change_nothing(org: Org, args: list[str], message: str) -> None:
    before = db_state()
    with pytest.raises(CommandError, match=message):
        run("createuser", *args)
    assert db_state() == before


def test_createuser_refuses_an_unknown_role(org: Org) -> None:
    before = db_state()
    with pytest.raises(CommandError):
        run("createuser", "li.lei", "--role", "emperor", "--password", GOOD_PASSWORD)
    assert db_state() == before


def test_token_command_prints_a_working_token(org: Org) -> None:
    raw = run("token", "rep1", "--name", "nightly export").strip()
    token = token_authenticate(raw)
    assert token is not None and token.user == org.rep and token.name == "nightly export"
    assert not ApiToken.objects.filter(key_hash=raw).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "nobody"),
        (["rep1", "--name", ""], "name"),
        (["rep1", "--name", "x" * 101], "100"),
    ],
)
def test_token_command_error_paths_change_nothing(org: Org, args: list[str], message: str) -> None:
    before = db_state()
    with pytest.raises(CommandError, match=message):
        run("token", *args)
    assert db_state() == before


def test_command_errors_follow_the_default_language(org: Org) -> None:
    # Without an override the commands speak the site's default language, Chinese.
    with pytest.raises(CommandError) as raised:
        call_command("token", "rep1", "--name", "", stdout=StringIO())
    assert str(raised.value).startswith("name: ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(raised.value))


def test_token_command_refuses_a_deactivated_user(org: Org) -> None:
    org.rep.is_active = False
    org.rep.save()
    before = db_state()
    with pytest.raises(CommandError, match="deactivated"):
        run("token", "rep1")
    assert db_state() == before
