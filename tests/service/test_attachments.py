"""A ticket's attachments after it is open: the service (who may add, the checks, what is stored
and audited, what is undone on failure) and the API (upload, the ticket's detail, download), with
the permission matrices of both endpoints. A refused or bad upload leaves no row, no audit entry
and no file in storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from guanxi.core.exceptions import PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.service import services
from guanxi.service.models import Ticket, TicketAttachment
from tests.conftest import ApiClient, login_client
from tests.service.conftest import at, db_state, open_ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
PDF = b"%PDF-1.7\n" + b"1" * 64


def png(name: str = "现场照片.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, "image/png")


def pdf(name: str = "发票.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, "application/pdf")


def stored_files() -> list[str]:
    """Every file under the tests' media root (attachments of tickets and of anything else)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def state() -> tuple[Any, list[str]]:
    return db_state(), stored_files()


def _upload(client: ApiClient, ticket: Ticket, *files: Any) -> Any:
    return client.client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments",
        data={"files": list(files)},
        headers=client.headers,
    )


# --- the service --------------------------------------------------------------------------------


def test_a_worker_adds_files_that_are_stored_and_audited(org, desk):
    # given a ticket routed to the tech team, assigned to engineer1
    ticket = open_ticket(org, desk)
    version = ticket.version
    files_before = stored_files()
    # when the assignee adds two files
    rows = services.ticket_attachments_add(
        actor=desk.engineer1, ticket=ticket, files=[png(), pdf()], now=at(2026, 11, 23, 9)
    )
    # then two rows with our content types and the uploader
    assert [(row.name, row.size, row.content_type) for row in rows] == [
        ("现场照片.png", len(PNG), "image/png"),
        ("发票.pdf", len(PDF), "application/pdf"),
    ]
    assert all(row.uploaded_by == desk.engineer1 for row in rows)
    assert all(row.created_at == at(2026, 11, 23, 9) for row in rows)
    assert ticket.attachments.count() == 2
    # the files are in storage, each under a random name
    added = sorted(set(stored_files()) - set(files_before))
    assert added == sorted(row.file.name for row in rows)
    assert all(name.startswith("tickets/") for name in added)
    assert rows[1].file.open("rb").read() == PDF
    # one audit entry on the ticket names the files
    entries = AuditEntry.objects.filter(object_type="service.ticket", object_id=str(ticket.pk))
    entry = entries.order_by("pk").last()
    assert entry.action == "update" and entry.actor == desk.engineer1
    assert entry.changes == {"attachments": {"before": None, "after": ["现场照片.png", "发票.pdf"]}}
    # the ticket itself does not move: an open form on its page stays current
    current = Ticket.objects.get(pk=ticket.pk)
    assert current.version == version and current.status == ticket.status


def test_a_long_chinese_file_name_is_kept_and_stored_under_a_short_one(org, desk):
    # given a file whose name is 100 Chinese characters (300 bytes: more than a file system's
    # 255 a name)
    ticket = open_ticket(org, desk)
    long_name = "现场照片" * 25 + ".png"
    # when it is added
    (row,) = services.ticket_attachments_add(
        actor=desk.engineer1, ticket=ticket, files=[png(long_name)], now=at(2026, 11, 23, 9)
    )
    # then it is stored, under a short random name with its extension, and keeps its own name
    assert row.name == long_name
    stored = row.file.name.rsplit("/", 1)[-1]
    assert stored.endswith(".png") and len(stored.encode()) < 64
    assert row.file.open("rb").read() == PNG


def test_readers_and_outsiders_cannot_add_files(org, desk):
    ticket = open_ticket(org, desk)
    before = state()
    for user in (org.rep, org.manager, org.analyst, org.handler, org.outsider, None):
        with pytest.raises(PermissionDeniedError):
            services.ticket_attachments_add(actor=user, ticket=ticket, files=[png()])
    assert state() == before


def test_a_closed_ticket_still_takes_an_invoice(org, desk):
    ticket = open_ticket(org, desk, actor=org.agent)
    Ticket.objects.filter(pk=ticket.pk).update(status="closed", closed_at=timezone.now())
    ticket = Ticket.objects.get(pk=ticket.pk)
    rows = services.ticket_attachments_add(actor=org.agent, ticket=ticket, files=[pdf()])
    assert len(rows) == 1 and ticket.attachments.count() == 1


def test_one_bad_file_refuses_them_all_and_stores_nothing(org, desk, settings):
    # given
    ticket = open_ticket(org, desk)
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 100
    before = state()
    cases = {
        "forbidden type": [png(), SimpleUploadedFile("page.html", b"<html><script>x</script>")],
        "content not matching its name": [SimpleUploadedFile("报价.pdf", b"<html>not a pdf")],
        "too large": [pdf(), SimpleUploadedFile("大图.png", PNG + b"0" * 100)],
        "empty": [SimpleUploadedFile("空.txt", b"")],
        "nothing": [],
    }
    for name, files in cases.items():
        # when
        with pytest.raises(ValidationError) as caught:
            services.ticket_attachments_add(actor=org.agent, ticket=ticket, files=files)
        # then
        assert set(caught.value.message_dict) == {"attachments"}, name
        assert state() == before, name


