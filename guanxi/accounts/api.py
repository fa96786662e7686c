from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token
from ninja import Router, Status

from guanxi.accounts import services
from guanxi.accounts.models import Department, User
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
from guanxi.accounts.selectors import (
    department_list,
    role_setting_list,
    token_list,
    user_list,
    user_requires_otp,
)
from guanxi.core.api_auth import TokenRateThrottle
from guanxi.core.exceptions import ApplicationError, AuthenticationFailedError, NotFoundError
from guanxi.core.pagination import keyset_paginate

auth_router = Router(tags=["auth"])
router = Router(tags=["accounts"])


class LockedOutError(ApplicationError):
    status_code = 429
    default_code = "locked_out"


@auth_router.post("/token", auth=None, throttle=[TokenRateThrottle()], response={201: TokenCreated})
def token_obtain(request: HttpRequest, payload: TokenRequest) -> tuple[int, dict[str, Any]]:
    """Exchange username and password (and a TOTP code if the user has one) for an API token."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOutError(_("Too many failed sign-in attempts. Try again later."))
    if user is None:
        raise AuthenticationFailedError(
            _("Wrong username or password."), code="invalid_credentials"
        )
    devices = list(devices_for_user(user, confirmed=True))
    if not devices and user_requires_otp(user):
        # The role demands a second factor; a password alone must not mint a long-lived token.
        raise AuthenticationFailedError(
            _("Your role requires two-factor sign-in: set it up in the web interface first."),
            code="otp_setup_required",
        )
    if devices:
        if not payload.otp:
            raise AuthenticationFailedError(
                _("This account uses two-factor sign-in: send the current code as 'otp'."),
                code="otp_required",
                fields={"otp": [_("This field is required.")]},
            )
        if match_token(user, payload.otp) is None:
            raise AuthenticationFailedError(
                _("The two-factor code is wrong or expired."), code="otp_invalid"
            )
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
    users = user_list(
        actor=request.auth, query=q, role=role, department_id=department_id, active=active
    )
    page = keyset_paginate(users, ordering=("username", "id"), cursor=cursor, limit=limit)
    return {"items": [_user_out(u) for u in page.items], "next_cursor": page.next_cursor}


@router.get("/users/{user_id}", response=UserOut)
def user_detail(request: HttpRequest, user_id: int) -> dict[str, Any]:
    return _user_out(user_get_for_user(request.auth, user_id))


def _department_or_error(actor: User, pk: int | None, field: str) -> Department | None:
    if pk is None:
        return None
    department = Department.objects.filter(pk=pk).first()
    if department is None:
        raise ValidationError({field: [_("Select an existing department.")]})
    return department


def _manager_or_error(pk: int | None) -> User | None:
    if pk is None:
        return None
    manager = User.objects.filter(pk=pk, is_active=True).first()
    if manager is None:
        raise ValidationError({"manager_id": [_("Select an active user.")]})
    return manager


# The API names foreign keys by id; services name the model fields.
_API_FIELD_NAMES = {"department": "department_id", "manager": "manager_id", "parent": "parent_id"}


def _api_fields(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {_API_FIELD_NAMES.get(name, name): errors for name, errors in error.error_dict.items()}
    )


@router.post("/users", response={201: UserOut})
def user_add(request: HttpRequest, payload: UserCreateIn) -> tuple[int, dict[str, Any]]:
    require_capability(request.auth, Capability.MANAGE_USERS)
    department = _department_or_error(request.auth, payload.department_id, "department_id")
    manager = _manager_or_error(payload.manager_id)
    try:
        user = services.user_create(
            actor=request.auth,
            username=payload.username,
            password=payload.password,
            full_name=payload.full_name,
            email=payload.email,
            role=payload.role,
            department=department,
            manager=manager,
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
        data["department"] = _department_or_error(
            request.auth, sent["department_id"], "department_id"
        )
    if "manager_id" in sent:
        data["manager"] = _manager_or_error(sent["manager_id"])
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


@router.get("/departments", response=list[DepartmentOut])
def department_index(request: HttpRequest) -> Any:
    return list(department_list(actor=request.auth))


@router.post("/departments", response={201: DepartmentOut})
def department_add(request: HttpRequest, payload: DepartmentIn) -> Status[Any]:
    require_capability(request.auth, Capability.MANAGE_DEPARTMENTS)
    parent = _department_or_error(request.auth, payload.parent_id, "parent_id")
    try:
        department = services.department_create(
            actor=request.auth, name=payload.name, code=payload.code, parent=parent
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
        data["parent"] = _department_or_error(request.auth, sent["parent_id"], "parent_id")
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
    )
    return {
        "role": setting.role,
        "label": str(Role(setting.role).label),
        "data_scope": setting.data_scope,
        "require_otp": setting.require_otp,
    }
