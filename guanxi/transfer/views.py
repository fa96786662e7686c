"""HTML pages of import and export: the export menus' target, "My exports" with its downloads,
the vCard import into a customer's contacts, and CSV / XLSX imports (upload, mapping, dry run,
progress, commit, error report, undo, templates).

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
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.forms import apply_errors
from guanxi.core.exceptions import (
    ApplicationError,
    NotFoundError,
    PermissionDeniedError,
    validation_error_fields,
)
from guanxi.customers.permissions import customer_get_for_user
from guanxi.transfer import import_services, services
from guanxi.transfer.forms import ExportForm, ImportMappingForm, ImportUploadForm, VcardImportForm
from guanxi.transfer.models import ImportJob
from guanxi.transfer.permissions import (
    export_job_get_for_user,
    export_require,
    import_job_get_for_user,
    import_require,
)
from guanxi.transfer.selectors import (
    CUSTOMER_PARAM,
    export_job_list,
    export_query_labels,
    import_job_list,
    import_undo_until,
)

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
        # Refused by its declared size, with this page's message (a body larger than any upload
        # is refused unread by core's UploadSizeGuardMiddleware; this one was spooled, not parsed).
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


# --- imports ------------------------------------------------------------------------------------


def _import_fields(job_kind: str) -> list[tuple[str, str]]:
    kind = import_services.IMPORT_KINDS[job_kind]
    return [(item.name, f"{item.label}{' *' if item.required else ''}") for item in kind.fields]


def _mapping_form(job: ImportJob, data: Any = None) -> ImportMappingForm:
    initial: dict[str, Any] = {
        "duplicate_policy": job.duplicate_policy,
        "error_policy": job.error_policy,
    }
    initial.update({f"column_{index}": name for index, name in job.mapping.items()})
    return ImportMappingForm(
        data, headers=job.headers, fields=_import_fields(job.kind), initial=initial
    )


@login_required
def import_index(request: HttpRequest) -> HttpResponse:
    """My imports, and the form that starts one (upload a file)."""
    import_require(request.user)
    form = ImportUploadForm(initial={"kind": request.GET.get("kind") or ImportJob.Kind.CUSTOMERS})
    return _import_index_render(request, form)


def _import_index_render(
    request: HttpRequest, form: ImportUploadForm, *, status: int = 200, refusal: str = ""
) -> HttpResponse:
    return TemplateResponse(
        request,
        "transfer/import_list.html",
        {
            "form": form,
            "jobs": import_job_list(actor=request.user),
            "kinds": import_services.import_kind_choices(),
            "max_mb": settings.GUANXI_IMPORT_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.GUANXI_IMPORT_MAX_ROWS,
            "undo_days": settings.GUANXI_IMPORT_UNDO_DAYS,
            "refusal": refusal,
        },
        status=status,
    )


@login_required
@require_POST
def import_create(request: HttpRequest) -> HttpResponse:
    """Upload a file: it is checked and stored, and the mapping page opens."""
    import_require(request.user)
    limit = settings.GUANXI_IMPORT_MAX_BYTES
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + _UPLOAD_OVERHEAD:
        # Refused by its declared size, with this page's message (a body larger than any upload
        # is refused unread by core's UploadSizeGuardMiddleware; this one was spooled, not parsed).
        refusal = str(import_services.import_file_error("too_large").message)
        return _import_index_render(request, ImportUploadForm(), status=400, refusal=refusal)
    form = ImportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_index_render(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        job = import_services.import_upload(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            file=upload,
            file_name=upload.name,
        )
    except ValidationError as error:
        apply_errors(form, error)
        return _import_index_render(request, form, status=400)
    except ApplicationError as error:
        form.add_error("file", str(error.message))
        return _import_index_render(request, form, status=400)
    return redirect("transfer:import-detail", job.pk)


@login_required
@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = import_job_get_for_user(request.user, job_id)
    return _import_detail_render(request, job, _mapping_form(job))


def _import_detail_render(
    request: HttpRequest, job: ImportJob, form: ImportMappingForm, *, status: int = 200
) -> HttpResponse:
    sample = job.sample
    columns = [
        (field, [row[index] if index < len(row) else "" for row in sample[:3]])
        for index, field in enumerate(form.column_fields())
    ]
    template = "transfer/import_detail.html"
    if request.htmx:
        template += "#progress"
    return TemplateResponse(
        request,
        template,
        {
            "job": job,
            "form": form,
            "columns": columns,
            "undo_until": import_undo_until(job),
            "editable": job.is_stale
            or job.status
            in (
                ImportJob.Status.UPLOADED,
                ImportJob.Status.CHECKED,
                ImportJob.Status.REJECTED,
                ImportJob.Status.FAILED,
            ),
            "committable": job.status in (ImportJob.Status.CHECKED, ImportJob.Status.REJECTED),
        },
        status=status,
    )


@login_required
@require_GET
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress bar, polled by HTMX while the job runs; once it has finished, the whole page
    reloads to show the outcome."""
    job = import_job_get_for_user(request.user, job_id)
    if not job.is_pending:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return TemplateResponse(request, "transfer/import_detail.html#progress", {"job": job})


def _import_start(request: HttpRequest, job_id: int, *, commit: bool) -> HttpResponse:
    job = import_job_get_for_user(request.user, job_id)
    import_require(request.user)
    form = _mapping_form(job, request.POST)
    if not form.is_valid():
        return _import_detail_render(request, job, form, status=400)
    start = import_services.import_commit if commit else import_services.import_check
    try:
        job = start(
            actor=request.user,
            job=job,
            mapping=form.mapping(),
            duplicate_policy=form.cleaned_data["duplicate_policy"],
            error_policy=form.cleaned_data["error_policy"],
        )
    except ValidationError as error:
        for messages_ in validation_error_fields(error).values():
            for message in messages_:
                form.add_error(None, message)
        return _import_detail_render(request, job, form, status=400)
    except (NotFoundError, PermissionDeniedError):
        raise
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("transfer:import-detail", job.pk)
    if job.status == ImportJob.Status.DONE:
        messages.success(request, import_services.import_message_counts(job))
    return redirect("transfer:import-detail", job.pk)


@login_required
@require_POST
def import_check(request: HttpRequest, job_id: int) -> HttpResponse:
    """The dry run with the posted mapping and policies: nothing is written."""
    return _import_start(request, job_id, commit=False)


@login_required
@require_POST
def import_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    return _import_start(request, job_id, commit=True)


@login_required
@require_POST
def import_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    job = import_job_get_for_user(request.user, job_id)
    import_require(request.user)
    try:
        outcome = import_services.import_undo(actor=request.user, job=job)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _(
                "The import was undone: %(removed)s records moved to the recycle bin, "
                "%(reverted)s restored; %(kept)s changed since and kept."
            )
            % {"removed": outcome.removed, "reverted": outcome.reverted, "kept": outcome.kept},
        )
    return redirect("transfer:import-detail", job.pk)


@login_required
@require_GET
def import_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    """The error report: row, column, value, reason (CSV, UTF-8 with BOM)."""
    job = import_job_get_for_user(request.user, job_id)
    try:
        handle = import_services.import_error_file_open(job=job)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("transfer:import-detail", job.pk)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=import_services.import_error_file_name(job),
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def import_template(request: HttpRequest, kind: str, format: str) -> HttpResponse:
    import_require(request.user)
    try:
        template = import_services.import_template(kind=kind, format=format)
    except ValidationError as error:
        raise NotFoundError() from error
    response = HttpResponse(template.data, content_type=template.content_type)
    response["Content-Disposition"] = content_disposition_header(True, template.file_name)
    return response
