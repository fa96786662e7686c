"""Helpers for the core tests: deleted records for the recycle bin, audit entries to page through,
and the guard for PostgreSQL-only tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from guanxi.accounts.models import Department, User
from guanxi.accounts.services import department_create, department_delete
from guanxi.core.models import AuditEntry
from tests.conftest import skip_or_fail

ROLES = (
    "administrator",
    "sales_manager",
    "sales_rep",
    "key_account_manager",
    "service_agent",
    "department_handler",
    "analyst",
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is deliberately slow and the org fixture hashes nine passwords; nothing in core tests
    # the hasher (the accounts tests do), so the core suite uses a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def postgresql(db: Any) -> None:
    """For tests marked ``postgres``: the SQLite leg deselects them; run by hand on SQLite they
    say why they cannot run."""
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def make_deleted_department(org: Any) -> Callable[..., Department]:
    """A department created under ``parent`` (HQ by default) and moved to the recycle bin by
    ``actor`` through the accounts service."""
    counter = iter(range(1, 10_000))

    def make(
        actor: User, *, name: str | None = None, parent: Department | None = None
    ) -> Department:
        number = next(counter)
        department = department_create(
            actor=actor,
            name=name or f"待删部门{number}",
            code=f"bin-{number}",
            parent=parent or org.hq,
        )
        return department_delete(actor=actor, department=department)

    return make


def audit_rows(**filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))
