from __future__ import annotations

from django_tasks import task

from guanxi.core.ratelimit import rate_windows_purge
from guanxi.core.services import recycle_bin_purge


@task()
def recycle_bin_purge_task() -> int:
    """Purge what has outlived the recycle-bin window. Idempotent: a rerun finds nothing left."""
    return recycle_bin_purge()


@task()
def rate_windows_purge_task() -> int:
    """Drop rate-limit counters older than any window (the public pages leave one per client
    address). Idempotent."""
    return rate_windows_purge()
