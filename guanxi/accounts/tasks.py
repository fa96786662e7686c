from __future__ import annotations

from django_tasks import task

from guanxi.accounts.services import sessions_cleanup


@task()
def sessions_cleanup_task() -> int:
    return sessions_cleanup()
