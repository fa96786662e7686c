"""The ticket page's "Articles used" card: every reader of the ticket sees it in any status,
listing only the linked articles they may read (the knowledge app's visibility rules); the button
to take one back is for those who work the ticket. With HTMX the card and the suggestions card
each answer for themselves and tell the other to reload."""

from __future__ import annotations

import pytest

from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article
from guanxi.service.models import Ticket
from tests.conftest import Org, login_client
from tests.knowledge.conftest import (
    db_state,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
    service_team,
)

pytestmark = pytest.mark.django_db

CARD = 'id="ticket-articles"'
ROW = 'data-testid="ticket-article"'
UNLINK = 'data-testid="ticket-article-unlink"'
ARTICLES = {"HX-Request": "true", "HX-Target": "ticket-articles"}
SUGGESTIONS = {"HX-Request": "true", "HX-Target": "knowledge-suggestions"}


def _ticket(org: Org) -> Ticket:
    """A ticket of the rep's customer routed to the service centre (the handler works it)."""
    return make_ticket(
        make_customer(org.rep, "华为技术有限公司"), make_ticket_category(), team=service_team(org)
    )


def _linked(org: Org, ticket: Ticket, *args: str, **fields: object) -> Article:
    article = make_article(org.admin, *args, **fields)
    services.article_ticket_link(actor=org.admin, article=article, ticket=ticket)
    return article


def _page(user, ticket: Ticket, **headers: str) -> str:
    response = login_client(user, language="en").get(
        f"/service/tickets/{ticket.pk}/", headers=headers
    )
    assert response.status_code == 200
    return response.content.decode()


def _unlink_path(ticket: Ticket, article: Article) -> str:
    return f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/unlink/"


