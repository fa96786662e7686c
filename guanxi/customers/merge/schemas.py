from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

Side = Literal["survivor", "merged"]


class CustomerMergeVersionsIn(Schema):
    survivor: int = Field(..., description="The version of the customer kept that you compared.")
    merged: int = Field(..., description="The version of the customer merged that you compared.")


class CustomerMergeIn(Schema):
    merged_id: int = Field(..., description="The duplicate to merge into this customer.")
    values: dict[str, Side] = Field(
        default_factory=dict,
        description="Per field, the side its value comes from. Fields: kind, name, short_name, "
        "credit_code, industry, region, address, website, source, source_note, lifecycle, "
        "account_class, first_contact_date, first_needs, parent. A field left out takes the "
        "survivor's value if it has one, else the merged customer's.",
    )
    versions: CustomerMergeVersionsIn


class CustomerMergeMovedOut(Schema):
    contact_ids: list[int]
    need_ids: list[int]
    tag_ids: list[int] = Field(..., description="Tags the survivor got from the merged customer.")
    subsidiary_ids: list[int]


class CustomerMergeFieldOut(Schema):
    name: str
    label: str


class CustomerMergeUndoOut(Schema):
    restored: list[CustomerMergeFieldOut] = Field(
        ..., description="Fields of the survivor given back their value from before the merge."
    )
    kept: list[CustomerMergeFieldOut] = Field(
        ...,
        description="Fields changed after the merge: they keep the newer value.",
    )
    not_restored: dict[str, list[str]] = Field(
        ..., description="Fields whose earlier value could not come back, with the reasons."
    )
    moved_back: dict[str, int]
    not_moved_back: dict[str, int] = Field(
        ...,
        description="Rows the merge moved that were purged or moved on since: left where they are.",
    )


class CustomerMergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int = Field(..., description="The customer merged (kept after it is purged).")
    merged_name: str
    merged_in_recycle_bin: bool = Field(
        ..., description="False once the merged customer is purged or the merge is undone."
    )
    merged_at: dt.datetime
    merged_by_id: int | None
    values: dict[str, str]
    survivor_before: dict[str, object]
    survivor_after: dict[str, object]
    moved: CustomerMergeMovedOut
    undo_until: dt.datetime
    can_undo: bool
    undone_at: dt.datetime | None
    undone_by_id: int | None
    undo_report: CustomerMergeUndoOut | None
