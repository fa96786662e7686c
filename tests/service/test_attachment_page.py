"""Adding files to a ticket from its page: who may (the permission matrix, nothing changed when
refused), the HTMX card and the plain POST, errors shown in the card with nothing stored, and
normal uploads passing the upload size guard."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from guanxi.service.models import Ticket
from tests.conftest import login_client
from tests.service.conftest import open_ticket
from tests.service.test_attachments import PDF, PNG, pdf, png, state, stored_files

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "ticket-attachments"}

# A ticket of desk.customer (the rep's) routed to the tech team and assigned to engineer1: those
# who work it add files; its readers are refused (403); the others do not see it (404).
ADD = {
    "outsider": 404,
    "other_rep": 404,
    "kam": 404,
    "handler": 404,  # another team's
    "rep": 403,  # the customer's owner reads the ticket
    "manager": 403,
    "analyst": 403,
    "assignee": 302,
    "member": 302,
    "lead": 302,
    "agent": 302,
    "admin": 302,
}


def _person(org: Any, desk: Any, key: str) -> Any:
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


def _path(ticket: Ticket) -> str:
    return f"/service/tickets/{ticket.pk}/attachments/"


@pytest.mark.parametrize("key", ["anonymous", *ADD])
def test_who_may_add_files_from_the_page(org, desk, client, key):
    # given
    ticket = open_ticket(org, desk)
    user = None if key == "anonymous" else _person(org, desk, key)
    browser = client if user is None else login_client(user)
    before = state()
    # when
    response = browser.post(_path(ticket), {"attachments": [png()]})
    # then
    if user is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert state() == before
        return
    assert response.status_code == ADD[key]
    if ADD[key] == 302:
        assert response["Location"] == f"/service/tickets/{ticket.pk}/#ticket-attachments"
        assert ticket.attachments.get().uploaded_by == user
        assert len(stored_files()) == len(before[1]) + 1
    else:
        assert state() == before


@pytest.mark.parametrize("key", ["rep", "outsider"])
def test_htmx_from_a_reader_or_an_outsider_changes_nothing_either(org, desk, key):
    ticket = open_ticket(org, desk)
    before = state()
    response = login_client(_person(org, desk, key)).post(
        _path(ticket), {"attachments": [png()]}, headers=HTMX
    )
    assert response.status_code == ADD[key]
    assert state() == before


def test_a_get_is_refused_and_changes_nothing(org, desk):
    ticket = open_ticket(org, desk)
    before = state()
    assert login_client(org.agent).get(_path(ticket)).status_code == 405
    assert state() == before


def test_the_page_shows_the_form_to_those_who_work_the_ticket_only(org, desk):
    # given a ticket with a photo
    ticket = open_ticket(org, desk, attachments=[png("铭牌.png")])
    path = f"/service/tickets/{ticket.pk}/"
    # then its worker sees the file and the form (a multipart form with an HTMX upload)
    page = login_client(desk.engineer1, language="en").get(path).content.decode()
    assert 'data-testid="ticket-attachment"' in page and "铭牌.png" in page
    assert 'data-testid="attachment-form"' in page
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    assert f'hx-post="{_path(ticket)}"' in page and f'action="{_path(ticket)}"' in page
    # the rep reads the file, without the form
    page = login_client(org.rep).get(path).content.decode()
    assert "铭牌.png" in page and 'data-testid="attachment-form"' not in page
    # a reader of a ticket without files gets no empty card
    bare = open_ticket(org, desk, subject="无附件")
    page = login_client(org.rep).get(f"/service/tickets/{bare.pk}/").content.decode()
    assert 'data-testid="ticket-attachments"' not in page


def test_without_javascript_the_files_are_added_and_the_page_says_so(org, desk):
    # given
    ticket = open_ticket(org, desk)
    client = login_client(desk.engineer1, language="en")
    # when
    response = client.post(_path(ticket), {"attachments": [png(), pdf()]})
    # then
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "The files are attached." in page
    assert "现场照片.png" in page and "发票.pdf" in page
    assert sorted(ticket.attachments.values_list("name", flat=True)) == ["发票.pdf", "现场照片.png"]


def test_htmx_gets_the_card_back_with_the_new_files_and_a_fresh_form(org, desk):
    # given a ticket with one file
    ticket = open_ticket(org, desk, attachments=[png("铭牌.png")])
    # when the assignee adds another with HTMX
    response = login_client(desk.engineer1, language="en").post(
        _path(ticket), {"attachments": [pdf()]}, headers=HTMX
    )
    # then the card only, both files in it, the notice, and an empty form
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div class="card mb-3" id="ticket-attachments"')
    assert "<html" not in body
    assert body.count('data-testid="ticket-attachment"') == 2
    assert "铭牌.png" in body and "发票.pdf" in body
    assert 'data-testid="ticket-attachments-added"' in body and "The files are attached." in body
    assert 'data-testid="attachment-form"' in body and "invalid-feedback" not in body
    assert ticket.attachments.count() == 2


def test_a_closed_ticket_takes_a_file_from_the_page(org, desk):
    ticket = open_ticket(org, desk)
    Ticket.objects.filter(pk=ticket.pk).update(status="closed", closed_at=timezone.now())
    client = login_client(desk.engineer1)
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="attachment-form"' in page
    assert client.post(_path(ticket), {"attachments": [pdf()]}).status_code == 302
    assert ticket.attachments.count() == 1


# Each case: the files (made afresh for each post) and the error the card shows.
BAD = {
    "forbidden type": (
        lambda: [SimpleUploadedFile("page.html", b"<html><script>x</script>")],
        "page.html is not a file type we keep",
    ),
    "content not matching its name": (
        lambda: [png(), SimpleUploadedFile("报价.pdf", b"<html>not a pdf")],
        "报价.pdf is not a file type we keep",
    ),
    "too large": (
        lambda: [SimpleUploadedFile("大图.png", PNG + b"0" * 200)],
        "大图.png is larger than",
    ),
    # Django's file field refuses an empty file before the service sees it.
    "empty": (lambda: [SimpleUploadedFile("空.txt", b"")], "The submitted file is empty."),
    "too many": (
        lambda: [png(), pdf(), png("另一张.png")],
        "A ticket keeps at most 3 attachments.",
    ),
    "nothing": (lambda: [], "This field is required."),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_upload_shows_the_error_in_the_card_and_stores_nothing(org, desk, settings, case):
    # given a ticket with one file, files of up to 200 bytes and three per ticket
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 200
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 3
    ticket = open_ticket(org, desk, attachments=[png("铭牌.png")])
    client = login_client(desk.engineer1, language="en")
    files, message = BAD[case]
    before = state()
    # when posted without JavaScript
    response = client.post(_path(ticket), {"attachments": files()})
    # then the ticket page again, 400, the error beside the field
    page = response.content.decode()
    assert response.status_code == 400
    assert "<html" in page and 'data-testid="attachment-form"' in page
    assert message in page and "invalid-feedback" in page
    assert state() == before
    # when posted with HTMX
    response = client.post(_path(ticket), {"attachments": files()}, headers=HTMX)
    # then the card with the same error (200: HTMX swaps only a success), still one file
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and message in body
    assert body.count('data-testid="ticket-attachment"') == 1
    assert 'data-testid="ticket-attachments-added"' not in body
    assert state() == before


def test_a_ticket_in_the_recycle_bin_is_404_and_nothing_is_stored(org, desk):
    ticket = open_ticket(org, desk)
    Ticket.objects.filter(pk=ticket.pk).update(deleted_at=timezone.now())
    before = state()
    response = login_client(org.agent).post(_path(ticket), {"attachments": [png()]})
    assert response.status_code == 404
    assert state() == before


def test_normal_uploads_pass_the_upload_size_guard_at_its_bound(org, desk, settings):
    # given settings whose largest upload is a ticket's two files of 100 bytes (the guard's
    # bound: those plus room for the form)
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 100
    settings.GUANXI_ATTACHMENTS_PER_TICKET = 2
    settings.GUANXI_ATTACHMENTS_PER_INTERACTION = 1
    settings.GUANXI_IMPORT_MAX_BYTES = 100
    settings.GUANXI_VCARD_MAX_BYTES = 100
    ticket = open_ticket(org, desk)
    client = login_client(desk.engineer1)
    # when two files of the largest size are uploaded through the page, then they are kept
    photo = SimpleUploadedFile("满额.png", PNG + b"0" * (100 - len(PNG)))
    invoice = SimpleUploadedFile("满额.pdf", PDF + b"1" * (100 - len(PDF)))
    assert client.post(_path(ticket), {"attachments": [photo, invoice]}).status_code == 302
    assert ticket.attachments.count() == 2
