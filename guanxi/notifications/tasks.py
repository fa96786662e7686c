from __future__ import annotations

from django_tasks import task

from guanxi.notifications.services import deliveries_due_enqueue, delivery_send


@task()
def delivery_send_task(delivery_id: int) -> str:
    """Attempt one e-mail or robot delivery. Idempotent: a delivery already sent, or claimed by
    another worker, is left alone."""
    return delivery_send(delivery_id=delivery_id)


@task()
def deliveries_retry_task() -> int:
    """Enqueue the deliveries due again: retries after a failure, robot messages deferred by
    the rate limit, and any whose enqueue was lost."""
    return deliveries_due_enqueue()
