from __future__ import annotations

from django_tasks import task

from guanxi.transfer.import_services import import_job_run, imports_purge
from guanxi.transfer.services import export_job_run, exports_purge


@task()
def export_job_run_task(job_id: int) -> int | None:
    """Write one export job's file. Idempotent: a job already done (or failed) is left alone."""
    return export_job_run(job_id=job_id)


@task()
def exports_purge_task() -> int:
    """Delete the files of expired exports. Idempotent: a rerun finds nothing left."""
    return exports_purge()


@task()
def import_job_run_task(job_id: int) -> None:
    """Run one import (its dry run or its commit). Idempotent: only a queued job runs."""
    import_job_run(job_id=job_id)


@task()
def imports_purge_task() -> int:
    """Delete the stored files of imports past the undo window. Idempotent."""
    return imports_purge()
