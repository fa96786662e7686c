"""The web shell's security: headers and CSP on every page, our own error pages, production settings
that pass ``check --deploy``, the refusal of the built-in secret key, and SQLite in WAL mode."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory

from guanxi.accounts.models import Department
from guanxi.accounts.services import department_create, department_delete
from guanxi.core.errors import server_error
from tests.conftest import login_client
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean environment: no DATABASE_URL / REDIS_URL from the test leg, data under tmp_path."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GUANXI_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
    }
    env.update(values)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "crm.example.com",
    "GUANXI_HTTPS": "true",
}


# --- headers and CSP -------------------------------------------------------------------------


def _assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    parts = [p.split() for p in csp.split(";") if p.strip()]
    directives = {part[0]: part[1:] for part in parts}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def _assert_nothing_inline(html):
    # The CSP forbids inline code and styles: a page that relies on them breaks in the browser.
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in attributes or 'type="application/json"' in attributes, body[:80]
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert "javascript:" not in html


@pytest.mark.django_db
def test_login_page_has_the_security_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    _assert_security_headers(response)
    _assert_nothing_inline(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/audit/", "/recycle-bin/", "/areas/sales/", "/customers/", "/engagement/"]
)
def test_core_pages_have_the_security_headers_and_nothing_inline(org, path):
    department_delete(
        actor=org.admin,
        department=department_create(actor=org.admin, name="甲", code="j", parent=org.hq),
    )
    response = login_client(org.admin).get(path)
    assert response.status_code == 200
    _assert_security_headers(response)
    _assert_nothing_inline(response.content.decode())


@pytest.mark.django_db
def test_api_responses_have_the_security_headers(client):
    response = client.get("/api/v1/me")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_health_endpoint_says_only_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- error pages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_404_page_is_ours_with_headers(org):
    response = login_client(org.rep).get("/no/such/page/", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or you cannot see it." in html
    assert "Back to the workbench" in html
    _assert_security_headers(response)


@pytest.mark.django_db
def test_404_page_is_translated(org):
    response = login_client(org.rep).get("/no/such/page/", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert "This page does not exist" not in response.content.decode()
    assert re.search(r"[\u4e00-\u9fff]", response.content.decode())


@pytest.mark.django_db
def test_403_page_is_ours(org):
    response = login_client(org.rep).get("/audit/", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "Your role does not allow this. Nothing was changed." in response.content.decode()
    _assert_security_headers(response)


@pytest.mark.django_db
def test_csrf_failure_is_our_403_page_and_changes_nothing(org):
    # given a deleted department and a browser whose form lost its CSRF token
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    department_delete(actor=org.admin, department=department)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org.admin)
    # when
    response = browser.post(
        f"/recycle-bin/accounts.department/{department.pk}/restore/",
        headers={"Accept-Language": "en"},
    )
    # then
    assert response.status_code == 403
    assert "The form has expired" in response.content.decode()
    assert Department.all_objects.get(pk=department.pk).deleted_at is not None


@pytest.mark.django_db
@pytest.mark.urls("tests.core.urls_failing")
def test_500_page_is_ours_and_reveals_nothing(org):
    client = login_client(org.rep)
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Server error" in html and "服务器出错了" in html
    assert "secret internal detail" not in html and "Traceback" not in html
    _assert_security_headers(response)


def test_500_page_renders_without_a_database_or_a_user():
    # the failure may be the database itself: the page must not need it
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Server error" in response.content.decode()


# --- production settings ---------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        _env(tmp_path, **PRODUCTION),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_complain_without_https(tmp_path):
    # the same check notices a weaker configuration, so the clean result above means something
    env = _env(tmp_path, **{**PRODUCTION, "GUANXI_HTTPS": "false"})
    result = _run([PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS


def test_settings_refuse_the_built_in_secret_key_for_a_public_host(tmp_path):
    env = _env(tmp_path, DEBUG="false", ALLOWED_HOSTS="crm.example.com")
    result = _run([PYTHON, "-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "values",
    [
        {"DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost"},  # the laptop demo
        {"DEBUG": "true", "ALLOWED_HOSTS": "crm.example.com"},  # development
        {"DEBUG": "false", "ALLOWED_HOSTS": "crm.example.com", "SECRET_KEY": "k" * 60},
    ],
)
def test_settings_load_where_the_built_in_key_is_harmless_or_replaced(tmp_path, values):
    result = _run(
        [PYTHON, "-c", "import django; django.setup(); print('ok')"], _env(tmp_path, **values)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_wildcard_host_counts_as_public(tmp_path):
    result = _run(
        [PYTHON, "-c", "import django; django.setup()"],
        _env(tmp_path, DEBUG="false", ALLOWED_HOSTS="*"),
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


# --- SQLite ----------------------------------------------------------------------------------

SQLITE_PROBE = """
import json, django
django.setup()
from django.db import connection, transaction
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy = cursor.fetchone()[0]
    cursor.execute("PRAGMA foreign_keys")
    keys = cursor.fetchone()[0]
