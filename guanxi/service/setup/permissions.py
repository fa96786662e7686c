"""Access to the service desk's reference data. Categories are read by every signed-in user (the
ticket forms and filters list them); service teams, routing rules and SLA policies — who works
which tickets, at what hours, with which targets — are the administrators', to read and to
change (``service.permissions.service_settings_require_edit``). Checks come before the lookup,
so a refused user learns nothing about which ids exist.
"""

from __future__ import annotations

from typing import Any

from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.service.models import RoutingRule, ServiceTeam, SlaPolicy, TicketCategory
from guanxi.service.permissions import service_settings_can_edit, service_settings_require_edit


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _row_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def setup_can_view(actor: Any) -> bool:
    """The set-up pages and the reads of teams, rules and policies."""
    return service_settings_can_edit(actor)


def setup_require_view(actor: Any) -> None:
    service_settings_require_edit(actor)


def category_require_read(actor: Any) -> None:
    if not _active(actor):
        raise PermissionDeniedError()


def category_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> TicketCategory:
    if write:
        service_settings_require_edit(actor)
    else:
        category_require_read(actor)
    category = TicketCategory.objects.filter(pk=_row_id(pk)).first()
    if category is None:
        raise NotFoundError()
    return category


def service_team_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> ServiceTeam:
    service_settings_require_edit(actor)
    team = ServiceTeam.objects.select_related("department", "lead").filter(pk=_row_id(pk)).first()
    if team is None:
        raise NotFoundError()
    return team


def routing_rule_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> RoutingRule:
    service_settings_require_edit(actor)
    rule = (
        RoutingRule.objects.select_related(
            "category", "team__department", "region__parent__parent", "assignee"
        )
        .filter(pk=_row_id(pk))
        .first()
    )
    if rule is None:
        raise NotFoundError()
    return rule


def sla_policy_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> SlaPolicy:
    service_settings_require_edit(actor)
    policy = SlaPolicy.objects.select_related("category").filter(pk=_row_id(pk)).first()
    if policy is None:
        raise NotFoundError()
    return policy
