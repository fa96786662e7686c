from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    text: str = Field(..., description="The message in the request's language.")
    message: str = Field(..., description="The English message id the text is translated from.")
    params: dict[str, Any]
    url: str = Field(..., description="Site-relative link to the target, or empty.")
    created_at: dt.datetime
    read_at: dt.datetime | None
    is_read: bool


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadCountOut(Schema):
    count: int


class MarkedOut(Schema):
    marked: int


class PreferenceOut(Schema):
    kind: str
    label: str
    in_app: bool
    email: bool
    robot: bool
    customised: bool = Field(..., description="False: the kind's defaults apply.")


class PreferenceIn(Schema):
    in_app: bool
    email: bool
    robot: bool


class RobotOut(Schema):
    id: int
    name: str
    provider: str
    user_id: int | None
    department_id: int | None
    url_masked: str = Field(..., description="The webhook address, masked; never in clear.")
    signed: bool
    secret_masked: str
    kinds: list[str]
    is_active: bool
    can_write: bool
    version: int
    created_at: dt.datetime


class RobotIn(Schema):
    name: str = Field(..., max_length=100)
    provider: Literal["wecom", "dingtalk", "feishu"]
    url: str = Field(..., max_length=1000, description="Stored encrypted, never returned.")
    secret: str = Field("", max_length=200, description="DingTalk or Feishu signing secret.")
    department_id: int | None = Field(
        None, description="A department robot (its manager or an administrator); else yours."
    )
    kinds: list[str] = Field(default_factory=list, max_length=100)
    is_active: bool = True


class RobotPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    name: str | None = Field(None, max_length=100)
    url: str | None = Field(None, max_length=1000)
    secret: str | None = Field(None, max_length=200)
    clear_secret: bool = False
    kinds: list[str] | None = Field(None, max_length=100)
    is_active: bool | None = None
