"""HTML pages of the service desk: the ticket list, opening a ticket, one ticket and the steps of
its life (and files added to it), the figures, and the customer's confirmation page (no login).

Thin views: fetch through service.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors, form_submit
from guanxi.core.exceptions import ApplicationError
from guanxi.core.pagination import InvalidCursorError
from guanxi.core.ratelimit import RateLimitedError, public_page_rate_check
from guanxi.core.selectors import calendar_years_missing
from guanxi.customers.permissions import customer_get_for_user
from guanxi.customers.selectors import customer_intake_search
from guanxi.service import services
from guanxi.service.forms import (
    AssignForm,
    AttachmentForm,
    CommentForm,
    ConfirmationForm,
    ReasonForm,
    ResolveForm,
    TicketFilterForm,
    TicketForm,
    VersionForm,
)
from guanxi.service.models import OPEN_STATUSES, TicketStatus
from guanxi.service.permissions import (
    service_settings_can_edit,
    ticket_attachment_get_for_user,
    ticket_can_create,
    ticket_can_work,
    ticket_customer_get_for_intake,
    ticket_get_for_user,
    ticket_require_create,
)
from guanxi.service.selectors import (
    FIGURE_GROUPS,
    ticket_assignee_choices,
    ticket_attachments,
    ticket_backlog,
    ticket_comments,
    ticket_counts,
    ticket_page,
    ticket_sla_state,
    ticket_timeliness,
    ticket_transitions,
)

PAGE_SIZE = 50
CUSTOMER_SEARCH_LIMIT = 20
# The link token is shown to the handler once, right after resolving, to send by SMS or WeChat.
SESSION_LINK_KEY = "service:confirmation-link"


# --- the list -----------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def ticket_index(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = TicketFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "view": data.get("view") or "",
            "status": data.get("status") or "",
            "category": data.get("category"),
            "priority": data.get("priority") or "",
            "team": data.get("team"),
            "query": data.get("q") or "",
        }
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = ticket_page(actor=actor, cursor=cursor, limit=PAGE_SIZE, **filters)
    except InvalidCursorError as error:
        page = ticket_page(actor=actor, limit=PAGE_SIZE, **filters)
        cursor_error = str(error.message)
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    context = {
        "form": form,
        "page": page,
        "next_query": query.urlencode() if page.next_cursor else "",
        "cursor_error": cursor_error,
        "counts": ticket_counts(actor=actor),
        "now": timezone.now(),
        "can_create": ticket_can_create(actor),
        "can_setup": service_settings_can_edit(actor),
        "view": filters.get("view", ""),
    }
    template = "service/ticket_list.html"
    if request.htmx:
        template += "#ticket-results"
    return TemplateResponse(request, template, context)


# --- opening a ticket ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def ticket_create(request: HttpRequest) -> HttpResponse:
    """Opening a ticket: first find the customer (name, short name, pinyin, a contact's name or
    phone — the customer list's search), then the form."""
    actor = request.user
    ticket_require_create(actor)
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    if not customer_id:
        query = request.GET.get("q", "").strip()[:100]
        found = customer_intake_search(query=query, limit=CUSTOMER_SEARCH_LIMIT) if query else []
        return TemplateResponse(
            request, "service/ticket_customer_pick.html", {"query": query, "customers": found}
        )
    customer = ticket_customer_get_for_intake(actor, customer_id)
    form = TicketForm(request.POST or None, request.FILES or None, customer=customer)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                ticket = services.ticket_create(
                    actor=actor, customer=customer, **form.service_data()
                )
            except ValidationError as error:
                apply_errors(form, error)
            except ApplicationError as error:
                form.add_error(None, str(error.message))
            else:
                if ticket.assignee_id:
                    messages.success(
                        request,
                        _("Ticket %(number)s is open and went to %(assignee)s (%(team)s).")
                        % {
                            "number": ticket.number,
                            "assignee": ticket.assignee.get_full_name(),
                            "team": ticket.team,
                        },
                    )
                else:
                    messages.warning(
                        request,
                        _("Ticket %(number)s is open. No routing rule matched: assign it by hand.")
                        % {"number": ticket.number},
                    )
                return redirect("service:ticket-detail", ticket.pk)
    return TemplateResponse(
        request,
        "service/ticket_form.html",
        {"form": form, "customer": customer, "calendar_missing": calendar_years_missing()},
        status=status,
    )


# --- one ticket ---------------------------------------------------------------------------------


def _ticket_context(request: HttpRequest, ticket: Any, **forms: Any) -> dict[str, Any]:
    actor = request.user
    can_work = ticket_can_work(actor, ticket)
    from guanxi.feedback.selectors import feedback_items_for_ticket
    from guanxi.service.knowledge.selectors import article_links_for_ticket

    link = None
    stored = request.session.get(SESSION_LINK_KEY)
    # Shown only while that very link still works: someone may have reopened the ticket and
    # resolved it again since, which replaced it.
    if (
        stored
        and stored.get("ticket") == ticket.pk
        and ticket.status == TicketStatus.RESOLVED
        and services.confirmation_link_live(token=stored.get("token", ""), ticket=ticket)
    ):
        link = request.build_absolute_uri(reverse("service:confirm", args=[stored["token"]]))
    step_forms = {
        "assign_form": forms.get("assign_form")
        or AssignForm(
            initial={"version": ticket.version, "assignee": ticket.assignee_id},
            assignees=ticket_assignee_choices(ticket=ticket),
        ),
        "resolve_form": forms.get("resolve_form")
        or ResolveForm(initial={"version": ticket.version, "resolution": ticket.resolution}),
        "wait_form": forms.get("wait_form") or ReasonForm(initial={"version": ticket.version}),
        "reopen_form": forms.get("reopen_form") or ReasonForm(initial={"version": ticket.version}),
        "version_form": forms.get("version_form")
        or VersionForm(initial={"version": ticket.version}),
    }
    return {
        "ticket": ticket,
        "can_work": can_work,
        "sla": ticket_sla_state(ticket),
        "transitions": ticket_transitions(ticket=ticket),
        "comments": ticket_comments(ticket=ticket),
        "attachments": ticket_attachments(ticket=ticket),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(),
        # The knowledge app's visibility rules: an article the reader may not read is left out.
        "article_links": article_links_for_ticket(actor=actor, ticket=ticket),
        "feedback_items": feedback_items_for_ticket(actor=actor, ticket=ticket),
        "confirmation_link": link,
        "is_open": ticket.status in OPEN_STATUSES,
        **step_forms,
        "step_forms": list(step_forms.values()),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "customer_visible": _sees_customer(actor, ticket.customer_id),
    }


def _sees_customer(actor: Any, customer_id: int) -> bool:
    try:
        customer_get_for_user(actor, customer_id)
    except ApplicationError:
        return False
    return True


# The "Articles used" card's id: it reloads itself from this page with HTMX (see
# knowledge/partials/ticket_articles.html).
TICKET_ARTICLES_TARGET = "ticket-articles"


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def ticket_show(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id)
    if request.htmx and request.htmx.target == TICKET_ARTICLES_TARGET:
        from guanxi.service.knowledge.selectors import article_links_for_ticket

        return TemplateResponse(
            request,
            "knowledge/partials/ticket_articles.html",
            {
                "ticket": ticket,
                "links": article_links_for_ticket(actor=request.user, ticket=ticket),
                "can_link": ticket_can_work(request.user, ticket),
            },
        )
    return TemplateResponse(request, "service/ticket_detail.html", _ticket_context(request, ticket))


def _step(
    request: HttpRequest,
    ticket_id: int,
    form_class: Any,
    call: Any,
    form_name: str,
    done: str,
    form_kwargs: dict[str, Any] | None = None,
) -> HttpResponse:
    """A POSTed step on a ticket: the form, one service call, back to the ticket page (or the
    page again with the errors, status 400 / 409)."""
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    form = form_class(request.POST, **(form_kwargs or {}))
    status = 400
    if form.is_valid():
        try:
            call(ticket, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except ApplicationError as error:
            # A stale version (409 ConflictError) or a ticket someone else moved on (409).
            form.add_error(None, str(error.message))
            status = error.status_code
        else:
            messages.success(request, done)
            return redirect("service:ticket-detail", ticket.pk)
    ticket = ticket_get_for_user(request.user, ticket_id)
    return TemplateResponse(
        request,
        "service/ticket_detail.html",
        _ticket_context(request, ticket, **{form_name: form}),
        status=status,
    )


@login_required
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    return _step(
        request,
        ticket_id,
        AssignForm,
        lambda ticket, data: services.ticket_assign(
            actor=request.user,
            ticket=ticket,
            assignee=data["assignee"],
            reason=data.get("reason", ""),
            version=data["version"],
        ),
        "assign_form",
        _("The ticket is reassigned."),
        {"assignees": ticket_assignee_choices(ticket=ticket)},
    )


@login_required
@require_POST
def ticket_start(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _step(
        request,
        ticket_id,
        VersionForm,
        lambda ticket, data: services.ticket_start(
            actor=request.user, ticket=ticket, version=data["version"]
        ),
        "version_form",
        _("You are working on the ticket."),
    )


@login_required
@require_POST
def ticket_wait(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _step(
        request,
        ticket_id,
        ReasonForm,
        lambda ticket, data: services.ticket_wait(
            actor=request.user, ticket=ticket, reason=data["reason"], version=data["version"]
        ),
        "wait_form",
        _("The ticket waits on the customer; its deadlines are paused."),
    )


@login_required
@require_POST
def ticket_resume(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _step(
        request,
        ticket_id,
        VersionForm,
        lambda ticket, data: services.ticket_resume(
            actor=request.user, ticket=ticket, version=data["version"]
        ),
        "version_form",
        _("The ticket is back in progress; its deadlines moved by the time waited."),
    )


@login_required
@require_POST
def ticket_resolve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def call(ticket: Any, data: dict[str, Any]) -> None:
        _ticket, token = services.ticket_resolve(
            actor=request.user,
            ticket=ticket,
            resolution=data["resolution"],
            version=data["version"],
        )
        request.session[SESSION_LINK_KEY] = {"ticket": ticket.pk, "token": token}

    return _step(
        request,
        ticket_id,
        ResolveForm,
        call,
        "resolve_form",
        _("The ticket is resolved. The customer's contact can confirm it with the link below."),
    )


@login_required
@require_POST
def ticket_link_renew(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    try:
        token = services.ticket_confirmation_link_renew(actor=request.user, ticket=ticket)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        request.session[SESSION_LINK_KEY] = {"ticket": ticket.pk, "token": token}
        messages.success(request, _("A new link is ready; the earlier one no longer works."))
    return redirect("service:ticket-detail", ticket.pk)


@login_required
@require_POST
def ticket_close(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _step(
        request,
        ticket_id,
        VersionForm,
        lambda ticket, data: services.ticket_close(
            actor=request.user, ticket=ticket, version=data["version"]
        ),
        "version_form",
        _("The ticket is closed."),
    )


@login_required
@require_POST
def ticket_reopen(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _step(
        request,
        ticket_id,
        ReasonForm,
        lambda ticket, data: services.ticket_reopen(
            actor=request.user, ticket=ticket, reason=data["reason"], version=data["version"]
        ),
        "reopen_form",
        _("The ticket is reopened."),
    )


@login_required
@require_POST
def ticket_comment(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        ok, _conflicts = form_submit(
            form,
            lambda: services.ticket_comment_add(
                actor=request.user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
            ),
        )
        if ok:
            messages.success(request, _("The comment is added."))
            return redirect(reverse("service:ticket-detail", args=[ticket.pk]) + "#comments")
    return TemplateResponse(
        request,
        "service/ticket_detail.html",
        _ticket_context(request, ticket, comment_form=form),
        status=400,
    )


@login_required
@require_POST
def ticket_attachments_add(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Files added to a ticket by those who work it, in any status. HTMX swaps the attachments
    card, the errors in it when the upload is refused (and nothing is stored); without
    JavaScript, back to the ticket's page, or the page again with the errors (400)."""
    ticket = ticket_get_for_user(request.user, ticket_id, write=True)
    form = AttachmentForm(request.POST, request.FILES)
    added = False
    if form.is_valid():
        added, _conflicts = form_submit(
            form,
            lambda: services.ticket_attachments_add(
                actor=request.user, ticket=ticket, files=form.cleaned_data["attachments"]
            ),
        )
    if request.htmx:
        # 200 either way: HTMX swaps only a successful answer, and the errors belong in the card.
        return TemplateResponse(
            request,
            "service/ticket_detail.html#ticket-attachments",
            {
                "ticket": ticket,
                "can_work": True,
                "attachments": ticket_attachments(ticket=ticket),
                "attachment_form": AttachmentForm() if added else form,
                "attachments_added": added,
            },
        )
    if added:
        messages.success(request, _("The files are attached."))
        return redirect(reverse("service:ticket-detail", args=[ticket.pk]) + "#ticket-attachments")
    return TemplateResponse(
        request,
        "service/ticket_detail.html",
        _ticket_context(request, ticket, attachment_form=form),
        status=400,
    )


@login_required
@require_GET
def ticket_attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = ticket_attachment_get_for_user(request.user, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        messages.error(request, _("The file is missing from storage."))
        return redirect("service:ticket-detail", attachment.ticket_id)
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- figures ------------------------------------------------------------------------------------


@login_required
@require_GET
def ticket_figures(request: HttpRequest) -> HttpResponse:
    """Response and resolution timeliness per category, department and agent, and the backlog,
    over the tickets the user may see."""
    actor = request.user
    group = request.GET.get("group", "category")
    if group not in FIGURE_GROUPS:
        group = "category"
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today.replace(day=1)
    try:
        end = dt.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    if not (dt.date(1900, 1, 1) <= start <= end <= dt.date(2999, 12, 31)):
        start, end = today.replace(day=1), today
    zone = timezone.get_current_timezone()
    rows = ticket_timeliness(
        actor=actor,
        group=group,
        start=dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )
    return TemplateResponse(
        request,
        "service/ticket_figures.html",
        {
            "rows": rows,
            "group": group,
            "groups": [
                ("category", _("Category")),
                ("department", _("Department")),
                ("assignee", _("Agent")),
            ],
            "start": start,
            "end": end,
            "backlog": ticket_backlog(actor=actor),
        },
    )


# --- the customer's page ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the link the customer's contact gets: no login, this one ticket only —
    its number, subject and resolution and the company's name, never internal notes or anyone's
    personal data.
    Rate-limited per client address; an unknown, used or expired link is the same 404."""
    try:
        public_page_rate_check(request, scope="ticket-confirm")
    except RateLimitedError as error:
        return TemplateResponse(
            request, "service/confirm_done.html", {"message": str(error.message)}, status=429
        )
    try:
        confirmation = services.confirmation_for_token(token)
    except services.ConfirmationLinkError as error:
        return TemplateResponse(
            request, "service/confirm_done.html", {"message": str(error.message)}, status=404
        )
    ticket = confirmation.ticket
    form = ConfirmationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.ticket_confirmation_submit(
                    token=token,
                    solved=form.cleaned_data["solved"],
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            except services.ConfirmationLinkError as error:
                return TemplateResponse(
                    request,
                    "service/confirm_done.html",
                    {"message": str(error.message)},
                    status=404,
                )
            else:
                return TemplateResponse(
                    request,
                    "service/confirm_done.html",
                    {"message": _("Thank you. Your answer has reached us."), "thanks": True},
                )
    response = TemplateResponse(
        request,
        "service/confirm.html",
        {
            "form": form,
            "number": ticket.number,
            "subject": ticket.subject,
            "resolution": ticket.resolution,
            # A company or a government body; an individual customer's name is theirs to know.
            "customer_name": ticket.customer.name if ticket.customer.kind != "individual" else "",
            "resolved_at": ticket.resolved_at,
        },
        status=status,
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
