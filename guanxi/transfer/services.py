"""Writes of import and export: starting an export (a direct download or a background job),
running and purging export jobs, and importing contacts from a vCard file.

Every export, direct or by job, leaves one audit entry (action EXPORT) with who, what, the
format, the filters and the number of rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.audit import audit_record
from guanxi.core.exceptions import (
    ApplicationError,
    PermissionDeniedError,
    validation_error_fields,
)
from guanxi.core.models import AuditEntry
from guanxi.customers import services as customer_services
from guanxi.customers.models import Contact, Customer
from guanxi.customers.permissions import customer_can_write, customer_get_for_user
from guanxi.transfer.audit_notes import CONTACTS_VCARD_IMPORTED
from guanxi.transfer.formats import (
    XLSX_MAX_ROWS,
    CardIn,
    VcardFileError,
    csv_write,
    vcard_read,
    vcard_write,
    xlsx_write,
)
from guanxi.transfer.models import ExportJob
from guanxi.transfer.selectors import (
    CUSTOMER_PARAM,
    Column,
    contact_cards,
    contact_columns,
    contact_rows,
    customer_columns,
    customer_rows,
    export_contacts,
    export_count,
    export_customers,
    export_filters,
    export_jobs_pending_count,
    export_query,
)

logger = logging.getLogger(__name__)

Kind = ExportJob.Kind
Format = ExportJob.Format

CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.VCARD3: "text/vcard; charset=utf-8",
    Format.VCARD4: "text/vcard; charset=utf-8",
}
EXTENSIONS = {Format.CSV: "csv", Format.XLSX: "xlsx", Format.VCARD3: "vcf", Format.VCARD4: "vcf"}
FORMATS_BY_KIND = {
    Kind.CUSTOMERS: (Format.CSV, Format.XLSX),
    Kind.CONTACTS: (Format.CSV, Format.XLSX, Format.VCARD3, Format.VCARD4),
}
# A direct download is written to memory up to this size, then to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
STORAGE_PREFIX = "exports"


class ExportTooLargeError(ApplicationError):
    default_code = "export_too_large"
    default_message = gettext_lazy(
        "This export has more rows than one export may hold. Narrow the filters and try again."
    )


class ExportPendingLimitError(ApplicationError):
    status_code = 429
    default_code = "export_pending_limit"
    default_message = gettext_lazy(
        "You already have exports being prepared. Wait until one of them is ready."
    )


class ExportNotReadyError(ApplicationError):
    status_code = 409
    default_code = "export_not_ready"
    default_message = gettext_lazy("This export has no file to download (yet, or any more).")


@dataclass
class ExportFile:
    """A finished direct download: ``file`` is positioned at its start."""

    file: IO[bytes]
    file_name: str
    content_type: str
    row_count: int


@dataclass
class ExportOutcome:
    """Either a file to send now, or the job that will write it."""

    file: ExportFile | None = None
    job: ExportJob | None = None


@dataclass
class _Target:
    kind: str
    query: str
    queryset: QuerySet
    customer: Customer | None = None


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _target(*, actor: Any, kind: str, params: Mapping[str, Any], strict: bool = False) -> _Target:
    """What an export of ``kind`` with ``params`` (the customer list's query string, or
    ``customer=<id>`` for one customer's contacts) holds for ``actor``."""
    raw_customer = params.get(CUSTOMER_PARAM)
    if kind == Kind.CONTACTS and raw_customer not in (None, ""):
        customer = customer_get_for_user(actor, raw_customer)
        return _Target(
            kind=kind,
            query=f"{CUSTOMER_PARAM}={customer.pk}",
            queryset=export_contacts(actor=actor, customer=customer),
            customer=customer,
        )
    filters = export_filters(actor=actor, params=params, strict=strict)
    if kind == Kind.CUSTOMERS:
        queryset = export_customers(actor=actor, filters=filters)
    else:
        queryset = export_contacts(actor=actor, filters=filters)
    return _Target(kind=kind, query=export_query(filters), queryset=queryset)


def _kind_format_check(kind: str, format: str) -> None:
    if kind not in FORMATS_BY_KIND:
        raise ValidationError({"kind": [_("Export customers or contacts.")]}, code="invalid")
    if format not in FORMATS_BY_KIND[kind]:
        allowed = ", ".join(str(value) for value in FORMATS_BY_KIND[kind])
        raise ValidationError(
            {"format": [_("Choose one of these formats: %(formats)s.") % {"formats": allowed}]},
            code="invalid",
        )


def export_start(
    *, actor: Any, kind: str, format: str, params: Mapping[str, Any], strict: bool = False
) -> ExportOutcome:
    """Export what ``actor`` sees of ``kind`` with the list filters in ``params``.

    Up to GUANXI_EXPORT_SYNC_LIMIT rows the file is written now and returned; beyond, an
    ExportJob is queued (when this transaction commits) and returned; beyond
    GUANXI_EXPORT_MAX_ROWS, or with too many of the actor's exports still pending, nothing
    happens and the error says why."""
    if not _active(actor):
        raise PermissionDeniedError()
    _kind_format_check(kind, format)
    target = _target(actor=actor, kind=kind, params=params, strict=strict)
    limit = settings.GUANXI_EXPORT_SYNC_LIMIT
    if export_count(target.queryset, up_to=limit) <= limit:
        # Handed to the response, which closes it once sent.
        handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            rows = _write(actor=actor, target=target, format=format, handle=handle)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        _export_audit(actor=actor, kind=kind, format=format, query=target.query, rows=rows)
        return ExportOutcome(
            file=ExportFile(
                file=handle,
                file_name=_file_name(target, format),
                content_type=CONTENT_TYPES[format],
                row_count=rows,
            )
        )
    maximum = min(settings.GUANXI_EXPORT_MAX_ROWS, XLSX_MAX_ROWS)
    if export_count(target.queryset, up_to=maximum) > maximum:
        raise ExportTooLargeError()
    if export_jobs_pending_count(actor=actor) >= settings.GUANXI_EXPORT_PENDING_LIMIT:
        raise ExportPendingLimitError()
    with transaction.atomic():
        job = ExportJob(
            user=actor,
            kind=kind,
            format=format,
            query=target.query,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        job.full_clean()
        job.save()
        transaction.on_commit(partial(_export_job_enqueue, job.pk))
    return ExportOutcome(job=job)


def _export_job_enqueue(job_id: int) -> None:
    from guanxi.transfer.tasks import export_job_run_task

    try:
        export_job_run_task.enqueue(job_id)
    except Exception:
        # The queue backend (Redis, the database) is down or refuses: the request that asked has
        # committed already, so the job is marked failed for the user to see and retry, rather
        # than a 500 or a job that stays "queued" forever.
        logger.exception("could not enqueue export job %s", job_id)
        ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.FAILED, error="queue", finished_at=timezone.now()
        )


def _write(*, actor: Any, target: _Target, format: str, handle: IO[bytes]) -> int:
    if format in (Format.VCARD3, Format.VCARD4):
        cards = contact_cards(actor=actor, contacts=target.queryset)
        return vcard_write(handle, cards, version="4.0" if format == Format.VCARD4 else "3.0")
    if target.kind == Kind.CUSTOMERS:
        columns: list[Column] = customer_columns()
        rows = customer_rows(target.queryset)
    else:
        columns = contact_columns()
        rows = contact_rows(actor=actor, contacts=target.queryset)
    headers = [str(column.header) for column in columns]
    if format == Format.XLSX:
        return xlsx_write(
            handle,
            headers,
            rows,
            sheet_name=str(ExportJob.Kind(target.kind).label),
            widths=[column.width for column in columns],
        )
    return csv_write(handle, headers, rows)


_UNSAFE_FILE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _file_name(target: _Target, format: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    label = str(ExportJob.Kind(target.kind).label)
    if target.customer is not None:
        label = f"{target.customer.name[:50]}-{label}"
    label = _UNSAFE_FILE_NAME.sub("_", label).strip(" ._") or "export"
    return f"{label}-{stamp}.{EXTENSIONS[format]}"


def _export_audit(
    *, actor: Any, kind: str, format: str, query: str, rows: int, job: ExportJob | None = None
) -> None:
    # Stored under the export job's field names, so the audit trail shows them with the job's
    # field labels and choice labels, also for a direct download that has no job row.
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        object_type=ExportJob._meta.label_lower,
        object_id=str(job.pk) if job is not None else "",
        object_label=f"{ExportJob.Kind(kind).label} · {ExportJob.Format(format).label}",
        changes={"kind": kind, "format": format, "query": query, "row_count": rows},
    )


# --- export jobs ----------------------------------------------------------------------------


def export_job_run(*, job_id: int) -> int | None:
    """Write the file of a queued export job to storage. Idempotent: a job that is done, failed
    or expired is left alone, so a retried or duplicated task does nothing. Returns the rows
    written, or None when there was nothing to do or the export could not be made."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update()
            .filter(pk=job_id, status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING))
            .first()
        )
        if job is None:
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    user = job.user
    try:
        with translation.override(job.language or settings.LANGUAGE_CODE):
            if not _active(user):
                raise PermissionDeniedError()
            # Read again now, in the user's scope as it is now: not as it was when they asked.
            target = _target(actor=user, kind=job.kind, params=QueryDict(job.query))
            with tempfile.TemporaryFile() as handle:
                rows = _write(actor=user, target=target, format=job.format, handle=handle)
                handle.seek(0)
                name = default_storage.save(
                    f"{STORAGE_PREFIX}/{job.user_id}/{uuid.uuid4().hex}.{EXTENSIONS[job.format]}",
                    File(handle),
                )
            file_name = _file_name(target, job.format)
    except ApplicationError as error:
        _export_job_fail(job, error.code)
        return None
    except Exception:
        logger.exception("export job %s failed", job.pk)
        _export_job_fail(job, "failed")
        raise
    now = timezone.now()
    with transaction.atomic():
        job.status = ExportJob.Status.DONE
        job.file = name
        job.file_name = file_name
        job.row_count = rows
        job.finished_at = now
        job.expires_at = now + dt.timedelta(days=settings.GUANXI_EXPORT_KEEP_DAYS)
        job.save()
        _export_audit(
            actor=user, kind=job.kind, format=job.format, query=job.query, rows=rows, job=job
        )
    return rows


def _export_job_fail(job: ExportJob, code: str) -> None:
    job.status = ExportJob.Status.FAILED
    job.error = code[:50]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def export_job_file_open(*, job: ExportJob) -> IO[bytes]:
    """The finished job's file, for its owner to download (permissions.export_job_get_for_user
    has checked who asks)."""
    if job.status != ExportJob.Status.DONE or not job.file:
        raise ExportNotReadyError()
    try:
        return default_storage.open(job.file.name, "rb")
    except FileNotFoundError as error:
        raise ExportNotReadyError() from error


def exports_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the files of exports past their expiry; the rows stay as history, marked expired.
    Idempotent: a rerun finds nothing left."""
    now = now or timezone.now()
    purged = 0
    due = ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lt=now)
    for job in due.iterator():
        if job.file:
            default_storage.delete(job.file.name)
        updated = ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.EXPIRED, file=""
        )
        purged += updated
    return purged


