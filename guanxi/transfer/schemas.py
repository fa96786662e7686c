from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

CustomerExportFormat = Literal["csv", "xlsx"]
ContactExportFormat = Literal["csv", "xlsx", "vcard3", "vcard4"]


class ExportJobOut(Schema):
    id: int
    kind: str = Field(..., description="customers or contacts")
    format: str = Field(..., description="csv, xlsx, vcard3 or vcard4")
    query: str = Field(..., description="The filters, as the customer list's query string.")
    status: str = Field(..., description="queued, running, done, failed or expired")
    row_count: int | None
    file_name: str
    error: str = Field(..., description="Why it failed, as a code; empty unless failed.")
    download_url: str | None = Field(..., description="Set once the file is ready.")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None


class VcardImportOut(Schema):
    count: int = Field(..., description="How many contacts were created.")
    contact_ids: list[int]


class ImportErrorOut(Schema):
    row: int | None = Field(..., description="The row as the spreadsheet numbers it (header: 1).")
    column: str = Field(..., description="The column's header in the file.")
    value: str
    reason: str


class ImportJobOut(Schema):
    id: int
    kind: str = Field(..., description="customers or contacts")
    file_name: str
    file_format: str = Field(..., description="csv or xlsx")
    encoding: str = Field(..., description="The encoding detected for a CSV file.")
    headers: list[str] = Field(..., description="The first row of the file.")
    mapping: dict[str, str] = Field(
        ..., description="Column index (as a string) → field name, for the columns imported."
    )
    duplicate_policy: str = Field(..., description="skip, update or create")
    error_policy: str = Field(..., description="all (all or nothing) or skip (skip bad rows)")
    dry_run: bool = Field(..., description="Whether the last run was a dry run.")
    status: str = Field(
        ...,
        description="uploaded, queued, running, checked (dry run done), done, rejected (all or "
        "nothing, and rows had errors: nothing written), failed or undone",
    )
    total_rows: int | None = Field(..., description="The rows of the file, estimated.")
    processed_rows: int
    added_count: int = Field(..., description="Added, or to be added after a dry run.")
    updated_count: int
    skipped_count: int
    error_count: int = Field(..., description="Rows with errors.")
    errors: list[ImportErrorOut] = Field(..., description="The first rows not imported.")
    errors_url: str | None = Field(..., description="The whole error report as CSV.")
    error: str = Field(..., description="Why the job failed, as a code; empty unless failed.")
    created_at: dt.datetime
    finished_at: dt.datetime | None
    undone_at: dt.datetime | None
    undo_until: dt.datetime | None


class ImportUndoOut(Schema):
    removed: int = Field(..., description="Records the import created, now in the recycle bin.")
    reverted: int = Field(..., description="Records whose overwritten values were restored.")
    kept: int = Field(..., description="Records changed since the import, left as they are.")
    job: ImportJobOut
