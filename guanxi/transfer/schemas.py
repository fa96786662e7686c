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
