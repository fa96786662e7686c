"""REST endpoints of the service desk's set-up: /service-categories (read by every signed-in
user), /service-teams, /routing-rules and /sla-policies (administrators), /service-defaults
(the usual teams and rules) and /routing-preview (which rule and policy a ticket would get).

Errors follow the one contract; a service's field errors are renamed to the API's fields
(``team`` → ``team_id``, ``members`` → ``member_ids`` …).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from guanxi.core.exceptions import validation_error_renamed
from guanxi.service.models import Priority, RoutingRule, ServiceTeam, SlaPolicy, TicketCategory
from guanxi.service.setup import selectors, services
from guanxi.service.setup.permissions import (
    category_get_for_user,
    category_require_read,
    routing_rule_get_for_user,
    service_team_get_for_user,
    setup_require_view,
    sla_policy_get_for_user,
)
from guanxi.service.setup.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatchIn,
    DefaultsOut,
    PolicyIn,
    PolicyOut,
    PolicyPatchIn,
    PreviewOut,
    RuleIn,
    RuleOut,
    RulePatchIn,
    TeamIn,
    TeamOut,
    TeamPatchIn,
)

router = Router(tags=["service setup"])

# The services' field names → the API's.
API_NAMES = {
    "category": "category_id",
    "team": "team_id",
    "lead": "lead_id",
    "members": "member_ids",
    "assignee": "assignee_id",
    "region": "region_code",
    "department": "department_id",
}
SERVICE_NAMES = {api: service for service, api in API_NAMES.items()}
# Sent as null, these mean "empty" (any priority, no description).
BLANK_WHEN_NULL = frozenset({"priority", "account_class", "description"})
# Sent as null, these mean "none" (no lead, no break, any category …).
NONE_ALLOWED = frozenset(
    {"lead_id", "assignee_id", "region_code", "break_start", "break_end", "category_id"}
)


def _call(call: Any) -> Any:
    try:
        return call()
    except ValidationError as error:
        raise validation_error_renamed(error, API_NAMES) from error


def _patch(payload: Schema, *, none_allowed: frozenset[str] = NONE_ALLOWED) -> tuple[dict, int]:
    """The fields a PATCH sent, named as the services name them, and its version. A null where
    the field cannot be empty is a field error rather than a silent reset."""
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if value is None and name in BLANK_WHEN_NULL:
            value = ""
        elif value is None and name not in none_allowed:
            errors[name] = [_("This field cannot be empty.")]
            continue
        changes[SERVICE_NAMES.get(name, name)] = value
    if errors:
        raise ValidationError(errors)
    return changes, version


def _time(value: Any) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


# --- categories ---------------------------------------------------------------------------------


def _category_out(category: TicketCategory) -> dict[str, Any]:
    return {
        "id": category.pk,
        "name": category.name,
        "code": category.code,
        "description": category.description,
        "active": category.active,
        "position": category.position,
        "version": category.version,
    }


@router.get("/service-categories", response=list[CategoryOut])
def category_index(request: HttpRequest, active: bool | None = None) -> list[dict[str, Any]]:
    """Every signed-in user: the ticket categories in their order (``active=true``: those in
    use only)."""
    category_require_read(request.auth)
    return [_category_out(c) for c in selectors.category_list(active_only=bool(active))]


@router.post("/service-categories", response={201: CategoryOut})
def category_add(request: HttpRequest, payload: CategoryIn) -> Status[Any]:
    setup_require_view(request.auth)
    category = _call(lambda: services.ticket_category_create(actor=request.auth, **payload.dict()))
    return Status(201, _category_out(category))


@router.get("/service-categories/{category_id}", response=CategoryOut)
def category_show(request: HttpRequest, category_id: int) -> dict[str, Any]:
    return _category_out(category_get_for_user(request.auth, category_id))


@router.patch("/service-categories/{category_id}", response=CategoryOut)
def category_edit(
    request: HttpRequest, category_id: int, payload: CategoryPatchIn
) -> dict[str, Any]:
    category = category_get_for_user(request.auth, category_id, write=True)
    data, version = _patch(payload)
    updated = _call(
        lambda: services.ticket_category_update(
            actor=request.auth, category=category, data=data, expected_version=version
        )
    )
    return _category_out(updated)


@router.delete("/service-categories/{category_id}", response={204: None})
def category_remove(request: HttpRequest, category_id: int) -> Status[Any]:
    category = category_get_for_user(request.auth, category_id, write=True)
    _call(lambda: services.ticket_category_delete(actor=request.auth, category=category))
    return Status(204, None)


# --- teams --------------------------------------------------------------------------------------


def _team_out(team: ServiceTeam) -> dict[str, Any]:
    return {
        "id": team.pk,
        "department_id": team.department_id,
        "department_name": team.department.name,
        "lead_id": team.lead_id,
        "members": [
            {
                "id": user.pk,
                "name": user.get_full_name(),
                "role": user.role,
                "is_active": user.is_active,
            }
            for user in team.members.all()
        ],
        "assignment_mode": team.assignment_mode,
        "work_start": _time(team.work_start),
        "work_end": _time(team.work_end),
        "break_start": _time(team.break_start),
        "break_end": _time(team.break_end),
        "time_zone": team.time_zone,
        "version": team.version,
    }


@router.get("/service-teams", response=list[TeamOut])
def team_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Administrators: the service teams with their members and hours."""
    setup_require_view(request.auth)
    return [_team_out(team) for team in selectors.team_list()]


