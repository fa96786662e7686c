from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import BaseModel


class TagRef(BaseModel):
    id: int
    name: str
    color: str


class TagOut(Schema):
    id: int
    name: str
    color: str
    is_preset: bool
    version: int


class TagIn(Schema):
    name: str = Field(..., max_length=30)
    color: str = Field("blue", max_length=10)


class TagPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    name: str | None = Field(None, max_length=30)
    color: str | None = Field(None, max_length=10)


class CustomerTagsIn(Schema):
    tags: list[int] = Field(..., description="Ids of the tags the customer has from now on.")


class CustomerOut(BaseModel):
    """Plain pydantic, not ninja's Schema: the API builds these from dicts, and Schema's
    attribute-resolving validator cost about 3 ms for a page of fifty (bench/
    customers_list_search.py); pydantic validates the dicts directly."""

    id: int
    kind: str
    name: str
    short_name: str
    credit_code: str
    industry: str | None = Field(..., description="Industry code (GB/T 4754 section or custom).")
    region_code: str | None = Field(..., description="The most specific region code known.")
    province_code: str | None
    city_code: str | None
    district_code: str | None
    address: str
    website: str
    source: str
    source_note: str
    lifecycle: str
    account_class: str
    value_level: str
    owner_id: int | None
    department_id: int | None
    in_pool: bool
    first_contact_date: dt.date | None
    first_needs: str
    parent_id: int | None
    tags: list[TagRef]
    claimed_at: dt.datetime | None
    protected_until: dt.datetime | None
    last_activity_at: dt.datetime | None
    previous_owner_id: int | None
    released_at: dt.datetime | None
    # --- history library
    archived_at: dt.datetime | None = Field(
        None, description="When it went into the history library (churned or stopped)."
    )
    churn_reason: str | None = Field(None, description="Churn reason code (GET /churn-reasons).")
    churn_note: str = ""
    # --- verification
    verified_at: dt.datetime | None = Field(
        None, description="When its contact data was last confirmed (quarterly verification)."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerIn(Schema):
    name: str = Field(..., max_length=200)
    kind: str = "company"
    short_name: str = Field("", max_length=100)
    credit_code: str = Field("", max_length=40)
    industry: str | None = Field(None, max_length=10)
    region_code: str | None = Field(None, max_length=6)
    address: str = Field("", max_length=255)
    website: str = Field("", max_length=255)
    source: str = "other"
    source_note: str = Field("", max_length=255)
    lifecycle: str = "potential"
    account_class: str = "none"
    owner_id: int | None = Field(
        None, description="Omit for yourself; null puts the customer in the pool (managers)."
    )
    first_contact_date: dt.date | None = None
    first_needs: str = Field("", max_length=10000)
    parent_id: int | None = None
    tags: list[int] = []
    # --- history library
    churn_reason: str | None = Field(
        None,
        max_length=30,
        description="Churn reason code (GET /churn-reasons); required with lifecycle churned or "
        "stopped, which put the customer in the history library.",
    )
    churn_note: str | None = Field(None, max_length=2000)
    allow_duplicates: bool = Field(
        False,
        description="Confirm likely duplicates (409 duplicate_suspected lists them) and save "
        "anyway. An equal credit code is refused whatever this says.",
    )


class CustomerPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    name: str | None = Field(None, max_length=200)
    kind: str | None = None
    short_name: str | None = Field(None, max_length=100)
    credit_code: str | None = Field(None, max_length=40)
    industry: str | None = Field(None, max_length=10)
    region_code: str | None = Field(None, max_length=6)
    address: str | None = Field(None, max_length=255)
    website: str | None = Field(None, max_length=255)
    source: str | None = None
    source_note: str | None = Field(None, max_length=255)
    lifecycle: str | None = None
    account_class: str | None = None
    owner_id: int | None = None
    first_contact_date: dt.date | None = None
    first_needs: str | None = Field(None, max_length=10000)
    parent_id: int | None = None
    # --- history library
    churn_reason: str | None = Field(
        None,
        max_length=30,
        description="Churn reason code (GET /churn-reasons); required with lifecycle churned or "
        "stopped, which put the customer in the history library.",
    )
    churn_note: str | None = Field(None, max_length=2000)
    allow_duplicates: bool = Field(
        False,
        description="Confirm likely duplicates (409 duplicate_suspected lists them) and save "
        "anyway. An equal credit code is refused whatever this says.",
    )


class PhoneIn(Schema):
    number: str = Field(..., max_length=40)
    label: str = Field("mobile", max_length=10)


class PhoneOut(Schema):
    number: str
    label: str


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    title: str
    decision_role: str
    phones: list[PhoneOut]
    email: str
    wechat: str
    masked: bool = Field(
        ..., description="True when phones, e-mail and WeChat ID are shown masked."
    )
    address: str
    birthday: dt.date | None
    birthday_lunar: bool = Field(
        False, description="The birthday is kept on the lunar date of the date of birth."
    )
    preferred_channel: str
    legal_basis: str
    consent_note: str
    consent_at: dt.datetime | None
    marketing_opt_out: bool = Field(
        False, description="The person asked not to be sent surveys or marketing; sends skip them."
    )
    marketing_opt_out_at: dt.datetime | None = Field(
        None, description="When the opt-out was recorded (set and cleared with the flag)."
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactIn(Schema):
    customer_id: int
    name: str = Field(..., max_length=100)
    title: str = Field("", max_length=100)
    decision_role: str = "other"
    phones: list[PhoneIn] = []
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=50)
    address: str = Field("", max_length=255)
    birthday: dt.date | None = None
    birthday_lunar: bool = False
    preferred_channel: str = ""
    legal_basis: str = "consent"
    consent_note: str = Field("", max_length=255)
    consent_at: dt.datetime | None = None
    marketing_opt_out: bool = False


class ContactPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    name: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=100)
    decision_role: str | None = None
    phones: list[PhoneIn] | None = None
    email: str | None = Field(None, max_length=254)
    wechat: str | None = Field(None, max_length=50)
    address: str | None = Field(None, max_length=255)
    birthday: dt.date | None = None
    birthday_lunar: bool | None = None
    preferred_channel: str | None = None
    legal_basis: str | None = None
    consent_note: str | None = Field(None, max_length=255)
    consent_at: dt.datetime | None = None
    marketing_opt_out: bool | None = None


