from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status

from guanxi.accounts import services
from guanxi.accounts.models import User
from guanxi.accounts.permissions import (
    department_get_for_user,
    require_capability,
    token_get_for_user,
    user_get_for_user,
)
from guanxi.accounts.roles import Capability, Role
from guanxi.accounts.schemas import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatchIn,
    PasswordResetIn,
    RoleSettingIn,
    RoleSettingOut,
    TokenCreated,
    TokenCreateIn,
    TokenOut,
    TokenRequest,
    UserCreateIn,
    UserOut,
    UserPage,
    UserPatchIn,
)
from guanxi.accounts.selectors import department_list, role_setting_list, token_list, user_page
from guanxi.core.api_auth import TokenRateThrottle
from guanxi.core.exceptions import NotFoundError, validation_error_renamed

auth_router = Router(tags=["auth"])
router = Router(tags=["accounts"])


@auth_router.post("/token", auth=None, throttle=[TokenRateThrottle()], response={201: TokenCreated})
def token_obtain(request: HttpRequest, payload: TokenRequest) -> tuple[int, dict[str, Any]]:
    """Exchange username and password (and a TOTP code if the user has one) for an API token."""
    user = services.login_authenticate(
        request=request, username=payload.username, password=payload.password
    )
    services.second_factor_check(user=user, code=payload.otp)
    token, raw = services.token_create(actor=user, user=user, name=payload.name)
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "token": raw,
            "expires_at": None,
        },
    )


def _user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "data_scope": user.data_scope,
        "department": {"id": user.department.pk, "name": user.department.name}
        if user.department
        else None,
        "manager_id": user.manager_id,
        "phone": user.phone,
        "language": user.language,
        "is_active": user.is_active,
        "has_usable_password": user.has_usable_password(),
        "version": user.version,
    }


@router.get("/me", response=UserOut, tags=["accounts"])
def me(request: HttpRequest) -> dict[str, Any]:
    """The user the token belongs to."""
    return _user_out(request.auth)


@router.get("/tokens", response=list[TokenOut])
def token_index(request: HttpRequest) -> Any:
    return list(token_list(user=request.auth))


@router.post("/tokens", response={201: TokenCreated})
def token_add(request: HttpRequest, payload: TokenCreateIn) -> tuple[int, dict[str, Any]]:
    token, raw = services.token_create(
        actor=request.auth, user=request.auth, name=payload.name, expires_at=payload.expires_at
    )
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "token": raw,
            "expires_at": token.expires_at,
        },
    )


@router.delete("/tokens/{token_id}", response={204: None})
def token_delete(request: HttpRequest, token_id: int) -> Status[Any]:
    token = token_get_for_user(request.auth, token_id, write=True)
    services.token_revoke(actor=request.auth, token=token)
    return Status(204, None)


@router.get("/users", response=UserPage)
def user_index(
    request: HttpRequest,
    q: str = "",
    role: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    page = user_page(
        actor=request.auth,
        query=q,
        role=role,
        department_id=department_id,
        active=active,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_user_out(u) for u in page.items], "next_cursor": page.next_cursor}


@router.get("/users/{user_id}", response=UserOut)
def user_detail(request: HttpRequest, user_id: int) -> dict[str, Any]:
    return _user_out(user_get_for_user(request.auth, user_id))


# The API names foreign keys by id; services name the model fields.
_API_FIELD_NAMES = {"department": "department_id", "manager": "manager_id", "parent": "parent_id"}


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


@router.post("/users", response={201: UserOut})
def user_add(request: HttpRequest, payload: UserCreateIn) -> tuple[int, dict[str, Any]]:
    require_capability(request.auth, Capability.MANAGE_USERS)
    try:
        user = services.user_create(
            actor=request.auth,
            username=payload.username,
            password=payload.password,
            full_name=payload.full_name,
            email=payload.email,
            role=payload.role,
            department=payload.department_id,
            manager=payload.manager_id,
            phone=payload.phone,
            language=payload.language,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _user_out(user))


