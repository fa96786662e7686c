from __future__ import annotations

from django_tasks import task

from guanxi.service.services import tickets_autoclose, tickets_sla_check


@task()
def tickets_sla_check_task() -> int:
    """Warn assignees of near deadlines and team leads of missed ones. Each warning and breach is
    claimed once per ticket and target, so a second run sends nothing again."""
    counts = tickets_sla_check()
    return counts["warned"] + counts["breached"]


@task()
def tickets_autoclose_task() -> int:
    """Close resolved tickets left unconfirmed past the limit, and confirmed ones."""
    return tickets_autoclose()