def test_a_ticket_keeps_at_most_the_limit_counting_what_it_has(org, desk, settings):
    # given a limit of three and a ticket with two files
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 3
    ticket = open_ticket(org, desk, attachments=[png(), pdf()])
    before = state()
    # when two more come, then
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.ticket_attachments_add(actor=org.agent, ticket=ticket, files=[png(), pdf()])
    assert caught.value.message_dict["attachments"] == ["A ticket keeps at most 3 attachments."]
    assert state() == before
    # one more fits
    services.ticket_attachments_add(actor=org.agent, ticket=ticket, files=[png()])
    assert ticket.attachments.count() == 3


def test_opening_a_ticket_with_too_many_files_writes_nothing(org, desk, settings):
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 1
    before = state()
    with pytest.raises(ValidationError) as caught:
        open_ticket(org, desk, attachments=[png(), pdf()])
    assert "attachments" in caught.value.message_dict
    assert state() == before


def test_a_failure_after_storing_removes_the_files(org, desk):
    # given a ticket someone put in the recycle bin after the uploader's page loaded it
    ticket = open_ticket(org, desk)
    Ticket.objects.filter(pk=ticket.pk).update(deleted_at=timezone.now())
    before = state()
    # when the upload arrives: its files were stored before the ticket's row is locked
    with pytest.raises(services.TicketStatusError):
        services.ticket_attachments_add(actor=org.agent, ticket=ticket, files=[png(), pdf()])
    # then the stored files are gone again, and nothing was written
    assert state() == before


# --- the API: upload ----------------------------------------------------------------------------

# Who may upload to a ticket of desk.customer (the rep's) routed to the tech team and assigned to
# engineer1: those who work it; its readers are refused (403); the others do not see it (404).
UPLOAD = {
    "outsider": 404,
    "other_rep": 404,
    "kam": 404,
    "handler": 404,  # another team's
    "rep": 403,  # the customer's owner reads the ticket
    "manager": 403,
    "analyst": 403,
    "assignee": 201,
    "member": 201,
    "lead": 201,
    "agent": 201,
    "admin": 201,
}
# Downloads: whoever reads the ticket.
DOWNLOAD = {key: (404 if status == 404 else 200) for key, status in UPLOAD.items()}


def _person(org, desk, key):
    return {
        "outsider": org.outsider,
        "other_rep": org.other_rep,
        "kam": org.kam,
        "handler": org.handler,
        "rep": org.rep,
        "manager": org.manager,
        "analyst": org.analyst,
        "assignee": desk.engineer1,
        "member": desk.engineer2,
        "lead": desk.tech_lead,
        "agent": org.agent,
        "admin": org.admin,
    }[key]


@pytest.mark.parametrize("key", ["anonymous", *UPLOAD])
def test_upload_permissions(org, desk, key):
    # given
    ticket = open_ticket(org, desk)
    assert ticket.assignee == desk.engineer1
    client = ApiClient(None if key == "anonymous" else _person(org, desk, key))
    before = state()
    # when
    response = _upload(client, ticket, png())
    # then
    if key == "anonymous":
        assert response.status_code == 401
        assert state() == before
        return
    assert response.status_code == UPLOAD[key], response.content[:300]
    if UPLOAD[key] == 201:
        assert ticket.attachments.count() == 1
        assert len(stored_files()) == len(before[1]) + 1
    else:
        body = response.json()
        assert set(body) == {"message", "code", "fields"}
        assert body["code"] == {403: "permission_denied", 404: "not_found"}[UPLOAD[key]]
        assert state() == before


def test_the_upload_answers_the_rows_and_the_detail_lists_them(org, desk):
    # given
    ticket = open_ticket(org, desk)
    api = ApiClient(desk.engineer1)
    # when
    response = _upload(api, ticket, png(), pdf())
    # then
    assert response.status_code == 201
    rows = response.json()
    assert [(row["name"], row["size"], row["content_type"]) for row in rows] == [
        ("现场照片.png", len(PNG), "image/png"),
        ("发票.pdf", len(PDF), "application/pdf"),
    ]
    assert rows[0]["uploaded_by_id"] == desk.engineer1.pk
    assert rows[0]["uploaded_by_name"] == desk.engineer1.get_full_name()
    attachment = TicketAttachment.objects.get(name="发票.pdf")
    assert rows[1]["url"] == f"/api/v1/tickets/{ticket.pk}/attachments/{attachment.pk}"
    # the ticket's detail lists them for a reader too, oldest first
    detail = ApiClient(org.rep).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert detail["attachments"] == rows
    # the list stays without them (one query per page, not per ticket)
    listed = ApiClient(org.rep).get("/api/v1/tickets").json()["items"][0]
    assert listed["id"] == ticket.pk and "attachments" not in listed


