"""HTML pages of the knowledge base: the article list with its search, one article, writing and
editing, publishing, the recycle bin; the categories; and, for the ticket page, the suggested
articles (an HTMX fragment) and "used to solve this" (and taking it back).

Thin views: fetch through knowledge.permissions and service.permissions (404 outside the view,
403 read-only), parse a form, call one service or selector, render (``page.html#fragment`` for
HTMX).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import form_submit
from guanxi.core.exceptions import ApplicationError
from guanxi.core.pagination import InvalidCursorError
from guanxi.customers.selectors import customer_visible_queryset
from guanxi.service.knowledge import services
from guanxi.service.knowledge.forms import (
    ArticleFilterForm,
    ArticleForm,
    ArticleStatusForm,
    KnowledgeCategoryForm,
)
from guanxi.service.knowledge.models import Article, ArticleStatus
from guanxi.service.knowledge.permissions import (
    article_can_create,
    article_can_edit,
    article_can_publish,
    article_get_for_user,
    article_require_create,
    article_require_publish,
    knowledge_category_can_edit,
    knowledge_category_get_for_user,
    knowledge_category_require_edit,
)
from guanxi.service.knowledge.selectors import (
    article_detail,
    article_links_for_ticket,
    article_page,
    article_suggestions_for_ticket,
    article_tickets,
    knowledge_category_list,
    knowledge_tag_list,
)
from guanxi.service.models import Ticket, TicketCategory
from guanxi.service.permissions import ticket_can_work, ticket_get_for_user

PAGE_SIZE = 50


def ticket_page_url(ticket_id: int) -> str | None:
    """The ticket's page, once the service desk's pages exist (until then there is none)."""
    try:
        return reverse("service:ticket-detail", args=[ticket_id])
    except NoReverseMatch:
        return None


# --- articles -----------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def article_index(request: HttpRequest) -> HttpResponse:
    actor = request.user
    tags = list(knowledge_tag_list(actor=actor).values_list("name", flat=True))
    form = ArticleFilterForm(
        request.GET, categories=knowledge_category_list(include_inactive=True), tags=tags
    )
    filters = form.filters()
    sort = filters.pop("sort")
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = article_page(actor=actor, sort=sort, cursor=cursor, limit=PAGE_SIZE, **filters)
    except InvalidCursorError as error:
        page = article_page(actor=actor, sort=sort, limit=PAGE_SIZE, **filters)
        cursor, cursor_error = None, str(error.message)
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = ""
    if page.next_cursor:
        following = query.copy()
        following["cursor"] = page.next_cursor
        next_query = following.urlencode()
    template = "knowledge/article_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return TemplateResponse(
        request,
        template,
        {
            "form": form,
            "page": page,
            "next_query": next_query,
            "cursor_error": cursor_error,
            "can_create": article_can_create(actor),
            "searching": bool(filters["query"]),
        },
    )


@login_required
@require_GET
def article_show(request: HttpRequest, article_id: int) -> HttpResponse:
    article = article_get_for_user(request.user, article_id)
    services.article_view_record(actor=request.user, article=article)
    return _article_detail_response(request, article)


def _article_detail_response(
    request: HttpRequest, article: Article, *, status_form: ArticleStatusForm | None = None
) -> HttpResponse:
    article = article_detail(article=article)
    links = article_tickets(actor=request.user, article=article)
    return TemplateResponse(
        request,
        "knowledge/article_detail.html",
        {
            "article": article,
            "tickets": [(link, ticket_page_url(link.ticket_id)) for link in links],
            "can_edit": article_can_edit(request.user, article),
            "can_publish": article_can_publish(request.user),
            "status_form": status_form,
            "statuses": ArticleStatus,
        },
        status=400 if status_form is not None and status_form.errors else 200,
    )


def _customer_names(actor: Any, article: Article | None, posted: list[str]) -> dict[int, str]:
    """The customers the form shows as chosen: the article's, and those posted that the user
    may see (a posted id they may not see is shown as its number; the service refuses it)."""
    names: dict[int, str] = {}
    if article is not None:
        names.update({row.pk: row.name for row in article.customers.all()})
    ids = {int(value) for value in posted if value.isdigit() and 0 < int(value) < 2**63}
    ids -= set(names)
    if ids:
        visible = dict(
            customer_visible_queryset(actor=actor).filter(pk__in=ids).values_list("pk", "name")
        )
        names.update({pk: visible.get(pk, f"#{pk}") for pk in sorted(ids)})
    return names


def _ticket_categories(article: Article | None) -> list[TicketCategory]:
    rows = list(TicketCategory.objects.filter(active=True).order_by("position", "id"))
    if article is not None:
        chosen = [row for row in article.ticket_categories.all() if row not in rows]
        rows.extend(chosen)
    return rows


def _article_form(request: HttpRequest, article: Article | None) -> ArticleForm:
    posted = request.POST.getlist("customers") if request.method == "POST" else []
    return ArticleForm(
        request.POST or None,
        article=article,
        initial=ArticleForm.initial_for(article) if article is not None else {"kind": "solution"},
        categories=knowledge_category_list(),
        ticket_categories=_ticket_categories(article),
        customer_names=_customer_names(request.user, article, posted),
        can_publish=article_can_publish(request.user),
    )


def _article_form_response(
    request: HttpRequest, form: ArticleForm, article: Article | None, conflict: Any = None
) -> HttpResponse:
    return TemplateResponse(
        request,
        "knowledge/article_form.html",
        {"form": form, "article": article, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


@login_required
def article_create(request: HttpRequest) -> HttpResponse:
    article_require_create(request.user)
    form = _article_form(request, None)
    created: list[Article] = []
    if request.method == "POST" and form.is_valid():
        publish = form.cleaned_data.get("publish", False)
        saved, _conflict = form_submit(
            form,
            lambda: created.append(
                services.article_create(
                    actor=request.user,
                    status=ArticleStatus.PUBLISHED if publish else ArticleStatus.DRAFT,
                    **form.service_data(),
                )
            ),
        )
        if saved:
            messages.success(request, _("Article “%(title)s” was saved.") % {"title": created[0]})
            return redirect("knowledge:article-detail", created[0].pk)
    return _article_form_response(request, form, None)


@login_required
def article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    article = article_detail(article=article_get_for_user(request.user, article_id, write=True))
    form = _article_form(request, article)
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.article_update(
                actor=request.user,
                article=article,
                data=form.changed_service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("knowledge:article-detail", article.pk)
    return _article_form_response(request, form, article, conflict)


@login_required
@require_POST
def article_status(request: HttpRequest, article_id: int) -> HttpResponse:
    """Publish, archive or take back to draft, from the article's page."""
    article = article_get_for_user(request.user, article_id)
    article_require_publish(request.user)
    form = ArticleStatusForm(request.POST)
    if form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.article_status_set(
                actor=request.user,
                article=article,
                status=form.cleaned_data["status"],
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(
                request,
                _("The article is now %(status)s.")
                % {"status": ArticleStatus(form.cleaned_data["status"]).label},
            )
            return redirect("knowledge:article-detail", article.pk)
    return _article_detail_response(request, article, status_form=form)


@login_required
@require_POST
def article_delete(request: HttpRequest, article_id: int) -> HttpResponse:
    article = article_get_for_user(request.user, article_id, write=True)
    try:
        services.article_delete(actor=request.user, article=article)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("knowledge:article-detail", article.pk)
    messages.success(request, _("%(name)s was moved to the recycle bin.") % {"name": article})
    return redirect("knowledge:article-list")


# --- categories ---------------------------------------------------------------------------------


@login_required
def category_index(request: HttpRequest) -> HttpResponse:
    """The knowledge categories: everyone may read the list, administrators add to it."""
    can_edit = knowledge_category_can_edit(request.user)
    form = None
    if can_edit:
        form = KnowledgeCategoryForm(request.POST or None, initial={"position": 0, "active": True})
    if request.method == "POST":
        knowledge_category_require_edit(request.user)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            saved, _conflict = form_submit(
                form,
                lambda: services.knowledge_category_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    description=data["description"],
                    position=data["position"],
                    active=data["active"],
                ),
            )
            if saved:
                messages.success(
                    request, _("Category %(name)s was added.") % {"name": data["name"]}
                )
                return redirect("knowledge:category-list")
    return TemplateResponse(
        request,
        "knowledge/category_list.html",
        {
            "categories": knowledge_category_list(include_inactive=True),
            "form": form,
            "can_edit": can_edit,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = knowledge_category_get_for_user(request.user, category_id, write=True)
    form = KnowledgeCategoryForm(
        request.POST or None,
        initial={
            "name": category.name,
            "description": category.description,
            "position": category.position,
            "active": category.active,
            "version": category.version,
        },
        editing=True,
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        changes = {name: data[name] for name in form.changed_data if name in data}
        saved, conflict = form_submit(
            form,
            lambda: services.knowledge_category_update(
                actor=request.user, category=category, data=changes, expected_version=version
            ),
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("knowledge:category-list")
    return TemplateResponse(
        request,
        "knowledge/category_form.html",
        {"form": form, "category": category, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


# --- on a ticket --------------------------------------------------------------------------------


# HX-Trigger events of the ticket page: each card that lists the articles used on a ticket
# reloads itself on its own event, so the one that made the change is not loaded twice.
TICKET_ARTICLES_CHANGED = "ticket-articles-changed"  # the "Articles used" card
SUGGESTIONS_CHANGED = "knowledge-suggestions-changed"  # the suggestions card
# The HTMX target of the "Articles used" card (its id on the ticket page).
TICKET_ARTICLES_TARGET = "ticket-articles"


def _suggestions_context(
    request: HttpRequest, ticket: Ticket, *, error: str | None = None
) -> dict[str, Any]:
    # On the ticket page ("embedded") the "Articles used" card lists the used articles, so the
    # suggestions leave them out; their own page lists them.
    embedded = (request.POST if request.method == "POST" else request.GET).get("embedded") == "1"
    return {
        "ticket": ticket,
        "ticket_url": ticket_page_url(ticket.pk),
        "suggestions": article_suggestions_for_ticket(actor=request.user, ticket=ticket),
        "links": [] if embedded else article_links_for_ticket(actor=request.user, ticket=ticket),
        "embedded": embedded,
        "can_link": ticket_can_work(request.user, ticket),
        "error": error,
    }


def _ticket_articles_context(
    request: HttpRequest, ticket: Ticket, *, error: str | None = None
) -> dict[str, Any]:
    """For knowledge/partials/ticket_articles.html: the articles used on ``ticket`` that the
    reader may read, and whether they may take one back."""
    return {
        "ticket": ticket,
        "links": article_links_for_ticket(actor=request.user, ticket=ticket),
        "can_link": ticket_can_work(request.user, ticket),
        "error": error,
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def ticket_suggestions(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The articles that may help with a ticket, and those already used on it: a fragment the
    ticket page loads with HTMX; opened as a link, a page of its own."""
    ticket = ticket_get_for_user(request.user, ticket_id)
    template = (
        "knowledge/partials/ticket_suggestions.html"
        if request.htmx
        else "knowledge/ticket_suggestions_page.html"
    )
    return TemplateResponse(request, template, _suggestions_context(request, ticket))


@login_required
@require_POST
def ticket_article_link(request: HttpRequest, ticket_id: int, article_id: int) -> HttpResponse:
    """ "Used to solve this": from the suggestions, by those who work the ticket. HTMX gets the
    suggestions back with the article moved to the used ones; without JavaScript, the ticket's
    page (or, until the service desk has one, the article's)."""
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    article = article_get_for_user(request.user, article_id)
    error = None
    try:
        services.article_ticket_link(actor=request.user, article=article, ticket=ticket)
    except ApplicationError as failure:
        error = str(failure.message)
    if request.htmx:
        response = TemplateResponse(
            request,
            "knowledge/partials/ticket_suggestions.html",
            _suggestions_context(request, ticket, error=error),
        )
        response["HX-Trigger"] = TICKET_ARTICLES_CHANGED
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("Article “%(title)s” is recorded as used on ticket %(number)s.")
            % {"title": article.title, "number": ticket.number},
        )
    return redirect(
        ticket_page_url(ticket.pk) or reverse("knowledge:article-detail", args=[article.pk])
    )


@login_required
@require_POST
def ticket_article_unlink(request: HttpRequest, ticket_id: int, article_id: int) -> HttpResponse:
    """Take back "used to solve this", beside each article used on the ticket, by those who work
    it. HTMX gets back the card the button was on: the ticket page's "Articles used" card, or the
    suggestions without it among the used ones (the other card is told to reload). Without
    JavaScript, the ticket's page (or, until the service desk has one, the article's)."""
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    article = article_get_for_user(request.user, article_id)
    error = None
    try:
        services.article_ticket_unlink(actor=request.user, article=article, ticket=ticket)
    except ApplicationError as failure:
        error = str(failure.message)
    if request.htmx and request.htmx.target == TICKET_ARTICLES_TARGET:
        response = TemplateResponse(
            request,
            "knowledge/partials/ticket_articles.html",
            _ticket_articles_context(request, ticket, error=error),
        )
        response["HX-Trigger"] = SUGGESTIONS_CHANGED
        return response
    if request.htmx:
        response = TemplateResponse(
            request,
            "knowledge/partials/ticket_suggestions.html",
            _suggestions_context(request, ticket, error=error),
        )
        response["HX-Trigger"] = TICKET_ARTICLES_CHANGED
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("Article “%(title)s” is no longer recorded as used on ticket %(number)s.")
            % {"title": article.title, "number": ticket.number},
        )
    return redirect(
        ticket_page_url(ticket.pk) or reverse("knowledge:article-detail", args=[article.pk])
    )