@router.post("/service-teams", response={201: TeamOut})
def team_add(request: HttpRequest, payload: TeamIn) -> Status[Any]:
    setup_require_view(request.auth)
    data = payload.dict()
    team = _call(
        lambda: services.service_team_create(
            actor=request.auth,
            department=data.pop("department_id"),
            lead=data.pop("lead_id"),
            members=data.pop("member_ids"),
            **data,
        )
    )
    return Status(201, _team_out(selectors.team_detail(team)))


@router.get("/service-teams/{team_id}", response=TeamOut)
def team_show(request: HttpRequest, team_id: int) -> dict[str, Any]:
    return _team_out(selectors.team_detail(service_team_get_for_user(request.auth, team_id)))


@router.patch("/service-teams/{team_id}", response=TeamOut)
def team_edit(request: HttpRequest, team_id: int, payload: TeamPatchIn) -> dict[str, Any]:
    team = service_team_get_for_user(request.auth, team_id, write=True)
    data, version = _patch(payload)
    updated = _call(
        lambda: services.service_team_update(
            actor=request.auth, team=team, data=data, expected_version=version
        )
    )
    return _team_out(selectors.team_detail(updated))


@router.delete("/service-teams/{team_id}", response={204: None})
def team_remove(request: HttpRequest, team_id: int) -> Status[Any]:
    team = service_team_get_for_user(request.auth, team_id, write=True)
    _call(lambda: services.service_team_delete(actor=request.auth, team=team))
    return Status(204, None)


# --- routing rules ------------------------------------------------------------------------------


def _rule_out(rule: RoutingRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "position": rule.position,
        "category_id": rule.category_id,
        "priority": rule.priority,
        "region_code": rule.region_id,
        "region_name": selectors.region_display(rule.region),
        "account_class": rule.account_class,
        "team_id": rule.team_id,
        "assignee_id": rule.assignee_id,
        "active": rule.active,
        "description": selectors.routing_rule_describe(rule),
        "version": rule.version,
    }


def _rule_reload(rule: RoutingRule) -> RoutingRule:
    return RoutingRule.objects.select_related(
        "category", "team__department", "region__parent__parent", "assignee"
    ).get(pk=rule.pk)