def test_files_given_on_the_page_show_in_the_detail(org, desk):
    ticket = open_ticket(org, desk, attachments=[png("铭牌.png")])
    detail = ApiClient(org.agent).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert [(row["name"], row["uploaded_by_id"]) for row in detail["attachments"]] == [
        ("铭牌.png", org.agent.pk)
    ]


def test_bad_uploads_are_one_422_on_files_and_store_nothing(org, desk, settings):
    # given
    ticket = open_ticket(org, desk, attachments=[png()])
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 100
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 2
    api = ApiClient(org.agent, language="en")
    before = state()
    cases = {
        "forbidden type": [SimpleUploadedFile("logo.svg", b"<svg><script>x</script></svg>")],
        "content not matching its name": [pdf(), SimpleUploadedFile("报价.pdf", b"<html>")],
        "too large": [SimpleUploadedFile("大图.png", PNG + b"0" * 100)],
        "too many": [png(), pdf()],
    }
    for name, files in cases.items():
        # when
        response = _upload(api, ticket, *files)
        # then
        assert response.status_code == 422, name
        body = response.json()
        assert set(body) == {"message", "code", "fields"}, name
        assert body["code"] == "invalid" and list(body["fields"]) == ["files"], name
        assert state() == before, name
    response = _upload(api, ticket, SimpleUploadedFile("大图.png", PNG + b"0" * 100))
    assert response.json()["fields"]["files"] == ["大图.png is larger than 0.0 MB."]
    # and a request without files: ninja's own check, the same contract, the field named as the
    # client sends it (guanxi/api.py drops the ``file`` location)
    response = api.client.post(
        f"/api/v1/tickets/{ticket.pk}/attachments", data={}, headers=api.headers
    )
    assert response.status_code == 422
    assert response.json() == {
        "message": "Some fields are not valid.",
        "code": "invalid",
        "fields": {"files": ["This field is required."]},
    }
    assert state() == before


# --- the API: download --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["anonymous", *DOWNLOAD])
def test_download_permissions(org, desk, key):
    # given
    ticket = open_ticket(org, desk, attachments=[pdf()])
    attachment = ticket.attachments.get()
    client = ApiClient(None if key == "anonymous" else _person(org, desk, key))
    before = state()
    # when
    response = client.get(f"/api/v1/tickets/{ticket.pk}/attachments/{attachment.pk}")
    # then
    assert state() == before
    if key == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == DOWNLOAD[key]
    if DOWNLOAD[key] == 200:
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "no-store" in response["Cache-Control"]
    else:
        assert response.json()["code"] == "not_found"


def test_a_download_through_another_tickets_path_is_404(org, desk):
    ticket = open_ticket(org, desk, attachments=[pdf()])
    other = open_ticket(org, desk, subject="另一张")
    attachment = ticket.attachments.get()
    api = ApiClient(org.agent)
    assert api.get(f"/api/v1/tickets/{other.pk}/attachments/{attachment.pk}").status_code == 404
    assert api.get(f"/api/v1/tickets/{ticket.pk}/attachments/999999").status_code == 404


def test_a_file_missing_from_storage_is_an_error_not_a_crash(org, desk):
    ticket = open_ticket(org, desk, attachments=[pdf()])
    attachment = ticket.attachments.get()
    attachment.file.storage.delete(attachment.file.name)
    response = ApiClient(org.agent, language="en").get(
        f"/api/v1/tickets/{ticket.pk}/attachments/{attachment.pk}"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "file_missing"


def test_the_page_download_follows_the_same_rule(org, desk):
    ticket = open_ticket(org, desk, attachments=[pdf()])
    path = f"/service/attachments/{ticket.attachments.get().pk}/"
    for key, status in DOWNLOAD.items():
        response = login_client(_person(org, desk, key)).get(path)
        assert response.status_code == status, key


def test_the_openapi_document_describes_the_upload(client):
    spec = client.get("/api/v1/openapi.json").json()
    upload = spec["paths"]["/api/v1/tickets/{ticket_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "/api/v1/tickets/{ticket_id}/attachments/{attachment_id}" in spec["paths"]
    detail = spec["components"]["schemas"]["TicketDetailOut"]
    assert "attachments" in detail["properties"]


def test_each_more_file_costs_one_insert_under_the_lock(org, desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # given two tickets
    one, four = open_ticket(org, desk), open_ticket(org, desk)
    # when one gets a file and the other four
    with CaptureQueriesContext(connection) as single:
        services.ticket_attachments_add(actor=org.agent, ticket=one, files=[png()])
    with CaptureQueriesContext(connection) as several:
        services.ticket_attachments_add(
            actor=org.agent, ticket=four, files=[png(), pdf(), png(), pdf()]
        )
    # then each more file is its row's insert, no lookups of the ticket or the uploader
    assert len(several) - len(single) == 3
