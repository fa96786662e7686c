from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class TokenRequest(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=4096)
    name: str = Field("API", max_length=100, description="A label to recognise the token by.")
    otp: str | None = Field(
        None, max_length=12, description="Current TOTP code, if the user has a second factor."
    )


class TokenCreated(Schema):
    id: int
    name: str
    prefix: str
    token: str = Field(..., description="The token itself. It is shown only this once.")
    expires_at: dt.datetime | None = None


class TokenCreateIn(Schema):
    name: str = Field(..., max_length=100)
    expires_at: dt.datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class DepartmentRef(Schema):
    id: int
    name: str


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    email: str
    role: str
    data_scope: str
    department: DepartmentRef | None
    manager_id: int | None
    phone: str
    language: str
    is_active: bool
    has_usable_password: bool = Field(
        ...,
        description="False for an account created without a password: nobody can sign in "
        "to it until an administrator sets one (POST /users/{id}/password).",
    )
    version: int


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


class UserCreateIn(Schema):
    username: str = Field(..., max_length=150)
    password: str | None = Field(None, max_length=4096)
    full_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    role: str = "sales_rep"
    department_id: int | None = None
    manager_id: int | None = None
    phone: str = Field("", max_length=32)
    language: str = ""


class UserPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale version is a 409.")
    full_name: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=254)
    role: str | None = None
    department_id: int | None = None
    manager_id: int | None = None
    phone: str | None = Field(None, max_length=32)
    language: str | None = None


class PasswordResetIn(Schema):
    password: str = Field(..., max_length=4096)


class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    parent_id: int | None
    path: str
    depth: int
    version: int


class DepartmentIn(Schema):
    name: str = Field(..., max_length=100)
    code: str = Field(..., max_length=50)
    parent_id: int | None = None


class DepartmentPatchIn(Schema):
    version: int
    name: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=50)
    parent_id: int | None = None


class RoleSettingOut(Schema):
    role: str
    label: str
    data_scope: str
    require_otp: bool
    reveal_personal_data: bool


class RoleSettingIn(Schema):
    data_scope: str
    require_otp: bool = False
    reveal_personal_data: bool | None = Field(
        None,
        description="Whether the role may reveal masked contact data (logged, capped per day); "
        "omit to keep the current setting.",
    )
