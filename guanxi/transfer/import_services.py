"""Writes of CSV / XLSX imports (C1, C15): upload, column mapping, dry run, commit, undo.

An import goes: ``import_upload`` (the file is checked, stored, its headers read and mapped by
the user's remembered mapping or the header synonyms) → ``import_check`` (a dry run: every row
validated and compared with the existing data, nothing written) → ``import_commit`` → maybe
``import_undo`` within GUANXI_IMPORT_UNDO_DAYS. ``import_check`` and ``import_commit`` run at once
for files up to GUANXI_IMPORT_SYNC_ROWS rows and as a job beyond; both end in ``import_job_run``.

Speed. Rows are validated in Python in batches of BATCH_ROWS with the rules of the customer
services (credit code, phone, e-mail, choices, region chain, owner, lengths), and every lookup is
one query per batch or one per import: regions, industries, tags and owners are loaded once, the
existing credit codes and name keys of a batch in one query each, the contacts with the batch's
phone numbers and e-mail addresses (the duplicate check's other rules) in one more. Rows are
written in batches by ``core.bulk.instances_insert`` (``COPY`` on PostgreSQL, ``bulk_create``
elsewhere), search keys and name keys computed by the services'
own functions (customer_search_document, contact_search_document, customer_name_key). A commit
is ONE transaction: a crash, a kill or an all-or-nothing import with a bad row leaves nothing
behind.
The audit trail gets one entry per import (counts, the job), not one per row: the job itself is
the record of what was created (id ranges) and overwritten (ImportChange), which undo reads.

The kinds are a registry (IMPORT_KINDS): customers and contacts here; orders plug in with
``import_kind_register`` when the sales app exists.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import datetime as dt
import io
import logging
import multiprocessing
import os
import re
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from guanxi.accounts.models import User
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.audit import audit_record
from guanxi.core.bulk import instances_insert
from guanxi.core.china.credit_code import credit_code_clean
from guanxi.core.china.names import region_bare_name, region_names
from guanxi.core.china.phones import is_masked, phone_normalize
from guanxi.core.china.search import (
    MAX_TOKEN_CHARS,
    PRIVATE_MARK,
    fts5_match,
    postgres_vector_sql,
    search_document,
    tsquery_text,
)
from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry, Region
from guanxi.customers.models import (
    ARCHIVED_LIFECYCLES,
    ChurnReason,
    Contact,
    Customer,
    Industry,
    Tag,
)
from guanxi.customers.permissions import customer_manages
from guanxi.customers.selectors import (
    DUPLICATE_REASONS,
    customer_name_key,
    customer_visible_queryset,
    pool_policy_get,
)
from guanxi.customers.services import (
    CHURN_NOTE_LIMIT,
    contact_search_document,
    customer_search_document,
)
from guanxi.transfer.audit_notes import IMPORT_COMMITTED, IMPORT_UNDONE
from guanxi.transfer.formats import csv_safe, csv_write, xlsx_template_write
from guanxi.transfer.models import ImportChange, ImportJob, ImportMapping
from guanxi.transfer.permissions import import_require
from guanxi.transfer.readers import ImportFileError, SheetInfo, sheet_inspect, sheet_rows

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000
ERROR_PREVIEW_ROWS = 50
REPORT_VALUE_CHARS = 200
"""A value longer than this is cut in the error report and on the page."""
PROGRESS_SECONDS = 0.5
STORAGE_PREFIX = "imports"
Status = ImportJob.Status
Policy = ImportJob.DuplicatePolicy
OnError = ImportJob.ErrorPolicy


# --- errors -------------------------------------------------------------------------------------


class ImportError_(ApplicationError):  # noqa: N801 - ImportError is Python's
    default_code = "import_invalid"
    default_message = gettext_lazy("The file cannot be imported.")


_FILE_MESSAGES = {
    "too_large": gettext_lazy("The file is larger than %(size)s MB, the most one import may be."),
    "empty": gettext_lazy("The file holds no rows: the first row must name the columns."),
    "encoding": gettext_lazy(
        "The file is not text in UTF-8, GB18030 or UTF-16, nor an XLSX workbook. Save it as CSV "
        "(UTF-8) or XLSX."
    ),
    "unreadable": gettext_lazy(
        "Row %(row)s cannot be read: a quote is left open or a cell is far too long."
    ),
    "too_many_rows": gettext_lazy(
        "The file has more than %(rows)s rows, the most one import may hold. Split it."
    ),
    "xlsx_invalid": gettext_lazy("The file is not a readable XLSX workbook."),
    "gone": gettext_lazy(
        "The uploaded file is no longer kept (files are kept for %(days)s days). Upload it again."
    ),
    "xlsx_bomb": gettext_lazy(
        "The workbook unpacks to far more data than it holds (a zip bomb); it was refused unopened."
    ),
    "xlsx_unsafe": gettext_lazy(
        "The workbook contains XML document type declarations, which spreadsheets never write "
        "and attacks do; it was refused."
    ),
}


def import_file_error(code: str, *, row: int | None = None) -> ImportError_:
    """The error of a file that cannot be imported at all (readers.ImportFileError codes)."""
    message = _FILE_MESSAGES.get(code, _FILE_MESSAGES["xlsx_invalid"]) % {
        "size": settings.GUANXI_IMPORT_MAX_BYTES // (1024 * 1024),
        "rows": settings.GUANXI_IMPORT_MAX_ROWS,
        "row": row or "?",
        "days": settings.GUANXI_IMPORT_UNDO_DAYS,
    }
    return ImportError_(message, code=f"import_{code}", fields={"file": [message]})


class ImportStateError(ApplicationError):
    status_code = 409
    default_code = "import_state"
    default_message = gettext_lazy("This import cannot do that in its present state.")


class ImportUndoExpiredError(ApplicationError):
    status_code = 409
    default_code = "import_undo_expired"
    default_message = gettext_lazy("Imports can be undone for %(days)s days; this one is older.")


# --- the kinds and their columns ----------------------------------------------------------------


@dataclass(frozen=True)
class ImportField:
    name: str
    label: Any  # lazily translated
    required: bool = False
    # Header spellings people use, in Chinese and English (the labels in both count too).
    synonyms: tuple[str, ...] = ()
    help: Any = ""


@dataclass(frozen=True)
class ImportKind:
    """One kind of import: its columns and the class that validates and writes a batch."""

    name: str
    label: Any
    fields: tuple[ImportField, ...]
    runner: Callable[[_Run], Any]
    # Each group: at least one of these fields must be mapped (the customer of a contact).
    required_any: tuple[tuple[str, ...], ...] = ()

    def field(self, name: str) -> ImportField | None:
        return next((item for item in self.fields if item.name == name), None)


IMPORT_KINDS: dict[str, ImportKind] = {}
"""Every kind of import, by name. Customers and contacts are registered at the end of this
module. Orders are not importable yet: there are no orders until the sales app (C7) exists. It
will add ``ImportJob.Kind.ORDERS`` (a choice, so a state-only migration), write a runner like
CustomerRows (parse / prepare / batch) and call import_kind_register from its AppConfig.ready;
pages, the API, the command and undo (_UNDO_MODELS) then pick it up."""


def import_kind_register(kind: ImportKind) -> None:
    """Add a kind of import (the sales app registers orders here when it exists)."""
    IMPORT_KINDS[kind.name] = kind


def import_kind_choices() -> list[tuple[str, Any]]:
    """(name, label) of every kind registered: what the upload form and the template list
    offer, so that a kind registered later (orders) shows up there by itself."""
    return [(kind.name, kind.label) for kind in IMPORT_KINDS.values()]


def _kind_get(name: str) -> ImportKind:
    kind = IMPORT_KINDS.get(name)
    if kind is None:
        raise ValidationError({"kind": [_("Import customers or contacts.")]}, code="invalid")
    return kind


_HEADER_NOTE = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_NOT_WORD = re.compile(r"[\W_]+")


def header_key(text: str) -> str:
    """A header as compared: NFKC, case-folded, without bracketed notes (必填, required), marks
    (*) and punctuation. "统一社会信用代码*" and "统一社会信用代码（必填）" are one column."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return _NOT_WORD.sub("", _HEADER_NOTE.sub("", folded))


def _field_keys(kind: ImportKind) -> dict[str, str]:
    """Every known spelling of every column of ``kind`` → field name; labels in each language."""
    keys: dict[str, str] = {}
    for item in kind.fields:
        spellings = [item.name, *item.synonyms]
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                spellings.append(str(item.label))
        for spelling in spellings:
            keys.setdefault(header_key(spelling), item.name)
    return keys


def mapping_guess(
    *, kind: ImportKind, headers: list[str], remembered: dict[str, str] | None = None
) -> dict[str, str]:
    """{column index: field} for ``headers``: what the user mapped last time for the same
    header, else a synonym; each field taken once, by its first column."""
    known = _field_keys(kind)
    names = {item.name for item in kind.fields}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        # What the user said last time wins, "not imported" ('') included.
        name = remembered[key] if remembered and key in remembered else known.get(key)
        if name in names and name not in taken:
            mapping[str(index)] = name
            taken.add(name)
    return mapping


def mapping_clean(
    *, kind: ImportKind, headers: list[str], mapping: dict[str, Any]
) -> dict[str, str]:
    """The mapping the user confirmed, checked: known columns and fields, a field at most once,
    every required field mapped. Field errors keyed ``mapping``."""
    names = {item.name for item in kind.fields}
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    for raw_index, raw_name in (mapping or {}).items():
        name = str(raw_name or "")
        if not name:
            continue
        try:
            index = int(raw_index)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(headers) or name not in names:
            errors.append(_("Map each column of the file to one of the listed fields."))
            continue
        if name in cleaned.values():
            label = kind.field(name).label  # type: ignore[union-attr]  # name is in names
            errors.append(_("%(field)s is mapped to more than one column.") % {"field": label})
            continue
        cleaned[str(index)] = name
    for item in kind.fields:
        if item.required and item.name not in cleaned.values():
            errors.append(_("Map a column to %(field)s: it is required.") % {"field": item.label})
    for group in kind.required_any:
        if not set(group) & set(cleaned.values()):
            labels = " / ".join(str(kind.field(name).label) for name in group)  # type: ignore[union-attr]
            errors.append(_("Map a column to one of: %(fields)s.") % {"fields": labels})
    if errors:
        raise ValidationError({"mapping": list(dict.fromkeys(errors))}, code="invalid_mapping")
    return cleaned


def template_columns(kind_name: str) -> list[tuple[str, bool, str]]:
    """(header, required, what it accepts) of the template of ``kind_name``, in the active
    language; required headers end in *."""
    kind = _kind_get(kind_name)
    columns = []
    for item in kind.fields:
        help = str(item.help or "")
        for group in kind.required_any:
            if item.name in group:
                # Neither column alone is required, one of them is: said in the notes.
                others = " / ".join(
                    str(kind.field(name).label)  # type: ignore[union-attr]  # names of the kind
                    for name in group
                    if name != item.name
                )
                needed = _("Required unless %(others)s is given.") % {"others": others}
                help = f"{needed} {help}".strip()
        columns.append((f"{item.label}{'*' if item.required else ''}", item.required, help))
    return columns


@dataclass
class TemplateFile:
    data: bytes
    file_name: str
    content_type: str


def import_template(*, kind: str, format: str) -> TemplateFile:
    """The empty file to fill in for ``kind``: the column headers in the active language, the
    required ones marked with *; as XLSX with a second sheet explaining each column."""
    import_kind = _kind_get(kind)
    if format not in ("csv", "xlsx"):
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]}, code="invalid")
    columns = template_columns(kind)
    headers = [header for header, _required, _help in columns]
    name = _("Import template")
    handle = io.BytesIO()
    if format == "csv":
        csv_write(handle, headers, [])
        content_type = "text/csv; charset=utf-8"
    else:
        yes, no = _("yes"), _("no")
        xlsx_template_write(
            handle,
            headers,
            [[header, yes if required else no, help] for header, required, help in columns],
            sheet_name=str(import_kind.label),
            notes_name=_("Notes"),
            notes_headers=[_("Column"), _("Required"), _("What it accepts")],
        )
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return TemplateFile(
        data=handle.getvalue(),
        file_name=f"{name}-{import_kind.label}.{format}",
        content_type=content_type,
    )


