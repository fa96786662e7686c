from __future__ import annotations

from django_tasks import task

from guanxi.customers.services import customers_recycle, verification_tasks_create


@task()
def customers_recycle_task() -> int:
    """Return idle customers to the pool. Idempotent: a rerun finds nothing left to return."""
    return customers_recycle()


# --- verification


@task()
def verification_tasks_create_task() -> int:
    """Make the current quarter's verification tasks. Idempotent: one task per customer and
    quarter, so the daily runs of a quarter's first week (core.schedule) only add what is
    missing: customers filed or restored since, or the whole batch if the scheduler was down."""
    return verification_tasks_create(actor=None)
