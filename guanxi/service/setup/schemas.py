"""Schemas of the service desk's set-up endpoints. They shape input; the rules (and their field
errors) are the services'."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class CategoryOut(Schema):
    id: int
    name: str
    code: str
    description: str
    active: bool
    position: int
    version: int


class CategoryIn(Schema):
    name: str = Field(..., max_length=60)
    code: str = Field(..., max_length=40)
    description: str = Field("", max_length=255)
    active: bool = True
    position: int = Field(0, ge=0, le=32767)


class CategoryPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=60)
    code: str | None = Field(None, max_length=40)
    description: str | None = Field(None, max_length=255)
    active: bool | None = None
    position: int | None = Field(None, ge=0, le=32767)


class MemberOut(Schema):
    id: int
    name: str
    role: str
    is_active: bool


class TeamOut(Schema):
    id: int
    department_id: int
    department_name: str
    lead_id: int | None
    members: list[MemberOut]
    assignment_mode: str = Field(..., description="round_robin or least_loaded.")
    work_start: str = Field(..., description="HH:MM, in time_zone.")
    work_end: str
    break_start: str | None
    break_end: str | None
    time_zone: str
    version: int


class TeamIn(Schema):
    department_id: int
    lead_id: int | None = None
    member_ids: list[int] = []
    assignment_mode: str = "least_loaded"
    work_start: dt.time = dt.time(9)
    work_end: dt.time = dt.time(18)
    break_start: dt.time | None = None
    break_end: dt.time | None = None
    time_zone: str = Field("Asia/Shanghai", max_length=50)


class TeamPatchIn(Schema):
    version: int
    lead_id: int | None = None
    member_ids: list[int] | None = None
    assignment_mode: str | None = None
    work_start: dt.time | None = None
    work_end: dt.time | None = None
    break_start: dt.time | None = None
    break_end: dt.time | None = None
    time_zone: str | None = Field(None, max_length=50)


class RuleOut(Schema):
    id: int
    position: int
    category_id: int
    priority: str = Field(..., description="low, normal, high, urgent, or empty for any.")
    region_code: str | None
    region_name: str
    account_class: str
    team_id: int
    assignee_id: int | None
    active: bool
    description: str = Field(..., description="The rule in words, in the request's language.")
    version: int


class RuleIn(Schema):
    category_id: int
    team_id: int
    position: int = Field(100, ge=0, le=32767)
    priority: str = ""
    region_code: str | None = Field(None, max_length=6)
    account_class: str = ""
    assignee_id: int | None = None
    active: bool = True


class RulePatchIn(Schema):
    version: int
    category_id: int | None = None
    team_id: int | None = None
    position: int | None = Field(None, ge=0, le=32767)
    priority: str | None = None
    region_code: str | None = Field(None, max_length=6)
    account_class: str | None = None
    assignee_id: int | None = None
    active: bool | None = None


class PolicyOut(Schema):
    id: int
    name: str
    category_id: int | None
    priority: str
    account_class: str
    response_minutes: int
    resolution_minutes: int
    clock: str = Field(..., description="24x7 or working_hours.")
    warn_percent: int
    active: bool
    version: int


class PolicyIn(Schema):
    name: str = Field(..., max_length=100)
    response_minutes: int
    resolution_minutes: int
    clock: str = "working_hours"
    warn_percent: int = 80
    category_id: int | None = None
    priority: str = ""
    account_class: str = ""
    active: bool = True


class PolicyPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=100)
    response_minutes: int | None = None
    resolution_minutes: int | None = None
    clock: str | None = None
    warn_percent: int | None = None
    category_id: int | None = None
    priority: str | None = None
    account_class: str | None = None
    active: bool | None = None


class DefaultsOut(Schema):
    departments: int
    teams: int
    rules: int


class PreviewOut(Schema):
    rule_id: int | None
    rule_description: str
    team_id: int | None
    assignee_id: int | None
    assignee_named: bool
    policy_id: int | None
    policy_name: str
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    response_warn_at: dt.datetime | None
    resolution_warn_at: dt.datetime | None
    calendar_missing: int | None = Field(
        ..., description="The year the holiday calendar lacks; then there are no deadlines."
    )