# --- duplicates ---------------------------------------------------------------------------------


class CustomerDuplicatesIn(Schema):
    name: str = Field("", max_length=200, description="Company name, any spelling.")
    kind: Literal["", "company", "government", "individual"] = Field(
        "", description="An individual is not compared by name."
    )
    credit_code: str = Field("", max_length=40)
    phones: list[str] = Field([], max_length=20, description="Any format; read as Chinese.")
    emails: list[str] = Field([], max_length=20)
    exclude_id: int | None = Field(
        None, description="The customer being edited, which is no duplicate of itself."
    )
    limit: int = Field(10, ge=1, le=50)


class DuplicateReasonOut(Schema):
    code: Literal["credit_code", "name", "phone", "email"]
    label: str


class CustomerDuplicateOut(Schema):
    score: int = Field(..., description="0–100; every match listed is a likely duplicate.")
    reasons: list[DuplicateReasonOut]
    visible: bool = Field(
        ..., description="False: outside your data scope; only owner_name and in_pool are told."
    )
    id: int | None
    name: str | None
    owner_id: int | None
    owner_name: str | None = Field(..., description="Null for a pool customer.")
    in_pool: bool
    holder: str = Field(..., description="Who has it, in words: owned by …, or in the pool.")


class CustomerDuplicatesOut(Schema):
    matches: list[CustomerDuplicateOut]


class CustomerReleaseIn(Schema):
    reason: str = Field("", max_length=500, description="Why the customer goes back (required).")


class CustomerTransferIn(Schema):
    to_user_id: int
    reason: str = Field("", max_length=500, description="Why it changes hands (required).")


