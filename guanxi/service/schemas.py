"""API schemas of the service desk."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class TicketOut(Schema):
    id: int
    number: str
    channel: str
    customer_id: int
    customer_name: str
    contact_id: int | None
    contact_name: str | None
    category_id: int
    category_name: str
    priority: str
    subject: str
    description: str
    status: str
    team_id: int | None
    department_id: int | None
    assignee_id: int | None
    assignee_name: str | None
    sla_policy_id: int | None
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    calendar_missing: int | None = Field(
        None, description="A year missing from the holiday table: the deadlines are unknown."
    )
    first_response_at: dt.datetime | None
    paused_at: dt.datetime | None
    breached: bool
    resolution: str
    resolved_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    closed_at: dt.datetime | None
    reopen_count: int
    satisfaction: int | None
    satisfaction_comment: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TicketAttachmentOut(Schema):
    id: int
    name: str = Field(..., description="The file's name as uploaded.")
    size: int = Field(..., description="In bytes.")
    content_type: str = Field(..., description="Ours, from the checked type; not the uploader's.")
    uploaded_by_id: int | None
    uploaded_by_name: str | None
    created_at: dt.datetime
    url: str = Field(..., description="Download (whoever may read the ticket).")


class TicketDetailOut(TicketOut):
    attachments: list[TicketAttachmentOut] = Field(..., description="Oldest first.")


class TicketPage(Schema):
    items: list[TicketOut]
    next_cursor: str | None


class TicketIn(Schema):
    customer_id: int
    category_id: int
    subject: str = Field(..., max_length=200)
    description: str = Field(..., max_length=10000)
    channel: str = Field("phone", description="phone, email, wechat, web, visit or other.")
    priority: str = Field("normal", description="low, normal, high or urgent.")
    contact_id: int | None = None


class VersionIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")


class ReasonIn(VersionIn):
    reason: str = Field(..., max_length=500)


class AssignIn(VersionIn):
    assignee_id: int
    reason: str = Field("", max_length=500, description="Required when someone else has it.")


class ResolveIn(VersionIn):
    resolution: str = Field(..., max_length=10000)


class ResolveOut(Schema):
    ticket: TicketOut
    confirmation_url: str = Field(
        ..., description="The customer's link to confirm and score; shown once, works once."
    )


class CommentIn(Schema):
    body: str = Field(..., max_length=10000)
    internal: bool = True


class CommentOut(Schema):
    id: int
    body: str
    internal: bool
    created_by_id: int | None
    created_at: dt.datetime


class TransitionOut(Schema):
    from_status: str
    to_status: str
    assignee_id: int | None
    reason: str
    actor_id: int | None
    at: dt.datetime


class TimelinessOut(Schema):
    key: int | None
    label: str
    total: int
    responded: int
    responded_in_time: int
    response_rate: float | None
    resolved: int
    resolved_in_time: int
    resolution_rate: float | None
    open: int
    breached_open: int
    satisfaction: float | None
