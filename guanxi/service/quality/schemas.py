from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

# --- sheets -------------------------------------------------------------------------------------


class CriterionOut(Schema):
    id: int
    position: int
    name: str
    description: str
    max_points: int
    critical: bool = Field(..., description="Anything below full points fails the review.")
    version: int


class SheetOut(Schema):
    id: int
    name: str
    applies_to: str = Field(..., description="ticket or interaction.")
    description: str
    pass_percent: int
    active: bool
    criteria: list[CriterionOut]
    max_total: int
    review_count: int
    version: int


class CriterionIn(Schema):
    name: str = Field(..., max_length=60)
    max_points: int = Field(..., description="1 to 100.")
    description: str = Field("", max_length=300)
    critical: bool = False


class SheetIn(Schema):
    name: str = Field(..., max_length=100)
    applies_to: str = Field(..., description="ticket or interaction; fixed once created.")
    description: str = Field("", max_length=2000)
    pass_percent: int = Field(80, description="1 to 100.")
    active: bool = True
    criteria: list[CriterionIn] = Field([], max_length=50)


class SheetPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    pass_percent: int | None = None
    active: bool | None = None


class CriterionCreateIn(CriterionIn):
    position: int | None = Field(None, ge=0, le=32767, description="Default: at the end.")


class CriterionPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=60)
    description: str | None = Field(None, max_length=300)
    max_points: int | None = None
    critical: bool | None = None
    position: int | None = Field(None, ge=0, le=32767)


# --- sampling and the queue ---------------------------------------------------------------------


class PersonRef(Schema):
    id: int
    name: str


class AssignmentOut(Schema):
    id: int
    sheet_id: int
    kind: str
    ticket_id: int | None
    interaction_id: int | None
    agent: PersonRef
    reviewer_id: int
    item_at: dt.datetime = Field(..., description="When the work was finished.")
    status: str = Field(..., description="open, done or cancelled.")
    version: int


class AssignmentPage(Schema):
    items: list[AssignmentOut]
    next_cursor: str | None


class SampleIn(Schema):
    sheet_id: int
    period_start: dt.date
    period_end: dt.date
    per_agent: int = Field(3, description="1 to 50 items per agent.")
    seed: int | None = Field(None, description="The same seed over the same items draws the same.")


class SampleOut(Schema):
    created: int
    candidates: int = Field(..., description="Items that could have been drawn.")
    agents: int
    assignments: list[AssignmentOut]


# --- reviews ------------------------------------------------------------------------------------


class ScoreOut(Schema):
    criterion_id: int
    name: str
    max_points: int
    critical: bool
    points: int
    comment: str


class ReviewOut(Schema):
    id: int
    sheet_id: int
    sheet_name: str
    kind: str
    ticket_id: int | None
    interaction_id: int | None
    item_label: str
    agent: PersonRef
    reviewer: PersonRef
    team_id: int | None
    department_id: int | None
    item_at: dt.datetime
    total: int
    max_total: int
    percent: float
    pass_percent: int
    critical_failed: bool
    passed: bool
    comment: str
    status: str = Field(..., description="submitted, acknowledged, disputed or resolved.")
    scores: list[ScoreOut]
    acknowledged_at: dt.datetime | None
    dispute_reason: str
    disputed_at: dt.datetime | None
    resolution_note: str
    resolved_at: dt.datetime | None
    resolved_by_id: int | None
    created_at: dt.datetime
    version: int


class ReviewPage(Schema):
    items: list[ReviewOut]
    next_cursor: str | None


class ReviewIn(Schema):
    sheet_id: int
    ticket_id: int | None = None
    interaction_id: int | None = None
    scores: dict[int, int | None] = Field(
        ..., description="Points per criterion id: every criterion of the sheet, 0 to its maximum."
    )
    comments: dict[int, str] = Field({}, description="An optional comment per criterion id.")
    comment: str = Field("", max_length=4000)


class AcknowledgeIn(Schema):
    version: int | None = None


class DisputeIn(Schema):
    reason: str = Field(..., max_length=2000)
    version: int | None = None


class ResolveIn(Schema):
    note: str = Field(..., max_length=2000)
    scores: dict[int, int | None] | None = Field(
        None, description="Corrected points per criterion id (all of them), or none."
    )
    comments: dict[int, str] = {}
    version: int | None = None


# --- figures ------------------------------------------------------------------------------------


class FigureRowOut(Schema):
    id: int | None
    name: str
    reviews: int
    passed: int
    average: float | None = Field(..., description="Mean percentage of the reviews.")
    pass_rate: float | None = Field(..., description="Per cent of the reviews that passed.")


class TeamRowOut(FigureRowOut):
    kind: str = Field(..., description="team (a service team) or department.")


class CriterionRowOut(Schema):
    criterion_id: int
    name: str
    sheet_name: str
    scored: int
    full: int
    average: float | None = Field(..., description="Mean share of the maximum, per cent.")
    critical: bool
    critical_failed: int


class FiguresOut(Schema):
    date_from: dt.date
    date_to: dt.date
    total: FigureRowOut
    people: list[FigureRowOut]
    teams: list[TeamRowOut]
    criteria: list[CriterionRowOut]
