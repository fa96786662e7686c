"""What the service desk adds to the customer page (customers.timeline): the customer's tickets
on the timeline, a "New ticket" button for the service desk, and a card of open tickets.
Registered in ServiceConfig.ready()."""

from __future__ import annotations

from typing import Any

from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineItem
from guanxi.service.permissions import ticket_can_create
from guanxi.service.selectors import customer_open_tickets, tickets_for_timeline


def ticket_items(actor: Any, customer: Customer, limit: int) -> list[TimelineItem]:
    """Every ticket the reader may see, open or closed, at the time it was opened: a closed
    ticket stays in the customer's history."""
    return [
        TimelineItem(
            when=ticket.created_at,
            source="service.tickets",
            template="service/partials/timeline_ticket.html",
            context={"ticket": ticket},
            tiebreak=ticket.pk,
        )
        for ticket in tickets_for_timeline(actor=actor, customer=customer, limit=limit)
    ]


def new_ticket_button_context(actor: Any, customer: Customer) -> dict[str, Any] | None:
    if not ticket_can_create(actor) or customer.deleted_at is not None:
        return None
    return {"customer_id": customer.pk}


def open_tickets_card_context(actor: Any, customer: Customer) -> dict[str, Any] | None:
    tickets = customer_open_tickets(actor=actor, customer=customer)
    return {"tickets": tickets} if tickets else None