# --- vCard import ---------------------------------------------------------------------------


@dataclass
class CardError:
    """What is wrong with one card of an imported file."""

    index: int
    name: str
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field label, message)
    fields: dict[str, list[str]] = field(default_factory=dict)  # for the API


class VcardImportError(ApplicationError):
    """Nothing was imported. ``cards`` says which cards are wrong and why (the API gets the same
    as ``fields``, as ``cards.<n>.<field>``)."""

    default_code = "vcard_invalid"
    default_message = gettext_lazy(
        "Nothing was imported: some cards have errors. Correct them and import the file again."
    )

    def __init__(
        self, message: Any = None, *, cards: list[CardError] | None = None, **kwargs: Any
    ) -> None:
        self.cards = cards or []
        kwargs.setdefault(
            "fields",
            {
                f"cards.{card.index}.{name}": messages
                for card in self.cards
                for name, messages in card.fields.items()
            },
        )
        super().__init__(message, **kwargs)


_FILE_MESSAGES = {
    "too_large": gettext_lazy("The file is larger than %(size)s KB, the most one import may be."),
    "too_many_cards": gettext_lazy(
        "The file holds more than %(cards)s cards, the most one import may hold. Split it."
    ),
    "encoding": gettext_lazy("The file is not text in UTF-8 or GB18030. Save it as UTF-8."),
    "no_cards": gettext_lazy("The file holds no vCard (BEGIN:VCARD … END:VCARD)."),
    "unreadable": gettext_lazy(
        "Card %(card)s cannot be read: the file is not a valid vCard file from there on."
    ),
}


