"""REST endpoints of notifications: /notifications, /notification-preferences,
/notification-robots. Everyone sees only their own notifications and preferences; robots
follow notifications.permissions, and their webhook addresses leave masked only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from guanxi.accounts.models import Department
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.notifications import services
from guanxi.notifications.models import Notification, RobotEndpoint
from guanxi.notifications.permissions import (
    notification_get_for_user,
    robot_can_write,
    robot_departments_managed,
    robot_get_for_user,
)
from guanxi.notifications.schemas import (
    MarkedOut,
    NotificationOut,
    NotificationPage,
    PreferenceIn,
    PreferenceOut,
    RobotIn,
    RobotOut,
    RobotPatchIn,
    UnreadCountOut,
)
from guanxi.notifications.selectors import (
    notification_page,
    notification_preferences,
    notification_unread_count,
    robot_list,
)

router = Router(tags=["notifications"])


def _notification_out(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "kind_label": notification.kind_label(),
        "text": notification.text(),
        "message": notification.message,
        "params": notification.params,
        "url": notification.url,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
        "is_read": notification.is_read,
    }


@router.get("/notifications", response=NotificationPage)
def notification_index(
    request: HttpRequest, unread: bool = False, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Your notifications, newest first (``unread=true``: unread only). Keyset-paginated with
    ``cursor``."""
    page = notification_page(actor=request.auth, unread=unread, cursor=cursor, limit=limit)
    return {
        "items": [_notification_out(row) for row in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/notifications/unread-count", response=UnreadCountOut)
def notification_unread(request: HttpRequest) -> dict[str, Any]:
    return {"count": notification_unread_count(actor=request.auth)}


@router.post("/notifications/read-all", response=MarkedOut)
def notifications_read_all(request: HttpRequest) -> dict[str, Any]:
    """Mark all your unread notifications read; returns how many changed."""
    return {"marked": services.notifications_mark_all_read(actor=request.auth)}


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
def notification_read(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    notification = notification_get_for_user(request.auth, notification_id)
    notification = services.notification_mark_read(actor=request.auth, notification=notification)
    return _notification_out(notification)


# --- preferences ------------------------------------------------------------------------------


def _preference_out(row: Any) -> dict[str, Any]:
    return {
        "kind": row.kind.kind,
        "label": str(row.kind.label),
        "in_app": row.in_app,
        "email": row.email,
        "robot": row.robot,
        "customised": row.customised,
    }


@router.get("/notification-preferences", response=list[PreferenceOut])
def preference_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Every notification kind with your channels (your choice, else the kind's defaults)."""
    return [_preference_out(row) for row in notification_preferences(user=request.auth)]


@router.put("/notification-preferences/{kind}", response=PreferenceOut)
def preference_set(request: HttpRequest, kind: str, payload: PreferenceIn) -> dict[str, Any]:
    if kind not in {row.kind.kind for row in notification_preferences(user=request.auth)}:
        raise NotFoundError()
    services.notification_preference_set(
        actor=request.auth,
        user=request.auth,
        kind=kind,
        in_app=payload.in_app,
        email=payload.email,
        robot=payload.robot,
    )
    row = next(r for r in notification_preferences(user=request.auth) if r.kind.kind == kind)
    return _preference_out(row)


# --- robots -----------------------------------------------------------------------------------


def _robot_out(robot: RobotEndpoint, actor: Any) -> dict[str, Any]:
    return {
        "id": robot.pk,
        "name": robot.name,
        "provider": robot.provider,
        "user_id": robot.user_id,
        "department_id": robot.department_id,
        "url_masked": robot.url_masked,
        "signed": bool(robot.secret_masked),
        "secret_masked": robot.secret_masked,
        "kinds": list(robot.kinds or []),
        "is_active": robot.is_active,
        "can_write": robot_can_write(actor, robot),
        "version": robot.version,
        "created_at": robot.created_at,
    }


@router.get("/notification-robots", response=list[RobotOut])
def robot_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Robots you can see: yours, your departments', and those you manage. Masked."""
    return [_robot_out(robot, request.auth) for robot in robot_list(actor=request.auth)]


@router.post("/notification-robots", response={201: RobotOut})
def robot_add(request: HttpRequest, payload: RobotIn) -> Status[Any]:
    department = None
    if payload.department_id is not None:
        department = (
            robot_departments_managed(request.auth).filter(pk=payload.department_id).first()
        )
        if department is None:
            # A department the actor may not manage: 403 if it exists, so nothing is created.
            if Department.objects.filter(pk=payload.department_id).exists():
                raise PermissionDeniedError()
            raise NotFoundError()
    robot = services.robot_create(
        actor=request.auth,
        name=payload.name,
        provider=payload.provider,
        url=payload.url,
        secret=payload.secret,
        user=request.auth if department is None else None,
        department=department,
        kinds=payload.kinds,
        is_active=payload.is_active,
    )
    return Status(201, _robot_out(robot, request.auth))


@router.get("/notification-robots/{robot_id}", response=RobotOut)
def robot_show(request: HttpRequest, robot_id: int) -> dict[str, Any]:
    return _robot_out(robot_get_for_user(request.auth, robot_id), request.auth)


@router.patch("/notification-robots/{robot_id}", response=RobotOut)
def robot_change(request: HttpRequest, robot_id: int, payload: RobotPatchIn) -> dict[str, Any]:
    robot = robot_get_for_user(request.auth, robot_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    robot = services.robot_update(
        actor=request.auth, robot=robot, data=data, expected_version=version
    )
    return _robot_out(robot, request.auth)


@router.delete("/notification-robots/{robot_id}", response={204: None})
def robot_remove(request: HttpRequest, robot_id: int) -> Status[Any]:
    robot = robot_get_for_user(request.auth, robot_id, write=True)
    services.robot_delete(actor=request.auth, robot=robot)
    return Status(204, None)


@router.post("/notification-robots/{robot_id}/test", response={204: None})
def robot_send_test(request: HttpRequest, robot_id: int) -> Status[Any]:
    """Send a test message now; 400 ``robot_failed`` with the provider's answer if refused."""
    robot = robot_get_for_user(request.auth, robot_id, write=True)
    services.robot_test_send(actor=request.auth, robot=robot)
    return Status(204, None)
