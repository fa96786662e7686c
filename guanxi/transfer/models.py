"""Import and export (C15): the export jobs that run in the background.

An export small enough to download at once leaves only its audit entry; a larger one becomes an
ExportJob that a worker writes to storage and the user downloads from "My exports" until it
expires. Not a domain record: no version, no recycle bin (the audit trail keeps the history).
"""

from __future__ import annotations

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
