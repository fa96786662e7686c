"""Reads for notifications: the recipient's own rows only, robots in the actor's reach, and
the preferences table with each kind's defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from guanxi.core.pagination import Page, keyset_paginate
from guanxi.notifications.kinds import NotificationKind, notification_kinds
from guanxi.notifications.models import Notification, NotificationPreference, RobotEndpoint
from guanxi.notifications.permissions import robot_visible_q


def notification_list(*, actor: Any, unread: bool = False) -> QuerySet[Notification]:
    """The actor's in-app notifications, newest first; never anyone else's."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Notification.objects.none()
    rows = Notification.objects.filter(recipient=actor, in_app=True)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows


def notification_page(
    *, actor: Any, unread: bool = False, cursor: str | None = None, limit: int = 50
) -> Page:
    # The recipient is the actor: no join needed to render the rows in their language.
    page = keyset_paginate(
        notification_list(actor=actor, unread=unread),
        ordering=("-id",),
        cursor=cursor,
        limit=limit,
    )
    for row in page.items:
        row.recipient = actor
    return page


def notification_unread_count(*, actor: Any) -> int:
    return notification_list(actor=actor, unread=True).count()


def notification_recent(*, actor: Any, limit: int = 5) -> list[Notification]:
    rows = list(notification_list(actor=actor, unread=True).order_by("-id")[:limit])
    for row in rows:
        row.recipient = actor
    return rows


@dataclass
class PreferenceRow:
    kind: NotificationKind
    in_app: bool
    email: bool
    robot: bool
    customised: bool


def notification_preferences(*, user: Any) -> list[PreferenceRow]:
    """Every registered kind with the user's channels (their choice, else the defaults)."""
    chosen = {row.kind: row for row in NotificationPreference.objects.filter(user=user)}
    rows: list[PreferenceRow] = []
    for kind in notification_kinds():
        preference = chosen.get(kind.kind)
        if preference is None:
            rows.append(PreferenceRow(kind, kind.in_app, kind.email, kind.robot, False))
        else:
            rows.append(
                PreferenceRow(kind, preference.in_app, preference.email, preference.robot, True)
            )
    return rows


def robot_list(*, actor: Any) -> QuerySet[RobotEndpoint]:
    """Robots the actor may see: their own, their departments', and for managers and
    administrators the ones they manage. Masked fields only are ever read out of these."""
    return (
        RobotEndpoint.objects.filter(robot_visible_q(actor))
        .select_related("department", "user")
        .order_by("department__path", "name", "id")
    )
