"""Access helpers: 404 when a record is not the user's to see, 403 when it is read-only.

- A notification is seen by its recipient only, administrators included: it may name records
  of the recipient's scope.
- A personal robot is seen and changed by its owner only.
- A department robot is changed by administrators and by sales managers of that department or
  a department above it; members of the department (and below) see it, masked, read-only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from guanxi.accounts.models import Department
from guanxi.accounts.roles import Capability, Role
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.notifications.models import Notification, RobotEndpoint


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _int(pk: Any) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise NotFoundError() from None


def notification_get_for_user(actor: Any, pk: Any) -> Notification:
    pk = _int(pk)
    if not _active(actor):
        raise NotFoundError()
    notification = Notification.objects.filter(pk=pk, recipient=actor, in_app=True).first()
    if notification is None:
        raise NotFoundError()
    return notification


def robot_department_can_manage(actor: Any, department: Department) -> bool:
    if not _active(actor):
        return False
    if actor.can(Capability.MANAGE_DEPARTMENTS):
        return True
    if actor.role != Role.SALES_MANAGER or actor.department_id is None:
        return False
    return department.path.startswith(actor.department.path)


def robot_departments_managed(actor: Any) -> QuerySet[Department]:
    """The departments whose robots ``actor`` may set up."""
    if not _active(actor):
        return Department.objects.none()
    if actor.can(Capability.MANAGE_DEPARTMENTS):
        return Department.objects.all()
    if actor.role != Role.SALES_MANAGER or actor.department_id is None:
        return Department.objects.none()
    return Department.objects.filter(path__startswith=actor.department.path)


def robot_visible_q(actor: Any) -> Q:
    if not _active(actor):
        return Q(pk__in=[])
    visible = Q(user=actor)
    if actor.can(Capability.MANAGE_DEPARTMENTS):
        return visible | Q(department__isnull=False)
    if actor.role == Role.SALES_MANAGER and actor.department_id is not None:
        visible |= Q(department__path__startswith=actor.department.path)
    if actor.department_id is not None:
        # The department's own robot and those of the departments above it: those get the
        # member's notifications.
        ancestors = [int(p) for p in actor.department.path.split("/") if p.isdigit()]
        visible |= Q(department_id__in=ancestors or [actor.department_id])
    return visible


def robot_can_write(actor: Any, robot: RobotEndpoint) -> bool:
    if not _active(actor):
        return False
    if robot.user_id is not None:
        return robot.user_id == actor.pk
    return robot_department_can_manage(actor, robot.department)


def robot_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> RobotEndpoint:
    pk = _int(pk)
    robot = (
        RobotEndpoint.objects.filter(robot_visible_q(actor), pk=pk)
        .select_related("department", "user")
        .first()
    )
    if robot is None:
        raise NotFoundError()
    if write and not robot_can_write(actor, robot):
        raise PermissionDeniedError()
    return robot
