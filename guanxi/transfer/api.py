"""REST endpoints of import and export: /customers/export, /contacts/export, /exports, the
vCard import of a customer's contacts, and CSV / XLSX imports (/imports)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.customers.permissions import customer_get_for_user
from guanxi.transfer import import_services, services
from guanxi.transfer.models import ExportJob, ImportJob
from guanxi.transfer.permissions import (
    export_job_get_for_user,
    export_require,
    import_job_get_for_user,
    import_require,
)
from guanxi.transfer.schemas import (
    ContactExportFormat,
    CustomerExportFormat,
    ExportJobOut,
    ImportJobOut,
    ImportUndoOut,
    VcardImportOut,
)
from guanxi.transfer.selectors import (
    CUSTOMER_PARAM,
    export_job_list,
    import_job_list,
    import_undo_until,
)

router = Router(tags=["import and export"])

# Room for the multipart envelope and the form's other fields around the file itself.
_UPLOAD_OVERHEAD = 64 * 1024

_EXPORT_DESCRIPTION = (
    "Up to `GUANXI_EXPORT_SYNC_LIMIT` rows (5,000 by default) the answer is the file itself "
    "(200, `Content-Disposition: attachment`, row count in `X-Export-Rows`); beyond, an export "
    "job is queued and the answer is 202 with the job: poll `GET /exports/{id}` until its status "
    "is `done`, then fetch `download_url`. Every export is recorded in the audit trail."
)
# The list filters arrive under the API's names (as on GET /customers); the export reads them
# under the list page's.
_API_FIELD_NAMES = {"owner": "owner_id", "customer": "customer_id"}


def _job_out(job: ExportJob) -> dict[str, Any]:
    ready = job.status == ExportJob.Status.DONE and bool(job.file)
    return {
        "id": job.pk,
        "kind": job.kind,
        "format": job.format,
        "query": job.query,
        "status": job.status,
        "row_count": job.row_count,
        "file_name": job.file_name,
        "error": job.error,
        "download_url": reverse("api:export_download", args=[job.pk]) if ready else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
    }


def _file_response(export: services.ExportFile) -> FileResponse:
    response = FileResponse(
        export.file, as_attachment=True, filename=export.file_name, content_type=export.content_type
    )
    response["X-Export-Rows"] = str(export.row_count)
    response["Cache-Control"] = "no-store"
    return response


def _list_params(
    *,
    q: str,
    lifecycle: str,
    account_class: str,
    value_level: str | None,
    industry: str,
    region: str,
    tag: int | None,
    owner_id: int | None,
    source: str,
    in_pool: bool | None,
    recycle_due: bool,
    sort: str,
) -> dict[str, Any]:
    return {
        "q": q,
        "lifecycle": lifecycle,
        "account_class": account_class,
        "value_level": value_level,
        "industry": industry,
        "region": region,
        "tag": tag,
        "owner": owner_id,
        "source": source,
        "in_pool": {True: "1", False: "0"}.get(in_pool),  # type: ignore[arg-type]  # None: no filter
        "recycle_due": "1" if recycle_due else "",
        "sort": sort,
    }


def _export(request: HttpRequest, *, kind: str, format: str, params: dict[str, Any]) -> Any:
    export_require(request.auth)
    try:
        outcome = services.export_start(
            actor=request.auth, kind=kind, format=format, params=params, strict=True
        )
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise ValidationError(
            {_API_FIELD_NAMES.get(name, name): errors for name, errors in error.error_dict.items()}
        ) from error
    if outcome.file is not None:
        return _file_response(outcome.file)
    return Status(202, _job_out(outcome.job))


@router.get(
    "/customers/export",
    response={202: ExportJobOut},
    summary="Export the customer list",
    description=_EXPORT_DESCRIPTION,
)
def customers_export(
    request: HttpRequest,
    format: CustomerExportFormat = "csv",
    q: str = "",
    lifecycle: str = "",
    account_class: str = "",
    value_level: str | None = None,
    industry: str = "",
    region: str = "",
    tag: int | None = None,
    owner_id: int | None = None,
    source: str = "",
    in_pool: bool | None = None,
    recycle_due: bool = False,
    sort: str = "-updated_at",
) -> Any:
    """The customers of ``GET /customers`` with the same filters, search and sort, in your data
    scope, as CSV (UTF-8 with BOM) or XLSX."""
    params = _list_params(
        q=q,
        lifecycle=lifecycle,
        account_class=account_class,
        value_level=value_level,
        industry=industry,
        region=region,
        tag=tag,
        owner_id=owner_id,
        source=source,
        in_pool=in_pool,
        recycle_due=recycle_due,
        sort=sort,
    )
    return _export(request, kind=ExportJob.Kind.CUSTOMERS, format=format, params=params)


@router.get(
    "/contacts/export",
    response={202: ExportJobOut},
    summary="Export contacts",
    description=_EXPORT_DESCRIPTION
    + " Phones, e-mail and WeChat ID are masked except on your own customers.",
)
def contacts_export(
    request: HttpRequest,
    format: ContactExportFormat = "csv",
    customer_id: int | None = None,
    q: str = "",
    lifecycle: str = "",
    account_class: str = "",
    value_level: str | None = None,
    industry: str = "",
    region: str = "",
    tag: int | None = None,
    owner_id: int | None = None,
    source: str = "",
    in_pool: bool | None = None,
    recycle_due: bool = False,
    sort: str = "-updated_at",
) -> Any:
    """The contacts of one customer (``customer_id``), or of every customer that the customer
    list's filters select, as CSV, XLSX or vCard (``vcard3``, ``vcard4``)."""
    if customer_id is not None:
        params: dict[str, Any] = {CUSTOMER_PARAM: customer_id}
    else:
        params = _list_params(
            q=q,
            lifecycle=lifecycle,
            account_class=account_class,
            value_level=value_level,
            industry=industry,
            region=region,
            tag=tag,
            owner_id=owner_id,
            source=source,
            in_pool=in_pool,
            recycle_due=recycle_due,
            sort=sort,
        )
    return _export(request, kind=ExportJob.Kind.CONTACTS, format=format, params=params)


