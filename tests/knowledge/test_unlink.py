"""Taking back "used to solve this": who may, the article's count after link, unlink and unlink
again, the audit trail, the button on the ticket's suggestions (HTMX and plain POST) and the API.
The permission matrices of the page and the endpoint are in test_views_permissions and
test_api_permissions with the other knowledge routes."""

from __future__ import annotations

import pytest

from guanxi.core.exceptions import PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article, TicketArticleLink
from guanxi.service.models import Ticket
from tests.conftest import ApiClient, Org, login_client
from tests.knowledge.conftest import (
    db_state,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
    service_team,
)

pytestmark = pytest.mark.django_db


def _link_count(article: Article) -> int:
    return Article.all_objects.get(pk=article.pk).link_count


def _ticket(org: Org) -> Ticket:
    """A ticket of the rep's customer routed to the service centre (the handler works it)."""
    return make_ticket(
        make_customer(org.rep, "华为技术有限公司"), make_ticket_category(), team=service_team(org)
    )


def test_the_count_is_right_after_link_unlink_and_unlink_again(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    version = Article.objects.get(pk=article.pk).version
    # when linked
    services.article_ticket_link(actor=org.handler, article=article, ticket=ticket)
    # then
    assert _link_count(article) == 1
    # when unlinked
    removed = services.article_ticket_unlink(actor=org.handler, article=article, ticket=ticket)
    # then
    assert removed is True
    assert _link_count(article) == 0
    assert not TicketArticleLink.objects.filter(ticket=ticket, article=article).exists()
    # when unlinked again
    before = db_state()
    removed_again = services.article_ticket_unlink(
        actor=org.handler, article=article, ticket=ticket
    )
    # then nothing changes the second time
    assert removed_again is False
    assert db_state() == before
    assert _link_count(article) == 0
    # a counter, not an edit: the version an editor read stays current
    assert Article.objects.get(pk=article.pk).version == version


def test_unlinking_one_ticket_leaves_the_others_counted(org: Org) -> None:
    # given an article used on two tickets
    article = make_article(org.agent)
    first, second = (
        _ticket(org),
        make_ticket(
            make_customer(org.rep, "中兴通讯股份有限公司"), make_ticket_category("kb-2", "维修")
        ),
    )
    services.article_ticket_link(actor=org.agent, article=article, ticket=first)
    services.article_ticket_link(actor=org.agent, article=article, ticket=second)
    # when
    services.article_ticket_unlink(actor=org.agent, article=article, ticket=first)
    # then
    assert _link_count(article) == 1
    assert list(TicketArticleLink.objects.values_list("ticket_id", flat=True)) == [second.pk]


def test_the_count_never_goes_below_zero(org: Org) -> None:
    # given a link whose use is no longer counted (say, a counter reset by hand)
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    Article.all_objects.filter(pk=article.pk).update(link_count=0)
    # when
    removed = services.article_ticket_unlink(actor=org.agent, article=article, ticket=ticket)
    # then the link goes, the count stays at zero
    assert removed is True
    assert _link_count(article) == 0
    assert not TicketArticleLink.objects.exists()


def test_an_archived_article_can_be_taken_back(org: Org) -> None:
    # given a link made while the article was published
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    services.article_status_set(
        actor=org.agent, article=Article.objects.get(pk=article.pk), status="archived"
    )
    # when
    removed = services.article_ticket_unlink(
        actor=org.agent, article=Article.objects.get(pk=article.pk), ticket=ticket
    )
    # then
    assert removed is True and _link_count(article) == 0


def test_unlinking_is_audited_on_the_ticket_like_linking(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.handler, article=article, ticket=ticket)
    # when
    services.article_ticket_unlink(actor=org.handler, article=article, ticket=ticket)
    services.article_ticket_unlink(actor=org.handler, article=article, ticket=ticket)
    # then one entry each, naming the article by id only
    entries = AuditEntry.objects.filter(
        object_type="service.ticket", object_id=str(ticket.pk)
    ).order_by("pk")
    assert [(entry.action, entry.actor_id, entry.note, entry.changes) for entry in entries] == [
        (
            "action",
            org.handler.pk,
            f"knowledge_article_linked?article={article.pk}",
            {"knowledge_article": {"before": None, "after": article.pk}},
        ),
        (
            "action",
            org.handler.pk,
            f"knowledge_article_unlinked?article={article.pk}",
            {"knowledge_article": {"before": article.pk, "after": None}},
        ),
    ]


def test_the_audit_note_reads_as_a_sentence(org: Org) -> None:
    from guanxi.core.audit import audit_note_labels

    label = audit_note_labels()["knowledge_article_unlinked"]
    assert str(label) % {"article": 7} == (
        "Knowledge article #7 is no longer recorded as used on this ticket"
    )


def test_only_those_who_work_the_ticket_link_or_unlink(org: Org) -> None:
    # given a link on a ticket the rep (the customer's owner), their manager and the analyst read
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    other = make_article(org.agent, "退款到账时间", "原路退回。")
    before = db_state()
    for reader in (org.rep, org.manager, org.analyst, org.outsider):
        # when / then
        with pytest.raises(PermissionDeniedError):
            services.article_ticket_unlink(actor=reader, article=article, ticket=ticket)
        with pytest.raises(PermissionDeniedError):
            services.article_ticket_link(actor=reader, article=other, ticket=ticket)
    with pytest.raises(PermissionDeniedError):
        services.article_ticket_unlink(actor=None, article=article, ticket=ticket)
    assert db_state() == before
    # and the team's member, an agent and an administrator may
    for worker in (org.handler, org.agent, org.admin):
        services.article_ticket_link(actor=worker, article=article, ticket=ticket)
        assert services.article_ticket_unlink(actor=worker, article=article, ticket=ticket)
    assert _link_count(article) == 0


# --- the page -----------------------------------------------------------------------------------


def test_the_button_sits_beside_each_used_article_for_those_who_work_the_ticket(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    path = f"/service/knowledge/suggest/tickets/{ticket.pk}/"
    unlink = f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/unlink/"
    # when / then: the handler works it
    page = login_client(org.handler, language="en").get(path, headers={"HX-Request": "true"})
    body = page.content.decode()
    assert 'data-testid="knowledge-unlink"' in body
    assert f'action="{unlink}"' in body and f'hx-post="{unlink}"' in body
    assert "Remove from ticket" in body
    # the rep reads it: the article is listed, without the button
    page = login_client(org.rep).get(path, headers={"HX-Request": "true"})
    body = page.content.decode()
    assert article.title in body and 'data-testid="knowledge-unlink"' not in body


def test_htmx_gets_the_suggestions_back_without_the_used_article(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.handler, article=article, ticket=ticket)
    # when
    response = login_client(org.handler).post(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/unlink/",
        headers={"HX-Request": "true"},
    )
    # then the fragment, the article back among the suggestions
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="knowledge-suggestions"' in body and "<html" not in body
    assert 'data-testid="knowledge-linked-article"' not in body
    assert 'data-testid="knowledge-suggestion"' in body and article.title in body
    assert _link_count(article) == 0


def test_without_javascript_it_goes_back_to_the_ticket_with_a_message(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.handler, article=article, ticket=ticket)
    client = login_client(org.handler, language="en")
    path = f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/unlink/"
    # when
    response = client.post(path)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/service/tickets/{ticket.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert f"Article “{article.title}” is no longer recorded as used on ticket" in page
    assert _link_count(article) == 0
    # and a second click is harmless
    before = db_state()
    assert client.post(path).status_code == 302
    assert db_state() == before


def test_a_get_is_refused_and_changes_nothing(org: Org) -> None:
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    before = db_state()
    response = login_client(org.agent).get(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/unlink/"
    )
    assert response.status_code == 405
    assert db_state() == before


# --- the API ------------------------------------------------------------------------------------


def test_the_api_takes_a_link_back_and_a_repeat_is_harmless(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = _ticket(org)
    api = ApiClient(org.handler)
    path = f"/api/v1/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link"
    assert api.post(path).status_code == 201
    assert _link_count(article) == 1
    # when
    response = api.delete(path)
    # then
    assert response.status_code == 204
    assert _link_count(article) == 0
    suggestions = api.get(f"/api/v1/knowledge/tickets/{ticket.pk}/suggestions").json()
    assert suggestions["linked"] == []
    # when again
    before = db_state()
    assert api.delete(path).status_code == 204
    # then
    assert db_state() == before and _link_count(article) == 0


def test_the_api_refuses_a_reader_and_hides_the_ticket_from_an_outsider(org: Org) -> None:
    article = make_article(org.agent)
    ticket = _ticket(org)
    services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
    path = f"/api/v1/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link"
    clients = ApiClient(org.rep), ApiClient(org.outsider), ApiClient(None)
    before = db_state()
    reader = clients[0].delete(path)
    assert reader.status_code == 403 and reader.json()["code"] == "permission_denied"
    outsider = clients[1].delete(path)
    assert outsider.status_code == 404 and outsider.json()["code"] == "not_found"
    assert clients[2].delete(path).status_code == 401
    assert db_state() == before
    assert _link_count(article) == 1
