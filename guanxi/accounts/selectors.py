"""Reads for users, departments, roles, API tokens and sessions."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from guanxi.accounts.models import ApiToken, Department, LoginSession, RoleSetting, User
from guanxi.accounts.roles import Capability, Role
from guanxi.core.scope import scope_q


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
    return [RoleSetting.for_role(role) for role in Role.values]


def token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def session_list(*, user: User) -> QuerySet[LoginSession]:
    return LoginSession.objects.filter(user=user).order_by("-created_at")


def user_requires_otp(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and RoleSetting.for_role(user.role).require_otp
    )
