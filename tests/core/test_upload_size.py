"""The upload size guard (core.middleware.UploadSizeGuardMiddleware): a body declared larger than
any upload may be is refused with the one error contract before anything reads it (the NUL
guard behind it parses every form body), signed in or not; a body within the bound goes on to
the NUL guard and the view as before."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.accounts.models import Department
from guanxi.core.middleware import UPLOAD_OVERHEAD, upload_max_bytes
from tests.conftest import ApiClient, login_client

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
MULTIPART = "multipart/form-data; boundary=guanxi-test-boundary"


class UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, *args: Any) -> bytes:
        self.reads += 1
        raise AssertionError("the request body was read")

    def readline(self, *args: Any) -> bytes:
        return self.read()


def _declared(size: int, body: UnreadableBody) -> dict[str, Any]:
    """The environ of a multipart request declaring ``size`` bytes that it never sends."""
    return {"CONTENT_LENGTH": str(size), "wsgi.input": body}


@pytest.fixture
def small_uploads(settings: Any) -> int:
    """Settings whose bound is small and easy to reason about: a ticket's 3 files of 1000
    bytes are the largest upload. Returns the bound."""
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 1000
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 3
    settings.GUANXI_ATTACHMENTS_PER_INTERACTION = 2
    settings.GUANXI_IMPORT_MAX_BYTES = 2500
    settings.GUANXI_VCARD_MAX_BYTES = 500
    return 3000 + UPLOAD_OVERHEAD


def test_the_bound_is_the_largest_upload_any_setting_allows(settings):
    # the defaults: an import file (256 MB) is larger than 20 ticket attachments of 10 MB
    assert upload_max_bytes() == 256 * MB + UPLOAD_OVERHEAD
    # a deployment with small imports: a ticket's full set of attachments is the largest
    settings.GUANXI_IMPORT_MAX_BYTES = 5 * MB
    assert upload_max_bytes() == 20 * 10 * MB + UPLOAD_OVERHEAD
    # an interaction allowing more files per request than a ticket
    settings.GUANXI_ATTACHMENTS_PER_INTERACTION = 30
    assert upload_max_bytes() == 30 * 10 * MB + UPLOAD_OVERHEAD
    # read at call time: a larger file size moves it at once
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 20 * MB
    assert upload_max_bytes() == 30 * 20 * MB + UPLOAD_OVERHEAD


def test_a_page_upload_over_the_bound_is_refused_unread_before_the_login_check(
    client, small_uploads
):
    # given an anonymous visitor (a view would send them to sign in) and a body nobody may read
    body = UnreadableBody()
    # when a multipart upload to a ticket page declares one byte more than the bound
    response = client.post(
        "/service/tickets/1/attachments/",
        content_type=MULTIPART,
        headers={"Accept-Language": "en"},
        **_declared(small_uploads + 1, body),
    )
    # then our error page, translated, and the body was never read
    assert response.status_code == 413
    assert body.reads == 0
    page = response.content.decode()
    assert "The upload is too large: one request may carry at most 1 MB." in page
    assert "<html" in page


def test_an_api_upload_over_the_bound_is_refused_unread_in_the_error_contract(org, small_uploads):
    # given a signed-in API client
    api = ApiClient(org.admin, language="en")
    body = UnreadableBody()
    before = Department.all_objects.count()
    # when
    response = api.client.post(
        "/api/v1/tickets/1/attachments",
        content_type=MULTIPART,
        headers=api.headers,
        **_declared(small_uploads + 1, body),
    )
    # then
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "message": "The upload is too large: one request may carry at most 1 MB.",
        "code": "upload_too_large",
        "fields": {},
    }
    assert body.reads == 0
    assert Department.all_objects.count() == before


def test_an_unauthenticated_api_upload_over_the_bound_is_413_not_401(client):
    # the default bound: nothing is read, whoever sends it
    body = UnreadableBody()
    response = client.post(
        "/api/v1/tickets/1/attachments",
        content_type=MULTIPART,
        **_declared(upload_max_bytes() + 1, body),
    )
    assert response.status_code == 413 and response.json()["code"] == "upload_too_large"
    assert body.reads == 0


def test_a_declared_size_at_the_bound_goes_on(client, small_uploads):
    # a GET declaring a body reads none: at the bound it reaches the view (the sign-in redirect),
    # one byte more is refused
    body = UnreadableBody()
    response = client.get("/service/", **_declared(small_uploads, body))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/service/", **_declared(small_uploads + 1, body)).status_code == 413
    assert body.reads == 0


def test_a_form_within_the_bound_is_still_checked_for_nul_characters(org, small_uploads):
    # given a multipart form (the test client's default encoding) of normal size
    client = login_client(org.admin, language="en")
    before = Department.all_objects.count()
    # when a field carries a NUL
    response = client.post("/accounts/departments/new/", {"name": "a\x00b", "code": "nul"})
    # then the NUL guard still refuses it, and nothing was created
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert Department.all_objects.count() == before
    # and the same form without it goes through
    response = client.post("/accounts/departments/new/", {"name": "华南组", "code": "south"})
    assert response.status_code == 302
    assert Department.all_objects.count() == before + 1


def test_a_malformed_content_length_is_left_to_django(client):
    # Django reads such a body as empty; the guard does not refuse what it cannot measure
    response = client.get("/service/", CONTENT_LENGTH="many")
    assert response.status_code == 302