class CustomerHandOverIn(Schema):
    from_user_id: int = Field(..., description="The user whose customers all move.")
    to_user_id: int
    reason: str = Field("", max_length=500, description="Why, e.g. who leaves (required).")


class CustomerBulkIn(Schema):
    action: Literal["tag_add", "tag_remove", "transfer", "release"]
    ids: list[int] = Field(
        ..., max_length=500, description="The customers, at most 500; all or none change."
    )
    tag_id: int | None = Field(None, description="For tag_add and tag_remove.")
    to_user_id: int | None = Field(None, description="For transfer (managers only).")
    reason: str = Field("", max_length=500, description="For transfer and release (required).")


class CustomerBulkOut(Schema):
    count: int = Field(..., description="How many customers changed.")


class CustomerHandOverOut(Schema):
    count: int = Field(..., description="How many customers moved.")


class PoolPolicyOut(Schema):
    daily_claim_cap: int
    holding_cap: int
    protection_days: int
    reclaim_cooldown_days: int
    recycle_after_days: int
    warn_days_before: int
    version: int
    updated_at: dt.datetime


class PoolPolicyIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    daily_claim_cap: int = Field(..., ge=0)
    holding_cap: int = Field(..., ge=0)
    protection_days: int = Field(..., ge=0)
    reclaim_cooldown_days: int = Field(..., ge=0)
    recycle_after_days: int = Field(..., ge=1)
    warn_days_before: int = Field(..., ge=0)


# --- needs (C2) ---------------------------------------------------------------------------------

_VERSION = "The version you read; a stale version is a 409."


class NeedCategoryOut(Schema):
    id: int
    code: str
    name: str
    sort_order: int
    is_active: bool
    version: int


class NeedCategoryIn(Schema):
    code: str = Field(..., max_length=30, description="Letters, digits, hyphens; fixed once set.")
    name: str = Field(..., max_length=50)
    sort_order: int = Field(0, ge=0, le=100000)
    is_active: bool = True


class NeedCategoryPatchIn(Schema):
    version: int = Field(..., description=_VERSION)
    name: str | None = Field(None, max_length=50)
    sort_order: int | None = Field(None, ge=0, le=100000)
    is_active: bool | None = None


class NeedOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    title: str
    description: str
    category_id: int
    category_code: str
    category_name: str
    priority: str = Field(..., description="high, medium or low.")
    quantity: Decimal | None = Field(..., description='A decimal string, e.g. "500.00".')
    unit: str
    expected_date: dt.date | None
    fit_status: str = Field(..., description="not_assessed, met, partial or unmet.")
    solution: str
    plan_owner_id: int | None
    plan_due_date: dt.date | None
    plan_overdue: bool
    status: str = Field(..., description="open or closed.")
    closed_at: dt.datetime | None
    source: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class NeedPage(Schema):
    items: list[NeedOut]
    next_cursor: str | None


class NeedIn(Schema):
    customer_id: int
    title: str = Field(..., max_length=200)
    category_id: int
    description: str = Field("", max_length=10000)
    priority: str = "medium"
    quantity: Decimal | None = None
    unit: str = Field("", max_length=20)
    expected_date: dt.date | None = None
    fit_status: str = "not_assessed"
    solution: str = Field("", max_length=10000)
    plan_owner_id: int | None = Field(
        None,
        description="Required, with plan_due_date and solution, when fit_status is "
        "partial or unmet.",
    )
    plan_due_date: dt.date | None = None
    source: str = "sales_meeting"
    note: str = Field("", max_length=2000, description="Starts the need's update history.")


class NeedPatchIn(Schema):
    version: int = Field(..., description=_VERSION)
    title: str | None = Field(None, max_length=200)
    category_id: int | None = None
    description: str | None = Field(None, max_length=10000)
    priority: str | None = None
    quantity: Decimal | None = None
    unit: str | None = Field(None, max_length=20)
    expected_date: dt.date | None = None
    fit_status: str | None = None
    solution: str | None = Field(None, max_length=10000)
    plan_owner_id: int | None = None
    plan_due_date: dt.date | None = None
    status: str | None = Field(None, description="open or closed (as POST …/close, …/reopen).")
    source: str | None = None
    note: str = Field("", max_length=2000, description="Kept in the need's update history.")


