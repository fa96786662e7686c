"""Access helpers of the service desk: 404 when a ticket is outside the reader's view, 403 when
it is read-only to them.

Who works a ticket: service agents (客服) and administrators, for any ticket they see; the
assignee; the members and the lead of the team it is routed to. Everyone else who sees it (the
customer's rep and their managers) reads it and may comment. Reference data (categories, teams,
routing rules, SLA policies) is the administrators'.
"""

from __future__ import annotations

from typing import Any

from guanxi.accounts.roles import Capability
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.customers.models import Customer
from guanxi.service.models import Ticket, TicketAttachment
from guanxi.service.selectors import SERVICE_DESK_ROLES, ticket_visible_queryset


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _int(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def ticket_can_create(actor: Any) -> bool:
    return _active(actor) and actor.role in SERVICE_DESK_ROLES


def ticket_require_create(actor: Any) -> None:
    if not ticket_can_create(actor):
        raise PermissionDeniedError()


def ticket_customer_get_for_intake(actor: Any, pk: Any) -> Customer:
    """The customer a ticket is opened for: the desk opens tickets for any live customer
    outside the history library (whoever owns it: the caller chose us, not their rep's scope)."""
    ticket_require_create(actor)
    customer = Customer.objects.filter(pk=_int(pk), archived_at__isnull=True).first()
    if customer is None:
        raise NotFoundError()
    return customer


def ticket_can_work(actor: Any, ticket: Ticket) -> bool:
    """For a ticket ``actor`` can already see: may they change it (status, assignment,
    resolution)?"""
    if not _active(actor):
        return False
    if actor.role in SERVICE_DESK_ROLES or ticket.assignee_id == actor.pk:
        return True
    team = ticket.team
    if team is None:
        return False
    return team.lead_id == actor.pk or team.members.filter(pk=actor.pk).exists()


def ticket_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Ticket:
    ticket = (
        ticket_visible_queryset(actor=actor)
        .select_related("customer", "contact", "category", "team", "assignee", "sla_policy")
        .filter(pk=_int(pk))
        .first()
    )
    if ticket is None:
        raise NotFoundError()
    if write and not ticket_can_work(actor, ticket):
        raise PermissionDeniedError()
    return ticket


def ticket_attachment_get_for_user(
    actor: Any, pk: Any, *, ticket_id: Any = None
) -> TicketAttachment:
    """An attachment of a ticket ``actor`` may see (of ticket ``ticket_id`` when given): reading
    a file is reading its ticket. 404 otherwise, whether the file or the ticket is the hidden
    one."""
    attachments = TicketAttachment.objects.filter(
        pk=_int(pk), ticket__in=ticket_visible_queryset(actor=actor)
    )
    if ticket_id is not None:
        attachments = attachments.filter(ticket_id=_int(ticket_id))
    attachment = attachments.select_related("ticket").first()
    if attachment is None:
        raise NotFoundError()
    return attachment


def service_settings_can_edit(actor: Any) -> bool:
    """Categories, teams, routing rules and SLA policies."""
    return _active(actor) and actor.can(Capability.MANAGE_SERVICE_DESK)


def service_settings_require_edit(actor: Any) -> None:
    if not service_settings_can_edit(actor):
        raise PermissionDeniedError()
