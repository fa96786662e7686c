"""Import and export (C15): the export jobs that run in the background, and the imports.

An export small enough to download at once leaves only its audit entry; a larger one becomes an
ExportJob that a worker writes to storage and the user downloads from "My exports" until it
expires. Not a domain record: no version, no recycle bin (the audit trail keeps the history).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        VCARD3 = "vcard3", "vCard 3.0"
        VCARD4 = "vcard4", "vCard 4.0"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    # The filters in the list's own query-string form (selectors.export_query): what the worker
    # runs again, and what the audit entry records.
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    # Headers and dates are written in the language of the person who asked, not the worker's.
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), max_length=255, blank=True)
    file_name = models.CharField(_("file name"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="export_job_user"),
            models.Index(fields=["status", "expires_at"], name="export_job_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_format_display()}"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


# A running import reports progress every batch (a second or so); one silent this long is dead.
STALE_AFTER = dt.timedelta(hours=1)


class ImportJob(models.Model):
    """One file imported (or being checked) into customers or contacts: the file, how its
    columns map to fields, the policies, the progress and the outcome; what the import created
    and what it changed, so that it can be undone. Like ExportJob, not a domain record."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        CONTACTS = "contacts", _("Contacts")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Waiting for the column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        CHECKED = "checked", _("Checked")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Not imported")
        FAILED = "failed", _("Failed")
        UNDONE = "undone", _("Undone")

    class DuplicatePolicy(models.TextChoices):
        SKIP = "skip", _("Skip the row")
        UPDATE = "update", _("Update the existing record")
        CREATE = "create", _("Create a new record anyway")

    class ErrorPolicy(models.TextChoices):
        ALL_OR_NOTHING = "all", _("All or nothing: import only if every row is valid")
        SKIP_BAD_ROWS = "skip", _("Skip the rows with errors and import the rest")

    # None: the system (``guanxi import`` without --user).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="import_jobs",
    )
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10)
    file_size = models.PositiveBigIntegerField(_("size"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    # The first row of the file, as read; and {column index (str): field name}.
    headers = models.JSONField(_("columns"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    # The first rows after the header, for the mapping page (the file is not read again).
    sample = models.JSONField(_("first rows"), default=list, blank=True)
    duplicate_policy = models.CharField(
        _("duplicates"),
        max_length=10,
        choices=DuplicatePolicy.choices,
        default=DuplicatePolicy.SKIP,
    )
    error_policy = models.CharField(
        _("rows with errors"),
        max_length=10,
        choices=ErrorPolicy.choices,
        default=ErrorPolicy.ALL_OR_NOTHING,
    )
    dry_run = models.BooleanField(_("dry run"), default=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows (estimated)"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    added_count = models.PositiveIntegerField(_("added"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    # The first errors, for the page: [[row, column, value, reason], ...]; all of them are in
    # error_file.
    error_preview = models.JSONField(_("first errors"), default=list, blank=True)
    error_file = models.FileField(_("error report"), max_length=255, blank=True)
    # What the import created, as id ranges per model ({"customers.customer": [[1, 500]]}):
    # bulk inserts take consecutive ids, so a million rows are a few ranges.
    created = models.JSONField(_("created records"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="import_job_user"),
            models.Index(fields=["status", "finished_at"], name="import_job_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.file_name}"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_stale(self) -> bool:
        """Running, and silent for longer than any batch takes: its process ended (killed, the
        machine restarted). Its transaction died with it, so nothing of it was written."""
        if not self.is_pending or self.heartbeat_at is None:
            return False
        return timezone.now() - self.heartbeat_at > STALE_AFTER

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportChange(models.Model):
    """The values an import overwrote on one existing record (duplicate policy "update"), for
    its undo: the fields before, and the version the import left, so that undo reverts only
    records nobody has changed since."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    model = models.CharField(max_length=100)
    object_id = models.BigIntegerField()
    before = models.JSONField(default=dict)
    version_after = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["job", "model"], name="import_change_job")]

    def __str__(self) -> str:
        return f"{self.model} #{self.object_id}"


class ImportMapping(models.Model):
    """The column mapping a user last confirmed for a kind of import, by normalised header, so
    that the next file with the same headers maps itself."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings"
    )
    kind = models.CharField(max_length=20, choices=ImportJob.Kind.choices)
    mapping = models.JSONField(default=dict)  # {normalised header: field name}
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="import_mapping_user_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.kind}"
