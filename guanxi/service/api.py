"""REST endpoints of the service desk: /tickets (open, list, read, assign, start, wait, resume,
resolve, close, reopen, comments, attachments, history) and /ticket-figures. The customer's
confirmation is a page, not an endpoint: it needs no account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Router, Status, UploadedFile

from guanxi.accounts.models import User
from guanxi.core.exceptions import validation_error_renamed
from guanxi.core.storage import attachment_response
from guanxi.service import services
from guanxi.service.models import Ticket, TicketAttachment, TicketCategory
from guanxi.service.permissions import (
    ticket_attachment_get_for_user,
    ticket_customer_get_for_intake,
    ticket_get_for_user,
)
from guanxi.service.schemas import (
    AssignIn,
    CommentIn,
    CommentOut,
    ReasonIn,
    ResolveIn,
    ResolveOut,
    TicketAttachmentOut,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TicketPage,
    TimelinessOut,
    TransitionOut,
    VersionIn,
)
from guanxi.service.selectors import (
    FIGURE_GROUPS,
    TICKET_VIEWS,
    ticket_attachments,
    ticket_comments,
    ticket_page,
    ticket_timeliness,
    ticket_transitions,
)

router = Router(tags=["service desk"])

_API_FIELD_NAMES = {
    "customer": "customer_id",
    "category": "category_id",
    "contact": "contact_id",
    "assignee": "assignee_id",
    # The multipart field of the upload endpoint.
    "attachments": "files",
}


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


def _ticket_out(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "channel": ticket.channel,
        "customer_id": ticket.customer_id,
        "customer_name": ticket.customer.name,
        "contact_id": ticket.contact_id,
        "contact_name": ticket.contact.name if ticket.contact else None,
        "category_id": ticket.category_id,
        "category_name": ticket.category.name,
        "priority": ticket.priority,
        "subject": ticket.subject,
        "description": ticket.description,
        "status": ticket.status,
        "team_id": ticket.team_id,
        "department_id": ticket.department_id,
        "assignee_id": ticket.assignee_id,
        "assignee_name": ticket.assignee.get_full_name() if ticket.assignee else None,
        "sla_policy_id": ticket.sla_policy_id,
        "response_due_at": ticket.response_due_at,
        "resolution_due_at": ticket.resolution_due_at,
        "calendar_missing": ticket.calendar_missing,
        "first_response_at": ticket.first_response_at,
        "paused_at": ticket.paused_at,
        "breached": ticket.breached,
        "resolution": ticket.resolution,
        "resolved_at": ticket.resolved_at,
        "confirmed_at": ticket.confirmed_at,
        "closed_at": ticket.closed_at,
        "reopen_count": ticket.reopen_count,
        "satisfaction": ticket.satisfaction,
        "satisfaction_comment": ticket.satisfaction_comment,
        "version": ticket.version,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def _reload(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    return _ticket_out(ticket_get_for_user(request.auth, ticket.pk))


@router.get("/tickets", response=TicketPage)
def ticket_index(
    request: HttpRequest,
    view: str = "",
    status: str = "",
    category_id: int | None = None,
    priority: str = "",
    customer_id: int | None = None,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The tickets you may see, newest first; keyset-paginated with ``cursor``. ``view``: mine,
    team, unassigned, breached or open."""
    if view not in TICKET_VIEWS:
        raise ValidationError({"view": [_("Choose one of the listed values.")]})
    page = ticket_page(
        actor=request.auth,
        view=view,
        status=status,
        category=category_id,
        priority=priority,
        customer=customer_id,
        query=q,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_ticket_out(item) for item in page.items], "next_cursor": page.next_cursor}


