"""What feedback adds to the customer page (customers.timeline): a card with the customer's
feedback items still to answer or close, and the way to record feedback heard on a call or a
visit. Registered in FeedbackConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.feedback.permissions import feedback_item_can_record
from guanxi.feedback.selectors import feedback_items_for_customer


def card_context(actor: Any, customer: Customer) -> dict[str, Any] | None:
    can_record = customer.deleted_at is None and feedback_item_can_record(actor, customer)
    items = feedback_items_for_customer(actor=actor, customer=customer)
    if not items and not can_record:
        return None
    return {
        "customer_id": customer.pk,
        "items": items,
        "can_record": can_record,
        "now": timezone.now(),
    }