print(json.dumps({
    "vendor": connection.vendor,
    "name": str(connection.settings_dict["NAME"]),
    "journal": journal,
    "busy": busy,
    "foreign_keys": keys,
    "transaction_mode": connection.transaction_mode,
}))
"""


def test_default_database_is_a_sqlite_file_in_wal_mode_with_a_busy_timeout(tmp_path):
    result = _run([PYTHON, "-c", SQLITE_PROBE], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["vendor"] == "sqlite"
    assert facts["name"] == str(tmp_path / "data" / "guanxi.sqlite3")
    assert facts["journal"] == "wal"
    assert facts["busy"] >= 5000
    assert facts["foreign_keys"] == 1
    assert facts["transaction_mode"] == "IMMEDIATE"
    assert (tmp_path / "data" / "guanxi.sqlite3-wal").exists() or (
        tmp_path / "data" / "guanxi.sqlite3"
    ).exists()


def test_a_sqlite_database_url_gets_the_same_wal_settings(tmp_path):
    database = tmp_path / "elsewhere.sqlite3"
    result = _run(
        [PYTHON, "-c", SQLITE_PROBE], _env(tmp_path, DATABASE_URL=f"sqlite:///{database}")
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["name"] == str(database)
    assert (facts["journal"], facts["transaction_mode"]) == ("wal", "IMMEDIATE")
    assert facts["busy"] >= 5000


def test_database_url_switches_to_postgresql(tmp_path):
    probe = (
        "import django; django.setup(); from django.db import connection; print(connection.vendor)"
    )
    result = _run(
        [PYTHON, "-c", probe], _env(tmp_path, DATABASE_URL="postgres://u@db.example.com:5432/crm")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql"


# --- static files ----------------------------------------------------------------------------


def test_static_storage_links_plain_names_before_collectstatic(tmp_path):
    # given the production storage over an empty STATIC_ROOT (a fresh checkout)
    from guanxi.core.storage import StaticStorage

    storage = StaticStorage(location=str(tmp_path), base_url="/static/")
    # then a page can still link its assets instead of failing with a 500
    assert storage.url("vendor/htmx/htmx.min.js") == "/static/vendor/htmx/htmx.min.js"


def test_static_storage_uses_hashed_names_once_collected(tmp_path):
    from guanxi.core.storage import StaticStorage

    (tmp_path / "app.css").write_text("body{}")
    storage = StaticStorage(location=str(tmp_path), base_url="/static/")
    storage.hashed_files = {"app.css": storage.hashed_name("app.css")}
    url = storage.url("app.css")
    assert url.startswith("/static/app.") and url.endswith(".css") and url != "/static/app.css"


@pytest.mark.django_db
def test_sign_in_lockout_counts_the_real_client_behind_a_trusted_proxy(client, org, settings):
    # given Guanxi behind one trusted reverse proxy, and an attacker hammering rep1's password
    settings.GUANXI_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/accounts/login/",
            {"username": org.rep.username, "password": "wrong-password"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
            **proxy,
        )

    # when the real rep signs in from another address through the same proxy
    response = client.post(
        "/accounts/login/",
        {"username": org.rep.username, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **proxy,
    )

    # then only the attacker's address is locked out, not everyone behind the proxy
    assert response.status_code == 302
