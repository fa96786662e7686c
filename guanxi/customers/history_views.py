"""Pages of the history library (客户历史库): moving a customer into it and back, the churn-reason
breakdown, and the list of churn reasons. The library's list is the customer list's tab
(``?archived=1``, views.customer_index); its part of the customer page comes from
history_detail_context.

Thin views, as in views.py: fetch through customers.permissions, parse a form, call one service
or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from guanxi.accounts.forms import form_submit
from guanxi.customers import services
from guanxi.customers.forms import (
    ChurnBreakdownForm,
    ChurnReasonForm,
    CustomerArchiveForm,
    CustomerRestoreForm,
)
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Customer
from guanxi.customers.permissions import (
    churn_reason_can_edit,
    churn_reason_get_for_user,
    churn_reason_require_edit,
    customer_can_write,
    customer_get_for_user,
)
from guanxi.customers.selectors import (
    churn_breakdown,
    churn_reason_list,
    customer_last_order,
    customer_tenure,
    verification_task_open_for,
)


def history_detail_context(actor: Any, customer: Customer) -> dict[str, Any]:
    """What the customer page shows of the history library and of verification: the library's
    card (tenure, last order, reason, details) for an archived customer, the buttons to move it
    in or out, and the open verification task of the quarter."""
    can_write = customer_can_write(actor, customer)
    archived = customer.archived_at is not None
    return {
        "history_archived": archived,
        "history_tenure": customer_tenure(customer=customer),
        "history_last_order": customer_last_order(customer=customer) if archived else None,
        "can_archive": can_write and not archived,
        "can_restore": can_write and archived,
        "verification_task": None if archived else verification_task_open_for(customer=customer),
    }


# --- moving in and out --------------------------------------------------------------------------


@login_required
def customer_archive(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    if customer.archived_at is not None:
        messages.info(request, _("This customer is already in the history library."))
        return redirect("customers:customer-detail", customer.pk)
    form = CustomerArchiveForm(
        request.POST or None,
        initial={"lifecycle": Customer.Lifecycle.CHURNED, "version": customer.version},
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved, conflict = form_submit(
            form,
            lambda: services.customer_archive(
                actor=request.user,
                customer=customer,
                reason=data["churn_reason"],
                note=data["churn_note"],
                lifecycle=data["lifecycle"],
                expected_version=data["version"],
            ),
        )
        if saved:
            messages.success(
                request, _("%(name)s was moved to the history library.") % {"name": customer}
            )
            return redirect("customers:customer-detail", customer.pk)
    return TemplateResponse(
        request,
        "customers/customer_archive.html",
        {"form": form, "customer": customer, "conflict": conflict},
        status=409 if conflict is not None else (400 if form.errors else 200),
    )


@login_required
def customer_restore(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    if customer.archived_at is None:
        messages.info(request, _("This customer is not in the history library."))
        return redirect("customers:customer-detail", customer.pk)
    # What it was before it went into the library, if that is known and a lifecycle to return to.
    was = customer.archived_from
    initial_lifecycle = (
        was if was and was not in ARCHIVED_LIFECYCLES else Customer.Lifecycle.POTENTIAL
    )
    form = CustomerRestoreForm(
        request.POST or None,
        initial={"lifecycle": initial_lifecycle, "version": customer.version},
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved, conflict = form_submit(
            form,
            lambda: services.customer_restore_from_history(
                actor=request.user,
                customer=customer,
                lifecycle=data["lifecycle"],
                expected_version=data["version"],
            ),
        )
        if saved:
            messages.success(
                request, _("%(name)s is back among the active customers.") % {"name": customer}
            )
            return redirect("customers:customer-detail", customer.pk)
    return TemplateResponse(
        request,
        "customers/customer_restore.html",
        {
            "form": form,
            "customer": customer,
            "conflict": conflict,
            "tenure": customer_tenure(customer=customer),
        },
        status=409 if conflict is not None else (400 if form.errors else 200),
    )


# --- the breakdown ------------------------------------------------------------------------------


@login_required
@require_GET
def churn_breakdown_show(request: HttpRequest) -> HttpResponse:
    """Counts per churn reason in a period, within the reader's data scope: a table, and the same
    numbers as a bar chart (static/guanxi/charts.js reads them from a JSON script element; the
    CSP allows no inline script)."""
    form = ChurnBreakdownForm(request.GET or None)
    date_from, date_to = form.period()
    breakdown = churn_breakdown(actor=request.user, date_from=date_from, date_to=date_to)
    chart = {
        "categories": [row.reason.name if row.reason else "—" for row in breakdown.rows],
        "series": [
            {
                "name": str(Customer.Lifecycle.CHURNED.label),
                "data": [row.churned for row in breakdown.rows],
            },
            {
                "name": str(Customer.Lifecycle.STOPPED.label),
                "data": [row.stopped for row in breakdown.rows],
            },
        ],
    }
    return TemplateResponse(
        request,
        "customers/churn_breakdown.html",
        {
            "form": form,
            "breakdown": breakdown,
            "rows": [(row, breakdown.share(row)) for row in breakdown.rows],
            "chart": chart,
        },
        status=400 if form.errors else 200,
    )


# --- churn reasons ------------------------------------------------------------------------------


@login_required
def churn_reason_index(request: HttpRequest) -> HttpResponse:
    """The churn reasons: everyone may read the list, administrators add to it."""
    can_edit = churn_reason_can_edit(request.user)
    form = None
    if can_edit:
        form = ChurnReasonForm(request.POST or None, initial={"sort_order": 0, "is_active": True})
    if request.method == "POST":
        churn_reason_require_edit(request.user)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            saved, _conflict = form_submit(
                form,
                lambda: services.churn_reason_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    sort_order=data["sort_order"],
                    is_active=data["is_active"],
                ),
            )
            if saved:
                messages.success(
                    request, _("Churn reason %(name)s was added.") % {"name": data["name"]}
                )
                return redirect("customers:churn-reason-list")
    return TemplateResponse(
        request,
        "customers/churn_reason_list.html",
        {
            "reasons": churn_reason_list(include_inactive=True),
            "form": form,
            "can_edit": can_edit,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def churn_reason_edit(request: HttpRequest, reason_id: int) -> HttpResponse:
    reason = churn_reason_get_for_user(request.user, reason_id, write=True)
    form = ChurnReasonForm(
        request.POST or None,
        initial={
            "name": reason.name,
            "sort_order": reason.sort_order,
            "is_active": reason.is_active,
            "version": reason.version,
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
            lambda: services.churn_reason_update(
                actor=request.user, reason=reason, data=changes, expected_version=version
            ),
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("customers:churn-reason-list")
    return TemplateResponse(
        request,
        "customers/churn_reason_form.html",
        {"form": form, "reason": reason, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )
