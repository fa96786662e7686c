"""Access helpers for import and export.

Every signed-in user may export what the customer list shows them: the export holds their data
scope and nothing more, with contacts' personal data masked as on screen. An export job and its
file belong to the user who asked for it alone (404 to anyone else, as if it did not exist).
Importing contacts needs write access to the customer (customers.permissions).

A CSV / XLSX import is for whoever may file customers (customers.permissions.customer_can_create:
administrators, sales managers, reps, key-account managers); each row is then held to the rules of
the customer services in the importer's scope. An import job, its file and its error report
belong to the user who uploaded it alone (404 to anyone else).
"""

from __future__ import annotations

from typing import Any

from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.customers.permissions import customer_can_create
from guanxi.transfer.models import ExportJob, ImportJob


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def export_require(actor: Any) -> None:
    if not _active(actor):
        raise PermissionDeniedError()


def export_job_get_for_user(actor: Any, pk: Any) -> ExportJob:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        pk = -1
    job = ExportJob.objects.filter(pk=pk).first() if _active(actor) else None
    if job is None or job.user_id != actor.pk:
        raise NotFoundError()
    return job


def import_can(actor: Any) -> bool:
    return customer_can_create(actor)


def import_require(actor: Any) -> None:
    """None is the system (``guanxi import`` without --user), which may import."""
    if actor is not None and not import_can(actor):
        raise PermissionDeniedError()


def import_job_get_for_user(actor: Any, pk: Any) -> ImportJob:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        pk = -1
    if not 0 < pk < 2**63 or not _active(actor):
        raise NotFoundError()
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None or job.user_id != actor.pk:
        raise NotFoundError()
    return job