@router.get("/routing-rules", response=list[RuleOut])
def routing_rule_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Administrators: the routing rules in the order they are tried."""
    setup_require_view(request.auth)
    return [_rule_out(rule) for rule in selectors.routing_rule_list()]


@router.post("/routing-rules", response={201: RuleOut})
def routing_rule_add(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    setup_require_view(request.auth)
    data = {SERVICE_NAMES.get(name, name): value for name, value in payload.dict().items()}
    rule = _call(lambda: services.routing_rule_create(actor=request.auth, **data))
    return Status(201, _rule_out(_rule_reload(rule)))


@router.get("/routing-rules/{rule_id}", response=RuleOut)
def routing_rule_show(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return _rule_out(routing_rule_get_for_user(request.auth, rule_id))


@router.patch("/routing-rules/{rule_id}", response=RuleOut)
def routing_rule_edit(request: HttpRequest, rule_id: int, payload: RulePatchIn) -> dict[str, Any]:
    rule = routing_rule_get_for_user(request.auth, rule_id, write=True)
    data, version = _patch(payload, none_allowed=NONE_ALLOWED - {"category_id"})
    updated = _call(
        lambda: services.routing_rule_update(
            actor=request.auth, rule=rule, data=data, expected_version=version
        )
    )
    return _rule_out(_rule_reload(updated))


@router.delete("/routing-rules/{rule_id}", response={204: None})
def routing_rule_remove(request: HttpRequest, rule_id: int) -> Status[Any]:
    rule = routing_rule_get_for_user(request.auth, rule_id, write=True)
    _call(lambda: services.routing_rule_delete(actor=request.auth, rule=rule))
    return Status(204, None)


@router.post("/service-defaults", response=DefaultsOut)
def defaults_ensure(request: HttpRequest) -> dict[str, int]:
    """Administrators: set up the usual departments, teams and routing rules; what exists is
    kept, so a second call creates nothing."""
    setup_require_view(request.auth)
    return services.service_defaults_ensure(actor=request.auth)


class PreviewQuery(Schema):
    category_id: int
    priority: str = Priority.NORMAL
    customer_id: int


@router.get("/routing-preview", response=PreviewOut)
def routing_preview(request: HttpRequest, query: Query[PreviewQuery]) -> dict[str, Any]:
    """Administrators: the rule, team, assignee and SLA policy a ticket of this category and
    priority for this customer would get, and its deadlines if it were opened now."""
    setup_require_view(request.auth)
    errors: dict[str, list[str]] = {}
    category = TicketCategory.objects.filter(pk=query.category_id).first()
    if category is None:
        errors["category_id"] = [_("Choose a category from the list.")]
    if query.priority not in Priority.values:
        errors["priority"] = [_("Choose one of the listed values.")]
    customer = selectors.tester_customer(actor=request.auth, customer_id=query.customer_id)
    if customer is None:
        errors["customer_id"] = [_("Choose a customer you can see.")]
    if errors:
        raise ValidationError(errors)
    preview = selectors.routing_preview(
        category=category,  # type: ignore[arg-type]  # checked above
        priority=query.priority,
        customer=customer,  # type: ignore[arg-type]  # checked above
    )
    return {
        "rule_id": preview.rule.pk if preview.rule else None,
        "rule_description": preview.rule_label,
        "team_id": preview.team.pk if preview.team else None,
        "assignee_id": preview.assignee.pk if preview.assignee else None,
        "assignee_named": preview.assignee_named,
        "policy_id": preview.policy.pk if preview.policy else None,
        "policy_name": preview.policy.name if preview.policy else "",
        "response_due_at": preview.response_due_at,
        "resolution_due_at": preview.resolution_due_at,
        "response_warn_at": preview.response_warn_at,
        "resolution_warn_at": preview.resolution_warn_at,
        "calendar_missing": preview.calendar_missing,
    }


# --- SLA policies -------------------------------------------------------------------------------


def _policy_out(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "category_id": policy.category_id,
        "priority": policy.priority,
        "account_class": policy.account_class,
        "response_minutes": policy.response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "clock": policy.clock,
        "warn_percent": policy.warn_percent,
        "active": policy.active,
        "version": policy.version,
    }


@router.get("/sla-policies", response=list[PolicyOut])
def sla_policy_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Administrators: the SLA policies, the most specific first."""
    setup_require_view(request.auth)
    return [_policy_out(policy) for policy in selectors.sla_policy_list()]


@router.post("/sla-policies", response={201: PolicyOut})
def sla_policy_add(request: HttpRequest, payload: PolicyIn) -> Status[Any]:
    setup_require_view(request.auth)
    data = {SERVICE_NAMES.get(name, name): value for name, value in payload.dict().items()}
    policy = _call(lambda: services.sla_policy_create(actor=request.auth, **data))
    return Status(201, _policy_out(policy))


@router.get("/sla-policies/{policy_id}", response=PolicyOut)
def sla_policy_show(request: HttpRequest, policy_id: int) -> dict[str, Any]:
    return _policy_out(sla_policy_get_for_user(request.auth, policy_id))


@router.patch("/sla-policies/{policy_id}", response=PolicyOut)
def sla_policy_edit(request: HttpRequest, policy_id: int, payload: PolicyPatchIn) -> dict[str, Any]:
    policy = sla_policy_get_for_user(request.auth, policy_id, write=True)
    data, version = _patch(payload)
    updated = _call(
        lambda: services.sla_policy_update(
            actor=request.auth, policy=policy, data=data, expected_version=version
        )
    )
    return _policy_out(updated)


@router.delete("/sla-policies/{policy_id}", response={204: None})
def sla_policy_remove(request: HttpRequest, policy_id: int) -> Status[Any]:
    policy = sla_policy_get_for_user(request.auth, policy_id, write=True)
    _call(lambda: services.sla_policy_delete(actor=request.auth, policy=policy))
    return Status(204, None)
