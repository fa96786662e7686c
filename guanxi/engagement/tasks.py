from __future__ import annotations

from django_tasks import task

from guanxi.engagement.services import (
    followups_escalate,
    followups_generate,
    followups_notify_due,
)


@task()
def followups_generate_task() -> int:
    """Make the follow-up tasks due under the policies, plans and care calendar. Idempotent: one
    task per customer, rule and period (and per occasion), whatever runs twice."""
    return followups_generate().created


@task()
def followups_notify_due_task() -> int:
    """The morning digest of tasks due today and overdue, once a day per person."""
    return followups_notify_due()


@task()
def followups_escalate_task() -> int:
    """Tell assignees about overdue tasks and escalate the long-overdue ones to their manager.
    Idempotent: each notification has a dedupe key, each task escalates once."""
    return followups_escalate()
