from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

# --- interactions -------------------------------------------------------------------------------


class PersonRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    """A contact present, by name only: phones, e-mail and WeChat ID are on /contacts/{id}, masked
    as the caller may see them."""

    id: int
    name: str
    title: str


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    uploaded_by_id: int | None
    created_at: dt.datetime
    url: str = Field(..., description="Download (the same permission as the interaction).")


class InteractionOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    channel: str
    kind: str = Field(..., description="Purpose: conversation, report, greeting, tip or touch.")
    occurred_at: dt.datetime
    contacts: list[ContactRef]
    participants: list[PersonRef]
    content: str
    reaction: str
    reaction_note: str
    next_action: str
    next_action_date: dt.date | None
    next_task_id: int | None = Field(..., description="The task the next action became.")
    over_contact_confirmed: bool
    attachments: list[AttachmentOut]
    created_by_id: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InteractionIn(Schema):
    customer_id: int
    channel: str = Field(..., description="phone, visit, video, email, wechat, event or other.")
    kind: str = Field("", description="Empty: from the channel (a visit is a conversation).")
    occurred_at: dt.datetime | None = Field(None, description="Default: now.")
    contact_ids: list[int] = Field([], max_length=100)
    participant_ids: list[int] = Field([], max_length=100)
    content: str = Field(..., max_length=10000)
    reaction: str = Field("", description="positive, neutral, negative or empty.")
    reaction_note: str = Field("", max_length=10000)
    next_action: str = Field("", max_length=500)
    next_action_date: dt.date | None = Field(None, description="With next_action: a task then.")
    task_id: int | None = Field(None, description="A follow-up task this interaction completes.")
    allow_over_contact: bool = Field(
        False, description="Log it even though it exceeds a contact limit (409 over_contact)."
    )


class InteractionPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    channel: str | None = None
    kind: str | None = None
    occurred_at: dt.datetime | None = None
    contact_ids: list[int] | None = Field(None, max_length=100)
    participant_ids: list[int] | None = Field(None, max_length=100)
    content: str | None = Field(None, max_length=10000)
    reaction: str | None = None
    reaction_note: str | None = Field(None, max_length=10000)


# --- tasks --------------------------------------------------------------------------------------


class FollowUpOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    assignee_id: int | None
    source: str = Field(..., description="policy, plan, next_action or care.")
    kind: str
    title: str = Field(..., description="In the caller's language.")
    note: str
    rule_id: int | None
    period_start: dt.date | None
    period_end: dt.date | None
    channels: list[str]
    occasion_key: str
    occasion_date: dt.date | None
    contact_id: int | None
    origin_interaction_id: int | None
    due_date: dt.date
    deadline: dt.date = Field(..., description="What compliance measures against.")
    status: str
    completed_at: dt.datetime | None
    completed_on: dt.date | None
    completed_by_id: int | None
    completed_interaction_id: int | None
    resolution_note: str
    snooze_reason: str
    escalated_at: dt.datetime | None
    escalated_to_id: int | None
    version: int
    created_at: dt.datetime


class FollowUpPage(Schema):
    items: list[FollowUpOut]
    next_cursor: str | None


class CompleteIn(Schema):
    note: str = Field("", max_length=500)


class SnoozeIn(Schema):
    until: dt.date
    reason: str = Field(..., max_length=500)


class ReassignIn(Schema):
    assignee_id: int


class ComplianceRowOut(Schema):
    id: int | None = Field(..., description="The person's or the department's id.")
    name: str
    department_id: int | None = None
    due: int
    on_time: int
    late: int
    missed: int
    rate: float | None = Field(..., description="Share done on time, 0 to 1; null without tasks.")


class ComplianceOut(Schema):
    date_from: dt.date
    date_to: dt.date
    total: ComplianceRowOut
    people: list[ComplianceRowOut]
    teams: list[ComplianceRowOut]


class GenerationOut(Schema):
    policy: int
    plan: int
    care: int
    cancelled: int
    reassigned: int


# --- policies -----------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    policy_id: int
    kind: str
    interval: int
    unit: str = Field(..., description="day, week or month.")
    channels: list[str]
    max_count: int | None
    description: str
    version: int


class RuleIn(Schema):
    kind: str
    interval: int = Field(1, ge=1, le=366)
    unit: str = "month"
    channels: list[str] = []
    max_count: int | None = Field(None, ge=1, le=1000)
    description: str = Field("", max_length=200)


class RulePatchIn(Schema):
    version: int
    kind: str | None = None
    interval: int | None = Field(None, ge=1, le=366)
    unit: str | None = None
    channels: list[str] | None = None
    max_count: int | None = Field(None, ge=1, le=1000)
    description: str | None = Field(None, max_length=200)


class PolicyOut(Schema):
    id: int
    name: str
    lifecycle: str
    account_class: str
    description: str
    is_active: bool
    care_birthdays: bool
    care_anniversaries: bool
    care_festivals: bool
    rules: list[RuleOut]
    version: int


class PolicyIn(Schema):
    name: str = Field(..., max_length=100)
    lifecycle: str = ""
    account_class: str = ""
    description: str = ""
    is_active: bool = True
    care_birthdays: bool = False
    care_anniversaries: bool = False
    care_festivals: bool = False


class PolicyPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=100)
    lifecycle: str | None = None
    account_class: str | None = None
    description: str | None = None
    is_active: bool | None = None
    care_birthdays: bool | None = None
    care_anniversaries: bool | None = None
    care_festivals: bool | None = None


class SettingsOut(Schema):
    escalate_after_days: int
    care_lead_days: int
    festivals: list[str]
    version: int


class SettingsIn(Schema):
    version: int
    escalate_after_days: int = Field(..., ge=0, le=365)
    care_lead_days: int = Field(..., ge=0, le=60)
    festivals: list[str] = []


# --- communication plans ------------------------------------------------------------------------


class PlanOut(Schema):
    customer_id: int
    channels: list[str]
    frequency: str
    max_per_month: int | None
    themes: str
    notes: str
    version: int | None = Field(..., description="Null while the customer has no plan.")


class PlanIn(Schema):
    version: int | None = Field(None, description="The version you read (none for a new plan).")
    channels: list[str] = []
    frequency: str = Field("", description="week, fortnight, month, quarter or empty.")
    max_per_month: int | None = Field(None, ge=1, le=100)
    themes: str = Field("", max_length=10000)
    notes: str = Field("", max_length=10000)


# --- care calendar and feed ---------------------------------------------------------------------


class CareDateOut(Schema):
    kind: str = Field(..., description="festival, birthday or anniversary.")
    date: dt.date
    label: str
    customer_id: int | None
    contact_id: int | None
    years: int | None
    lunar: bool
    key: str


class FeedOut(Schema):
    url: str = Field(..., description="Shown once; the previous URL stops working.")
    prefix: str