# --- reading the file ---------------------------------------------------------------------------


def _open(job: ImportJob) -> IO[bytes]:
    if not job.file:  # purged (imports_purge)
        raise FileNotFoundError(job.pk)
    return default_storage.open(job.file.name, "rb")


def _inspect(handle: IO[bytes]) -> SheetInfo:
    try:
        return sheet_inspect(
            handle,
            max_unzipped=settings.GUANXI_IMPORT_XLSX_MAX_UNZIPPED,
            max_ratio=settings.GUANXI_IMPORT_XLSX_MAX_RATIO,
        )
    except ImportFileError as error:
        raise import_file_error(error.code, row=error.row) from error


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def import_upload(*, actor: Any, kind: str, file: IO[bytes], file_name: str) -> ImportJob:
    """Check and store an uploaded file and read its headers: the job waits for the column
    mapping (guessed here from the user's last mapping and the header synonyms). A file that
    cannot be read at all is refused and nothing is stored."""
    import_require(actor)
    import_kind = _kind_get(kind)
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    if size > settings.GUANXI_IMPORT_MAX_BYTES:
        raise import_file_error("too_large")
    if size == 0:
        raise import_file_error("empty")
    info = _inspect(file)
    remembered = {}
    if _active(actor):
        stored = ImportMapping.objects.filter(user=actor, kind=kind).first()
        remembered = stored.mapping if stored else {}
    file.seek(0)
    owner = actor.pk if _active(actor) else "system"
    name = default_storage.save(
        f"{STORAGE_PREFIX}/{owner}/{uuid.uuid4().hex}.{info.format}", File(file)
    )
    job = ImportJob(
        user=actor if _active(actor) else None,
        kind=kind,
        file=name,
        file_name=(file_name or f"import.{info.format}")[-255:],
        file_format=info.format,
        file_size=size,
        encoding=info.encoding,
        headers=info.headers,
        sample=info.sample,
        mapping=mapping_guess(kind=import_kind, headers=info.headers, remembered=remembered),
        total_rows=info.estimated_rows,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    job.save()
    return job


def import_discard(*, job: ImportJob) -> None:
    """Forget a job that never ran (the API's upload with a bad mapping): its file and its row."""
    if job.file:
        default_storage.delete(job.file.name)
    ImportJob.objects.filter(pk=job.pk).delete()


def _policies_clean(duplicate_policy: str, error_policy: str) -> None:
    errors: dict[str, list[str]] = {}
    if duplicate_policy not in Policy.values:
        errors["duplicate_policy"] = [_("Select a valid choice.")]
    if error_policy not in OnError.values:
        errors["error_policy"] = [_("Select a valid choice.")]
    if errors:
        raise ValidationError(errors)


def import_configure(
    *,
    actor: Any,
    job: ImportJob,
    mapping: dict[str, Any] | None = None,
    duplicate_policy: str | None = None,
    error_policy: str | None = None,
) -> ImportJob:
    """Set the mapping and the policies of a job that is not running, and remember the mapping
    for the user's next file of this kind."""
    if job.status in (Status.DONE, Status.UNDONE) or (job.is_pending and not job.is_stale):
        raise ImportStateError()
    kind = _kind_get(job.kind)
    cleaned = mapping_clean(
        kind=kind, headers=job.headers, mapping=job.mapping if mapping is None else mapping
    )
    duplicate_policy = duplicate_policy or job.duplicate_policy
    error_policy = error_policy or job.error_policy
    _policies_clean(duplicate_policy, error_policy)
    job.mapping = cleaned
    job.duplicate_policy = duplicate_policy
    job.error_policy = error_policy
    job.save(update_fields=["mapping", "duplicate_policy", "error_policy"])
    if _active(actor):
        # Every named column: what it was mapped to, or '' when the user left it out, so that a
        # guess the user undid is not guessed again.
        remembered = {header_key(header): "" for header in job.headers if header_key(header)}
        remembered.update(
            {header_key(job.headers[int(index)]): name for index, name in cleaned.items()}
        )
        ImportMapping.objects.update_or_create(
            user=actor,
            kind=job.kind,
            defaults={"mapping": remembered, "updated_at": timezone.now()},
        )
    return job


def import_check(
    *, actor: Any, job: ImportJob, run_now: bool = False, **configuration: Any
) -> ImportJob:
    """The dry run: every row validated and compared with the existing data; nothing written.
    ``configuration``: import_configure's mapping and policies. ``run_now``: in this process
    whatever the size (the command line)."""
    return _start(actor=actor, job=job, dry_run=True, run_now=run_now, configuration=configuration)


def import_commit(
    *, actor: Any, job: ImportJob, run_now: bool = False, **configuration: Any
) -> ImportJob:
    """Write the rows: in one transaction, all or nothing or without the bad rows (the error
    policy)."""
    return _start(actor=actor, job=job, dry_run=False, run_now=run_now, configuration=configuration)


def _start(
    *,
    actor: Any,
    job: ImportJob,
    dry_run: bool,
    run_now: bool,
    configuration: dict[str, Any],
) -> ImportJob:
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status in (Status.QUEUED, Status.RUNNING) and not locked.is_stale:
            raise ImportStateError(_("This import is already running."))
        if locked.status in (Status.DONE, Status.UNDONE):
            raise ImportStateError(_("This import has been carried out already."))
        import_configure(actor=actor, job=locked, **configuration)
        locked.dry_run = dry_run
        locked.status = Status.QUEUED
        locked.processed_rows = 0
        locked.language = translation.get_language() or locked.language
        locked.save(update_fields=["dry_run", "status", "processed_rows", "language"])
        background = not run_now and (locked.total_rows or 0) > settings.GUANXI_IMPORT_SYNC_ROWS
        if background:
            transaction.on_commit(partial(_import_job_enqueue, locked.pk))
    if not background:
        import_job_run(job_id=locked.pk, reraise=False)
    locked.refresh_from_db()
    return locked


def _import_job_enqueue(job_id: int) -> None:
    from guanxi.transfer.tasks import import_job_run_task

    try:
        import_job_run_task.enqueue(job_id)
    except Exception:
        # As for exports: the request has committed, so the job is marked failed for the user
        # to see and retry rather than staying queued forever.
        logger.exception("could not enqueue import job %s", job_id)
        ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
            status=Status.FAILED, error="queue", finished_at=timezone.now()
        )


# --- running ------------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    value: str
    reason: str


class _RolledBack(Exception):
    """All or nothing, and a row was bad: the transaction is rolled back."""


