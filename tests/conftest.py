"""Shared fixtures: an organisation with one user per role, an API client, and the guards that
make a missing server or browser a failure under CI instead of a silent skip."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import token_create
from tests.factories import PASSWORD, DepartmentFactory, UserFactory

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Outside CI an absent external service skips with a reason; under CI it fails the test."""
    if CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache(request: Any) -> Any:
    # The rate limiter and django-axes keep counters in the cache (a database table by default);
    # tests must not share them. Tests without database access have no cache to clear.
    names = set(request.fixturenames)
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "django_db" in request.keywords or "db" in names:
        request.getfixturevalue("db")
    else:
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _isolated_data_dir(tmp_path_factory: Any) -> Any:
    """Keep tests away from the demo's var/: its collected static files, manifest and uploads."""
    from django.test import override_settings

    root = tmp_path_factory.mktemp("guanxi-data")
    (root / "static").mkdir()
    (root / "media").mkdir()
    with override_settings(
        STATIC_ROOT=root / "static",
        MEDIA_ROOT=root / "media",
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield root


@dataclass
class Org:
    hq: Department
    sales: Department
    east: Department
    north: Department
    service: Department
    admin: User
    manager: User
    rep: User
    other_rep: User
    kam: User
    agent: User
    handler: User
    analyst: User
    outsider: User  # a rep in another branch of the tree

    def by_role(self) -> dict[str, User]:
        return {
            "administrator": self.admin,
            "sales_manager": self.manager,
            "sales_rep": self.rep,
            "key_account_manager": self.kam,
            "service_agent": self.agent,
            "department_handler": self.handler,
            "analyst": self.analyst,
        }


@pytest.fixture
def org(db: Any) -> Org:
    hq = DepartmentFactory(name="总部", code="hq")
    sales = DepartmentFactory(name="销售部", code="sales", parent=hq)
    east = DepartmentFactory(name="华东组", code="east", parent=sales)
    north = DepartmentFactory(name="华北组", code="north", parent=sales)
    service = DepartmentFactory(name="客服中心", code="service", parent=hq)
    other = DepartmentFactory(name="海外部", code="overseas", parent=hq)
    return Org(
        hq=hq,
        sales=sales,
        east=east,
        north=north,
        service=service,
        admin=UserFactory(username="admin", role=Role.ADMINISTRATOR, department=hq),
        manager=UserFactory(username="manager", role=Role.SALES_MANAGER, department=sales),
        rep=UserFactory(username="rep1", role=Role.SALES_REP, department=east),
        other_rep=UserFactory(username="rep2", role=Role.SALES_REP, department=north),
        kam=UserFactory(username="kam", role=Role.KEY_ACCOUNT_MANAGER, department=sales),
        agent=UserFactory(username="agent", role=Role.SERVICE_AGENT, department=service),
        handler=UserFactory(username="handler", role=Role.DEPARTMENT_HANDLER, department=service),
        analyst=UserFactory(username="analyst", role=Role.ANALYST, department=hq),
        outsider=UserFactory(username="outsider", role=Role.SALES_REP, department=other),
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


def login_client(user: User, *, language: str | None = None) -> Client:
    """A signed-in client; ``language`` sets the browser's Accept-Language (zh-hans otherwise is
    the default), for tests that read messages."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language) if language else Client()
    client.force_login(user)
    return client


class ApiClient:
    """A Django test client that sends a real bearer token, like an integration would."""

    def __init__(self, user: User | None, *, language: str | None = None) -> None:
        self.client = Client()
        self.user = user
        self.headers: dict[str, str] = {"Accept-Language": language} if language else {}
        if user is not None:
            _token, raw = token_create(actor=user, user=user, name="test")
            self.headers["Authorization"] = f"Bearer {raw}"

    def request(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if json is not None:
            kwargs["data"] = json
            kwargs["content_type"] = "application/json"
        call = getattr(self.client, method.lower())
        if params and method.upper() == "GET":
            kwargs["data"] = params
        return call(path, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json if json is not None else {})

    def patch(self, path: str, json: Any) -> Any:
        return self.request("PATCH", path, json=json)

    def put(self, path: str, json: Any) -> Any:
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


@pytest.fixture
def api() -> Any:
    return ApiClient


@pytest.fixture(scope="session", autouse=True)
def _audit_trail_flushable() -> Any:
    """Let transactional tests empty the audit trail between tests.

    TransactionTestCase flushes every table after a test, but the audit trail's triggers refuse
    DELETE and TRUNCATE, which is their whole point. Only Django's test flush lifts them, inside
    its own transaction, and puts them back before it commits; tests always see the real triggers.
    """
    import importlib

    from django.db import transaction
    from django.db.backends.base.operations import BaseDatabaseOperations

    migration = importlib.import_module("guanxi.core.migrations.0002_audit_append_only")
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        if not any("core_auditentry" in sql for sql in sql_list):
            return original(self, sql_list)
        vendor = self.connection.vendor
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                if vendor == "postgresql":
                    cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")
                else:
                    for statement in migration.SQLITE_REVERSE:
                        cursor.execute(statement)
            original(self, sql_list)
            with self.connection.cursor() as cursor:
                if vendor == "postgresql":
                    cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER USER")
                else:
                    for statement in migration.SQLITE_FORWARD:
                        cursor.execute(statement)
        return None

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
    yield
    BaseDatabaseOperations.execute_sql_flush = original  # type: ignore[method-assign]