@pytest.mark.parametrize("status", ["new", "in_progress", "resolved", "closed"])
def test_every_reader_sees_the_card_in_any_status_and_only_workers_get_the_button(
    org: Org, status: str
) -> None:
    # given a ticket with an article used on it
    ticket = _ticket(org)
    article = _linked(org, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    readers = {
        org.rep: False,  # the customer's owner
        org.manager: False,
        org.analyst: False,
        org.handler: True,  # the team's member
        org.agent: True,
        org.admin: True,
    }
    for reader, works in readers.items():
        # when
        page = _page(reader, ticket)
        # then the card lists the article, with the button for those who work the ticket
        assert CARD in page and "Articles used" in page, reader.username
        assert page.count(ROW) == 1 and article.title in page, reader.username
        assert (UNLINK in page) is works, reader.username
        if works:
            path = _unlink_path(ticket, article)
            assert f'action="{path}"' in page and f'hx-post="{path}"' in page
    # and an outsider does not see the ticket at all
    response = login_client(org.outsider).get(f"/service/tickets/{ticket.pk}/")
    assert response.status_code == 404


def test_the_card_lists_only_the_articles_the_reader_may_read(org: Org) -> None:
    # given, used on the ticket: a published article; one taken back to draft since; a note
    # about another rep's customer; one in the recycle bin
    ticket = _ticket(org)
    published = _linked(org, ticket, "退款到账时间", "原路退回，三至七个工作日到账。")
    redrafted = _linked(org, ticket, "换货流程", "先登记再换货。")
    services.article_status_set(
        actor=org.admin, article=Article.objects.get(pk=redrafted.pk), status="draft"
    )
    elsewhere = make_customer(org.outsider, "海外贸易有限公司")
    note = _linked(
        org,
        ticket,
        "海外贸易的收货习惯",
        "只在工作日收货。",
        kind="customer_note",
        customers=[elsewhere.pk],
    )
    deleted = _linked(org, ticket, "旧的退货流程", "已作废。")
    services.article_delete(actor=org.admin, article=Article.objects.get(pk=deleted.pk))
    # when the rep reads the ticket, then only the published article
    page = _page(org.rep, ticket)
    assert page.count(ROW) == 1 and published.title in page
    assert redrafted.title not in page and note.title not in page and deleted.title not in page
    # an administrator reads the draft and the note, never the deleted one
    page = _page(org.admin, ticket)
    assert page.count(ROW) == 3
    assert all(a.title in page for a in (published, redrafted, note))
    assert deleted.title not in page


def test_a_ticket_without_used_articles_says_so(org: Org) -> None:
    ticket = _ticket(org)
    page = _page(org.rep, ticket)
    assert CARD in page and 'data-testid="ticket-articles-none"' in page
    assert "No knowledge article is recorded as used on this ticket." in page


def test_the_card_reloads_itself_as_a_fragment_of_the_ticket_page(org: Org) -> None:
    # given
    ticket = _ticket(org)
    article = _linked(org, ticket)
    # when the card asks the ticket page for itself
    response = login_client(org.rep, language="en").get(
        f"/service/tickets/{ticket.pk}/", headers=ARTICLES
    )
    # then the card only, for the reader (no button for the rep)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<div class="card mb-3" {CARD}')
    assert "<html" not in body and article.title in body and UNLINK not in body
    assert "HX-Target" in response["Vary"]
    # it listens for the suggestions' changes
    assert 'hx-trigger="ticket-articles-changed from:body"' in body
    assert f'hx-get="/service/tickets/{ticket.pk}/"' in body
    # and the ticket stays hidden from an outsider this way too
    response = login_client(org.outsider).get(f"/service/tickets/{ticket.pk}/", headers=ARTICLES)
    assert response.status_code == 404


def test_unlinking_from_the_card_answers_the_card_and_reloads_the_suggestions(org: Org) -> None:
    # given
    ticket = _ticket(org)
    article = _linked(org, ticket)
    kept = _linked(org, ticket, "退款到账时间", "原路退回。")
    # when the handler takes one back from the card
    response = login_client(org.handler, language="en").post(
        _unlink_path(ticket, article), headers=ARTICLES
    )
    # then the card again, without it, and the suggestions card is told to reload
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<div class="card mb-3" {CARD}') and "<html" not in body
    assert body.count(ROW) == 1 and kept.title in body and article.title not in body
    assert response["HX-Trigger"] == "knowledge-suggestions-changed"
    assert Article.all_objects.get(pk=article.pk).link_count == 0


def test_a_reader_cannot_unlink_from_the_card_and_nothing_changes(org: Org) -> None:
    ticket = _ticket(org)
    article = _linked(org, ticket)
    before = db_state()
    for reader, status in ((org.rep, 403), (org.manager, 403), (org.outsider, 404)):
        response = login_client(reader).post(_unlink_path(ticket, article), headers=ARTICLES)
        assert response.status_code == status, reader.username
    assert db_state() == before


def test_the_suggestions_tell_the_card_to_reload_when_they_link_or_unlink(org: Org) -> None:
    # given a ticket and an article meant for its category
    ticket = _ticket(org)
    article = make_article(org.agent, ticket_categories=[ticket.category_id])
    client = login_client(org.handler)
    path = f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}"
    # when linked from the suggestions, then the card is told to reload
    response = client.post(f"{path}/link/", headers=SUGGESTIONS)
    assert response.status_code == 200 and 'id="knowledge-suggestions"' in response.content.decode()
    assert response["HX-Trigger"] == "ticket-articles-changed"
    # when taken back from the suggestions, the same
    response = client.post(f"{path}/unlink/", headers=SUGGESTIONS)
    assert response.status_code == 200 and 'id="knowledge-suggestions"' in response.content.decode()
    assert response["HX-Trigger"] == "ticket-articles-changed"


def test_on_the_ticket_page_the_suggestions_leave_the_used_articles_to_the_card(
    org: Org,
) -> None:
    # given an article used on the ticket and another meant for its category
    ticket = _ticket(org)
    used = _linked(org, ticket, "退款到账时间", "原路退回。")
    suggested = make_article(org.agent, ticket_categories=[ticket.category_id])
    client = login_client(org.handler, language="en")
    # the ticket page loads its suggestions "embedded", and reloads them when the card changes
    page = _page(org.handler, ticket)
    suggestions = f"/service/knowledge/suggest/tickets/{ticket.pk}/"
    assert f'hx-get="{suggestions}?embedded=1"' in page
    assert 'hx-trigger="load, knowledge-suggestions-changed from:body"' in page
    # when loaded so, then without the used ones, and their buttons keep it so
    body = client.get(
        suggestions, {"embedded": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'data-testid="knowledge-linked"' not in body and used.title not in body
    assert suggested.title in body
    assert '<input type="hidden" name="embedded" value="1">' in body
    # a link made from there answers the same way
    response = client.post(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{suggested.pk}/link/",
        {"embedded": "1"},
        headers=SUGGESTIONS,
    )
    body = response.content.decode()
    assert 'data-testid="knowledge-linked"' not in body and suggested.title not in body
    assert ticket.knowledge_links.count() == 2
    # their own page (and the fragment without the flag) still lists the used articles
    body = client.get(suggestions, headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="knowledge-linked"' in body and used.title in body
