"""The API's one error contract (guanxi/api.py): every error is ``{"message", "code", "fields"}``
with its status, the message in the client's language; plus the OpenAPI document and docs page."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from guanxi.accounts.models import ApiToken, Department
from guanxi.accounts.services import token_create, token_revoke
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

CONTRACT = {"message", "code", "fields"}


def _contract(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= CONTRACT, body
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


# --- 401 -------------------------------------------------------------------------------------


def test_missing_token_is_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/me")
    _contract(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer gx_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "gx_token-without-scheme",
        "Bearer " + "x" * 500,
    ],
)
def test_invalid_token_is_401_with_a_bearer_challenge(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    _contract(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_401(org, client):
    token, raw = token_create(actor=org.rep, user=org.rep, name="cli")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    token_revoke(actor=org.rep, token=token)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    _contract(response, 401, "not_authenticated")


def test_valid_token_reaches_the_handler(org):
    response = ApiClient(org.rep).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "rep1"


# --- 404 / 405 / 400 -------------------------------------------------------------------------


def test_unknown_record_is_404(org):
    _contract(ApiClient(org.admin).get("/api/v1/users/999999"), 404, "not_found")


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing", "/api/v1/", "/api/v2/me", "/api/v1/me/extra"]
)
def test_unknown_api_path_is_404_in_the_contract_not_an_html_page(org, path):
    response = ApiClient(org.admin).get(path)
    _contract(response, 404, "not_found")
    assert b"<html" not in response.content


def test_method_not_allowed_is_405_in_the_contract_with_allow(org):
    response = ApiClient(org.admin).delete("/api/v1/me")
    _contract(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_body_that_is_not_json_is_400_and_changes_nothing(org):
    client = ApiClient(org.admin)
    count = Department.objects.count()
    response = client.client.post(
        "/api/v1/departments", "{not json", content_type="application/json", headers=client.headers
    )
    _contract(response, 400, "invalid_json")
    assert Department.objects.count() == count


# --- 409 -------------------------------------------------------------------------------------


def test_stale_version_is_409(org):
    department = Department.objects.get(pk=org.east.pk)
    client = ApiClient(org.admin)
    client.patch(
        f"/api/v1/departments/{department.pk}", {"version": department.version, "name": "东区"}
    )
    response = client.patch(
        f"/api/v1/departments/{department.pk}", {"version": department.version, "name": "西区"}
    )
    body = _contract(response, 409, "conflict")
    assert body["conflicts"]["name"] == {"yours": "西区", "theirs": "东区"}


# --- 422 -------------------------------------------------------------------------------------


def test_schema_error_names_each_field(org):
    client = ApiClient(org.admin)
    count = Department.objects.count()
    response = client.post("/api/v1/departments", {"code": 123, "parent_id": "abc"})
    body = _contract(response, 422, "invalid")
    assert set(body["fields"]) == {"name", "code", "parent_id"}
    assert all(
        isinstance(m, list) and m and all(isinstance(x, str) for x in m)
        for m in body["fields"].values()
    )
    assert Department.objects.count() == count


def test_a_missing_multipart_file_is_named_as_the_client_sends_it(org):
    # given an upload endpoint whose files are a ninja File parameter (checked before the handler,
    # so no ticket is needed)
    api = ApiClient(org.admin, language="en")
    # when the multipart body has no ``files``
    response = api.client.post("/api/v1/tickets/999999/attachments", data={}, headers=api.headers)
    # then the field is ``files``, not ``file.files``
    body = _contract(response, 422, "invalid")
    assert body["fields"] == {"files": ["This field is required."]}


def test_schema_errors_drop_every_location_ninja_puts_first(rf):
    # given the locations ninja names: body, query, path, a form field and a multipart file
    from django.utils import translation
    from ninja.errors import ValidationError as NinjaValidationError

    from guanxi.api import on_schema_error

    errors = [
        {"loc": ("body", "payload", "name"), "type": "missing"},
        {"loc": ("query", "limit"), "type": "int_parsing"},
        {"loc": ("path", "ticket_id"), "type": "int_parsing"},
        {"loc": ("form", "note"), "type": "string_type"},
        {"loc": ("file", "files"), "type": "missing"},
        {"loc": ("file",), "type": "missing"},
        # fields that happen to be named like a location keep their names
        {"loc": ("body", "payload", "body"), "type": "string_too_long", "ctx": {"max_length": 9}},
        {"loc": ("body", "payload", "query"), "type": "string_type"},
        {"loc": ("query", "path"), "type": "string_type"},
    ]
    # when
    with translation.override("en"):
        response = on_schema_error(rf.post("/api/v1/anything"), NinjaValidationError(errors))
    # then each field by its own name (a location alone is the whole request)
    assert response.status_code == 422
    assert json.loads(response.content)["fields"] == {
        "name": ["This field is required."],
        "limit": ["Enter a whole number."],
        "ticket_id": ["Enter a whole number."],
        "note": ["Enter text."],
        "files": ["This field is required."],
        "__all__": ["This field is required."],
        "body": ["Ensure this value has at most 9 characters."],
        "query": ["Enter text."],
        "path": ["Enter text."],
    }


def test_too_long_value_names_the_limit(org):
    response = ApiClient(org.admin).post(
        "/api/v1/departments", {"name": "长" * 101, "code": "long"}
    )
    body = _contract(response, 422, "invalid")
    assert "100" in body["fields"]["name"][0]


def test_query_parameter_errors_name_the_parameter(org):
    body = _contract(ApiClient(org.admin).get("/api/v1/audit", limit="many"), 422, "invalid")
    assert list(body["fields"]) == ["limit"]


def test_service_validation_errors_use_the_same_shape(org):
    # the code is a valid string for the schema but not a slug for the model
    response = ApiClient(org.admin).post(
        "/api/v1/departments", {"name": "甲", "code": "not a slug"}
    )
    body = _contract(response, 422, "invalid")
    assert "code" in body["fields"]


def test_messages_follow_the_client_language(org):
    client = ApiClient(org.admin)

    def ask(language):
        return client.client.post(
            "/api/v1/departments",
            {"code": "x"},
            content_type="application/json",
            headers={**client.headers, "Accept-Language": language},
        ).json()

    english, chinese = ask("en"), ask("zh-CN")
    assert english["code"] == chinese["code"] == "invalid"
    assert english["fields"]["name"] == ["This field is required."]
    assert chinese["fields"]["name"] != english["fields"]["name"]
    assert re.search(r"[\u4e00-\u9fff]", chinese["fields"]["name"][0])
    assert english["message"] == "Some fields are not valid."
    assert re.search(r"[\u4e00-\u9fff]", chinese["message"])


def test_not_found_message_follows_the_client_language(org):
    client = ApiClient(org.admin)
    english = client.client.get(
        "/api/v1/nowhere", headers={**client.headers, "Accept-Language": "en"}
    ).json()
    chinese = client.client.get(
        "/api/v1/nowhere", headers={**client.headers, "Accept-Language": "zh-CN"}
    ).json()
    assert english["message"] == "Not found."
    assert re.search(r"[\u4e00-\u9fff]", chinese["message"])


# --- 429 -------------------------------------------------------------------------------------


def test_rate_limit_per_token_gives_429_with_retry_after(org, settings):
    # given a rate of three requests a minute
    settings.GUANXI_API_RATE = "3/min"
    client = ApiClient(org.rep)
    # when four requests are made
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    limited = client.get("/api/v1/me")
    # then the fourth is refused, with how long to wait
    assert statuses == [200, 200, 200]
    _contract(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_rate_limit_is_counted_per_token(org, settings):
    settings.GUANXI_API_RATE = "2/min"
    first, second = ApiClient(org.rep), ApiClient(org.rep)
    assert [first.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/v1/me").status_code == 200


def test_rate_setting_is_read_on_every_request(org, settings):
    client = ApiClient(org.rep)
    settings.GUANXI_API_RATE = "100/min"
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    settings.GUANXI_API_RATE = "3/min"
    assert client.get("/api/v1/me").status_code == 429


def test_token_endpoint_is_rate_limited_per_address(org, settings, client):
    settings.GUANXI_API_RATE = "2/min"
    statuses = [
        client.post(
            "/api/v1/auth/token",
            {"username": "nobody", "password": "x"},
            content_type="application/json",
        ).status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [401, 401]
    assert statuses[2] == 429
    assert not ApiToken.objects.filter(user__username="nobody").exists()


# --- 500 -------------------------------------------------------------------------------------


@pytest.mark.urls("tests.core.urls_failing")
def test_unhandled_api_error_is_a_500_in_the_contract_without_details(org):
    client = ApiClient(org.admin)
    client.client.raise_request_exception = False
    response = client.get("/api/v1/boom")
    _contract(response, 500, "server_error")
    assert b"secret internal detail" not in response.content


# --- OpenAPI and docs ------------------------------------------------------------------------


def test_openapi_document_is_public_and_describes_bearer_auth(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/audit", "/api/v1/recycle-bin", "/api/v1/auth/token"} <= set(
        spec["paths"]
    )
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_docs_page_loads_only_same_origin_scripts_allowed_by_the_csp(client):
    # given
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
    # then the policy stays strict
    assert script_src == ["'self'"]
    # and every script the page runs is a same-origin file that exists, none inline
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    sources = []
    for attributes, body in scripts:
        if 'type="application/json"' in attributes:
            continue  # data, never executed
        source = re.search(r'src="([^"]+)"', attributes)
        assert source, f"inline script would be blocked by the CSP: {body[:80]!r}"
        assert not body.strip()
        sources.append(source.group(1))
    assert sources
    for source in sources + re.findall(r'<link[^>]+href="([^"]+)"', html):
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/")), source
    assert "swagger-ui" in html


def test_docs_page_points_at_our_openapi_document(client):
    html = client.get("/api/v1/docs").content.decode()
    assert "/api/v1/openapi.json" in html


def test_csrf_is_not_needed_for_token_calls(org):
    # a strict CSRF client still reaches the API, which authenticates by token, not cookie
    strict = Client(enforce_csrf_checks=True)
    _token, raw = token_create(actor=org.admin, user=org.admin, name="ci")
    response = strict.post(
        "/api/v1/departments",
        {"name": "甲", "code": "jia", "parent_id": org.hq.pk},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201


def test_the_window_counter_counts_and_starts_again_after_the_period(db):
    from guanxi.core.ratelimit import window_count

    assert [window_count("t1", now=1000.0 + i, duration=60)[0] for i in range(3)] == [1, 2, 3]
    assert window_count("t2", now=1010.0, duration=60) == (1, 1010.0)
    # 60 s after the window opened, the next request opens a new one
    assert window_count("t1", now=1060.0, duration=60) == (1, 1060.0)
    assert window_count("t1", now=1061.0, duration=60) == (2, 1060.0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_lose_no_counts_on_postgresql():
    import threading

    from django.db import connection as default_connection

    from guanxi.core.ratelimit import window_count
    from tests.conftest import skip_or_fail

    if default_connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")
    counts: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        from django.db import connection

        try:
            for _ in range(20):
                count, _opened = window_count("shared", now=5000.0, duration=60)
                with lock:
                    counts.append(count)
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 161))


def test_old_rate_windows_are_purged_and_recent_ones_kept(db):
    from guanxi.core.models import RateWindow
    from guanxi.core.ratelimit import RATE_WINDOW_KEEP_SECONDS, rate_windows_purge, window_count

    now = 1_000_000.0
    window_count("public:old", now=now - RATE_WINDOW_KEEP_SECONDS - 1, duration=60)
    window_count("public:recent", now=now - 60, duration=60)
    assert rate_windows_purge(now=now) == 1
    assert list(RateWindow.objects.values_list("key", flat=True)) == ["public:recent"]
    assert rate_windows_purge(now=now) == 0


def test_a_field_named_body_is_named_in_the_error(org):
    # given a ticket comment (its field is called "body") over the length limit
    from guanxi.service.models import Ticket

    ticket = Ticket.objects.first()
    ticket_id = ticket.pk if ticket else 999999
    # when it is posted through the API
    response = ApiClient(org.admin, language="en").post(
        f"/api/v1/tickets/{ticket_id}/comments", {"body": "x" * 10001}
    )
    # then the error names the field, not the request as a whole
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["body"]