@router.post("/tickets", response={201: TicketOut})
def ticket_add(request: HttpRequest, payload: TicketIn) -> Status[Any]:
    """Open a ticket (service agents and administrators). It is numbered, routed by the first
    matching rule, and gets its deadlines from the most specific SLA policy."""
    customer = ticket_customer_get_for_intake(request.auth, payload.customer_id)
    category = TicketCategory.objects.filter(pk=payload.category_id).first()
    if category is None:
        raise ValidationError({"category_id": [_("Choose one of the listed values.")]})
    contact = None
    if payload.contact_id is not None:
        contact = customer.contacts.filter(pk=payload.contact_id).first()
        if contact is None:
            raise ValidationError({"contact_id": [_("Choose a contact of this customer.")]})
    try:
        ticket = services.ticket_create(
            actor=request.auth,
            customer=customer,
            category=category,
            subject=payload.subject,
            description=payload.description,
            channel=payload.channel,
            priority=payload.priority,
            contact=contact,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _reload(request, ticket))


def _attachment_out(attachment: TicketAttachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "uploaded_by_id": attachment.uploaded_by_id,
        "uploaded_by_name": (
            attachment.uploaded_by.get_full_name() if attachment.uploaded_by else None
        ),
        "created_at": attachment.created_at,
        "url": reverse(
            "api:ticket_attachment_download", args=[attachment.ticket_id, attachment.pk]
        ),
    }


@router.get("/tickets/{ticket_id}", response=TicketDetailOut)
def ticket_show(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    """One ticket with its attachments (the list leaves them out)."""
    ticket = ticket_get_for_user(request.auth, ticket_id)
    return {
        **_ticket_out(ticket),
        "attachments": [_attachment_out(row) for row in ticket_attachments(ticket=ticket)],
    }


def _step(request: HttpRequest, ticket_id: int, call: Any) -> dict[str, Any]:
    ticket = ticket_get_for_user(request.auth, ticket_id, write=True)
    try:
        updated = call(ticket)
    except ValidationError as error:
        raise _api_fields(error) from error
    return _reload(request, updated)


@router.post("/tickets/{ticket_id}/assign", response=TicketOut)
def ticket_assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> dict[str, Any]:
    """Give the ticket to a member of a service team; a reassignment needs a reason."""
    ticket_get_for_user(request.auth, ticket_id, write=True)
    assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
    if assignee is None:
        raise ValidationError({"assignee_id": [_("Choose an active member of a service team.")]})
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_assign(
            actor=request.auth,
            ticket=ticket,
            assignee=assignee,
            reason=payload.reason,
            version=payload.version,
        ),
    )


@router.post("/tickets/{ticket_id}/start", response=TicketOut)
def ticket_start(request: HttpRequest, ticket_id: int, payload: VersionIn) -> dict[str, Any]:
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_start(
            actor=request.auth, ticket=ticket, version=payload.version
        ),
    )


@router.post("/tickets/{ticket_id}/wait", response=TicketOut)
def ticket_wait(request: HttpRequest, ticket_id: int, payload: ReasonIn) -> dict[str, Any]:
    """Waiting on the customer: the SLA clock stops until ``resume``."""
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_wait(
            actor=request.auth, ticket=ticket, reason=payload.reason, version=payload.version
        ),
    )


@router.post("/tickets/{ticket_id}/resume", response=TicketOut)
def ticket_resume(request: HttpRequest, ticket_id: int, payload: VersionIn) -> dict[str, Any]:
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_resume(
            actor=request.auth, ticket=ticket, version=payload.version
        ),
    )


@router.post("/tickets/{ticket_id}/resolve", response=ResolveOut)
def ticket_resolve(request: HttpRequest, ticket_id: int, payload: ResolveIn) -> dict[str, Any]:
    """Resolve: the answer includes the customer's confirmation link (shown once)."""
    ticket = ticket_get_for_user(request.auth, ticket_id, write=True)
    try:
        updated, token = services.ticket_resolve(
            actor=request.auth,
            ticket=ticket,
            resolution=payload.resolution,
            version=payload.version,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return {
        "ticket": _reload(request, updated),
        "confirmation_url": request.build_absolute_uri(reverse("service:confirm", args=[token])),
    }


@router.post("/tickets/{ticket_id}/close", response=TicketOut)
def ticket_close(request: HttpRequest, ticket_id: int, payload: VersionIn) -> dict[str, Any]:
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_close(
            actor=request.auth, ticket=ticket, version=payload.version
        ),
    )


