"""One access helper per entity. Views and API handlers fetch through these, never directly:
invisible records are 404 (their existence is not revealed), visible but read-only ones 403."""

from __future__ import annotations

from typing import Any

from guanxi.accounts.models import ApiToken, Department, User
from guanxi.accounts.roles import Capability
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError


def require_capability(actor: Any, capability: str) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.can(capability):
        raise PermissionDeniedError()


def user_get_for_user(actor: User, pk: Any, *, write: bool = False) -> User:
    user = (
        user_visible_queryset(actor=actor).select_related("department").filter(pk=_int(pk)).first()
    )
    if user is None:
        raise NotFoundError()
    if write and not actor.can(Capability.MANAGE_USERS):
        raise PermissionDeniedError()
    return user


def department_get_for_user(
    actor: User, pk: Any, *, write: bool = False, deleted: bool = False
) -> Department:
    manager = Department.all_objects if deleted else Department.objects
    department = manager.filter(pk=_int(pk)).first()
    if department is None or not actor.is_active:
        raise NotFoundError()
    if write and not actor.can(Capability.MANAGE_DEPARTMENTS):
        raise PermissionDeniedError()
    return department


def token_get_for_user(actor: User, pk: Any, *, write: bool = False) -> ApiToken:
    tokens = ApiToken.objects.select_related("user")
    if not actor.can(Capability.MANAGE_USERS):
        tokens = tokens.filter(user=actor)
    token = tokens.filter(pk=_int(pk)).first()
    if token is None:
        raise NotFoundError()
    return token


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