@router.get("/exports", response=list[ExportJobOut])
def export_index(request: HttpRequest) -> Any:
    """Your own export jobs, newest first (the last 100); nobody sees another's."""
    export_require(request.auth)
    return [_job_out(job) for job in export_job_list(actor=request.auth)]


@router.get("/exports/{job_id}", response=ExportJobOut)
def export_show(request: HttpRequest, job_id: int) -> Any:
    return _job_out(export_job_get_for_user(request.auth, job_id))


@router.get("/exports/{job_id}/download", url_name="export_download")
def export_download(request: HttpRequest, job_id: int) -> Any:
    """The file of a finished job (only for whoever asked for it). 409 ``export_not_ready`` while
    it is queued or running, after it failed, and once it expired."""
    job = export_job_get_for_user(request.auth, job_id)
    response = FileResponse(
        services.export_job_file_open(job=job),
        as_attachment=True,
        filename=job.file_name,
        content_type=services.CONTENT_TYPES[job.format],
    )
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/customers/{customer_id}/contacts/vcard",
    response={201: VcardImportOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "legal_basis": {"type": "string", "default": "consent"},
                            "consent_note": {"type": "string", "maxLength": 255},
                        },
                    }
                }
            },
        }
    },
)
def contacts_vcard_import(request: HttpRequest, customer_id: int) -> Status[Any]:
    """Import a .vcf file (vCard 3.0 or 4.0, field ``file``) into the customer's contacts, all or
    nothing: if any card is wrong nothing is written, and the 400 ``vcard_invalid`` names each
    wrong card's fields as ``cards.<n>.<field>``. Files over ``GUANXI_VCARD_MAX_BYTES`` or with
    more than ``GUANXI_VCARD_MAX_CARDS`` cards are refused whole."""
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    limit = settings.GUANXI_VCARD_MAX_BYTES
    # Refused by its declared size, with this endpoint's own message: a body larger than any
    # upload is refused unread by core's UploadSizeGuardMiddleware; one this large has been
    # received (spooled to a temporary file) by the NUL guard, but is never parsed.
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + _UPLOAD_OVERHEAD:
        raise services.vcard_file_error("too_large")
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": [_("This field is required.")]})
    created = services.contacts_vcard_import(
        actor=request.auth,
        customer=customer,
        data=upload.read(limit + 1),
        legal_basis=request.POST.get("legal_basis") or "consent",
        consent_note=(request.POST.get("consent_note") or "")[:255],
    )
    return Status(201, {"count": len(created), "contact_ids": [c.pk for c in created]})


# --- imports ------------------------------------------------------------------------------------