class NeedStatusIn(Schema):
    version: int | None = Field(None, description="The version you read; stale is a 409.")
    note: str = Field("", max_length=2000, description="Why, kept in the update history.")


class NeedNoteIn(Schema):
    text: str = Field(..., max_length=2000)


class NeedNoteOut(Schema):
    id: int
    need_id: int
    text: str
    author_id: int | None
    created_at: dt.datetime


class NeedHistoryItemOut(Schema):
    kind: Literal["change", "note"]
    occurred_at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str = Field(..., description="For a change: create, update, delete, restore …")
    changes: dict[str, Any] = Field(..., description="For a change: {field: {before, after}}.")
    note: str = Field(..., description="For a note: its text.")


class NeedGapGroupOut(Schema):
    category_id: int
    category_code: str
    category_name: str
    partial: int
    unmet: int
    high_priority: int
    overdue: int = Field(..., description="Plans past their due date.")
    total: int


class NeedUnmetOut(Schema):
    groups: list[NeedGapGroupOut]
    total: int


# --- history library ----------------------------------------------------------------------------


class CustomerArchiveIn(Schema):
    version: int | None = Field(None, description="The version you read; a stale one is a 409.")
    lifecycle: Literal["churned", "stopped"] = "churned"
    churn_reason: str = Field(..., max_length=30, description="Code from GET /churn-reasons.")
    churn_note: str = Field("", max_length=2000)


class CustomerRestoreIn(Schema):
    version: int | None = Field(None, description="The version you read; a stale one is a 409.")
    lifecycle: Literal["potential", "intent", "closed", "strategic"]


class ChurnReasonOut(Schema):
    id: int
    code: str
    name: str
    sort_order: int
    is_active: bool
    version: int


class ChurnReasonIn(Schema):
    code: str = Field(..., max_length=30, description="Letters, digits, hyphens; fixed once set.")
    name: str = Field(..., max_length=50)
    sort_order: int = Field(0, ge=0, le=100000)
    is_active: bool = True


class ChurnReasonPatchIn(Schema):
    version: int = Field(..., description=_VERSION)
    name: str | None = Field(None, max_length=50)
    sort_order: int | None = Field(None, ge=0, le=100000)
    is_active: bool | None = None


class ChurnBreakdownItemOut(Schema):
    reason: str = Field(..., description="Churn reason code.")
    reason_name: str
    is_active: bool
    churned: int
    stopped: int
    total: int
    share: float = Field(..., description="Percent of the period's total.")


class ChurnBreakdownOut(Schema):
    date_from: dt.date
    date_to: dt.date
    total: int
    items: list[ChurnBreakdownItemOut]


# --- verification -------------------------------------------------------------------------------


class VerificationTaskOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    owner_id: int | None = Field(..., description="Who owned the customer when the task was made.")
    quarter: str
    due_date: dt.date
    status: str
    verified_by_id: int | None
    verified_at: dt.datetime | None
    note: str
    changes: list[dict[str, Any]] = Field(
        ..., description="What was done to the contacts while the task was open (field names)."
    )
    version: int
    created_at: dt.datetime


class VerificationTaskPage(Schema):
    items: list[VerificationTaskOut]
    next_cursor: str | None


class VerificationIn(Schema):
    note: str = Field("", max_length=2000)


class VerificationTasksCreatedOut(Schema):
    quarter: str
    created: int


class VerificationOwnerOut(Schema):
    owner_id: int | None
    owner_name: str
    customers: int
    verified: int
    stale: int


class VerificationStaleCustomerOut(Schema):
    id: int
    name: str
    owner_id: int | None
    verified_at: dt.datetime | None


class VerificationReportOut(Schema):
    quarter: str
    start: dt.date
    end: dt.date
    customers: int
    verified: int
    stale: int
    owners: list[VerificationOwnerOut]
    stale_customers: list[VerificationStaleCustomerOut]
    next_cursor: str | None
