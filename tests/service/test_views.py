"""The service desk's pages: who may open each (anonymous, outsider, rep, manager, agent, handler,
admin), that a refused step changes nothing, the forms' errors, and the customer's public page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.service.models import Ticket, TicketStatus
from tests.conftest import login_client
from tests.service.conftest import at, category, db_state, open_ticket

pytestmark = pytest.mark.django_db


def _people(org, desk):
    return {
        "outsider": org.outsider,
        "other_rep": org.other_rep,
        "rep": org.rep,
        "manager": org.manager,
        "agent": org.agent,
        "handler": org.handler,
        "engineer": desk.engineer1,
        "lead": desk.tech_lead,
        "admin": org.admin,
    }


def test_anonymous_users_are_sent_to_sign_in_from_every_page(org, desk, client):
    ticket = open_ticket(org, desk)
    for path in (
        "/service/",
        "/service/tickets/new/",
        f"/service/tickets/{ticket.pk}/",
        "/service/figures/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    before = db_state()
    response = client.post(f"/service/tickets/{ticket.pk}/start/", {"version": ticket.version})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert db_state() == before


def test_the_list_shows_each_person_the_tickets_they_may_see(org, desk):
    ticket = open_ticket(org, desk)
    expected = {
        "outsider": False,
        "other_rep": False,
        "rep": True,  # the customer's owner
        "manager": True,  # the owner's manager
        "agent": True,
        "handler": False,  # another team
        "engineer": True,
        "lead": True,
        "admin": True,
    }
    for name, user in _people(org, desk).items():
        response = login_client(user).get("/service/")
        assert response.status_code == 200, name
        assert (ticket.number in response.content.decode()) is expected[name], name


def test_the_ticket_page_is_404_outside_the_scope_and_read_only_for_the_rep(org, desk):
    ticket = open_ticket(org, desk)
    path = f"/service/tickets/{ticket.pk}/"
    for user in (org.outsider, org.other_rep, org.handler):
        assert login_client(user).get(path).status_code == 404
    page = login_client(org.rep).get(path).content.decode()
    assert ticket.subject in page and 'data-testid="resolve-form"' not in page
    page = login_client(desk.engineer1).get(path).content.decode()
    assert 'data-testid="resolve-form"' in page


def test_only_the_service_desk_opens_the_new_ticket_page(org, desk):
    for user, status in (
        (org.rep, 403),
        (org.manager, 403),
        (org.handler, 403),
        (org.analyst, 403),
        (org.agent, 200),
        (org.admin, 200),
    ):
        assert login_client(user).get("/service/tickets/new/").status_code == status
        assert (
            login_client(user).get(f"/service/tickets/new/?customer={desk.customer.pk}").status_code
            == status
        )


def test_the_agent_finds_the_customer_by_a_contacts_name_and_opens_a_ticket(org, desk):
    client = login_client(org.agent)
    page = client.get("/service/tickets/new/", {"q": "林晓峰"}).content.decode()
    assert desk.customer.name in page
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    response = client.post(
        "/service/tickets/new/",
        {
            "customer": desk.customer.pk,
            "channel": "phone",
            "category": category("product_quality").pk,
            "priority": "high",
            "contact": desk.contact.pk,
            "subject": "主轴异响",
            "description": "客户来电：主轴运行异响。",
            "attachments": [upload],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/service/tickets/{ticket.pk}/"
    assert ticket.assignee == desk.engineer1 and ticket.attachments.count() == 1
    download = login_client(desk.engineer1).get(
        f"/service/attachments/{ticket.attachments.get().pk}/"
    )
    assert download.status_code == 200
    assert (
        login_client(org.outsider)
        .get(f"/service/attachments/{ticket.attachments.get().pk}/")
        .status_code
        == 404
    )


def test_a_form_with_errors_shows_them_and_writes_nothing(org, desk):
    before = db_state()
    response = login_client(org.agent, language="en").post(
        "/service/tickets/new/",
        {"customer": desk.customer.pk, "channel": "phone", "priority": "normal", "subject": ""},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert db_state() == before


def test_every_step_is_refused_to_readers_and_outsiders_and_changes_nothing(org, desk):
    ticket = open_ticket(org, desk)
    steps = {
        "assign": {"assignee": desk.engineer2.pk, "reason": "换人"},
        "start": {},
        "wait": {"reason": "等客户"},
        "resume": {},
        "resolve": {"resolution": "已处理"},
        "link": {},
        "close": {},
        "reopen": {"reason": "再看看"},
    }
    before = db_state()
    for step, data in steps.items():
        path = f"/service/tickets/{ticket.pk}/{step}/"
        payload = {"version": ticket.version, **data}
        assert login_client(org.rep).post(path, payload).status_code == 403, step
        assert login_client(org.manager).post(path, payload).status_code == 403, step
        assert login_client(org.handler).post(path, payload).status_code == 404, step
        assert login_client(org.outsider).post(path, payload).status_code == 404, step
    assert db_state() == before


def test_the_handler_works_the_ticket_through_the_pages(org, desk):
    ticket = open_ticket(org, desk)
    client = login_client(desk.engineer1)
    base = f"/service/tickets/{ticket.pk}"
    assert client.post(f"{base}/start/", {"version": ticket.version}).status_code == 302
    ticket.refresh_from_db()
    assert (
        client.post(f"{base}/wait/", {"version": ticket.version, "reason": "等照片"}).status_code
        == 302
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING
    assert client.post(f"{base}/resume/", {"version": ticket.version}).status_code == 302
    ticket.refresh_from_db()
    response = client.post(
        f"{base}/resolve/", {"version": ticket.version, "resolution": "更换轴承"}
    )
    assert response.status_code == 302
    page = client.get(f"{base}/").content.decode()
    assert 'data-testid="confirmation-link"' in page and "/service/confirm/" in page
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_a_stale_form_is_a_409_and_changes_nothing(org, desk):
    ticket = open_ticket(org, desk)
    stale = ticket.version
    client = login_client(desk.engineer1)
    client.post(f"/service/tickets/{ticket.pk}/start/", {"version": stale})
    before = db_state()
    response = client.post(
        f"/service/tickets/{ticket.pk}/resolve/", {"version": stale, "resolution": "x"}
    )
    assert response.status_code == 409
    assert db_state() == before


def test_comments_anyone_who_sees_the_ticket_may_add_an_internal_note(org, desk):
    ticket = open_ticket(org, desk)
    path = f"/service/tickets/{ticket.pk}/comments/"
    assert (
        login_client(org.rep).post(path, {"body": "客户很着急", "internal": "on"}).status_code
        == 302
    )
    assert login_client(org.outsider).post(path, {"body": "x"}).status_code == 404
    # a reply to the customer is the handlers'
    before = db_state()
    assert login_client(org.rep).post(path, {"body": "您好"}).status_code == 400
    assert db_state() == before
    assert ticket.comments.count() == 1


def test_figures_count_only_visible_tickets(org, desk):
    open_ticket(org, desk, now=at(2026, 3, 2, 10))
    open_ticket(org, desk, customer=desk.vip, contact=None, now=at(2026, 3, 2, 11))
    query = {"group": "category", "from": "2026-03-01", "to": "2026-03-31"}
    rows = login_client(org.admin).get("/service/figures/", query).context["rows"]
    assert sum(row.total for row in rows) == 2
    rows = login_client(org.rep).get("/service/figures/", query).context["rows"]
    assert sum(row.total for row in rows) == 1
    rows = login_client(org.outsider).get("/service/figures/", query).context["rows"]
    assert rows == []
    # nonsense dates fall back to this month instead of failing
    assert (
        login_client(org.admin).get("/service/figures/", {"from": "0000-99-99"}).status_code == 200
    )


# --- the customer's page ------------------------------------------------------------------------


def _resolved(org, desk):
    from guanxi.service import services

    ticket = open_ticket(org, desk)
    return services.ticket_resolve(actor=desk.engineer1, ticket=ticket, resolution="更换了主轴轴承")


def test_the_public_page_shows_this_ticket_only_and_no_personal_data(org, desk, client):
    ticket, token = _resolved(org, desk)
    services_note = "内部备注：客户报价偏低"
    from guanxi.service import services

    services.ticket_comment_add(actor=desk.engineer1, ticket=ticket, body=services_note)
    page = client.get(f"/service/confirm/{token}/").content.decode()
    assert ticket.number in page and "更换了主轴轴承" in page
    assert services_note not in page
    assert "lin@example.com" not in page and "林晓峰" not in page
    assert desk.engineer1.get_full_name() not in page


def test_the_customer_confirms_with_a_low_score_and_the_ticket_reopens(org, desk, client):
    ticket, token = _resolved(org, desk)
    response = client.post(
        f"/service/confirm/{token}/", {"solved": "yes", "score": "1", "comment": "太慢了"}
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.satisfaction == 1
    # the link worked once
    assert client.get(f"/service/confirm/{token}/").status_code == 404


def test_a_missing_answer_is_shown_and_nothing_changes(org, desk):
    ticket, token = _resolved(org, desk)
    before = db_state()
    from django.test import Client

    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        f"/service/confirm/{token}/", {"solved": "yes"}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert db_state() == before


def test_unknown_links_are_404_and_guessing_is_rate_limited(org, desk, client):
    for attempt in range(30):
        assert client.get(f"/service/confirm/guess-{attempt:04d}-abcdefgh/").status_code == 404
    assert client.get("/service/confirm/guess-9999-abcdefgh/").status_code == 429


def test_the_link_on_the_page_disappears_once_it_stops_working(org, desk):
    ticket = open_ticket(org, desk)
    client = login_client(desk.engineer1)
    client.post(
        f"/service/tickets/{ticket.pk}/resolve/", {"version": ticket.version, "resolution": "x"}
    )
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="confirmation-link"' in page
    # when a colleague asks for a new link, the first one no longer works and is not shown
    login_client(org.agent).post(f"/service/tickets/{ticket.pk}/link/")
    page = client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="confirmation-link"' not in page


def test_the_public_page_names_a_company_but_not_an_individual_customer(org, desk, client):
    from guanxi.service import services
    from tests.service.conftest import make_customer

    person = make_customer(org.rep, "王小明", kind="individual")
    ticket = open_ticket(org, desk, customer=person, contact=None)
    ticket, token = services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="已处理"
    )
    page = client.get(f"/service/confirm/{token}/").content.decode()
    assert "王小明" not in page and ticket.number in page


def test_the_intake_search_finds_any_live_customer_by_name_only(org, desk):
    from tests.service.conftest import make_customer

    other = make_customer(org.outsider, "海外贸易有限公司")
    page = login_client(org.agent).get("/service/tickets/new/", {"q": "海外贸易"}).content.decode()
    assert other.name in page
    # a rep cannot use the desk's intake at all
    assert login_client(org.rep).get("/service/tickets/new/", {"q": "海外贸易"}).status_code == 403


def test_the_list_page_and_endpoint_take_as_many_queries_for_twenty_tickets_as_for_two(org, desk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import ApiClient

    page, api = login_client(org.agent), ApiClient(org.agent)

    def queries(call) -> int:
        call()  # warm: sessions, token stamp
        with CaptureQueriesContext(connection) as captured:
            call()
        return len(captured.captured_queries)

    for _ in range(2):
        open_ticket(org, desk)
    few = (queries(lambda: page.get("/service/")), queries(lambda: api.get("/api/v1/tickets")))
    for _ in range(18):
        open_ticket(org, desk)
    many = (queries(lambda: page.get("/service/")), queries(lambda: api.get("/api/v1/tickets")))
    assert many == few


def test_the_ticket_page_takes_as_many_queries_with_many_files_comments_and_articles(org, desk):
    # given a ticket with one of each thing its page lists
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.service import services
    from guanxi.service.knowledge.services import article_ticket_link
    from tests.knowledge.conftest import make_article

    ticket = open_ticket(org, desk)
    client = login_client(desk.engineer1)
    path = f"/service/tickets/{ticket.pk}/"

    def add_one_of_each(number: int) -> None:
        services.ticket_attachments_add(
            actor=desk.engineer1,
            ticket=ticket,
            files=[SimpleUploadedFile(f"照片{number}.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)],
        )
        services.ticket_comment_add(actor=org.agent, ticket=ticket, body=f"备注{number}")
        article = make_article(org.agent, f"处理方法{number}", f"第{number}种处理方法。")
        article_ticket_link(actor=org.agent, article=article, ticket=ticket)

    def queries() -> int:
        client.get(path)  # warm: the session
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured.captured_queries)

    add_one_of_each(1)
    few = queries()
    # when four more of each are added
    for number in range(2, 6):
        add_one_of_each(number)
    # then the page lists them all with the same queries
    page = client.get(path).content.decode()
    assert page.count('data-testid="ticket-attachment"') == 5
    assert page.count('data-testid="ticket-article"') == 5
    assert queries() == few
