"""Periodic jobs: what runs when, as cron expressions (evaluated by cronsim).

``guanxi scheduler`` calls ``schedule_tick`` every few seconds. Each firing is claimed by
inserting a ScheduleSlot row under a unique constraint, so any number of scheduler processes can
run (for availability) and each slot still enqueues its job exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from guanxi.core.models import ScheduleSlot

logger = logging.getLogger(__name__)

# A slot missed by more than this (scheduler down) is skipped rather than fired late.
CATCH_UP = dt.timedelta(hours=1)


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str  # in the deployment's TIME_ZONE
    task: str  # dotted path of a django-tasks Task


SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob("recycle-bin-purge", "15 3 * * *", "guanxi.core.tasks.recycle_bin_purge_task"),
    ScheduledJob("sessions-cleanup", "30 3 * * *", "guanxi.accounts.tasks.sessions_cleanup_task"),
    ScheduledJob("rate-windows-purge", "40 3 * * *", "guanxi.core.tasks.rate_windows_purge_task"),
    ScheduledJob(
        "customers-recycle", "45 2 * * *", "guanxi.customers.tasks.customers_recycle_task"
    ),
    ScheduledJob("exports-purge", "10 5 * * *", "guanxi.transfer.tasks.exports_purge_task"),
    ScheduledJob("imports-purge", "25 5 * * *", "guanxi.transfer.tasks.imports_purge_task"),
    # Every minute: e-mail and robot deliveries due for a retry or deferred by a robot's rate
    # limit (the job only enqueues; each delivery is claimed once however often it is enqueued).
    ScheduledJob(
        "notifications-deliveries-retry",
        "* * * * *",
        "guanxi.notifications.tasks.deliveries_retry_task",
    ),
    # --- verification: every day of a quarter's first week, so that a scheduler that was down on
    # the 1st still makes the quarter's tasks (the job is idempotent per customer and quarter).
    ScheduledJob(
        "verification-tasks",
        "20 1 1-7 1,4,7,10 *",
        "guanxi.customers.tasks.verification_tasks_create_task",
    ),
    # --- engagement: the night's follow-up tasks (policies, plans, greetings), the morning
    # digest, then overdue notices and escalation to managers. Each is idempotent, and the
    # generation runs again at noon for customers filed or reclassified in the morning.
    ScheduledJob(
        "followups-generate",
        "40 0,12 * * *",
        "guanxi.engagement.tasks.followups_generate_task",
    ),
    ScheduledJob(
        "followups-digest", "0 8 * * *", "guanxi.engagement.tasks.followups_notify_due_task"
    ),
    ScheduledJob(
        "followups-escalate", "30 9 * * *", "guanxi.engagement.tasks.followups_escalate_task"
    ),
    # --- service desk: SLA warnings and breaches every five minutes (each claimed once per
    # ticket and target), and the close of resolved tickets nobody confirmed in time.
    ScheduledJob("tickets-sla-check", "*/5 * * * *", "guanxi.service.tasks.tickets_sla_check_task"),
    ScheduledJob("tickets-autoclose", "50 * * * *", "guanxi.service.tasks.tickets_autoclose_task"),
    # --- feedback: negative feedback unanswered after 24 hours goes to the owner's manager.
    ScheduledJob(
        "feedback-items-escalate",
        "*/15 * * * *",
        "guanxi.feedback.tasks.feedback_items_escalate_task",
    ),
)


def validate_schedule(jobs: tuple[ScheduledJob, ...] = SCHEDULE) -> None:
    now = timezone.now()
    for job in jobs:
        try:
            CronSim(job.cron, now)
        except CronSimError as error:
            raise ValueError(
                f"schedule {job.name}: bad cron expression {job.cron!r}: {error}"
            ) from error
        import_string(job.task)


def last_slot(job: ScheduledJob, now: dt.datetime) -> dt.datetime:
    """The most recent time at or before ``now`` when ``job`` was due, in UTC."""
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    # cronsim walks backwards from the given instant, exclusive and to the microsecond, so start
    # one microsecond later to include ``now`` itself (and nothing after it).
    previous = next(CronSim(job.cron, local + dt.timedelta(microseconds=1), reverse=True))
    return previous.astimezone(dt.UTC)


def schedule_tick(
    *, now: dt.datetime | None = None, jobs: tuple[ScheduledJob, ...] = SCHEDULE
) -> list[str]:
    """Enqueue every job whose latest slot has not been claimed yet. Returns the names fired."""
    now = now or timezone.now()
    fired: list[str] = []
    for job in jobs:
        slot = last_slot(job, now)
        if now - slot > CATCH_UP:
            continue
        # The claim and the enqueue stand or fall together: if the queue is unreachable the claim is
        # rolled back and the next tick tries again (within CATCH_UP), instead of a claimed slot
        # whose job never ran. The jobs do not read the slot row, so enqueueing before the commit
        # is safe; with the database backend both rows even commit atomically.
        try:
            with transaction.atomic():
                claimed = ScheduleSlot.objects.create(name=job.name, slot=slot, enqueued_at=now)
                result = import_string(job.task).enqueue()
                claimed.task_result_id = str(result.id)[:64]
                claimed.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler process claimed this slot first
        logger.info("scheduled %s for %s enqueued as %s", job.name, slot.isoformat(), result.id)
        fired.append(job.name)
    return fired