@router.post("/tickets/{ticket_id}/reopen", response=TicketOut)
def ticket_reopen(request: HttpRequest, ticket_id: int, payload: ReasonIn) -> dict[str, Any]:
    return _step(
        request,
        ticket_id,
        lambda ticket: services.ticket_reopen(
            actor=request.auth, ticket=ticket, reason=payload.reason, version=payload.version
        ),
    )


@router.get("/tickets/{ticket_id}/comments", response=list[CommentOut])
def ticket_comment_index(request: HttpRequest, ticket_id: int) -> list[Any]:
    ticket = ticket_get_for_user(request.auth, ticket_id)
    return ticket_comments(ticket=ticket)


@router.post("/tickets/{ticket_id}/comments", response={201: CommentOut})
def ticket_comment_add(request: HttpRequest, ticket_id: int, payload: CommentIn) -> Status[Any]:
    """Anyone who sees the ticket adds internal notes; replies to the customer are the
    handlers'."""
    ticket = ticket_get_for_user(request.auth, ticket_id)
    comment = services.ticket_comment_add(
        actor=request.auth, ticket=ticket, body=payload.body, internal=payload.internal
    )
    return Status(201, comment)


@router.post("/tickets/{ticket_id}/attachments", response={201: list[TicketAttachmentOut]})
def ticket_attachments_add(
    request: HttpRequest, ticket_id: int, files: File[list[UploadedFile]]
) -> Status[Any]:
    """Attach files to a ticket (those who work it): multipart, field ``files`` repeated. PDF,
    images, Word, Excel, PowerPoint, text or CSV, each up to ``GUANXI_ATTACHMENT_MAX_BYTES`` and
    checked by content; a ticket keeps at most ``GUANXI_ATTACHMENTS_PER_TICKET`` (20) in all.
    One bad file refuses the upload (422 on ``files``) and nothing is stored."""
    ticket = ticket_get_for_user(request.auth, ticket_id, write=True)
    try:
        rows = services.ticket_attachments_add(actor=request.auth, ticket=ticket, files=files)
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, [_attachment_out(row) for row in rows])


@router.get(
    "/tickets/{ticket_id}/attachments/{attachment_id}", url_name="ticket_attachment_download"
)
def ticket_attachment_download(request: HttpRequest, ticket_id: int, attachment_id: int) -> Any:
    """The file, for whoever may read the ticket (as on the ticket's page)."""
    attachment = ticket_attachment_get_for_user(request.auth, attachment_id, ticket_id=ticket_id)
    return attachment_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )


@router.get("/tickets/{ticket_id}/history", response=list[TransitionOut])
def ticket_history(request: HttpRequest, ticket_id: int) -> list[Any]:
    ticket = ticket_get_for_user(request.auth, ticket_id)
    return ticket_transitions(ticket=ticket)


@router.get("/ticket-figures", response=list[TimelinessOut])
def ticket_figures(
    request: HttpRequest,
    group: str = "category",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Response and resolution timeliness (问题解决及时率) of the tickets you may see opened in the
    period (default: this month), per category, department or assignee."""
    if group not in FIGURE_GROUPS:
        raise ValidationError({"group": [_("Choose one of the listed values.")]})
    today = timezone.localdate()
    start = date_from or today.replace(day=1)
    end = date_to or today
    if not (dt.date(1900, 1, 1) <= start <= end <= dt.date(2999, 12, 31)):
        raise ValidationError({"date_from": [_("Choose a period that starts before it ends.")]})
    zone = timezone.get_current_timezone()
    rows = ticket_timeliness(
        actor=request.auth,
        group=group,
        start=dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )
    return [
        {
            **row.__dict__,
            "response_rate": row.response_rate,
            "resolution_rate": row.resolution_rate,
        }
        for row in rows
    ]
