"""HTML pages of import and export: the export menus' target, "My exports" with its downloads,
and the vCard import into a customer's contacts.

Thin views: fetch through the access helpers, parse a form, call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.forms import apply_errors
from guanxi.core.exceptions import ApplicationError, NotFoundError
from guanxi.customers.permissions import customer_get_for_user
from guanxi.transfer import services
from guanxi.transfer.forms import ExportForm, VcardImportForm
from guanxi.transfer.permissions import export_job_get_for_user, export_require
from guanxi.transfer.selectors import CUSTOMER_PARAM, export_job_list, export_query_labels

# Room for the multipart envelope and the form's other fields around the file itself.
_UPLOAD_OVERHEAD = 64 * 1024


def export_file_response(export: services.ExportFile) -> FileResponse:
    response = FileResponse(
        export.file,
        as_attachment=True,
        filename=export.file_name,
        content_type=export.content_type,
    )
    response["X-Export-Rows"] = str(export.row_count)
    response["Cache-Control"] = "no-store"
    return response


def _back(form: ExportForm) -> HttpResponse:
    """Where the export was asked from: the customer, or the list with its filters (a query
    string only, never another site)."""
    data = form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else {}
    if data.get("customer"):
        return redirect("customers:customer-detail", data["customer"])
    query = QueryDict(data.get("query") or "").copy()
    query.pop("cursor", None)
    url = reverse("customers:customer-list")
    return redirect(f"{url}?{query.urlencode()}" if query else url)


@login_required
@require_POST
def export_create(request: HttpRequest) -> HttpResponse:
    """One of the export menus' buttons: the file at once, or a job on "My exports"."""
    export_require(request.user)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what to export and in which format."))
        return _back(form)
    kind, format = form.cleaned_data["export"]
    params: Any = QueryDict(form.cleaned_data["query"] or "")
    if form.cleaned_data["customer"]:
        params = {CUSTOMER_PARAM: form.cleaned_data["customer"]}
    try:
        outcome = services.export_start(actor=request.user, kind=kind, format=format, params=params)
    except NotFoundError:
        raise
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(form)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return _back(form)
    if outcome.file is not None:
        return export_file_response(outcome.file)
    messages.info(
        request,
        _(
            "The export is large, so it is being prepared in the background. It will be listed "
            "here, ready to download, in a few minutes."
        ),
    )
    return redirect("transfer:export-list")


@login_required
@require_GET
def export_index(request: HttpRequest) -> HttpResponse:
    """My exports: the user's own export jobs with their state and download links."""
    export_require(request.user)
    jobs = export_job_list(actor=request.user)
    labels = export_query_labels(actor=request.user, queries=[job.query for job in jobs])
    return TemplateResponse(
        request,
        "transfer/export_list.html",
        {
            "rows": [(job, labels[job.query]) for job in jobs],
            "sync_limit": settings.GUANXI_EXPORT_SYNC_LIMIT,
            "keep_days": settings.GUANXI_EXPORT_KEEP_DAYS,
            "error_messages": export_error_messages(),
        },
    )


def export_error_messages() -> dict[str, str]:
    """Why a job failed, by the code it stored, in the reader's language."""
    return {
        "not_found": _("The customer is no longer visible to you."),
        "permission_denied": _("Your account may no longer export."),
        "queue": _("The job could not be queued. Try again; if it keeps failing, tell an admin."),
        "failed": _("Something went wrong while writing the file. The error was logged."),
    }


@login_required
@require_GET
def export_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = export_job_get_for_user(request.user, job_id)
    try:
        handle = services.export_job_file_open(job=job)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("transfer:export-list")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=job.file_name,
        content_type=services.CONTENT_TYPES[job.format],
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def contacts_vcard_import(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Upload a .vcf file into the customer's contacts: all cards or none."""
    customer = customer_get_for_user(request.user, customer_id, write=True)
    limit = settings.GUANXI_VCARD_MAX_BYTES
    posted = request.method == "POST"
    cards: list[services.CardError] = []
    refusal = ""
    if posted and int(request.META.get("CONTENT_LENGTH") or 0) > limit + _UPLOAD_OVERHEAD:
        # Refused by its declared size: the upload is never read into memory.
        posted = False
        refusal = str(services.vcard_file_error("too_large").message)
    form = VcardImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        initial={"legal_basis": VcardImportForm.base_fields["legal_basis"].initial},
    )
    if posted and form.is_valid():
        try:
            created = services.contacts_vcard_import(
                actor=request.user,
                customer=customer,
                data=form.read(limit),
                legal_basis=form.cleaned_data["legal_basis"],
                consent_note=form.cleaned_data["consent_note"],
            )
        except services.VcardImportError as error:
            cards = error.cards
            form.add_error("file" if not cards else None, str(error.message))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)s contact was imported.",
                    "%(count)s contacts were imported.",
                    len(created),
                )
                % {"count": len(created)},
            )
            url = reverse("customers:customer-detail", args=[customer.pk])
            return redirect(f"{url}#contacts")
    return TemplateResponse(
        request,
        "transfer/contacts_vcard_import.html",
        {
            "form": form,
            "customer": customer,
            "cards": cards,
            "max_kb": limit // 1024,
            "max_cards": settings.GUANXI_VCARD_MAX_CARDS,
            "refusal": refusal,
        },
        status=400 if refusal or form.errors else 200,
    )
