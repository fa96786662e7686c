"""Pages of quarterly verification (定期信息核对): my open tasks, one task with the customer's
contacts and "Confirm as correct", the stale-data report, and making a quarter's tasks by hand.

Thin views, as in views.py: fetch through customers.permissions, parse a form, call one service
or selector, render. Contacts are corrected with the contact pages themselves; this page links
to them and shows what was changed since the task opened.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.forms import form_submit
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.pagination import InvalidCursorError
from guanxi.core.quarters import quarter_bounds, quarter_of
from guanxi.customers import services
from guanxi.customers.forms import VerificationForm, VerificationReportForm
from guanxi.customers.models import VerificationTask
from guanxi.customers.permissions import (
    customer_can_write,
    verification_report_can_view,
    verification_report_require_view,
    verification_task_get_for_user,
    verification_tasks_can_create,
    verification_tasks_require_create,
)
from guanxi.customers.selectors import (
    contact_list,
    contact_personal_data,
    verification_contact_changes,
    verification_report,
    verification_stale_page,
    verification_task_page,
)

PAGE_SIZE = 50


def _page(request: HttpRequest, load: Any) -> tuple[Any, str | None]:
    """``load(cursor)``, falling back to the first page (with the reason) for a bad cursor."""
    cursor = request.GET.get("cursor") or None
    try:
        return load(cursor), None
    except InvalidCursorError as error:
        return load(None), str(error.message)


@login_required
@require_GET
def verification_task_index(request: HttpRequest) -> HttpResponse:
    """The current quarter's open tasks for the customers the user owns, the oldest first."""
    quarter = quarter_of()
    page, cursor_error = _page(
        request,
        lambda cursor: verification_task_page(
            actor=request.user, quarter=quarter, cursor=cursor, limit=PAGE_SIZE
        ),
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    return TemplateResponse(
        request,
        "customers/verification_task_list.html",
        {
            "page": page,
            "quarter": quarter,
            "due": quarter_bounds(quarter)[1],
            "next_query": query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
            "can_create": verification_tasks_can_create(request.user),
            "can_report": verification_report_can_view(request.user),
        },
    )


def _task_response(
    request: HttpRequest, task: VerificationTask, form: VerificationForm, status: int = 200
) -> HttpResponse:
    customer = task.customer
    contacts = contact_list(actor=request.user, customer=customer.pk).select_related("customer")
    rows = [
        {"contact": contact, **contact_personal_data(actor=request.user, contact=contact)}
        for contact in contacts.order_by("name", "id")
    ]
    is_open = task.status == VerificationTask.Status.OPEN
    return TemplateResponse(
        request,
        "customers/verification_task_detail.html",
        {
            "task": task,
            "customer": customer,
            "contacts": rows,
            "changes": (
                verification_contact_changes(customer=customer, since=task.created_at)
                if is_open
                else task.changes
            ),
            "form": form,
            "can_verify": is_open
            and customer.archived_at is None
            and customer_can_write(request.user, customer),
            "can_write": customer_can_write(request.user, customer),
        },
        status=status,
    )


@login_required
@require_GET
def verification_task_show(request: HttpRequest, task_id: int) -> HttpResponse:
    task = verification_task_get_for_user(request.user, task_id)
    return _task_response(request, task, VerificationForm())


@login_required
@require_POST
def verification_task_verify(request: HttpRequest, task_id: int) -> HttpResponse:
    task = verification_task_get_for_user(request.user, task_id, write=True)
    form = VerificationForm(request.POST)
    if form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.verification_task_verify(
                actor=request.user, task=task, note=form.cleaned_data["note"]
            ),
        )
        if saved:
            messages.success(
                request,
                _("The contact data of %(name)s is confirmed as correct.")
                % {"name": task.customer},
            )
            return redirect("customers:verification-task-list")
    task.refresh_from_db()
    return _task_response(request, task, form, status=409 if form.non_field_errors() else 400)


@login_required
@require_GET
def verification_report_show(request: HttpRequest) -> HttpResponse:
    """Managers: per owner, the active customers in their scope and how many were not verified
    in the quarter, and those customers by name."""
    verification_report_require_view(request.user)
    owners = user_visible_queryset(actor=request.user).order_by("full_name", "pk")
    form = VerificationReportForm(request.GET or None, owners=owners)
    quarter, owner = form.values() if form.is_bound else (quarter_of(), None)
    report = verification_report(actor=request.user, quarter=quarter)
    page, cursor_error = _page(
        request,
        lambda cursor: verification_stale_page(
            actor=request.user, quarter=quarter, owner=owner, cursor=cursor, limit=PAGE_SIZE
        ),
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    return TemplateResponse(
        request,
        "customers/verification_report.html",
        {
            "form": form,
            "report": report,
            "page": page,
            "owner": owner,
            "next_query": query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
            "can_create": verification_tasks_can_create(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def verification_tasks_generate(request: HttpRequest) -> HttpResponse:
    """Administrators: make the current quarter's missing tasks now, without waiting for the
    schedule."""
    verification_tasks_require_create(request.user)
    created = services.verification_tasks_create(actor=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s verification task was created for %(quarter)s.",
            "%(count)s verification tasks were created for %(quarter)s.",
            created,
        )
        % {"count": created, "quarter": quarter_of()},
    )
    return redirect("customers:verification-task-list")