def _import_out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "file_name": job.file_name,
        "file_format": job.file_format,
        "encoding": job.encoding,
        "headers": job.headers,
        "mapping": job.mapping,
        "duplicate_policy": job.duplicate_policy,
        "error_policy": job.error_policy,
        "dry_run": job.dry_run,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "added_count": job.added_count,
        "updated_count": job.updated_count,
        "skipped_count": job.skipped_count,
        "error_count": job.error_count,
        "errors": [
            {"row": row, "column": column, "value": value, "reason": reason}
            for row, column, value, reason in job.error_preview
        ],
        "errors_url": reverse("api:import_errors", args=[job.pk]) if job.error_file else None,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "undone_at": job.undone_at,
        "undo_until": import_undo_until(job),
    }


def _import_answer(job: ImportJob) -> Status[Any]:
    return Status(202 if job.is_pending else 200, _import_out(job))


_IMPORT_DESCRIPTION = (
    "Upload a CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX file (field `file`) of `kind` "
    "`customers` or `contacts`. Columns are matched by their headers (Chinese or English "
    "synonyms, or your last mapping) unless `mapping` (JSON: column index → field name) says "
    "otherwise. With `dry_run` (the default) every row is checked and nothing is written; "
    "`POST /imports/{id}/commit` then writes, in one transaction: all or nothing "
    "(`error_policy=all`) or without the bad rows (`skip`); a row matching an existing record "
    "is skipped, updates it or is created anyway (`duplicate_policy`). Files up to "
    "`GUANXI_IMPORT_SYNC_ROWS` rows are processed before the answer (200); larger ones run as a "
    "job (202): poll `GET /imports/{id}`. Files over `GUANXI_IMPORT_MAX_BYTES`, zip bombs and "
    "XML with document types are refused (400)."
)


@router.post(
    "/imports",
    response={200: ImportJobOut, 202: ImportJobOut},
    summary="Import a CSV or XLSX file",
    description=_IMPORT_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "kind": {
                                "type": "string",
                                "enum": ["customers", "contacts"],
                                "default": "customers",
                            },
                            "mapping": {"type": "string", "description": "JSON object"},
                            "duplicate_policy": {
                                "type": "string",
                                "enum": ["skip", "update", "create"],
                                "default": "skip",
                            },
                            "error_policy": {
                                "type": "string",
                                "enum": ["all", "skip"],
                                "default": "all",
                            },
                            "dry_run": {"type": "boolean", "default": True},
                        },
                    }
                }
            },
        }
    },
)
def import_create(request: HttpRequest) -> Status[Any]:
    import_require(request.auth)
    limit = settings.GUANXI_IMPORT_MAX_BYTES
    # Refused by its declared size (no File parameter, which ninja would read first).
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + _UPLOAD_OVERHEAD:
        raise import_services.import_file_error("too_large")
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": [_("This field is required.")]})
    mapping = None
    if request.POST.get("mapping"):
        try:
            mapping = json.loads(request.POST["mapping"])
        except ValueError:
            mapping = None
        if not isinstance(mapping, dict):
            raise ValidationError(
                {"mapping": [_("Send a JSON object: column index → field name.")]}
            )
    dry_run = (request.POST.get("dry_run") or "true").lower() not in {"false", "0", "no"}
    job = import_services.import_upload(
        actor=request.auth,
        kind=request.POST.get("kind") or ImportJob.Kind.CUSTOMERS,
        file=upload,
        file_name=upload.name,
    )
    configuration = {
        "mapping": mapping,
        "duplicate_policy": request.POST.get("duplicate_policy") or None,
        "error_policy": request.POST.get("error_policy") or None,
    }
    try:
        # The mapping and policies are checked before anything runs: bad ones leave nothing.
        import_services.import_configure(actor=request.auth, job=job, **configuration)
    except ValidationError:
        import_services.import_discard(job=job)
        raise
    start = import_services.import_check if dry_run else import_services.import_commit
    job = start(actor=request.auth, job=job, **configuration)
    return _import_answer(job)


@router.get("/imports", response=list[ImportJobOut])
def import_index(request: HttpRequest) -> Any:
    """Your own imports, newest first (the last 50); nobody sees another's."""
    import_require(request.auth)
    return [_import_out(job) for job in import_job_list(actor=request.auth)]


