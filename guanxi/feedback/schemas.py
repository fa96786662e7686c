from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

# --- feedback items -----------------------------------------------------------------------------


class FeedbackItemOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    contact_id: int | None
    contact_name: str = Field(..., description="The contact's name only; no phone or e-mail.")
    source: str = Field(..., description="ticket_csat, survey, staff or other.")
    ticket_id: int | None
    ticket_number: str | None
    survey_response_id: int | None
    survey_id: int | None
    score: int | None
    summary: str
    comment: str = Field(..., description="What the customer said.")
    owner_id: int | None = Field(..., description="Who must answer; null: unassigned.")
    owner_name: str
    status: str = Field(..., description="open, responded or closed.")
    respond_by: dt.datetime = Field(..., description="24 hours after it was opened.")
    overdue: bool
    responded_at: dt.datetime | None
    responded_by_id: int | None
    response: str = Field(..., description="What we told the customer.")
    improvement_action: str
    improvement_due: dt.date | None
    closed_at: dt.datetime | None
    closed_by_id: int | None
    escalated_at: dt.datetime | None
    escalated_to_id: int | None
    can_answer: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class FeedbackItemPage(Schema):
    items: list[FeedbackItemOut]
    next_cursor: str | None


class FeedbackItemIn(Schema):
    customer_id: int
    source: str = Field("staff", description="staff (heard on a call or visit) or other.")
    summary: str = Field(..., max_length=200)
    comment: str = Field("", max_length=4000)
    contact_id: int | None = None
    score: int | None = Field(None, description="0–10, if the customer gave one.")


class RespondIn(Schema):
    version: int
    response: str = Field(..., max_length=4000)
    improvement_action: str = Field("", max_length=4000)
    improvement_due: dt.date | None = None


class CloseIn(Schema):
    version: int
    improvement_action: str | None = Field(
        None, max_length=4000, description="Omitted: the one recorded with the response."
    )
    improvement_due: dt.date | None = None


class AssignIn(Schema):
    version: int
    owner_id: int


# --- surveys ------------------------------------------------------------------------------------


class QuestionIn(Schema):
    text: str = Field(..., max_length=300)
    type: str = Field(..., description="score (1–5), nps (0–10), choice or text.")
    dimension: str = Field(
        "overall", description="overall, quality, price, attitude, speed or other."
    )
    choices: list[str] = Field([], max_length=10, description="The options of a choice.")
    required: bool = True


class QuestionOut(Schema):
    id: int
    position: int
    text: str
    type: str
    dimension: str
    choices: list[str]
    required: bool


class SurveyStatsOut(Schema):
    invited: int
    emailed: int
    answered: int
    expired: int
    waiting: int


class SurveyOut(Schema):
    id: int
    title: str
    kind: str = Field(..., description="csat, nps or custom.")
    intro: str
    status: str = Field(..., description="draft, sending or closed.")
    negative_score_max: int
    negative_nps_max: int
    sent_at: dt.datetime | None
    closed_at: dt.datetime | None
    questions: list[QuestionOut]
    stats: SurveyStatsOut | None = Field(
        None, description="Invitations to customers in your scope (on a single survey)."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SurveySummaryOut(Schema):
    id: int
    title: str
    kind: str
    status: str
    invited_count: int
    answered_count: int
    sent_at: dt.datetime | None
    created_at: dt.datetime


class SurveyPage(Schema):
    items: list[SurveySummaryOut]
    next_cursor: str | None


class SurveyIn(Schema):
    title: str = Field(..., max_length=200)
    kind: str = Field(..., description="csat, nps or custom.")
    intro: str = Field("", max_length=2000)
    questions: list[QuestionIn] | None = Field(
        None, max_length=30, description="Omitted: the kind's usual questions."
    )
    negative_score_max: int = Field(2, description="1–4: a 1–5 score at or below is negative.")
    negative_nps_max: int = Field(6, description="0–9: a 0–10 score at or below is negative.")


class SurveyPatchIn(Schema):
    version: int
    title: str | None = Field(None, max_length=200)
    kind: str | None = None
    intro: str | None = Field(None, max_length=2000)
    questions: list[QuestionIn] | None = Field(None, max_length=30)
    negative_score_max: int | None = None
    negative_nps_max: int | None = None


class VersionIn(Schema):
    version: int


class SendIn(Schema):
    lifecycle: str = ""
    account_class: str = ""
    industry: str = Field("", description="An industry code.")
    region: str = Field("", description="A province, city or district code.")
    tag: int | None = None
    recipients: str = Field("primary", description="primary (one per customer) or all.")
    expires_days: int = Field(14, description="1–90.")
    email: bool = Field(True, description="E-mail contacts with an address.")
    confirm: bool = Field(False, description="false: only count; true: send.")


class SendPreviewOut(Schema):
    customers: int
    contacts: int
    already_invited: int
    new: int
    by_email: int


class LinkOut(Schema):
    invitation_id: int
    customer_id: int
    customer_name: str
    contact_id: int
    contact_name: str
    url: str
    expires_at: dt.datetime


class SendOut(Schema):
    invited: int
    by_email: int
    skipped: int
    links: list[LinkOut] = Field(
        ..., description="The links to hand out yourself; in this answer only."
    )


class LinksOut(Schema):
    links: list[LinkOut]


class FiguresOut(Schema):
    key: str | None
    label: str
    csat_count: int
    csat_average: float | None
    nps_count: int
    promoters: int
    detractors: int
    nps: int | None


class TicketFiguresOut(Schema):
    key: str | None
    label: str
    count: int
    average: float | None
    low: int


class ScoreCount(Schema):
    score: int
    count: int


class AnalysisOut(Schema):
    responses: int
    overall: FiguresOut
    csat_distribution: list[ScoreCount]
    nps_distribution: list[ScoreCount]
    dimensions: list[FiguresOut]
    regions: list[FiguresOut]
    account_classes: list[FiguresOut]
    months: list[FiguresOut]
    tickets_by_category: list[TicketFiguresOut]
    tickets_by_month: list[TicketFiguresOut]
