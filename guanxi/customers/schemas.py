from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema


class TagRef(Schema):
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


class CustomerOut(Schema):
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
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerPage(Schema):
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
    preferred_channel: str
    legal_basis: str
    consent_note: str
    consent_at: dt.datetime | None
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
    preferred_channel: str = ""
    legal_basis: str = "consent"
    consent_note: str = Field("", max_length=255)
    consent_at: dt.datetime | None = None


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
    preferred_channel: str | None = None
    legal_basis: str | None = None
    consent_note: str | None = Field(None, max_length=255)
    consent_at: dt.datetime | None = None


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
    ids: list[int] = Field(..., description="The customers, at most 500; all or none change.")
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
