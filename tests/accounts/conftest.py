"""Helpers for the accounts tests: a fingerprint of everything accounts can write, so a denied
request can prove it changed nothing, and TOTP helpers that compute real codes."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.models import ApiToken, Department, LoginSession, RoleSetting, User
from guanxi.accounts.roles import Role
from guanxi.core.models import AuditEntry
from tests.conftest import Org
from tests.factories import PASSWORD

# Touched by reading alone (a token's last use, a login's timestamp): not a change of state.
_VOLATILE = {"last_used_at", "last_login"}


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the accounts app writes, volatile columns left out."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in (User, Department, RoleSetting, ApiToken, LoginSession, AuditEntry, TOTPDevice):
        rows = model._base_manager.order_by("pk").values()
        state[model._meta.label] = [
            {k: v for k, v in row.items() if k not in _VOLATILE} for row in rows
        ]
    return state


def assert_only_a_failed_sign_in_added(
    before: dict[str, list[dict[str, Any]]], *, object_id: str, note: str
) -> None:
    """Nothing changed but one LOGIN_FAILED audit entry about ``object_id``."""
    after = db_state()
    added = after.pop("core.AuditEntry")[len(before["core.AuditEntry"]) :]
    assert after == {k: v for k, v in before.items() if k != "core.AuditEntry"}
    assert [(e["action"], e["actor_id"], e["object_id"], e["note"]) for e in added] == [
        (AuditEntry.Action.LOGIN_FAILED, None, object_id, note)
    ]


def session_user_ids() -> set[int]:
    """The user ids of the live server-side sessions."""
    ids = set()
    for session in Session.objects.all():
        value = session.get_decoded().get(SESSION_KEY)
        if value is not None:
            ids.add(int(value))
    return ids


def make_totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=confirmed)


def _code_at(device: TOTPDevice, counter_shift: int = 0) -> str:
    t0 = device.t0 + counter_shift * device.step
    return (
        f"{totp(device.bin_key, step=device.step, t0=t0, digits=device.digits):0{device.digits}d}"
    )


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return _code_at(device)


def wrong_code(device: TOTPDevice) -> str:
    """A well-formed code that is not valid now nor within the device's drift tolerance."""
    device.refresh_from_db()
    valid_nearby = {_code_at(device, shift) for shift in range(-2, 3)}
    candidate = int(_code_at(device))
    while f"{candidate:06d}" in valid_nearby:
        candidate = (candidate + 1) % 1_000_000
    return f"{candidate:06d}"


def in_language(language: str, message: str) -> str:
    """``message`` as the catalog translates it into ``language``."""
    with translation.override(language):
        return translation.gettext(message)


def password_login(username: str, password: str, **extra: Any) -> tuple[Client, Any]:
    """Sign in through the real login form, as a browser would."""
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, **extra
    )
    return client, response


# Argon2 with production parameters costs ~0.15 s a hash and the ``org`` fixture hashes nine
# passwords, which would make this suite take minutes. A fast hasher goes first for the tests;
# Argon2 stays in the list (so its hashes verify) and test_argon2_is_the_production_hasher pins
# that production really uses it.
PRODUCTION_HASHERS = list(settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *PRODUCTION_HASHERS,
    ]


# The shared ``org`` fixture builds the tree through the services (about 80 queries); the accounts
# suite uses it in ~600 tests, so here the same organisation (names, codes, tree, usernames,
# roles, password) is written in a handful of bulk queries. test_fast_org_matches_the_shared_shape
# keeps it honest; the department services themselves are tested in test_departments.py.
@pytest.fixture
def org(db: Any) -> Org:
    def level(parent: Department | None, specs: list[tuple[str, str]]) -> list[Department]:
        rows = Department.all_objects.bulk_create(
            [Department(name=name, code=code, parent=parent) for name, code in specs]
        )
        for row in rows:
            row.path = f"{parent.path if parent else ''}{row.pk}/"
            row.depth = parent.depth + 1 if parent else 0
        Department.all_objects.bulk_update(rows, ["path", "depth"])
        return rows

    (hq,) = level(None, [("总部", "hq")])
    sales, service, other = level(
        hq, [("销售部", "sales"), ("客服中心", "service"), ("海外部", "overseas")]
    )
    east, north = level(sales, [("华东组", "east"), ("华北组", "north")])
    hashed = make_password(PASSWORD)
    specs = [
        ("admin", Role.ADMINISTRATOR, hq),
        ("manager", Role.SALES_MANAGER, sales),
        ("rep1", Role.SALES_REP, east),
        ("rep2", Role.SALES_REP, north),
        ("kam", Role.KEY_ACCOUNT_MANAGER, sales),
        ("agent", Role.SERVICE_AGENT, service),
        ("handler", Role.DEPARTMENT_HANDLER, service),
        ("analyst", Role.ANALYST, hq),
        ("outsider", Role.SALES_REP, other),
    ]
    users = User.objects.bulk_create(
        [
            User(
                username=username,
                full_name=f"用户{username}",
                email=f"{username}@example.com",
                role=role,
                department=department,
                password=hashed,
            )
            for username, role, department in specs
        ]
    )
    admin, manager, rep, other_rep, kam, agent, handler, analyst, outsider = users
    return Org(
        hq=hq,
        sales=sales,
        east=east,
        north=north,
        service=service,
        admin=admin,
        manager=manager,
        rep=rep,
        other_rep=other_rep,
        kam=kam,
        agent=agent,
        handler=handler,
        analyst=analyst,
        outsider=outsider,
    )
