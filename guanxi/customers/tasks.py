from __future__ import annotations

from django_tasks import task

from guanxi.customers.services import customers_recycle


@task()
def customers_recycle_task() -> int:
    """Return idle customers to the pool. Idempotent: a rerun finds nothing left to return."""
    return customers_recycle()