def vcard_file_error(code: str, *, card: int | None = None) -> VcardImportError:
    """The error for a file that cannot be imported at all (``code``: too_large,
    too_many_cards, encoding, no_cards, unreadable)."""
    message = _FILE_MESSAGES[code] % {
        "size": settings.GUANXI_VCARD_MAX_BYTES // 1024,
        "cards": settings.GUANXI_VCARD_MAX_CARDS,
        "card": card or "?",
    }
    return VcardImportError(message, code=f"vcard_{code}", fields={"file": [message]})


def _decision_role(text: str) -> str | None:
    """The decision role a card's ROLE names, in either language or by its code (a Guanxi export
    writes the label); None when it names none."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for value, label in Contact.DecisionRole.choices:
        if wanted == value:
            return value
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                if wanted == str(label).casefold():
                    return value
    return None


def _field_label(name: str) -> str:
    base, _sep, index = name.partition(".")
    try:
        label = str(capfirst(Contact._meta.get_field(base).verbose_name))
    except FieldDoesNotExist:  # "__all__", or a name that is no field: about the whole card
        return _("Card")
    if base == "phones" and index.isdigit():
        return _("Phone %(number)s") % {"number": int(index) + 1}
    return label


def contacts_vcard_import(
    *,
    actor: Any,
    customer: Customer,
    data: bytes,
    legal_basis: str = Contact.LegalBasis.CONSENT,
    consent_note: str = "",
) -> list[Contact]:
    """Every card of a vCard file (3.0 or 4.0; 2.1 as far as it reads) as a contact of
    ``customer``, through the contact service and its phone validation. All or nothing: if any
    card is wrong, no contact is written and the error lists every wrong card."""
    if not customer_can_write(actor, customer):
        raise PermissionDeniedError()
    if len(data) > settings.GUANXI_VCARD_MAX_BYTES:
        raise vcard_file_error("too_large")
    try:
        cards = vcard_read(data, max_cards=settings.GUANXI_VCARD_MAX_CARDS)
    except VcardFileError as error:
        raise vcard_file_error(error.code, card=error.card) from error
    if legal_basis not in Contact.LegalBasis.values:
        raise ValidationError({"legal_basis": [_("Select a valid choice.")]})
    problems: list[CardError] = []
    created: list[Contact] = []
    with transaction.atomic():
        for card in cards:
            fields = _card_errors(card)
            if not fields:
                try:
                    # A savepoint per card: a failed card must not spoil the checks of the
                    # cards after it, and the whole import still rolls back below.
                    with transaction.atomic():
                        created.append(
                            customer_services.contact_create(
                                actor=actor,
                                customer=customer,
                                legal_basis=legal_basis,
                                consent_note=consent_note,
                                **_card_contact(card),
                            )
                        )
                except ValidationError as error:
                    fields = validation_error_fields(error)
            if fields:
                problems.append(
                    CardError(
                        index=card.index,
                        name=card.name,
                        errors=[
                            (_field_label(name), message)
                            for name, messages in fields.items()
                            for message in messages
                        ],
                        fields=fields,
                    )
                )
        if problems:
            raise VcardImportError(cards=problems)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=customer,
            note=f"{CONTACTS_VCARD_IMPORTED}?count={len(created)}",
        )
    return created


# More numbers than anyone has: a card with thousands of TEL lines is not worth validating.
MAX_PHONES_PER_CARD = 10


def _card_errors(card: CardIn) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(card.phones) > MAX_PHONES_PER_CARD:
        errors["phones"] = [
            _("A contact may have at most %(count)s phone numbers.")
            % {"count": MAX_PHONES_PER_CARD}
        ]
    if "birthday" in card.errors:
        errors["birthday"] = [
            _("The birthday is not a full date with a year (such as 1980-01-31).")
        ]
    return errors


def _card_contact(card: CardIn) -> dict[str, Any]:
    role = _decision_role(card.role)
    title = card.title
    if role is None and not title:
        # A ROLE that names no decision role is the person's function: kept as the title.
        title = card.role
    return {
        "name": card.name,
        "title": title,
        "decision_role": role or Contact.DecisionRole.OTHER,
        "phones": card.phones,
        "email": card.email,
        "wechat": card.wechat,
        "address": card.address,
        "birthday": card.birthday,
    }