@router.patch("/users/{user_id}", response=UserOut)
def user_edit(request: HttpRequest, user_id: int, payload: UserPatchIn) -> dict[str, Any]:
    user = user_get_for_user(request.auth, user_id, write=True)
    sent = payload.dict(exclude_unset=True)
    data: dict[str, Any] = {}
    for name in ("full_name", "email", "role", "phone", "language"):
        if name in sent:
            data[name] = sent[name] if sent[name] is not None else ""
    if "department_id" in sent:
        data["department"] = sent["department_id"]
    if "manager_id" in sent:
        data["manager"] = sent["manager_id"]
    try:
        user = services.user_update(
            actor=request.auth, user=user, data=data, expected_version=payload.version
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _user_out(user)


@router.post("/users/{user_id}/deactivate", response=UserOut)
def user_deactivate(request: HttpRequest, user_id: int) -> dict[str, Any]:
    user = user_get_for_user(request.auth, user_id, write=True)
    return _user_out(services.user_deactivate(actor=request.auth, user=user))


@router.post("/users/{user_id}/reactivate", response=UserOut)
def user_reactivate(request: HttpRequest, user_id: int) -> dict[str, Any]:
    user = user_get_for_user(request.auth, user_id, write=True)
    return _user_out(services.user_reactivate(actor=request.auth, user=user))


@router.post("/users/{user_id}/password", response=UserOut)
def user_password_reset(request: HttpRequest, user_id: int, payload: PasswordResetIn) -> Any:
    """Set a new password for a user. Their browser sessions end; their API tokens stay."""
    user = user_get_for_user(request.auth, user_id, write=True)
    services.user_password_reset(actor=request.auth, user=user, password=payload.password)
    return _user_out(user)


@router.post("/users/{user_id}/otp-reset", response=UserOut)
def user_otp_reset(request: HttpRequest, user_id: int) -> Any:
    """Remove a user's two-factor devices (a lost phone) and end their browser sessions."""
    user = user_get_for_user(request.auth, user_id, write=True)
    services.user_otp_reset(actor=request.auth, user=user)
    return _user_out(user)


@router.get("/departments", response=list[DepartmentOut])
def department_index(request: HttpRequest) -> Any:
    return list(department_list(actor=request.auth))


@router.post("/departments", response={201: DepartmentOut})
def department_add(request: HttpRequest, payload: DepartmentIn) -> Status[Any]:
    require_capability(request.auth, Capability.MANAGE_DEPARTMENTS)
    try:
        department = services.department_create(
            actor=request.auth, name=payload.name, code=payload.code, parent=payload.parent_id
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, department)


@router.patch("/departments/{department_id}", response=DepartmentOut)
def department_edit(request: HttpRequest, department_id: int, payload: DepartmentPatchIn) -> Any:
    department = department_get_for_user(request.auth, department_id, write=True)
    sent = payload.dict(exclude_unset=True)
    data: dict[str, Any] = {
        k: sent[k] for k in ("name", "code") if k in sent and sent[k] is not None
    }
    if "parent_id" in sent:
        data["parent"] = sent["parent_id"]
    try:
        return services.department_update(
            actor=request.auth, department=department, data=data, expected_version=payload.version
        )
    except ValidationError as error:
        raise _api_fields(error) from error


@router.delete("/departments/{department_id}", response={204: None})
def department_remove(request: HttpRequest, department_id: int) -> Status[Any]:
    department = department_get_for_user(request.auth, department_id, write=True)
    services.department_delete(actor=request.auth, department=department)
    return Status(204, None)


@router.get("/roles", response=list[RoleSettingOut])
def role_index(request: HttpRequest) -> Any:
    require_capability(request.auth, Capability.MANAGE_ROLES)
    return [
        {
            "role": s.role,
            "label": str(Role(s.role).label),
            "data_scope": s.data_scope,
            "require_otp": s.require_otp,
            "reveal_personal_data": s.reveal_personal_data,
        }
        for s in role_setting_list()
    ]


@router.put("/roles/{role}", response=RoleSettingOut)
def role_edit(request: HttpRequest, role: str, payload: RoleSettingIn) -> Any:
    require_capability(request.auth, Capability.MANAGE_ROLES)
    if role not in Role.values:
        raise NotFoundError()
    setting = services.role_setting_update(
        actor=request.auth,
        role=role,
        data_scope=payload.data_scope,
        require_otp=payload.require_otp,
        reveal_personal_data=payload.reveal_personal_data,
    ).setting
    return {
        "role": setting.role,
        "label": str(Role(setting.role).label),
        "data_scope": setting.data_scope,
        "require_otp": setting.require_otp,
        "reveal_personal_data": setting.reveal_personal_data,
    }