class _Progress:
    """Writes how far the run has got. Inside the import's transaction the job row is written
    through a second connection (PostgreSQL), so that the page polling it sees the progress
    before the commit; SQLite has one writer at a time, and that is the import: there the bar
    moves during dry runs, and a commit reports at its end."""

    def __init__(self, job: ImportJob, *, in_transaction: bool) -> None:
        self.job_id = job.pk
        self.in_transaction = in_transaction
        self.connection: Any = None
        self.last = 0.0
        if in_transaction and connection.vendor == "postgresql":
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def update(self, processed: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        stamp = timezone.now()
        if self.connection is not None:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET processed_rows = %s, "  # noqa: S608 - the table name is ours
                    "heartbeat_at = %s WHERE id = %s",
                    [processed, stamp, self.job_id],
                )
        elif not self.in_transaction:
            ImportJob.objects.filter(pk=self.job_id).update(
                processed_rows=processed, heartbeat_at=stamp
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


class _Run:
    """The state of one pass over a file: the actor, the policies, the per-import lookups, the
    counters, the rows seen so far (duplicates within the file) and the error report."""

    def __init__(self, job: ImportJob, *, actor: Any) -> None:
        self.job = job
        self.actor = actor
        self.kind = _kind_get(job.kind)
        self.writing = not job.dry_run
        self.policy = job.duplicate_policy
        self.all_or_nothing = job.error_policy == OnError.ALL_OR_NOTHING
        self.columns = {name: int(index) for index, name in job.mapping.items()}
        self.headers = job.headers
        self.added = self.updated = self.skipped = self.errors = 0
        self.preview: list[list[Any]] = []
        self.created: dict[str, list[int]] = {}
        # The customers this commit has filed so far: no duplicates of its own later rows by
        # phone or e-mail (the dry run, which files nothing, would not see them either).
        self.created_customers: set[int] = set()
        self.seen: dict[tuple[str, Any], int] = {}
        self.now = timezone.now()
        self.report = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()
        self.report_text = io.TextIOWrapper(self.report, encoding="utf-8-sig", newline="")
        self.report_writer = csv.writer(self.report_text, lineterminator="\r\n")
        self.report_writer.writerow([_("Row"), _("Column"), _("Value"), _("Reason")])
        self.runner = self.kind.runner(self)

    # writing stops at the first bad row of an all-or-nothing commit; validation goes on so
    # that the report lists every bad row.
    @property
    def may_write(self) -> bool:
        return self.writing and not (self.all_or_nothing and self.errors)

    def column(self, name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(self.headers):
            item = self.kind.field(name)
            return str(item.label) if item else name
        return self.headers[index]

    def value(self, cells: list[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index]

    def row_failed(self, row: int, problems: list[tuple[str, str, str]]) -> None:
        """``problems``: (field, value, reason) of one row."""
        self.errors += 1
        for name, value, reason in problems:
            self._report(row, self.column(name), value, reason)

    def row_skipped(self, row: int, name: str, value: str, reason: str) -> None:
        self.skipped += 1
        self._report(row, self.column(name), value, reason)

    def _report(self, row: int, column: str, value: str, reason: str) -> None:
        if len(value) > REPORT_VALUE_CHARS:
            # A huge cell is named, not copied: the report and the page stay small.
            value = value[:REPORT_VALUE_CHARS] + "…"
        cells = [row, column, value, reason]
        self.report_writer.writerow([csv_safe(str(cell)) for cell in cells])
        if len(self.preview) < ERROR_PREVIEW_ROWS:
            self.preview.append(cells)

    def note_created(self, label: str, ids: Iterable[int]) -> None:
        created = [pk for pk in ids if pk is not None]
        self.created.setdefault(label, []).extend(created)
        if label == "customers.customer":
            self.created_customers.update(created)

    def process(self, progress: _Progress) -> None:
        """Read the file in batches: each is prepared (parsed, validated, its keys computed:
        pure computation) and then handled (looked up, decided, written). Large files are
        prepared by worker processes while this one looks up and writes (_prepared)."""
        try:
            handle = _open(self.job)
        except FileNotFoundError as error:
            raise import_file_error("gone") from error
        with handle:
            info = _inspect(handle)
            rows = sheet_rows(handle, info, max_rows=settings.GUANXI_IMPORT_MAX_ROWS)
            processed = 0
            try:
                for batch, prepared in _prepared(self, _batches(rows)):
                    self.runner.batch(prepared)
                    processed += len(batch)
                    progress.update(processed)
            except ImportFileError as error:
                raise import_file_error(error.code, row=error.row) from error
        self.processed = processed
        progress.update(processed, force=True)

    def report_save(self) -> str:
        self.report_text.flush()
        if not self.preview:
            return ""
        self.report.seek(0)
        owner = self.job.user_id or "system"
        return default_storage.save(
            f"{STORAGE_PREFIX}/{owner}/{uuid.uuid4().hex}-errors.csv", File(self.report)
        )

    def close(self) -> None:
        self.report_text.detach()
        self.report.close()


def _ranges(ids: list[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: bulk inserts take consecutive ids, so this is short."""
    runs: list[list[int]] = []
    for pk in sorted(ids):
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def _batches(rows: Iterable[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


# The runner a worker process prepares batches with: set in the parent just before the fork, so
# every worker has it (with its lookups) without pickling it.
_worker_runner: Any = None


_inherited_connections: list[Any] = []


def _worker_init() -> None:
    """In a fresh worker: forget the parent's database connections without closing them (a
    close, or a finaliser freeing the socket, would end the parent's session). Should the
    worker ever need the database, Django opens a connection of its own."""
    for alias in list(connections.settings):
        _inherited_connections.append(connections[alias])
        del connections[alias]


def _worker_prepare(batch: list[tuple[int, list[str]]]) -> Any:
    return _worker_runner.prepare(batch)


def _prepared(
    run: _Run, batches: Iterator[list[tuple[int, list[str]]]]
) -> Iterator[tuple[Any, Any]]:
    """(batch, prepared batch) in file order. Preparing is most of the CPU time of an import
    (validation, name keys, search keys with their pinyin), needs no database and no shared
    state, so a large file is prepared by GUANXI_IMPORT_WORKERS forked processes, a few batches
    ahead, while this process does the lookups and the writes and the database does its part.
    The workers never touch the database connection they inherit and leave through os._exit,
    so the connection stays this process's alone."""
    workers = min(settings.GUANXI_IMPORT_WORKERS, os.cpu_count() or 1)
    large = (run.job.total_rows or 0) >= settings.GUANXI_IMPORT_PARALLEL_ROWS
    if workers < 2 or not large or "fork" not in multiprocessing.get_all_start_methods():
        for batch in batches:
            yield batch, run.runner.prepare(batch)
        return
    global _worker_runner
    _worker_runner = run.runner
    region_names()  # loaded here, once, rather than by each worker from the database
    context = multiprocessing.get_context("fork")
    pool = context.Pool(workers, initializer=_worker_init)
    try:
        pending: collections.deque[tuple[Any, Any]] = collections.deque()
        for batch in batches:
            pending.append((batch, pool.apply_async(_worker_prepare, (batch,))))
            if len(pending) > 2 * workers:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()
    finally:
        pool.terminate()
        pool.join()
        _worker_runner = None


def import_job_run(*, job_id: int, reraise: bool = True) -> ImportJob | None:
    """Run a queued import (its dry run or its commit). Idempotent: only a queued job runs, so a
    retried or duplicated task does nothing. A commit is one transaction. An unexpected error
    marks the job failed, is logged, and is raised again for the task runner unless
    ``reraise`` is False (a run inside a request, which shows the failed job instead)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id, status=Status.QUEUED).first()
        if job is None:
            return None
        job.status = Status.RUNNING
        job.started_at = job.heartbeat_at = timezone.now()
        job.processed_rows = 0
        job.save(update_fields=["status", "started_at", "heartbeat_at", "processed_rows"])
    actor = job.user
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            if actor is not None and not actor.is_active:
                raise PermissionDeniedError()
            run = _Run(job, actor=actor)
        except ApplicationError as error:
            _job_fail(job, error.code)
            return job
        try:
            _execute(job, run)
        except ApplicationError as error:
            _job_fail(job, error.code, message=str(error.message))
        except Exception:
            logger.exception("import job %s failed", job.pk)
            _job_fail(job, "failed")
            if reraise:
                raise
        finally:
            run.close()
    return job


def _execute(job: ImportJob, run: _Run) -> None:
    if not run.writing:
        progress = _Progress(job, in_transaction=False)
        try:
            run.process(progress)
        finally:
            progress.close()
        _job_finish(job, run, status=Status.CHECKED)
        return
    progress = _Progress(job, in_transaction=True)
    try:
        with transaction.atomic():
            run.process(progress)
            if run.all_or_nothing and run.errors:
                raise _RolledBack
            job.created = {label: _ranges(ids) for label, ids in run.created.items()}
            _job_finish(job, run, status=Status.DONE)
            audit_record(
                actor=run.actor,
                action=AuditEntry.Action.ACTION,
                object_type=ImportJob._meta.label_lower,
                object_id=str(job.pk),
                object_label=str(job)[:255],
                changes={
                    "kind": job.kind,
                    "file_name": job.file_name,
                    "added_count": run.added,
                    "updated_count": run.updated,
                    "skipped_count": run.skipped,
                    "error_count": run.errors,
                },
                note=f"{IMPORT_COMMITTED}?added={run.added}&updated={run.updated}"
                f"&skipped={run.skipped}&errors={run.errors}",
            )
    except _RolledBack:
        # Counted as far as validation goes: what would have been added is reported, and
        # nothing was.
        job.created = {}
        _job_finish(job, run, status=Status.REJECTED)
    finally:
        progress.close()


def _job_finish(job: ImportJob, run: _Run, *, status: str) -> None:
    job.status = status
    job.processed_rows = getattr(run, "processed", 0)
    job.added_count = run.added
    job.updated_count = run.updated
    job.skipped_count = run.skipped
    job.error_count = run.errors
    job.error_preview = run.preview
    job.error_file = run.report_save()
    job.error = ""
    job.finished_at = job.heartbeat_at = timezone.now()
    job.save()


def _job_fail(job: ImportJob, code: str, *, message: str = "") -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=Status.FAILED,
        error=code[:50],
        error_preview=[[None, "", "", message]] if message else [],
        finished_at=timezone.now(),
    )
    job.refresh_from_db()


def import_error_file_name(job: ImportJob) -> str:
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return f"{stem}-{_('errors')}.csv"


def import_error_file_open(*, job: ImportJob) -> IO[bytes]:
    if not job.error_file:
        raise ImportStateError(_("This import has no error report."))
    try:
        return default_storage.open(job.error_file.name, "rb")
    except FileNotFoundError as error:
        raise ImportStateError(_("This import has no error report.")) from error


# --- undo ---------------------------------------------------------------------------------------


@dataclass
class UndoOutcome:
    removed: int = 0
    reverted: int = 0
    kept: int = 0


_UNDO_MODELS: dict[str, Any] = {
    # Dependants before what they depend on: contacts, then their customers.
    "customers.contact": Contact,
    "customers.customer": Customer,
}
"""The models an import creates or changes, by label (ImportJob.created, ImportChange.model)."""


def import_undo(*, actor: Any, job: ImportJob, now: dt.datetime | None = None) -> UndoOutcome:
    """Move exactly the records the import created to the recycle bin, and put back the values
    it overwrote and take off the tags it added, as far as nobody has changed those records
    since (their version is still the one the import left); the others are kept and counted.
    Search keys of the customers and contacts touched are recomputed. One transaction, one
    audit entry."""
    if job.status != Status.DONE:
        raise ImportStateError(_("Only a finished import can be undone, and only once."))
    now = now or timezone.now()
    days = settings.GUANXI_IMPORT_UNDO_DAYS
    if job.finished_at is None or now - job.finished_at > dt.timedelta(days=days):
        raise ImportUndoExpiredError(ImportUndoExpiredError.default_message % {"days": days})
    outcome = UndoOutcome()
    deleter = actor if _active(actor) else None
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.DONE:
            raise ImportStateError(_("Only a finished import can be undone, and only once."))
        # Contacts first: their customers' search keys are recomputed below.
        for label, model in _UNDO_MODELS.items():
            for first, last in locked.created.get(label, []):
                rows = model._base_manager.filter(pk__gte=first, pk__lte=last)
                total = rows.count()
                moved = rows.filter(deleted_at__isnull=True, version=1).update(
                    deleted_at=now, deleted_by=deleter, version=F("version") + 1
                )
                outcome.removed += moved
                outcome.kept += total - moved
        contacts_reverted: list[int] = []
        for change in ImportChange.objects.filter(job=locked).order_by("pk"):
            model = _UNDO_MODELS.get(change.model)
            if model is None:
                continue
            before = dict(change.before)
            tags = before.pop(TAGS_ADDED, [])
            reverted = model._base_manager.filter(
                pk=change.object_id, version=change.version_after
            ).update(
                **before,
                version=F("version") + 1,
                updated_at=now,
                updated_by=deleter,
            )
            if reverted and tags:
                Customer.tags.through.objects.filter(
                    customer_id=change.object_id, tag_id__in=tags
                ).delete()
            if reverted and model is Contact:
                contacts_reverted.append(change.object_id)
            outcome.reverted += reverted
            outcome.kept += 1 - reverted
        _contact_keys_refresh(contacts_reverted)
        _search_keys_refresh(_customers_touched(locked))
        locked.status = Status.UNDONE
        locked.undone_at = now
        locked.save(update_fields=["status", "undone_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            object_type=ImportJob._meta.label_lower,
            object_id=str(locked.pk),
            object_label=str(locked)[:255],
            changes={"status": {"before": Status.DONE, "after": Status.UNDONE}},
            note=f"{IMPORT_UNDONE}?removed={outcome.removed}&reverted={outcome.reverted}"
            f"&kept={outcome.kept}",
        )
    job.refresh_from_db()
    return outcome


def _customers_touched(job: ImportJob) -> set[int]:
    ids: set[int] = set()
    for first, last in job.created.get("customers.contact", []):
        ids.update(
            Contact.all_objects.filter(pk__gte=first, pk__lte=last).values_list(
                "customer_id", flat=True
            )
        )
    ids.update(
        ImportChange.objects.filter(job=job, model="customers.customer").values_list(
            "object_id", flat=True
        )
    )
    # A contact's name and phones are in its customer's key.
    contact_ids = ImportChange.objects.filter(job=job, model="customers.contact").values_list(
        "object_id", flat=True
    )
    ids.update(
        Contact.all_objects.filter(pk__in=list(contact_ids)).values_list("customer_id", flat=True)
    )
    return ids


def _contact_keys_refresh(contact_ids: Iterable[int]) -> None:
    """Recompute the search keys of these contacts (their phones, e-mail and WeChat ID may have
    been put back), as contact_search_key does, in batches."""
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), BATCH_ROWS):
        contacts = list(Contact.all_objects.filter(pk__in=ids[start : start + BATCH_ROWS]))
        for contact in contacts:
            contact.search_key = contact_search_document(
                name=contact.name, phones=contact.phones, email=contact.email, wechat=contact.wechat
            )
        Contact.all_objects.bulk_update(contacts, ["search_key"], batch_size=BATCH_ROWS)


def _search_keys_refresh(customer_ids: Iterable[int]) -> None:
    """Recompute the search keys of these customers from their live contacts, in batches (the
    customer services' customer_search_key, one query per batch instead of one per customer)."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), BATCH_ROWS):
        chunk = ids[start : start + BATCH_ROWS]
        contacts: dict[int, list[tuple[str, Any]]] = {}
        for customer_id, name, phones in Contact.objects.filter(customer_id__in=chunk).values_list(
            "customer_id", "name", "phones"
        ):
            contacts.setdefault(customer_id, []).append((name, phones))
        customers = list(Customer.all_objects.filter(pk__in=chunk))
        for customer in customers:
            customer.search_key = customer_search_document(
                kind=customer.kind,
                name=customer.name,
                short_name=customer.short_name,
                credit_code=customer.credit_code,
                contacts=contacts.get(customer.pk, []),
            )
        Customer.all_objects.bulk_update(customers, ["search_key"], batch_size=BATCH_ROWS)


# --- duplicates by phone and e-mail ------------------------------------------------------------


def contact_holders(
    *, phones: set[str], emails: set[str], flush_pending: bool = False
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """({phone: customer ids}, {e-mail: customer ids}) of the live contacts with one of
    ``phones`` (E.164) or ``emails`` (case-folded): the duplicate check's phone and e-mail rules
    for a whole batch of rows in one query. Candidates come from the contacts' search index (a
    full number and the words of an address are private tokens of the key, customers.services
    contact_search_document), and the exact value is compared here.

    The customers' own check (customers.selectors) asks the same index with every term of a
    query, public or private, and stops at DUPLICATE_CONTACT_ROWS rows: right for one form, but
    for a thousand rows PostgreSQL's planner estimates such an OR of hundreds of terms to match
    a large share of the table and scans it, evaluating the key of every contact (seconds per
    batch at 20,000 contacts, minutes at a million). Here the query holds the private forms
    only, and the planner is told to use the index for this one statement. ``flush_pending``:
    a commit, which inserts contacts between its lookups (_gin_pending_flush)."""
    phone_holders: dict[str, set[int]] = {}
    email_holders: dict[str, set[int]] = {}
    groups: list[list[str]] = []
    for number in sorted(phones):
        digits = re.sub(r"[^0-9]", "", number)
        if digits:
            groups.append([f"{PRIVATE_MARK}{digits}"[:MAX_TOKEN_CHARS]])
    for email in sorted(emails):
        # One token of the address as its contact's key holds it: the longest of the part
        # before the @, which few contacts share (each term of the query makes every contact
        # holding it a candidate; a common domain would make them all one).
        local, _at, domain = email.rpartition("@")
        tokens = search_document(private_words=[local]).split() or (
            search_document(private_words=[domain]).split()
        )
        if tokens:
            groups.append([max(tokens, key=len)])
    if not groups:
        return phone_holders, email_holders
    table = Contact._meta.db_table
    # No join and no order: the index alone answers; deleted customers are left out by the
    # caller, which loads the live ones.
    contacts = Contact.objects.order_by()
    if connection.vendor == "postgresql":
        vector = postgres_vector_sql(f'"{table}"."search_key"')
        query = " | ".join(f"({tsquery_text(group)})" for group in groups)
        contacts = contacts.filter(
            RawSQL(f"{vector} @@ %s::tsquery", [query], output_field=BooleanField())
        )
    else:
        fts = f"{table}_fts"
        match = " OR ".join(f"({fts5_match(group)})" for group in groups)
        contacts = contacts.filter(
            id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [match])
        )
    with transaction.atomic(), _index_preferred():
        if flush_pending:
            _gin_pending_flush(table)
        rows = list(contacts.values_list("customer_id", "phones", "email"))
    for customer_id, numbers, email in rows:
        for phone in numbers if isinstance(numbers, list) else ():
            number = phone.get("number") if isinstance(phone, dict) else None
            if number in phones:
                phone_holders.setdefault(number, set()).add(customer_id)
        folded = (email or "").casefold()
        if folded in emails:
            email_holders.setdefault(folded, set()).add(customer_id)
    return phone_holders, email_holders


def _gin_pending_flush(table: str) -> None:
    """Move the pending entries of ``table``'s GIN indexes into the indexes proper. A commit
    inserts contacts in the same transaction as it looks up phones and e-mail addresses, and
    GIN keeps fresh entries in a pending list (up to gin_pending_list_limit, 4 MB) that every
    search reads in full against each of its terms: a thousand terms against a full list took
    seconds per batch. Moved each batch, the list stays short; moving it is work the next insert
    past the limit would do anyway. PostgreSQL only; a no-op where the list is empty."""
    if connection.vendor != "postgresql":
        return
    try:
        # A savepoint: a database role that does not own the index may not clean it, and the
        # lookup then reads the list as it is, slower but right.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT gin_clean_pending_list(index.indexrelid) FROM pg_index AS index "
                "JOIN pg_class AS class ON class.oid = index.indexrelid "
                "JOIN pg_am AS method ON method.oid = class.relam "
                "WHERE index.indrelid = %s::regclass AND method.amname = 'gin'",
                [table],
            )
    except DatabaseError:
        logger.info("could not clean the GIN pending list of %s", table, exc_info=True)


_SCANS_OFF = ("enable_seqscan", "enable_indexscan")


@contextlib.contextmanager
def _index_preferred() -> Iterator[None]:
    """On PostgreSQL, plain and sequential scans off for the statements inside (in a
    transaction), so that the planner takes the bitmap of the GIN index, and back as they were
    after."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in _SCANS_OFF))
        previous = cursor.fetchone()
        cursor.execute(
            "SELECT " + ", ".join(f"set_config('{name}', 'off', true)" for name in _SCANS_OFF)
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in _SCANS_OFF),
                list(previous),
            )


# --- cell parsing shared by the kinds -----------------------------------------------------------

_LIST_SEPARATORS = re.compile(r"[,，;；、|/\n]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_URL = URLValidator()


def _choice_index(
    choices: Iterable[tuple[str, Any]], extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Every way to write each choice: its stored value and its label in each language."""
    index: dict[str, str] = {}
    for value, label in choices:
        if value == "":
            continue
        index[header_key(value)] = value
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                index.setdefault(header_key(str(label)), value)
    for spelling, value in (extra or {}).items():
        index.setdefault(header_key(spelling), value)
    return index


def _choice(index: dict[str, str], text: str) -> str | None:
    key = header_key(text)
    value = index.get(key)
    if value is None and key.endswith("客户"):
        value = index.get(key[: -len("客户")])
    return value


def _date(text: str) -> dt.date | None:
    text = text.strip()
    if " " in text:
        text = text.split(" ", 1)[0]
    if len(text) == 10 and text[4] == "-":
        # ISO, what spreadsheets and our own exports write: without strptime's cost.
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def _too_long(value: str, model: Any, name: str) -> str | None:
    limit = model._meta.get_field(name).max_length
    if limit and len(value) > limit:
        return _("At most %(max)s characters; this has %(length)s.") % {
            "max": limit,
            "length": len(value),
        }
    return None


def _masked(value: str) -> str | None:
    if value and is_masked(value):
        return _("This value is masked. Enter the full value, or leave the field unchanged.")
    return None


class _Regions:
    """The national region table in memory (a few thousand rows, read once per import): names
    and codes to the province / city / district chain, with the rules of region_validate (the
    right level, the child inside its parent, only codes in use for new records)."""

    def __init__(self) -> None:
        self.by_code: dict[str, tuple[str, str, str | None, bool]] = {}
        self.children: dict[str | None, dict[str, list[str]]] = {}
        for code, name, level, parent, active in Region.objects.values_list(
            "code", "name", "level", "parent_id", "is_active"
        ):
            self.by_code[code] = (name, level, parent, active)
            names = self.children.setdefault(parent, {})
            for spelling in {name, region_bare_name(name)}:
                names.setdefault(spelling, []).append(code)

    def _find(self, text: str, parent: str | None, level: str) -> tuple[str | None, str | None]:
        """(code, error) of ``text`` (a code or a name) under ``parent`` at ``level``."""
        text = unicodedata.normalize("NFKC", text).strip()
        if text.isdigit():
            found = self.by_code.get(text)
            if found is None:
                return None, _("%(code)s is not a region code.") % {"code": text}
            code = text
        else:
            candidates = self._named(text, parent, level)
            if not candidates and level == Region.Level.DISTRICT and parent is not None:
                # A district under a municipality's or a prefecture's city row, the city not
                # given: look one level down.
                for child in self.children.get(parent, {}).values():
                    for city in child:
                        candidates += [
                            code
                            for code in self.children.get(city, {}).get(text, [])
                            if self.by_code[code][1] == level
                        ]
                candidates = list(dict.fromkeys(candidates))
            if len(candidates) != 1:
                return None, _("No region named %(name)s here.") % {"name": text}
            code = candidates[0]
        name, found_level, _parent, active = self.by_code[code]
        if found_level != level:
            message = {
                Region.Level.PROVINCE: _("%(name)s (%(code)s) is not a province."),
                Region.Level.CITY: _("%(name)s (%(code)s) is not a city."),
                Region.Level.DISTRICT: _("%(name)s (%(code)s) is not a district or county."),
            }[level]
            return None, message % {"name": name, "code": code}
        if not active:
            return None, _("%(name)s (%(code)s) is no longer in use; choose its successor.") % {
                "name": name,
                "code": code,
            }
        return code, None

    def _named(self, text: str, parent: str | None, level: str) -> list[str]:
        return [
            code
            for code in self.children.get(parent, {}).get(text, [])
            if self.by_code[code][1] == level
        ]

    def _city(self, city: str, province: str, district: str) -> tuple[str | None, str | None]:
        """A city by name or code. A municipality has more than one city row of its own name
        (重庆市: its districts, its counties): the one holding the district, else the first."""
        text = unicodedata.normalize("NFKC", city).strip()
        named = [] if text.isdigit() else self._named(text, province, Region.Level.CITY)
        if len(named) < 2:
            return self._find(city, province, Region.Level.CITY)
        district_text = unicodedata.normalize("NFKC", district).strip()
        holding = [
            code for code in named if self._named(district_text, code, Region.Level.DISTRICT)
        ]
        return (holding[0] if len(holding) == 1 else sorted(named)[0]), None

    def _inside(self, code: str, ancestor: str) -> bool:
        current: str | None = code
        while current is not None:
            if current == ancestor:
                return True
            current = self.by_code[current][2]
        return False

    def resolve(
        self, *, province: str, city: str, district: str, region_code: str
    ) -> tuple[dict[str, str | None], list[tuple[str, str, str]]]:
        """({"province_id", "city_id", "district_id"}, problems as (field, value, reason))."""
        result: dict[str, str | None] = {"province_id": None, "city_id": None, "district_id": None}
        if region_code:
            code = unicodedata.normalize("NFKC", region_code).strip()
            entry = self.by_code.get(code)
            if entry is None:
                reason = _("%(code)s is not a region code.") % {"code": code}
                return result, [("region_code", region_code, reason)]
            if not entry[3]:
                reason = _("%(name)s (%(code)s) is no longer in use; choose its successor.") % {
                    "name": entry[0],
                    "code": code,
                }
                return result, [("region_code", region_code, reason)]
            current: str | None = code
            while current is not None:
                level = self.by_code[current][1]
                result[f"{level}_id"] = current
                current = self.by_code[current][2]
            return result, []
        if not (province or city or district):
            return result, []
        if not province:
            return result, [("province", "", _("Choose the province as well."))]
        province_code, error = self._find(province, None, Region.Level.PROVINCE)
        if error:
            return result, [("province", province, error)]
        result["province_id"] = province_code
        parent = province_code
        if city:
            city_code, error = self._city(city, province_code, district)
            if error is None and city_code and not self._inside(city_code, province_code):
                error = _("%(child)s is not in %(parent)s.") % {
                    "child": self.by_code[city_code][0],
                    "parent": self.by_code[province_code][0],  # type: ignore[index]
                }
            if error:
                return result, [("city", city, error)]
            result["city_id"] = parent = city_code
        elif district:
            # A municipality's districts sit under its one city row (北京市 / 北京市).
            cities = [
                code
                for codes in self.children.get(province_code, {}).values()
                for code in codes
                if self.by_code[code][1] == Region.Level.CITY
            ]
            if len(set(cities)) == 1:
                result["city_id"] = parent = cities[0]
        if district:
            district_code, error = self._find(district, parent, Region.Level.DISTRICT)
            if error is None and district_code and not self._inside(district_code, parent):  # type: ignore[arg-type]
                error = _("%(child)s is not in %(parent)s.") % {
                    "child": self.by_code[district_code][0],
                    "parent": self.by_code[parent][0],  # type: ignore[index]
                }
            if error:
                return result, [("district", district, error)]
            result["district_id"] = district_code
            if result["city_id"] is None:
                result["city_id"] = self.by_code[district_code][2]  # type: ignore[index]
        return result, []


class _Owners:
    """Who a row may name as owner, loaded once: for a rep only themselves, for managers and
    administrators any active user they can see, or the pool; for the system anyone."""

    POOL = ("公海", "pool", "无", "none")

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.manages = actor is None or customer_manages(actor)
        users = (
            User.objects.filter(is_active=True)
            if actor is None
            else user_visible_queryset(actor=actor).filter(is_active=True)
        )
        self.by_name: dict[str, list[tuple[int, int | None]]] = {}
        for pk, username, full_name, department in users.values_list(
            "pk", "username", "full_name", "department_id"
        ):
            for spelling in {username.casefold(), (full_name or "").casefold()} - {""}:
                self.by_name.setdefault(spelling, []).append((pk, department))
        self.pool_words = {header_key(word) for word in self.POOL} | {header_key(str(_("Pool")))}

    def default(self) -> tuple[int | None, int | None]:
        if self.actor is None:
            return None, None
        return self.actor.pk, self.actor.department_id

    def resolve(self, text: str) -> tuple[tuple[int | None, int | None] | None, str | None]:
        if not text:
            return self.default(), None
        if header_key(text) in self.pool_words:
            if not self.manages:
                return None, _(
                    "Only sales managers and administrators assign customers to others or the pool."
                )
            return (None, None), None
        found = self.by_name.get(text.strip().casefold(), [])
        if len({pk for pk, _department in found}) > 1:
            return None, _("More than one user has this name; give the user name instead.")
        if not found:
            return None, _("Choose an active user you can see.")
        owner = found[0]
        if not self.manages and owner[0] != getattr(self.actor, "pk", None):
            return None, _(
                "Only sales managers and administrators assign customers to others or the pool."
            )
        return owner, None


def _phones(text: str) -> tuple[list[dict[str, str]], str | None]:
    """Numbers in E.164 from a cell holding one or more, as the contact service stores them."""
    numbers: list[dict[str, str]] = []
    for part in re.split(r"[,，;；、/]+", text):
        part = part.strip()
        if not part:
            continue
        if is_masked(part):
            return [], _(
                "This value is masked. Enter the full value, or leave the field unchanged."
            )
        try:
            number = phone_normalize(part)
        except ValidationError as error:
            return [], str(error.messages[0])
        if all(entry["number"] != number for entry in numbers):
            numbers.append({"number": number, "label": Contact.PhoneLabel.MOBILE})
    return numbers, None


def _email(text: str) -> str | None:
    if not text:
        return None
    if is_masked(text):
        return _("This value is masked. Enter the full value, or leave the field unchanged.")
    try:
        validate_email(text)
    except ValidationError as error:
        return str(error.messages[0])
    return _too_long(text, Contact, "email")


# --- customers ----------------------------------------------------------------------------------


_IN_FILE_CODE = gettext_lazy(
    "Row %(row)s has the same unified social credit code: the same company cannot be filed twice."
)
_IN_FILE_SAME = gettext_lazy("Skipped: the same customer as row %(row)s.")
_SKIP_FILED = gettext_lazy("Skipped: already filed as %(name)s (%(holder)s).")
_SKIP_FILED_HIDDEN = gettext_lazy("Skipped: already filed (%(holder)s).")
_CODE_TAKEN = gettext_lazy(
    "A customer (%(holder)s) already has this unified social credit code: the same company "
    "cannot be filed twice."
)
_NOT_YOURS = gettext_lazy("This customer is already filed (%(holder)s) and you may not change it.")
_HISTORY_MOVE = gettext_lazy(
    "An import does not move a customer into or out of the history library; do that on the "
    "customer's page."
)
_AMBIGUOUS_CUSTOMER = gettext_lazy(
    "More than one customer has this name; give the credit code instead."
)
_SKIP_LIKELY = gettext_lazy("Skipped: looks like %(name)s (%(holder)s): %(reasons)s.")
_SKIP_LIKELY_HIDDEN = gettext_lazy(
    "Skipped: looks like a customer already filed (%(holder)s): %(reasons)s."
)
_LIKELY_NOT_UPDATED = gettext_lazy(
    "Skipped: looks like %(name)s (%(holder)s): %(reasons)s. Only the same credit code or name "
    "updates a customer; to file this row as a new customer, import it with “Create a new "
    "record anyway”."
)
_LIKELY_NOT_UPDATED_HIDDEN = gettext_lazy(
    "Skipped: looks like a customer already filed (%(holder)s): %(reasons)s. Only the same "
    "credit code or name updates a customer; to file this row as a new customer, import it "
    "with “Create a new record anyway”."
)


@dataclass(slots=True)
class _CustomerRow:
    row: int
    fields: dict[str, Any]
    tags: list[int]
    contact: dict[str, Any] | None
    credit_code: str
    name_key: str  # for the duplicate check: '' for an individual, whose names repeat
    stored_name_key: str  # Customer.name_key, as customer_create stores it
    given: set[str] = field(default_factory=set)  # fields the row fills
    search_key: str = ""  # computed when the row is prepared for a write


_CUSTOMER_UPDATABLE = (
    "short_name",
    "credit_code",
    "industry_id",
    "province_id",
    "city_id",
    "district_id",
    "address",
    "website",
    "source",
    "source_note",
    "lifecycle",
    "account_class",
    "first_contact_date",
    "first_needs",
)
_KEY_FIELDS = {"kind", "name", "short_name", "credit_code"}
TAGS_ADDED = "+tags"
"""The key of ImportChange.before that lists the tags an import added to a customer."""


class CustomerRows:
    """Validates and writes customer rows, with an optional first contact on the same row."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.actor = run.actor
        self.regions = _Regions()
        self.owners = _Owners(run.actor)
        self.industries: dict[str, int] = {}
        for pk, code, name, active in Industry.objects.values_list(
            "pk", "code", "name", "is_active"
        ):
            if active:
                self.industries[header_key(code)] = pk
                self.industries.setdefault(header_key(name), pk)
        self.tags = {header_key(name): pk for pk, name in Tag.objects.values_list("pk", "name")}
        # The history library: a churned or stopped customer is filed with its reason.
        self.churn_reasons: dict[str, int] = {}
        for pk, code, name in ChurnReason.objects.filter(is_active=True).values_list(
            "pk", "code", "name"
        ):
            self.churn_reasons[header_key(code)] = pk
            self.churn_reasons.setdefault(header_key(name), pk)
        self.kinds = _choice_index(Customer.Kind.choices)
        self.sources = _choice_index(Customer.Source.choices)
        self.lifecycles = _choice_index(Customer.Lifecycle.choices)
        self.classes = _choice_index(
            Customer.AccountClass.choices,
            {"无": "none", "否": "none", "普通": "ordinary", "重要": "important"},
        )
        self.protection = dt.timedelta(days=pool_policy_get().protection_days)

    # -- validation, row by row

    def parse(self, number: int, cells: list[str]) -> tuple[_CustomerRow | None, list]:
        run = self.run
        value = partial(run.value, cells)
        problems: list[tuple[str, str, str]] = []
        given = {name for name in run.columns if value(name)}

        def check(name: str, reason: str | None) -> None:
            if reason:
                problems.append((name, value(name), reason))

        name = value("name")
        if not name:
            problems.append(("name", "", _("This field is required.")))
        check("name", _too_long(name, Customer, "name"))
        kind = Customer.Kind.COMPANY
        if value("kind"):
            kind = _choice(self.kinds, value("kind")) or ""
            if not kind:
                check(
                    "kind",
                    _("Not one of the choices: %(choices)s.")
                    % {"choices": _labels(Customer.Kind.choices)},
                )
        short_name = value("short_name")
        check("short_name", _too_long(short_name, Customer, "short_name"))
        credit_code = ""
        if value("credit_code"):
            if kind == Customer.Kind.INDIVIDUAL:
                check("credit_code", _("An individual has no unified social credit code."))
            else:
                try:
                    credit_code = credit_code_clean(value("credit_code"))
                except ValidationError as error:
                    check("credit_code", str(error.messages[0]))
        industry_id = None
        if value("industry"):
            industry_id = self.industries.get(header_key(value("industry")))
            if industry_id is None:
                check(
                    "industry",
                    _("%(code)s is not an industry in the list.") % {"code": value("industry")},
                )
        regions, region_problems = self.regions.resolve(
            province=value("province"),
            city=value("city"),
            district=value("district"),
            region_code=value("region_code"),
        )
        problems.extend(region_problems)
        address = value("address")
        check("address", _too_long(address, Customer, "address"))
        website = value("website")
        if website:
            if "://" not in website:
                website = f"https://{website}"
            try:
                _URL(website)
            except ValidationError:
                check("website", _("Enter a valid URL."))
            check("website", _too_long(website, Customer, "website"))
        choices = {}
        for field_name, index, default in (
            ("source", self.sources, Customer.Source.OTHER),
            ("lifecycle", self.lifecycles, Customer.Lifecycle.POTENTIAL),
            ("account_class", self.classes, Customer.AccountClass.NONE),
        ):
            choices[field_name] = default
            if value(field_name):
                found = _choice(index, value(field_name))
                if found is None:
                    model_field = Customer._meta.get_field(field_name)
                    check(
                        field_name,
                        _("Not one of the choices: %(choices)s.")
                        % {"choices": _labels(model_field.choices)},
                    )
                else:
                    choices[field_name] = found
        source_note = value("source_note")
        check("source_note", _too_long(source_note, Customer, "source_note"))
        owner, reason = self.owners.resolve(value("owner"))
        check("owner", reason)
        first_contact_date = None
        if value("first_contact_date"):
            first_contact_date = _date(value("first_contact_date"))
            if first_contact_date is None:
                check("first_contact_date", _("Enter a date such as 2026-03-31."))
        tags: list[int] = []
        for tag_name in _LIST_SEPARATORS.split(value("tags")):
            if tag_name.strip():
                tag_id = self.tags.get(header_key(tag_name))
                if tag_id is None:
                    check(
                        "tags",
                        _("%(name)s is not a tag; an administrator or manager can add it.")
                        % {"name": tag_name.strip()},
                    )
                elif tag_id not in tags:
                    tags.append(tag_id)
        history = self._history(value, choices["lifecycle"], problems)
        contact = self._contact(value, problems)
        if problems:
            return None, problems
        owner_id, department_id = owner or (None, None)
        stored_key = customer_name_key(name=name, kind=kind)
        fields = {
            "kind": kind,
            "name": name,
            "short_name": short_name,
            "credit_code": credit_code,
            "industry_id": industry_id,
            **regions,
            "address": address,
            "website": website,
            "source_note": source_note,
            "first_contact_date": first_contact_date,
            "first_needs": value("first_needs"),
            "owner_id": owner_id,
            "department_id": department_id,
            **choices,
            **history,
        }
        if "province" in given or "city" in given or "district" in given:
            given |= {"province_id", "city_id", "district_id"}
        if "region_code" in given:
            given |= {"province_id", "city_id", "district_id"}
        if "industry" in given:
            given.add("industry_id")
        return (
            _CustomerRow(
                row=number,
                fields=fields,
                tags=tags,
                contact=contact,
                credit_code=credit_code,
                name_key=stored_key if kind != Customer.Kind.INDIVIDUAL else "",
                stored_name_key=stored_key,
                given=given,
            ),
            [],
        )

    def _history(
        self, value: Callable[[str], str], lifecycle: str, problems: list
    ) -> dict[str, Any]:
        """The history library's fields, as customer_create sets them: a churned or stopped
        customer needs its reason; a reason goes with nothing else."""
        reason, note = value("churn_reason"), value("churn_note")
        if lifecycle not in ARCHIVED_LIFECYCLES:
            for name in ("churn_reason", "churn_note"):
                if value(name):
                    problems.append(
                        (name, value(name), _("This goes with a churned or stopped customer only."))
                    )
            return {}
        reason_id = self.churn_reasons.get(header_key(reason)) if reason else None
        if not reason:
            problems.append(("churn_reason", "", _("Choose why the customer churned or stopped.")))
        elif reason_id is None:
            problems.append(("churn_reason", reason, _("Choose a churn reason from the list.")))
        if len(note) > CHURN_NOTE_LIMIT:
            problems.append(
                (
                    "churn_note",
                    note[:50],
                    _("Keep the details under %(limit)s characters.") % {"limit": CHURN_NOTE_LIMIT},
                )
            )
        return {"archived_at": self.run.now, "churn_reason_id": reason_id, "churn_note": note}

    def _contact(self, value: Callable[[str], str], problems: list) -> dict[str, Any] | None:
        names = (
            "contact_name",
            "contact_phone",
            "contact_email",
            "contact_title",
            "contact_wechat",
        )
        if not any(value(name) for name in names):
            return None
        before = len(problems)
        contact_name = value("contact_name")
        if not contact_name:
            problems.append(("contact_name", "", _("Give the contact's name with their details.")))
        for name, model_field in (
            ("contact_name", "name"),
            ("contact_title", "title"),
            ("contact_wechat", "wechat"),
        ):
            reason = _too_long(value(name), Contact, model_field) or (
                _masked(value(name)) if name == "contact_wechat" else None
            )
            if reason:
                problems.append((name, value(name), reason))
        phones, reason = _phones(value("contact_phone"))
        if reason:
            problems.append(("contact_phone", value("contact_phone"), reason))
        reason = _email(value("contact_email"))
        if reason:
            problems.append(("contact_email", value("contact_email"), reason))
        if len(problems) > before:
            return None
        return {
            "name": contact_name,
            "title": value("contact_title"),
            "phones": phones,
            "email": value("contact_email"),
            "wechat": value("contact_wechat"),
        }

    # -- a batch: lookups, duplicates, writes

    def prepare(self, rows: list[tuple[int, list[str]]]) -> list[Any]:
        """Each row parsed and validated, with the keys a write needs; no database. Runs in a
        worker process for large files: the result goes back pickled."""
        prepared: list[Any] = []
        writing = self.run.writing
        for number, cells in rows:
            row, problems = self.parse(number, cells)
            if row is None:
                prepared.append((number, problems))
                continue
            if writing:
                contacts = [(row.contact["name"], row.contact["phones"])] if row.contact else []
                row.search_key = self._search_key(row.fields, contacts)
                if row.contact:
                    row.contact["search_key"] = contact_search_document(
                        name=row.contact["name"],
                        phones=row.contact["phones"],
                        email=row.contact["email"],
                        wechat=row.contact["wechat"],
                    )
            prepared.append(row)
        return prepared

    def batch(self, prepared: list[Any]) -> None:
        run = self.run
        parsed: list[_CustomerRow] = []
        for row in prepared:
            if isinstance(row, tuple):
                run.row_failed(*row)
            else:
                parsed.append(row)
        matches = self._existing(parsed)
        likely = self._likely(parsed, matches)
        creates: list[_CustomerRow] = []
        updates: list[tuple[_CustomerRow, dict[str, Any]]] = []
        for row in parsed:
            decision = self._decide(row, matches, likely.get(row.row))
            if decision == "create":
                creates.append(row)
            elif isinstance(decision, dict):
                updates.append((row, decision))
        if updates:
            self._update(updates)
        if creates:
            self._create(creates)

    _COLUMNS = (
        "pk",
        "name",
        "credit_code",
        "name_key",
        "owner_id",
        "owner__full_name",
        "owner__username",
        "kind",
    )

    def _scoped(self, found: dict[int, dict[str, Any]]) -> None:
        """Mark each customer found ``visible`` (in the actor's data scope) and ``writable`` (as
        customer_can_write decides): one query."""
        if self.actor is None:
            visible = set(found)
        else:
            visible = set(
                customer_visible_queryset(actor=self.actor)
                .filter(pk__in=list(found))
                .values_list("pk", flat=True)
            )
        for pk, values in found.items():
            values["visible"] = pk in visible
            values["writable"] = pk in visible and (
                self.actor is None
                or values["owner_id"] == self.actor.pk
                or customer_manages(self.actor)
            )

    def _existing(self, rows: list[_CustomerRow]) -> dict[tuple[str, str], dict[str, Any]]:
        """Live customers with a credit code or a name key of the batch: one query each, and one
        for which of them the actor may see."""
        codes = {row.credit_code for row in rows if row.credit_code}
        keys = {row.name_key for row in rows if row.name_key}
        found: dict[int, dict[str, Any]] = {}
        if codes:
            for values in Customer.objects.filter(credit_code__in=codes).values(*self._COLUMNS):
                found[values["pk"]] = values
        if keys:
            for values in (
                Customer.objects.filter(name_key__in=keys)
                .exclude(kind=Customer.Kind.INDIVIDUAL)
                .values(*self._COLUMNS)
            ):
                found[values["pk"]] = values
        if not found:
            return {}
        self._scoped(found)
        matches: dict[tuple[str, str], dict[str, Any]] = {}
        for pk in sorted(found):
            values = found[pk]
            if values["credit_code"] in codes:
                matches.setdefault(("code", values["credit_code"]), values)
            if values["name_key"] in keys and values["kind"] != Customer.Kind.INDIVIDUAL:
                matches.setdefault(("key", values["name_key"]), values)
        return matches

    def _likely(
        self, rows: list[_CustomerRow], matches: dict[tuple[str, str], dict[str, Any]]
    ) -> dict[int, tuple[dict[str, Any], list[str]]]:
        """{row: (customer, reasons)} for the rows that neither their credit code nor their name
        key matched, but whose contact has the phone number or e-mail address of a filed
        customer's contact: the duplicate check's other two rules (customers.selectors,
        DUPLICATE_REASONS). One indexed query per batch (contact_holders). Not under the policy
        "create", which files likely duplicates anyway, as "File it anyway" does."""
        if self.run.policy == Policy.CREATE:
            return {}
        wanted: dict[int, tuple[list[str], str]] = {}
        for row in rows:
            keys = [key for key in (("code", row.credit_code), ("key", row.name_key)) if key[1]]
            if row.contact is None or any(key in matches for key in keys):
                continue
            phones = [entry["number"] for entry in row.contact["phones"]]
            email = row.contact["email"].casefold()
            if phones or email:
                wanted[row.row] = (phones, email)
        if not wanted:
            return {}
        phone_holders, email_holders = contact_holders(
            phones={number for phones, _email in wanted.values() for number in phones},
            emails={email for _phones, email in wanted.values() if email},
            flush_pending=self.run.may_write,
        )
        ids = set().union(*phone_holders.values(), *email_holders.values())
        ids -= self.run.created_customers
        if not ids:
            return {}
        found = {
            values["pk"]: values
            for values in Customer.objects.filter(pk__in=ids).values(*self._COLUMNS)
        }
        if not found:
            return {}
        self._scoped(found)
        likely: dict[int, tuple[dict[str, Any], list[str]]] = {}
        for number, (phones, email) in wanted.items():
            reasons: dict[int, list[str]] = {}
            for phone in phones:
                for pk in phone_holders.get(phone, ()):
                    if pk in found and "phone" not in reasons.setdefault(pk, []):
                        reasons[pk].append("phone")
            for pk in email_holders.get(email, ()) if email else ():
                if pk in found:
                    reasons.setdefault(pk, []).append("email")
            if reasons:
                # The customer matching on most counts, the oldest of equals.
                pk = min(reasons, key=lambda key: (-len(reasons[key]), key))
                likely[number] = (found[pk], reasons[pk])
        return likely

    def _likely_skip(self, row: _CustomerRow, match: dict[str, Any], reasons: list[str]) -> None:
        """Skip a row that only looks like a filed customer. The report says whose it is as the
        duplicate check tells it: a customer the importer may not see by its holder alone."""
        assert row.contact is not None  # only rows with a contact match this way
        if "phone" in reasons:
            column = "contact_phone"
            cell = ", ".join(entry["number"] for entry in row.contact["phones"])
        else:
            column, cell = "contact_email", row.contact["email"]
        values = {
            "holder": self._holder(match),
            "reasons": " / ".join(str(DUPLICATE_REASONS[code]) for code in reasons),
            "name": match["name"],
        }
        if self.run.policy == Policy.UPDATE:
            message = _LIKELY_NOT_UPDATED if match["visible"] else _LIKELY_NOT_UPDATED_HIDDEN
        else:
            message = _SKIP_LIKELY if match["visible"] else _SKIP_LIKELY_HIDDEN
        self.run.row_skipped(row.row, column, cell, message % values)

    def _holder(self, match: dict[str, Any]) -> str:
        if match["owner_id"] is None:
            return _("In the pool")
        owner = match["owner__full_name"] or match["owner__username"]
        return _("Owned by %(owner)s") % {"owner": owner}

    def _decide(
        self,
        row: _CustomerRow,
        matches: dict,
        likely: tuple[dict[str, Any], list[str]] | None,
    ) -> str | dict[str, Any] | None:
        """ "create", the match to update, or None (skipped or failed, reported here). A match is
        the same credit code or the same name key, earlier in the file or in the database. An
        equal credit code is never filed twice, as in customer_create; an equal name key is,
        under the policy "create". A row without such a match that the duplicate check finds
        ``likely`` a filed customer is skipped, unless the policy is "create"."""
        run = self.run
        keys = [key for key in (("code", row.credit_code), ("key", row.name_key)) if key[1]]
        column, cell = ("credit_code", row.credit_code) if row.credit_code else ("name", "")
        cell = cell or row.fields["name"]
        earlier = next((run.seen[key] for key in keys if key in run.seen), None)
        match = next((matches[key] for key in keys if key in matches), None)
        code_key = ("code", row.credit_code)
        same_code = bool(row.credit_code) and (code_key in run.seen or code_key in matches)
        if run.policy == Policy.CREATE and not same_code:
            self._seen(row)
            return "create"
        if earlier is not None:
            if run.policy == Policy.CREATE:
                run.row_failed(row.row, [(column, cell, _IN_FILE_CODE % {"row": earlier})])
            else:
                run.row_skipped(row.row, column, cell, _IN_FILE_SAME % {"row": earlier})
            return None
        if match is None:
            self._seen(row)
            if likely is not None:
                self._likely_skip(row, *likely)
                return None
            return "create"
        holder = self._holder(match)
        if run.policy == Policy.SKIP:
            if match["visible"]:
                reason = _SKIP_FILED % {"name": match["name"], "holder": holder}
            else:
                reason = _SKIP_FILED_HIDDEN % {"holder": holder}
            run.row_skipped(row.row, column, cell, reason)
            self._seen(row)
            return None
        if run.policy == Policy.CREATE:
            run.row_failed(row.row, [(column, cell, _CODE_TAKEN % {"holder": holder})])
            return None
        if not match["writable"]:
            run.row_failed(row.row, [(column, cell, _NOT_YOURS % {"holder": holder})])
            return None
        self._seen(row)
        return match

    def _seen(self, row: _CustomerRow) -> None:
        if row.credit_code:
            self.run.seen.setdefault(("code", row.credit_code), row.row)
        if row.name_key:
            self.run.seen.setdefault(("key", row.name_key), row.row)

    def _search_key(self, fields: dict[str, Any], contacts: list[tuple[str, Any]]) -> str:
        return customer_search_document(
            kind=fields["kind"],
            name=fields["name"],
            short_name=fields["short_name"],
            credit_code=fields["credit_code"],
            contacts=contacts,
        )

    def _create(self, rows: list[_CustomerRow]) -> None:
        run = self.run
        run.added += len(rows)
        if not run.may_write:
            return
        now = run.now
        actor_id = self.actor.pk if self.actor is not None else None
        customers = []
        for row in rows:
            fields = row.fields
            owned = fields["owner_id"] is not None
            contacts = [(row.contact["name"], row.contact["phones"])] if row.contact else []
            customers.append(
                Customer(
                    **fields,
                    search_key=row.search_key or self._search_key(fields, contacts),
                    name_key=row.stored_name_key,
                    claimed_at=now if owned else None,
                    protected_until=now + self.protection if owned else None,
                    last_activity_at=now,
                    created_at=now,
                    updated_at=now,
                    created_by_id=actor_id,
                    updated_by_id=actor_id,
                )
            )
        instances_insert(Customer, customers, batch_size=BATCH_ROWS)
        run.note_created("customers.customer", (customer.pk for customer in customers))
        contacts = [
            _contact_instance(row.contact, customer.pk, now=now, actor_id=actor_id)
            for row, customer in zip(rows, customers, strict=True)
            if row.contact
        ]
        if contacts:
            instances_insert(Contact, contacts, batch_size=BATCH_ROWS)
            run.note_created("customers.contact", (contact.pk for contact in contacts))
        links = [
            Customer.tags.through(customer_id=customer.pk, tag_id=tag_id)
            for row, customer in zip(rows, customers, strict=True)
            for tag_id in row.tags
        ]
        if links:
            instances_insert(Customer.tags.through, links, batch_size=BATCH_ROWS)

    def _update(self, updates: list[tuple[_CustomerRow, dict[str, Any]]]) -> None:
        run = self.run
        ids = [match["pk"] for _row, match in updates]
        current = Customer.objects.all()
        if run.may_write:
            current = current.select_for_update()
        customers = current.in_bulk(ids)
        contacts: dict[int, list[tuple[str, Any]]] = {}
        for customer_id, name, phones in Contact.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "name", "phones"
        ):
            contacts.setdefault(customer_id, []).append((name, phones))
        changed: list[Customer] = []
        new_contacts: list[Contact] = []
        links: list[Any] = []
        changes: list[ImportChange] = []
        names: set[str] = set()
        existing_tags: dict[int, set[int]] = {}
        for customer_id, tag_id in Customer.tags.through.objects.filter(
            customer_id__in=ids
        ).values_list("customer_id", "tag_id"):
            existing_tags.setdefault(customer_id, set()).add(tag_id)
        actor_id = self.actor.pk if self.actor is not None else None
        for row, match in updates:
            customer = customers.get(match["pk"])
            if customer is None:  # deleted since the lookup
                run.row_skipped(
                    row.row,
                    "name",
                    row.fields["name"],
                    _("Skipped: the customer was deleted meanwhile."),
                )
                continue
            moving = "lifecycle" in row.given and (
                (row.fields["lifecycle"] in ARCHIVED_LIFECYCLES)
                != (customer.lifecycle in ARCHIVED_LIFECYCLES)
            )
            if moving:
                run.row_failed(
                    row.row, [("lifecycle", row.fields["lifecycle"], str(_HISTORY_MOVE))]
                )
                continue
            before: dict[str, Any] = {}
            for name in _CUSTOMER_UPDATABLE:
                if name not in row.given and not (name == "credit_code" and row.credit_code):
                    continue
                new = row.fields[name]
                if name == "credit_code" and (customer.credit_code or not new):
                    continue
                old = getattr(customer, name)
                if new != old:
                    before[name] = old.isoformat() if isinstance(old, dt.date) else old
                    setattr(customer, name, new)
            tags = [tag for tag in row.tags if tag not in existing_tags.get(customer.pk, set())]
            contact = None
            if row.contact and all(
                existing != row.contact["name"]
                for existing, _phones in contacts.get(customer.pk, [])
            ):
                contact = row.contact
            if not before and not tags and contact is None:
                run.row_skipped(
                    row.row, "name", row.fields["name"], _("Skipped: nothing to change.")
                )
                continue
            run.updated += 1
            if not run.may_write:
                continue
            if before or tags:
                # Tags added are a change of the customer, as customer_tags_set makes them: a
                # new version, and undo takes them off again.
                names |= set(before)
                customer.version += 1
                customer.updated_at = run.now
                customer.updated_by_id = actor_id
                customer.last_activity_at = run.now
                changes.append(
                    ImportChange(
                        job=run.job,
                        model="customers.customer",
                        object_id=customer.pk,
                        before={**before, TAGS_ADDED: tags} if tags else before,
                        version_after=customer.version,
                    )
                )
            if contact is not None:
                new_contacts.append(
                    _contact_instance(contact, customer.pk, now=run.now, actor_id=actor_id)
                )
                contacts.setdefault(customer.pk, []).append((contact["name"], contact["phones"]))
            if before or tags or contact is not None:
                customer.search_key = self._search_key(
                    {name: getattr(customer, name) for name in _KEY_FIELDS},
                    contacts.get(customer.pk, []),
                )
                changed.append(customer)
            links += [Customer.tags.through(customer_id=customer.pk, tag_id=tag) for tag in tags]
        if not run.may_write:
            return
        if changed:
            fields = sorted(
                names | {"version", "updated_at", "updated_by_id", "last_activity_at", "search_key"}
            )
            fields = [name.removesuffix("_id") if name.endswith("_id") else name for name in fields]
            Customer.objects.bulk_update(changed, fields, batch_size=BATCH_ROWS)
        if changes:
            ImportChange.objects.bulk_create(changes, batch_size=BATCH_ROWS)
        if new_contacts:
            instances_insert(Contact, new_contacts, batch_size=BATCH_ROWS)
            run.note_created("customers.contact", (item.pk for item in new_contacts))
        if links:
            Customer.tags.through.objects.bulk_create(
                links, batch_size=BATCH_ROWS, ignore_conflicts=True
            )


def _labels(choices: Iterable[tuple[Any, Any]]) -> str:
    return "、".join(str(label) for value, label in choices if value != "")


def _contact_instance(
    values: dict[str, Any], customer_id: int, *, now: dt.datetime, actor_id: int | None
) -> Contact:
    contact = Contact(
        customer_id=customer_id,
        name=values["name"],
        title=values.get("title", ""),
        decision_role=values.get("decision_role") or Contact.DecisionRole.OTHER,
        phones=values["phones"],
        email=values.get("email", ""),
        wechat=values.get("wechat", ""),
        address=values.get("address", ""),
        birthday=values.get("birthday"),
        preferred_channel=values.get("preferred_channel", ""),
        legal_basis=values.get("legal_basis") or Contact.LegalBasis.CONSENT,
        consent_note=values.get("consent_note", ""),
        created_at=now,
        updated_at=now,
        created_by_id=actor_id,
        updated_by_id=actor_id,
    )
    contact.search_key = values.get("search_key") or contact_search_document(
        name=contact.name, phones=contact.phones, email=contact.email, wechat=contact.wechat
    )
    return contact


# --- contacts -----------------------------------------------------------------------------------


class ContactRows:
    """Validates and writes contact rows; each names its customer by credit code or name, which
    the actor must be able to change."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.actor = run.actor
        self.roles = _choice_index(Contact.DecisionRole.choices)
        self.channels = _choice_index(Contact.Channel.choices)
        self.bases = _choice_index(Contact.LegalBasis.choices)

    def parse(self, number: int, cells: list[str]) -> tuple[dict[str, Any] | None, list]:
        run = self.run
        value = partial(run.value, cells)
        problems: list[tuple[str, str, str]] = []
        name = value("name")
        if not name:
            problems.append(("name", "", _("This field is required.")))
        code = ""
        if value("customer_credit_code"):
            try:
                code = credit_code_clean(value("customer_credit_code"))
            except ValidationError as error:
                problems.append(
                    ("customer_credit_code", value("customer_credit_code"), str(error.messages[0]))
                )
        elif not value("customer_name"):
            problems.append(
                ("customer_name", "", _("Name the customer by its credit code or its name."))
            )
        values: dict[str, Any] = {"name": name}
        for field_name, model_field in (
            ("name", "name"),
            ("title", "title"),
            ("wechat", "wechat"),
            ("address", "address"),
            ("consent_note", "consent_note"),
        ):
            values[field_name] = value(field_name)
            reason = _too_long(value(field_name), Contact, model_field)
            if field_name == "wechat":
                reason = reason or _masked(value(field_name))
            if reason:
                problems.append((field_name, value(field_name), reason))
        phones: list[dict[str, str]] = []
        for field_name, label in (
            ("phone", Contact.PhoneLabel.MOBILE),
            ("work_phone", Contact.PhoneLabel.WORK),
        ):
            found, reason = _phones(value(field_name))
            if reason:
                problems.append((field_name, value(field_name), reason))
            for entry in found:
                if all(existing["number"] != entry["number"] for existing in phones):
                    phones.append({"number": entry["number"], "label": label})
        values["phones"] = phones
        reason = _email(value("email"))
        if reason:
            problems.append(("email", value("email"), reason))
        values["email"] = value("email")
        for field_name, index in (
            ("decision_role", self.roles),
            ("preferred_channel", self.channels),
            ("legal_basis", self.bases),
        ):
            values[field_name] = ""
            if value(field_name):
                found_choice = _choice(index, value(field_name))
                if found_choice is None:
                    choices = Contact._meta.get_field(field_name).choices
                    problems.append(
                        (
                            field_name,
                            value(field_name),
                            _("Not one of the choices: %(choices)s.")
                            % {"choices": _labels(choices)},
                        )
                    )
                else:
                    values[field_name] = found_choice
        values["birthday"] = None
        if value("birthday"):
            values["birthday"] = _date(value("birthday"))
            if values["birthday"] is None:
                problems.append(
                    ("birthday", value("birthday"), _("Enter a date such as 2026-03-31."))
                )
        if problems:
            return None, problems
        values["row"] = number
        values["customer_credit_code"] = code
        values["customer_name"] = value("customer_name")
        return values, []

    def prepare(self, rows: list[tuple[int, list[str]]]) -> list[Any]:
        prepared: list[Any] = []
        for number, cells in rows:
            values, problems = self.parse(number, cells)
            prepared.append((number, problems) if values is None else values)
        return prepared

    def batch(self, prepared: list[Any]) -> None:
        run = self.run
        parsed: list[dict[str, Any]] = []
        for values in prepared:
            if isinstance(values, tuple):
                run.row_failed(*values)
            else:
                parsed.append(values)
        customers = self._customers(parsed)
        existing: dict[tuple[int, str], int] = {}
        ids = {customer["pk"] for customer in customers.values() if customer}
        for pk, customer_id, name in Contact.objects.filter(customer_id__in=ids).values_list(
            "pk", "customer_id", "name"
        ):
            existing.setdefault((customer_id, name), pk)
        creates: list[tuple[dict[str, Any], int]] = []
        updates: list[tuple[dict[str, Any], int]] = []
        for values in parsed:
            key = (
                ("code", values["customer_credit_code"])
                if values["customer_credit_code"]
                else ("name", values["customer_name"])
            )
            column = "customer_credit_code" if key[0] == "code" else "customer_name"
            customer = customers.get(key)
            if customer is None:
                run.row_failed(
                    values["row"],
                    [(column, key[1], _("No customer you can see has this credit code or name."))],
                )
                continue
            if customer == "ambiguous":
                run.row_failed(
                    values["row"],
                    [
                        (
                            column,
                            key[1],
                            str(_AMBIGUOUS_CUSTOMER),
                        )
                    ],
                )
                continue
            if not customer["writable"]:
                run.row_failed(
                    values["row"],
                    [(column, key[1], _("You may not change this customer's contacts."))],
                )
                continue
            contact_key = (customer["pk"], values["name"])
            earlier = run.seen.get(("contact", contact_key))
            if earlier and run.policy != Policy.CREATE:
                run.row_skipped(
                    values["row"],
                    "name",
                    values["name"],
                    _("Skipped: the same contact as row %(row)s.") % {"row": earlier},
                )
                continue
            run.seen.setdefault(("contact", contact_key), values["row"])
            match = existing.get(contact_key)
            if match and run.policy == Policy.SKIP:
                run.row_skipped(
                    values["row"],
                    "name",
                    values["name"],
                    _("Skipped: this customer already has a contact of this name."),
                )
                continue
            if match and run.policy == Policy.UPDATE:
                updates.append((values, match))
            else:
                creates.append((values, customer["pk"]))
        touched: set[int] = set()
        if updates:
            touched |= self._update(updates)
        if creates:
            run.added += len(creates)
            if run.may_write:
                actor_id = self.actor.pk if self.actor is not None else None
                contacts = [
                    _contact_instance(values, customer_id, now=run.now, actor_id=actor_id)
                    for values, customer_id in creates
                ]
                instances_insert(Contact, contacts, batch_size=BATCH_ROWS)
                run.note_created("customers.contact", (contact.pk for contact in contacts))
                touched |= {customer_id for _values, customer_id in creates}
        if touched and run.may_write:
            _search_keys_refresh(touched)

    def _customers(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        """The customers the rows name, among those the actor sees: one query for the credit
        codes, one for the names; a name two customers share is "ambiguous"."""
        codes = {row["customer_credit_code"] for row in rows if row["customer_credit_code"]}
        names = {row["customer_name"] for row in rows if not row["customer_credit_code"]}
        visible = (
            Customer.objects.all()
            if self.actor is None
            else customer_visible_queryset(actor=self.actor)
        )
        columns = ("pk", "credit_code", "name", "owner_id")
        found: dict[tuple[str, str], Any] = {}
        if codes:
            for pk, code, _name, owner_id in visible.filter(credit_code__in=codes).values_list(
                *columns
            ):
                found.setdefault(("code", code), self._entry(pk, owner_id))
        if names:
            for pk, _code, name, owner_id in visible.filter(name__in=names).values_list(*columns):
                key = ("name", name)
                found[key] = "ambiguous" if key in found else self._entry(pk, owner_id)
        return found

    def _entry(self, pk: int, owner_id: int | None) -> dict[str, Any]:
        writable = self.actor is None or owner_id == self.actor.pk or customer_manages(self.actor)
        return {"pk": pk, "writable": writable}

    def _update(self, updates: list[tuple[dict[str, Any], int]]) -> set[int]:
        run = self.run
        current = Contact.objects.all()
        if run.may_write:
            current = current.select_for_update()
        contacts = current.in_bulk([pk for _values, pk in updates])
        changed: list[Contact] = []
        changes: list[ImportChange] = []
        names: set[str] = set()
        for values, pk in updates:
            contact = contacts.get(pk)
            if contact is None:
                run.row_skipped(
                    values["row"],
                    "name",
                    values["name"],
                    _("Skipped: the contact was deleted meanwhile."),
                )
                continue
            before: dict[str, Any] = {}
            for name in (
                "title",
                "decision_role",
                "email",
                "wechat",
                "address",
                "birthday",
                "preferred_channel",
                "legal_basis",
                "consent_note",
            ):
                new = values.get(name)
                if new in ("", None) or new == getattr(contact, name):
                    continue
                old = getattr(contact, name)
                before[name] = old.isoformat() if isinstance(old, dt.date) else old
                setattr(contact, name, new)
            added_phones = [
                phone
                for phone in values["phones"]
                if all(
                    phone["number"] != existing.get("number") for existing in contact.phones or []
                )
            ]
            if added_phones:
                before["phones"] = contact.phones
                contact.phones = [*(contact.phones or []), *added_phones]
            if not before:
                run.row_skipped(
                    values["row"], "name", values["name"], _("Skipped: nothing to change.")
                )
                continue
            run.updated += 1
            names |= set(before)
            contact.version += 1
            contact.updated_at = run.now
            contact.updated_by_id = self.actor.pk if self.actor is not None else None
            contact.search_key = contact_search_document(
                name=contact.name, phones=contact.phones, email=contact.email, wechat=contact.wechat
            )
            changed.append(contact)
            changes.append(
                ImportChange(
                    job=run.job,
                    model="customers.contact",
                    object_id=contact.pk,
                    before=before,
                    version_after=contact.version,
                )
            )
        if not run.may_write or not changed:
            return set()
        Contact.objects.bulk_update(
            changed,
            sorted(names | {"version", "updated_at", "updated_by", "search_key"}),
            batch_size=BATCH_ROWS,
        )
        ImportChange.objects.bulk_create(changes, batch_size=BATCH_ROWS)
        return {contact.customer_id for contact in changed}


# --- the registry -------------------------------------------------------------------------------

_CUSTOMER_FIELDS = (
    ImportField(
        "name",
        gettext_lazy("Customer name"),
        required=True,
        synonyms=(
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "名称",
            "company",
            "company name",
            "customer",
        ),
    ),
    ImportField(
        "short_name", gettext_lazy("Short name"), synonyms=("简称", "客户简称", "short name")
    ),
    ImportField(
        "kind",
        gettext_lazy("Kind"),
        synonyms=("客户性质", "性质", "主体类型", "类别"),
        help=gettext_lazy("Company, government body or individual."),
    ),
    ImportField(
        "credit_code",
        gettext_lazy("Unified social credit code"),
        synonyms=("统一社会信用代码", "信用代码", "社会信用代码", "credit code", "uscc"),
        help=gettext_lazy("18 characters, check digit included."),
    ),
    ImportField(
        "industry",
        gettext_lazy("Industry"),
        synonyms=("行业", "所属行业", "industry"),
        help=gettext_lazy("The code (A–T) or the name of the industry."),
    ),
    ImportField(
        "province", gettext_lazy("Province"), synonyms=("省", "省份", "省/直辖市", "province")
    ),
    ImportField("city", gettext_lazy("City"), synonyms=("城市", "市", "地市", "city")),
    ImportField(
        "district",
        gettext_lazy("District or county"),
        synonyms=("区县", "区/县", "区", "县", "district", "county"),
    ),
    ImportField(
        "region_code",
        gettext_lazy("Region code"),
        synonyms=("地区代码", "行政区划代码", "区划代码", "region code"),
        help=gettext_lazy("Six digits of the national code table, instead of the names."),
    ),
    ImportField(
        "address", gettext_lazy("Address"), synonyms=("地址", "详细地址", "办公地址", "address")
    ),
    ImportField("website", gettext_lazy("Website"), synonyms=("网站", "网址", "官网", "website")),
    ImportField(
        "source",
        gettext_lazy("Source"),
        synonyms=("来源", "客户来源", "来源渠道", "source"),
        help=gettext_lazy(
            "Website form, trade show registration, sales meeting, third-party referral or other."
        ),
    ),
    ImportField(
        "source_note", gettext_lazy("Source note"), synonyms=("来源说明", "来源备注", "source note")
    ),
    ImportField(
        "lifecycle",
        gettext_lazy("Lifecycle"),
        synonyms=("客户类型", "客户阶段", "生命周期", "阶段", "lifecycle", "stage"),
        help=gettext_lazy("Potential, intent, closed deal, strategic or churned."),
    ),
    ImportField(
        "churn_reason",
        gettext_lazy("Churn reason"),
        synonyms=("流失原因", "停止合作原因", "churn reason"),
        help=gettext_lazy("Required for a churned or stopped customer: a reason from the list."),
    ),
    ImportField(
        "churn_note", gettext_lazy("Churn details"), synonyms=("流失说明", "churn details")
    ),
    ImportField(
        "account_class",
        gettext_lazy("Key-account class"),
        synonyms=("大客户等级", "大客户类别", "key account class"),
    ),
    ImportField(
        "owner",
        gettext_lazy("Owner"),
        synonyms=("负责人", "所属销售", "归属销售", "销售", "owner"),
        help=gettext_lazy("User name or full name; 公海 for the pool; blank for yourself."),
    ),
    ImportField(
        "first_contact_date",
        gettext_lazy("First contact date"),
        synonyms=("首次接触日期", "首次联系日期", "首次接触", "first contact"),
        help=gettext_lazy("A date such as 2026-03-31."),
    ),
    ImportField(
        "first_needs",
        gettext_lazy("First needs"),
        synonyms=("初步需求", "首次需求", "需求", "first needs"),
    ),
    ImportField(
        "tags",
        gettext_lazy("Tags"),
        synonyms=("标签", "tags"),
        help=gettext_lazy("Existing tag names, separated by 、 or commas."),
    ),
    ImportField(
        "contact_name",
        gettext_lazy("Contact name"),
        synonyms=("联系人", "联系人姓名", "姓名", "contact", "contact name"),
    ),
    ImportField(
        "contact_phone",
        gettext_lazy("Contact phone"),
        synonyms=(
            "手机",
            "电话",
            "联系电话",
            "手机号",
            "手机号码",
            "联系人电话",
            "phone",
            "mobile",
        ),
    ),
    ImportField(
        "contact_email",
        gettext_lazy("Contact e-mail"),
        synonyms=("邮箱", "电子邮箱", "email", "e-mail", "mail"),
    ),
    ImportField("contact_title", gettext_lazy("Contact title"), synonyms=("职务", "职位", "title")),
    ImportField(
        "contact_wechat", gettext_lazy("Contact WeChat ID"), synonyms=("微信", "微信号", "wechat")
    ),
)

_CONTACT_FIELDS = (
    ImportField(
        "customer_credit_code",
        gettext_lazy("Customer's credit code"),
        synonyms=("统一社会信用代码", "信用代码", "客户信用代码", "credit code"),
    ),
    ImportField(
        "customer_name",
        gettext_lazy("Customer name"),
        synonyms=("客户名称", "公司名称", "企业名称", "客户", "公司", "company", "customer"),
    ),
    ImportField(
        "name",
        gettext_lazy("Contact name"),
        required=True,
        synonyms=("联系人", "姓名", "联系人姓名", "name", "contact"),
    ),
    ImportField("title", gettext_lazy("Title"), synonyms=("职务", "职位", "title")),
    ImportField(
        "decision_role",
        gettext_lazy("Decision role"),
        synonyms=("角色", "决策角色", "decision role", "role"),
        help=gettext_lazy("Decision maker, influencer, end user or other."),
    ),
    ImportField(
        "phone",
        gettext_lazy("Mobile phone"),
        synonyms=("手机", "电话", "联系电话", "手机号", "手机号码", "phone", "mobile"),
    ),
    ImportField(
        "work_phone",
        gettext_lazy("Work phone"),
        synonyms=("办公电话", "座机", "固定电话", "work phone"),
    ),
    ImportField("email", gettext_lazy("E-mail"), synonyms=("邮箱", "电子邮箱", "email", "mail")),
    ImportField("wechat", gettext_lazy("WeChat ID"), synonyms=("微信", "微信号", "wechat")),
    ImportField("address", gettext_lazy("Address"), synonyms=("地址", "address")),
    ImportField(
        "birthday",
        gettext_lazy("Birthday"),
        synonyms=("生日", "出生日期", "birthday"),
        help=gettext_lazy("A date such as 2026-03-31."),
    ),
    ImportField(
        "preferred_channel",
        gettext_lazy("Preferred channel"),
        synonyms=("偏好渠道", "首选联系方式", "preferred channel"),
    ),
    ImportField(
        "legal_basis",
        gettext_lazy("Legal basis"),
        synonyms=("法律依据", "合法性基础", "legal basis"),
        help=gettext_lazy("Consent, contract, legitimate interest or other; consent when blank."),
    ),
    ImportField(
        "consent_note", gettext_lazy("Consent record"), synonyms=("同意记录", "授权记录", "consent")
    ),
)

import_kind_register(
    ImportKind(
        name=ImportJob.Kind.CUSTOMERS,
        label=ImportJob.Kind.CUSTOMERS.label,
        fields=_CUSTOMER_FIELDS,
        runner=CustomerRows,
    )
)
import_kind_register(
    ImportKind(
        name=ImportJob.Kind.CONTACTS,
        label=ImportJob.Kind.CONTACTS.label,
        fields=_CONTACT_FIELDS,
        runner=ContactRows,
        required_any=(("customer_credit_code", "customer_name"),),
    )
)


def import_message_counts(job: ImportJob) -> str:
    """The outcome in one sentence, for messages and the command line."""
    return ngettext(
        "%(added)s added, %(updated)s updated, %(skipped)s skipped, %(errors)s row with errors.",
        "%(added)s added, %(updated)s updated, %(skipped)s skipped, %(errors)s rows with errors.",
        job.error_count,
    ) % {
        "added": job.added_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "errors": job.error_count,
    }


def imports_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the stored files of imports older than the undo window (the rows stay, as history).
    Idempotent."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.GUANXI_IMPORT_UNDO_DAYS)
    purged = 0
    for job in ImportJob.objects.filter(created_at__lt=cutoff).exclude(file="").iterator():
        for stored in (job.file, job.error_file):
            if stored:
                default_storage.delete(stored.name)
        purged += ImportJob.objects.filter(pk=job.pk).update(file="", error_file="")
    return purged
