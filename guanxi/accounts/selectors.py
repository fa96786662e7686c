"""Reads for users, departments, roles, API tokens and sessions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from guanxi.accounts.models import ApiToken, Department, LoginSession, RoleSetting, User
from guanxi.accounts.roles import Capability, Role
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.scope import scope_q

USER_ORDERING = ("username", "id")


def user_visible_queryset(*, actor: User) -> QuerySet[User]:
    """Colleagues ``actor`` may look up: by data scope for team viewers, else only themselves."""
    if not actor.is_authenticated or not actor.is_active:
        return User.objects.none()
    if actor.can(Capability.MANAGE_USERS):
        return User.objects.all()
    if actor.can(Capability.VIEW_TEAM):
        return User.objects.filter(scope_q(actor, owner_field="pk", department_field="department"))
    return User.objects.filter(pk=actor.pk)


def user_list(
    *,
    actor: User,
    query: str = "",
    role: str = "",
    department_id: int | None = None,
    active: bool | None = None,
) -> QuerySet[User]:
    users = user_visible_queryset(actor=actor).select_related("department", "manager")
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(full_name__icontains=query) | Q(email__icontains=query)
        )
    if role:
        users = users.filter(role=role)
    if department_id:
        department = Department.objects.filter(pk=department_id).first()
        users = (
            users.filter(department__path__startswith=department.path)
            if department
            else users.none()
        )
    if active is not None:
        users = users.filter(is_active=active)
    return users


def user_page(
    *,
    actor: User,
    query: str = "",
    role: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of ``user_list``, each user carrying their role's setting (no query per row)."""
    users = user_list(
        actor=actor, query=query, role=role, department_id=department_id, active=active
    )
    page = keyset_paginate(users, ordering=USER_ORDERING, cursor=cursor, limit=limit)
    users_attach_role_settings(page.items)
    return page


def role_settings_by_role() -> dict[str, RoleSetting]:
    """Every role's setting, saved or default, in one query."""
    saved = {setting.role: setting for setting in RoleSetting.objects.all()}
    return {role: saved.get(role) or RoleSetting.default_for(role) for role in Role.values}


def users_attach_role_settings(users: Iterable[User]) -> None:
    """Fill each user's ``role_setting`` (a cached property) from one query for all of them."""
    settings = role_settings_by_role()
    for user in users:
        if user.role in settings:
            user.__dict__["role_setting"] = settings[user.role]


def department_list(*, actor: User) -> QuerySet[Department]:
    # The organisation chart is not confidential inside the company: every active user sees it.
    if not actor.is_authenticated or not actor.is_active:
        return Department.objects.none()
    return (
        Department.objects.select_related("parent")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )


def role_setting_list() -> list[RoleSetting]:
    return list(role_settings_by_role().values())


def token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def session_list(*, user: User) -> QuerySet[LoginSession]:
    return LoginSession.objects.filter(user=user).order_by("-created_at")


def user_requires_otp(user: Any) -> bool:
    # role_setting is cached on the user object, so the views of the same request that need the
    # data scope reuse this one query.
    return bool(getattr(user, "is_authenticated", False) and user.role_setting.require_otp)