@router.get("/imports/{job_id}", response=ImportJobOut)
def import_show(request: HttpRequest, job_id: int) -> Any:
    return _import_out(import_job_get_for_user(request.auth, job_id))


@router.get("/imports/{job_id}/errors", url_name="import_errors")
def import_errors(request: HttpRequest, job_id: int) -> Any:
    """Every row not imported: row, column, value, reason (CSV, UTF-8 with BOM). 409
    ``import_state`` when the import has none."""
    job = import_job_get_for_user(request.auth, job_id)
    response = FileResponse(
        import_services.import_error_file_open(job=job),
        as_attachment=True,
        filename=import_services.import_error_file_name(job),
        content_type="text/csv; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


def _configuration(request: HttpRequest) -> dict[str, Any]:
    """Mapping and policies from a JSON body or a form; none at all keeps the job's own. Read by
    hand rather than as a schema parameter, so that a bodiless or form POST is no error."""
    data: Any = {}
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RawPostDataException):
            data = None
        if not isinstance(data, dict):
            raise ValidationError(
                {"__all__": [_("The request body is not valid JSON of the expected shape.")]}
            )
    elif request.method == "POST":
        data = {name: request.POST.get(name) for name in request.POST}
        if data.get("mapping"):
            try:
                data["mapping"] = json.loads(data["mapping"])
            except ValueError:
                data["mapping"] = None
    mapping = data.get("mapping")
    if mapping is not None and not isinstance(mapping, dict):
        raise ValidationError({"mapping": [_("Send a JSON object: column index → field name.")]})
    configuration = {
        "mapping": mapping,
        "duplicate_policy": data.get("duplicate_policy") or None,
        "error_policy": data.get("error_policy") or None,
    }
    return {name: value for name, value in configuration.items() if value is not None}


_CONFIGURATION_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "mapping": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "duplicate_policy": {
                            "type": "string",
                            "enum": ["skip", "update", "create"],
                        },
                        "error_policy": {"type": "string", "enum": ["all", "skip"]},
                    },
                }
            }
        },
    }
}


@router.post(
    "/imports/{job_id}/check",
    response={200: ImportJobOut, 202: ImportJobOut},
    openapi_extra=_CONFIGURATION_BODY,
)
def import_check(request: HttpRequest, job_id: int) -> Status[Any]:
    """The dry run again, optionally with another mapping or policies: every row checked,
    nothing written. For an uploaded, checked, rejected or failed import."""
    job = import_job_get_for_user(request.auth, job_id)
    import_require(request.auth)
    return _import_answer(
        import_services.import_check(actor=request.auth, job=job, **_configuration(request))
    )


@router.get("/imports/templates/{kind}", url_name="import_template")
def import_template(request: HttpRequest, kind: str, format: str = "xlsx") -> Any:
    """The empty file to fill in for ``kind`` (customers, contacts): the column headers in the
    request's language, required ones ending in *; ``format`` csv or xlsx (with a sheet that
    explains each column)."""
    import_require(request.auth)
    template = import_services.import_template(kind=kind, format=format)
    response = HttpResponse(template.data, content_type=template.content_type)
    response["Content-Disposition"] = content_disposition_header(True, template.file_name)
    return response


@router.post(
    "/imports/{job_id}/commit",
    response={200: ImportJobOut, 202: ImportJobOut},
    openapi_extra=_CONFIGURATION_BODY,
)
def import_commit(request: HttpRequest, job_id: int) -> Status[Any]:
    """Write the rows of a checked import (optionally with another mapping or policies). A
    rejected all-or-nothing import can be committed again, say with ``error_policy=skip``."""
    job = import_job_get_for_user(request.auth, job_id)
    import_require(request.auth)
    return _import_answer(
        import_services.import_commit(actor=request.auth, job=job, **_configuration(request))
    )


@router.post("/imports/{job_id}/undo", response=ImportUndoOut)
def import_undo(request: HttpRequest, job_id: int) -> Any:
    """Within ``GUANXI_IMPORT_UNDO_DAYS`` of the import: its records to the recycle bin, the
    values it overwrote restored, except where someone changed them since (``kept``)."""
    job = import_job_get_for_user(request.auth, job_id)
    import_require(request.auth)
    outcome = import_services.import_undo(actor=request.auth, job=job)
    job.refresh_from_db()
    return {
        "removed": outcome.removed,
        "reverted": outcome.reverted,
        "kept": outcome.kept,
        "job": _import_out(job),
    }
