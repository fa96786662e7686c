"""REST endpoints of import and export: /customers/export, /contacts/export, /exports and the
vCard import of a customer's contacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.customers.permissions import customer_get_for_user
from guanxi.transfer import services
from guanxi.transfer.models import ExportJob
from guanxi.transfer.permissions import export_job_get_for_user, export_require
from guanxi.transfer.schemas import (
    ContactExportFormat,
    CustomerExportFormat,
    ExportJobOut,
    VcardImportOut,
)
from guanxi.transfer.selectors import CUSTOMER_PARAM, export_job_list

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
    # Refused by its declared size (so no File parameter, which ninja would read first): the
    # upload is never read into memory.
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
