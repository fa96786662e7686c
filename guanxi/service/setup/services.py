"""Writes of the service desk's reference data (C5, C12): ticket categories, service teams,
routing rules and SLA policies, and the usual set-up of a new desk (``service_defaults_ensure``).

Administrators only (``service.permissions.service_settings_require_edit``). Every write checks
all of its input first and reports every problem as a field error, then writes in one
transaction, audited through core.services: ``model_create``, ``model_update`` with the version
the caller read (a stale one is a 409 with both values), ``object_soft_delete`` (recycle bin).

The rules kept here are those the ticket code relies on (guanxi.service.services): a routing
rule's named assignee is a member or the lead of its team; a team's working hours make a valid
SLA clock (start before end, a break inside them); an SLA policy's resolution target is not
shorter than its response target, and no two active policies have the same conditions, so
``sla_policy_for`` never has to pick between equals.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_create
from guanxi.core.audit import audit_record
from guanxi.core.china.regions import region_validate
from guanxi.core.models import AuditEntry, Region
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.customers.models import Customer
from guanxi.service.models import (
    AssignmentMode,
    ClockMode,
    Priority,
    RoutingRule,
    ServiceTeam,
    SlaPolicy,
    Ticket,
    TicketCategory,
)
from guanxi.service.permissions import service_settings_require_edit

CATEGORY_EDITABLE_FIELDS = frozenset({"name", "code", "description", "active", "position"})
TEAM_EDITABLE_FIELDS = frozenset(
    {
        "lead",
        "members",
        "assignment_mode",
        "work_start",
        "work_end",
        "break_start",
        "break_end",
        "time_zone",
    }
)
RULE_EDITABLE_FIELDS = frozenset(
    {"position", "category", "priority", "region", "account_class", "team", "assignee", "active"}
)
POLICY_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "category",
        "priority",
        "account_class",
        "response_minutes",
        "resolution_minutes",
        "clock",
        "warn_percent",
        "active",
    }
)

MEMBER_REFUSED_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.KEY_ACCOUNT_MANAGER})
"""Sales roles do not work tickets: as team members they would get tickets by round robin."""

TARGET_MINUTES_MAX = 365 * 24 * 60
"""A year. Longer targets are typing mistakes, and on working hours they would reach years the
holiday table cannot cover yet."""

POSITION_MAX = 32767  # PositiveSmallIntegerField

DEFAULT_DEPARTMENTS = (
    ("tech", "技术部"),
    ("supply", "供应链部"),
    ("finance", "财务部"),
    ("service", "客服中心"),
)
"""The departments that resolve tickets in the usual set-up (C5): code, name."""

DEFAULT_ROUTES = (
    ("product_quality", "产品质量", "tech"),
    ("logistics_delay", "物流延迟", "supply"),
    ("billing_dispute", "账务争议", "finance"),
    ("after_sales", "售后支持", "service"),
)
"""Category (code, name as seeded by migration 0002) → the department whose team handles it."""

DEFAULT_MEMBER_ROLES = (Role.DEPARTMENT_HANDLER, Role.SERVICE_AGENT)


# --- small checks ---------------------------------------------------------------------------------


def _require_admin(actor: Any) -> None:
    service_settings_require_edit(actor)


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _text(
    errors: dict[str, list[str]], name: str, value: Any, *, limit: int, required: bool = False
) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        _add(errors, name, _("This field is required."))
    elif len(text) > limit:
        _add(errors, name, _("Keep this under %(limit)s characters.") % {"limit": limit})
    return text


def _choice(
    errors: dict[str, list[str]], name: str, value: Any, choices: Any, *, blank: bool = False
) -> str:
    value = "" if value is None else value
    if value == "" and blank:
        return ""
    if value not in choices.values:
        _add(errors, name, _("Choose one of the listed values."))
        return ""
    return str(value)


def _integer(
    errors: dict[str, list[str]], name: str, value: Any, *, low: int, high: int
) -> int | None:
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
    except (TypeError, ValueError):
        _add(errors, name, _("Enter a whole number."))
        return None
    if not low <= number <= high:
        _add(
            errors,
            name,
            _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high},
        )
        return None
    return number


def _time(errors: dict[str, list[str]], name: str, value: Any, *, required: bool) -> Any:
    if value in (None, ""):
        if required:
            _add(errors, name, _("This field is required."))
        return None
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value).strip()).replace(tzinfo=None, microsecond=0)
    except ValueError:
        _add(errors, name, _("Enter a time such as 09:00."))
        return None


def _row_id(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if hasattr(value, "pk"):
        return value.pk
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def _live(model: Any, value: Any) -> Any:
    """The live row ``value`` (an instance or an id) names, or None."""
    pk = _row_id(value)
    if pk is None or pk < 0:
        return None
    return model.objects.filter(pk=pk).first()


def _user_label(user: User) -> str:
    return user.get_full_name() or user.username


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_valid(name: str) -> bool:
    """An IANA time zone name that this system's zone database knows (Asia/Shanghai)."""
    return name in _time_zones()


def _unknown_fields(data: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )


def _saved(call: Any, field: str, message: str) -> Any:
    """``call()`` in a savepoint; a unique constraint that a concurrent write won first becomes
    the field error the validation would have given, instead of a server error."""
    try:
        with transaction.atomic():
            return call()
    except IntegrityError as error:
        raise ValidationError({field: [message]}, code="unique") from error


# --- ticket categories ----------------------------------------------------------------------------


def _category_values(values: dict[str, Any], *, current: TicketCategory | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _text(errors, "name", values["name"], limit=60, required=True)
        others = TicketCategory.objects.filter(name=cleaned["name"])
        if current is not None:
            others = others.exclude(pk=current.pk)
        if cleaned["name"] and others.exists():
            _add(errors, "name", _("A category with this name already exists."))
    if "code" in values:
        cleaned["code"] = _text(errors, "code", values["code"], limit=40, required=True)
        holder = TicketCategory.all_objects.filter(code=cleaned["code"])
        if current is not None:
            holder = holder.exclude(pk=current.pk)
        taken = holder.first() if cleaned["code"] else None
        if taken is not None:
            _add(
                errors,
                "code",
                _("The category “%(name)s” in the recycle bin has this code.")
                % {"name": taken.name}
                if taken.deleted_at is not None
                else _("The category “%(name)s” has this code.") % {"name": taken.name},
            )
    if "description" in values:
        cleaned["description"] = _text(errors, "description", values["description"], limit=255)
    if "position" in values:
        cleaned["position"] = _integer(
            errors, "position", values["position"], low=0, high=POSITION_MAX
        )
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def _full_clean(instance: Any) -> None:
    """The model's own checks (slug format, uniqueness including the recycle bin, choices)
    before anything is written, so their errors join ours as field errors."""
    instance.full_clean()


def ticket_category_create(
    *,
    actor: Any,
    name: str,
    code: str,
    description: str = "",
    active: bool = True,
    position: int = 0,
) -> TicketCategory:
    """A new category. Its code is unique among all categories, those in the recycle bin too."""
    _require_admin(actor)
    values = _category_values(
        {
            "name": name,
            "code": code,
            "description": description,
            "active": active,
            "position": position,
        },
        current=None,
    )
    category = TicketCategory(**values)
    _full_clean(category)
    return _saved(  # type: ignore[no-any-return]  # model_create returns the instance given
        lambda: model_create(instance=category, actor=actor),
        "code",
        _("A category with this code already exists."),
    )


def ticket_category_update(
    *,
    actor: Any,
    category: TicketCategory,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> TicketCategory:
    """Rename, re-code, reorder, describe, or switch a category on or off. A category switched
    off keeps its tickets, rules and policies but no new ticket can be filed under it."""
    _require_admin(actor)
    _unknown_fields(data, CATEGORY_EDITABLE_FIELDS)
    changes = _category_values(data, current=category)
    return _saved(  # type: ignore[no-any-return]  # model_update returns the instance given
        lambda: model_update(
            instance=category, data=changes, actor=actor, expected_version=expected_version
        ),
        "code",
        _("A category with this code already exists."),
    )


def ticket_category_delete(*, actor: Any, category: TicketCategory) -> TicketCategory:
    """Move a category to the recycle bin. Not while tickets were filed under it (they would
    point to a deleted category: switch it off instead), nor while routing rules or SLA policies
    use it (change or delete those first)."""
    _require_admin(actor)
    with transaction.atomic():
        locked = TicketCategory.all_objects.select_for_update().get(pk=category.pk)
        tickets = Ticket.all_objects.filter(category=locked).count()
        if tickets:
            raise ValidationError(
                {
                    "active": [
                        _(
                            "%(count)s tickets were filed under this category, so it cannot be "
                            "deleted. Switch it off instead: no new tickets can use it then."
                        )
                        % {"count": tickets}
                    ]
                },
                code="category_in_use",
            )
        rules = RoutingRule.objects.filter(category=locked).count()
        policies = SlaPolicy.objects.filter(category=locked).count()
        if rules or policies:
            raise ValidationError(
                {
                    "active": [
                        _(
                            "%(rules)s routing rules and %(policies)s SLA policies use this "
                            "category. Change or delete them first, or switch the category off."
                        )
                        % {"rules": rules, "policies": policies}
                    ]
                },
                code="category_in_use",
            )
        return object_soft_delete(instance=locked, actor=actor)  # type: ignore[return-value]  # returns the instance given


# --- service teams --------------------------------------------------------------------------------


def _users(errors: dict[str, list[str]], name: str, values: Iterable[Any]) -> list[User]:
    """Active users, not of a sales role, for a team's members."""
    wanted: list[int] = []
    for value in values or ():
        pk = _row_id(value)
        if pk is None or pk < 0:
            _add(errors, name, _("Choose users from the list."))
            return []
        if pk not in wanted:
            wanted.append(pk)
    found = User.objects.in_bulk(wanted)
    users: list[User] = []
    for pk in wanted:
        user = found.get(pk)
        if user is None:
            _add(errors, name, _("User #%(id)s does not exist.") % {"id": pk})
        elif not user.is_active:
            _add(
                errors,
                name,
                _("%(name)s is deactivated and cannot work tickets.") % {"name": _user_label(user)},
            )
        elif user.role in MEMBER_REFUSED_ROLES:
            _add(
                errors,
                name,
                _("%(name)s is a %(role)s: sales roles do not work tickets.")
                % {"name": _user_label(user), "role": user.get_role_display()},
            )
        else:
            users.append(user)
    return users


def _lead(errors: dict[str, list[str]], value: Any) -> User | None:
    pk = _row_id(value)
    if pk is None:
        return None
    user = User.objects.filter(pk=pk).first() if pk > 0 else None
    if user is None:
        _add(errors, "lead", _("Choose a user from the list."))
        return None
    if not user.is_active:
        _add(
            errors,
            "lead",
            _("%(name)s is deactivated and cannot lead a team.") % {"name": _user_label(user)},
        )
        return None
    return user


def _hours_check(errors: dict[str, list[str]], values: dict[str, Any]) -> None:
    """Working hours that make a valid SLA clock: start before end; a break both from and to,
    or neither; a break that starts after the start, ends before the end, and ends after it
    starts."""
    start, end = values.get("work_start"), values.get("work_end")
    break_start, break_end = values.get("break_start"), values.get("break_end")
    if start is not None and end is not None and start >= end:
        _add(errors, "work_end", _("The working day must end after it starts."))
        return
    if (break_start is None) != (break_end is None):
        missing = "break_end" if break_end is None else "break_start"
        _add(errors, missing, _("Give both ends of the break, or neither."))
        return
    if break_start is None or break_end is None or start is None or end is None:
        return
    if break_start >= break_end:
        _add(errors, "break_end", _("The break must end after it starts."))
    elif not start < break_start or not break_end < end:
        _add(
            errors,
            "break_start",
            _("The break must lie inside the working hours (%(start)s–%(end)s).")
            % {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")},
        )


def _team_values(values: dict[str, Any], *, current: ServiceTeam | None) -> dict[str, Any]:
    """Check a team's values (all of them: the changes merged over the current ones for an
    update); returns those given in ``values``, resolved."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "lead" in values:
        cleaned["lead"] = _lead(errors, values["lead"])
    if "members" in values:
        cleaned["members"] = _users(errors, "members", values["members"])
    if "assignment_mode" in values:
        cleaned["assignment_mode"] = _choice(
            errors, "assignment_mode", values["assignment_mode"], AssignmentMode
        )
    for name in ("work_start", "work_end"):
        if name in values:
            cleaned[name] = _time(errors, name, values[name], required=True)
    for name in ("break_start", "break_end"):
        if name in values:
            cleaned[name] = _time(errors, name, values[name], required=False)
    if "time_zone" in values:
        zone = _text(errors, "time_zone", values["time_zone"], limit=50, required=True)
        if zone and not time_zone_valid(zone):
            _add(
                errors,
                "time_zone",
                _("“%(zone)s” is not a time zone name such as Asia/Shanghai.") % {"zone": zone},
            )
        cleaned["time_zone"] = zone
    hours = {
        name: cleaned[name]
        if name in cleaned
        else (getattr(current, name) if current is not None else None)
        for name in ("work_start", "work_end", "break_start", "break_end")
    }
    if not any(name in errors for name in hours):
        _hours_check(errors, hours)
    if current is not None and ("members" in cleaned or "lead" in cleaned) and not errors:
        _named_assignees_check(errors, current, cleaned)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _named_assignees_check(
    errors: dict[str, list[str]], team: ServiceTeam, cleaned: dict[str, Any]
) -> None:
    """A routing rule names its assignee only among the team's members and lead: removing one
    of them from the team is refused while a rule still names them."""
    members = (
        {user.pk for user in cleaned["members"]}
        if "members" in cleaned
        else set(team.members.values_list("pk", flat=True))
    )
    lead = cleaned.get("lead", team.lead)
    allowed = members | ({lead.pk} if lead is not None else set())
    stranded = (
        RoutingRule.objects.filter(team=team, assignee__isnull=False)
        .exclude(assignee__in=allowed)
        .select_related("assignee")
    )
    for user in {rule.assignee for rule in stranded}:
        _add(
            errors,
            "members",
            _(
                "Routing rules of this team name %(name)s as the assignee. Change those rules "
                "before you take %(name)s off the team."
            )
            % {"name": _user_label(user)},
        )


def _members_set(*, actor: Any, team: ServiceTeam, members: list[User]) -> None:
    before = sorted(team.members.values_list("pk", flat=True))
    after = sorted(user.pk for user in members)
    if before == after:
        return
    team.members.set(members)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=team,
        changes={"members": {"before": before, "after": after}},
    )


def service_team_create(
    *,
    actor: Any,
    department: Department | int,
    lead: User | int | None = None,
    members: Iterable[User | int] = (),
    assignment_mode: str = AssignmentMode.LEAST_LOADED,
    work_start: dt.time | str = dt.time(9),
    work_end: dt.time | str = dt.time(18),
    break_start: dt.time | str | None = None,
    break_end: dt.time | str | None = None,
    time_zone: str = "Asia/Shanghai",
) -> ServiceTeam:
    """The service team of a department (one per department): who works its tickets, how they
    are shared, who leads it (told of breaches) and its working hours for the SLA clock."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    department_row = _live(Department, department)
    if department_row is None:
        _add(errors, "department", _("Choose a department from the list."))
    else:
        existing = ServiceTeam.all_objects.filter(department=department_row).first()
        if existing is not None:
            message = (
                _("%(department)s already has a service team in the recycle bin: restore it.")
                if existing.deleted_at is not None
                else _("%(department)s already has a service team.")
            )
            _add(errors, "department", message % {"department": department_row.name})
    try:
        values = _team_values(
            {
                "lead": lead,
                "members": members,
                "assignment_mode": assignment_mode,
                "work_start": work_start,
                "work_end": work_end,
                "break_start": break_start,
                "break_end": break_end,
                "time_zone": time_zone,
            },
            current=None,
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        values = {}
    if errors:
        raise ValidationError(errors)
    chosen = values.pop("members")
    team = ServiceTeam(department=department_row, **values)
    _full_clean(team)
    taken = _("%(department)s already has a service team.") % {"department": str(department_row)}
    with transaction.atomic():
        _saved(lambda: model_create(instance=team, actor=actor), "department", taken)
        _members_set(actor=actor, team=team, members=chosen)
    return team


def service_team_update(
    *,
    actor: Any,
    team: ServiceTeam,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ServiceTeam:
    """Change a team's lead, members (the whole list), assignment mode or hours. Its department
    stays: a team for another department is a new team. Tickets already open keep their
    deadlines; new ones and recalculated ones (a pause ending) follow the new hours."""
    _require_admin(actor)
    _unknown_fields(data, TEAM_EDITABLE_FIELDS)
    changes = _team_values(data, current=team)
    members = changes.pop("members", None)
    with transaction.atomic():
        updated: ServiceTeam = model_update(  # type: ignore[assignment]  # returns the instance given
            instance=team, data=changes, actor=actor, expected_version=expected_version
        )
        if members is not None:
            _members_set(actor=actor, team=updated, members=members)
    return updated


def service_team_delete(*, actor: Any, team: ServiceTeam) -> ServiceTeam:
    """Move a team to the recycle bin; not while routing rules send tickets to it. Its tickets
    keep it as their team."""
    _require_admin(actor)
    with transaction.atomic():
        locked = ServiceTeam.all_objects.select_for_update().get(pk=team.pk)
        rules = RoutingRule.objects.filter(team=locked).count()
        if rules:
            raise ValidationError(
                {
                    "team": [
                        _(
                            "%(count)s routing rules send tickets to this team. Change or delete "
                            "them first."
                        )
                        % {"count": rules}
                    ]
                },
                code="team_in_use",
            )
        return object_soft_delete(instance=locked, actor=actor)  # type: ignore[return-value]  # returns the instance given


# --- routing rules --------------------------------------------------------------------------------


def routing_rule_region_code(
    *, province_code: str | None, city_code: str | None = None, district_code: str | None = None
) -> str | None:
    """The one region a form's three selects (province, city, district) stand for: the most
    specific one given, after checking that they name one place. Errors are keyed
    ``province_code``, ``city_code`` and ``district_code``."""
    codes = [(value or "").strip() for value in (province_code, city_code, district_code)]
    region_validate(province_code=codes[0], city_code=codes[1], district_code=codes[2])
    return next((code for code in reversed(codes) if code), None)


def _region(errors: dict[str, list[str]], value: Any, *, current: Region | None) -> Region | None:
    if value is None or value == "":
        return None
    code = value.code if isinstance(value, Region) else str(value).strip()
    region = Region.objects.filter(code=code).first()
    if region is None:
        _add(errors, "region", _("%(code)s is not a region code.") % {"code": code[:20]})
        return None
    # A rule may keep a code the national table has since retired, not take up a new one.
    if not region.is_active and (current is None or current.pk != region.pk):
        _add(errors, "region", _("%(name)s is no longer in use.") % {"name": region.name})
        return None
    return region


def _rule_values(values: dict[str, Any], *, current: RoutingRule | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "position" in values:
        cleaned["position"] = _integer(
            errors, "position", values["position"], low=0, high=POSITION_MAX
        )
    if "category" in values:
        category = _live(TicketCategory, values["category"])
        if category is None:
            _add(errors, "category", _("Choose a category from the list."))
        cleaned["category"] = category
    if "priority" in values:
        cleaned["priority"] = _choice(errors, "priority", values["priority"], Priority, blank=True)
    if "account_class" in values:
        cleaned["account_class"] = _choice(
            errors, "account_class", values["account_class"], Customer.AccountClass, blank=True
        )
    if "region" in values:
        cleaned["region"] = _region(
            errors, values["region"], current=current.region if current is not None else None
        )
    if "team" in values:
        team = _live(ServiceTeam, values["team"])
        if team is None:
            _add(errors, "team", _("Choose a team from the list."))
        cleaned["team"] = team
    if "assignee" in values:
        pk = _row_id(values["assignee"])
        assignee = User.objects.filter(pk=pk).first() if pk is not None and pk > 0 else None
        if pk is not None and assignee is None:
            _add(errors, "assignee", _("Choose a user from the list."))
        elif assignee is not None and not assignee.is_active:
            _add(
                errors,
                "assignee",
                _("%(name)s is deactivated.") % {"name": _user_label(assignee)},
            )
        cleaned["assignee"] = assignee
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    team = cleaned.get("team", current.team if current else None)
    assignee = cleaned.get("assignee", current.assignee if current else None)
    if (
        team is not None
        and assignee is not None
        and "assignee" not in errors
        and ("team" in cleaned or "assignee" in cleaned)
        and team.lead_id != assignee.pk
        and not team.members.filter(pk=assignee.pk).exists()
    ):
        _add(
            errors,
            "assignee",
            _("%(name)s is not a member or the lead of %(team)s.")
            % {"name": _user_label(assignee), "team": str(team)},
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def routing_rule_create(
    *,
    actor: Any,
    category: TicketCategory | int,
    team: ServiceTeam | int,
    position: int = 100,
    priority: str = "",
    region: Region | str | None = None,
    account_class: str = "",
    assignee: User | int | None = None,
    active: bool = True,
) -> RoutingRule:
    """A rule: tickets of ``category`` (and, when given, of this priority, of customers in this
    region or of this key-account class) go to ``team`` — to ``assignee`` when named (a member
    or the lead of the team), else to whom the team's assignment mode picks. The first active
    rule in position order that matches wins."""
    _require_admin(actor)
    values = _rule_values(
        {
            "position": position,
            "category": category,
            "priority": priority,
            "region": region,
            "account_class": account_class,
            "team": team,
            "assignee": assignee,
            "active": active,
        },
        current=None,
    )
    rule = RoutingRule(**values)
    _full_clean(rule)
    return model_create(instance=rule, actor=actor)  # type: ignore[return-value]  # returns the instance given


def routing_rule_update(
    *,
    actor: Any,
    rule: RoutingRule,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> RoutingRule:
    _require_admin(actor)
    _unknown_fields(data, RULE_EDITABLE_FIELDS)
    changes = _rule_values(data, current=rule)
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=rule, data=changes, actor=actor, expected_version=expected_version
    )


def routing_rule_delete(*, actor: Any, rule: RoutingRule) -> RoutingRule:
    """Move a rule to the recycle bin; tickets routed by it keep their team and assignee."""
    _require_admin(actor)
    return object_soft_delete(instance=rule, actor=actor)  # type: ignore[return-value]  # returns the instance given


# --- SLA policies ---------------------------------------------------------------------------------


def _policy_values(values: dict[str, Any], *, current: SlaPolicy | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _text(errors, "name", values["name"], limit=100, required=True)
    if "category" in values:
        category = None
        if values["category"] not in (None, ""):
            category = _live(TicketCategory, values["category"])
            if category is None:
                _add(errors, "category", _("Choose a category from the list."))
        cleaned["category"] = category
    if "priority" in values:
        cleaned["priority"] = _choice(errors, "priority", values["priority"], Priority, blank=True)
    if "account_class" in values:
        cleaned["account_class"] = _choice(
            errors, "account_class", values["account_class"], Customer.AccountClass, blank=True
        )
    for name in ("response_minutes", "resolution_minutes"):
        if name in values:
            cleaned[name] = _integer(errors, name, values[name], low=1, high=TARGET_MINUTES_MAX)
    if "clock" in values:
        cleaned["clock"] = _choice(errors, "clock", values["clock"], ClockMode)
    if "warn_percent" in values:
        cleaned["warn_percent"] = _integer(
            errors, "warn_percent", values["warn_percent"], low=1, high=99
        )
    if "active" in values:
        cleaned["active"] = bool(values["active"])
    merged = {
        name: cleaned[name] if name in cleaned else getattr(current, name, None)
        for name in ("category", "priority", "account_class", "active")
        + ("response_minutes", "resolution_minutes")
    }
    response, resolution = merged["response_minutes"], merged["resolution_minutes"]
    if (
        response is not None
        and resolution is not None
        and response > resolution
        and not {"response_minutes", "resolution_minutes"} & set(errors)
    ):
        _add(
            errors,
            "resolution_minutes",
            _("The resolution target cannot be shorter than the response target."),
        )
    if merged["active"] and not {"category", "priority", "account_class"} & set(errors):
        twin = _policy_twin(
            category=merged["category"],
            priority=merged["priority"] or "",
            account_class=merged["account_class"] or "",
            exclude=current,
        )
        if twin is not None:
            _add(
                errors,
                "category",
                _(
                    "The active policy “%(name)s” has exactly these conditions (category, "
                    "priority and key-account class). Change one of them, or switch one of the "
                    "two policies off."
                )
                % {"name": twin.name},
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _policy_twin(
    *, category: TicketCategory | None, priority: str, account_class: str, exclude: Any
) -> SlaPolicy | None:
    twins = SlaPolicy.objects.filter(
        active=True, priority=priority, account_class=account_class
    ).filter(Q(category__isnull=True) if category is None else Q(category=category))
    if exclude is not None:
        twins = twins.exclude(pk=exclude.pk)
    return twins.order_by("pk").first()


def _policy_lock() -> None:
    # Two administrators saving twins at the same moment would both pass the check: the check
    # and the write run with the active policies locked (PostgreSQL; SQLite writes one at a time).
    list(SlaPolicy.objects.select_for_update().filter(active=True).values_list("pk", flat=True))


def sla_policy_create(
    *,
    actor: Any,
    name: str,
    response_minutes: int,
    resolution_minutes: int,
    clock: str = ClockMode.WORKING_HOURS,
    warn_percent: int = 80,
    category: TicketCategory | int | None = None,
    priority: str = "",
    account_class: str = "",
    active: bool = True,
) -> SlaPolicy:
    """Targets for the tickets a policy matches (blank conditions match any): a first response
    within ``response_minutes`` and a solution within ``resolution_minutes`` of the clock, the
    assignee warned at ``warn_percent`` of each. The most specific active policy applies."""
    _require_admin(actor)
    with transaction.atomic():
        _policy_lock()
        values = _policy_values(
            {
                "name": name,
                "category": category,
                "priority": priority,
                "account_class": account_class,
                "response_minutes": response_minutes,
                "resolution_minutes": resolution_minutes,
                "clock": clock,
                "warn_percent": warn_percent,
                "active": active,
            },
            current=None,
        )
        policy = SlaPolicy(**values)
        _full_clean(policy)
        return model_create(instance=policy, actor=actor)  # type: ignore[return-value]  # returns the instance given


def sla_policy_update(
    *,
    actor: Any,
    policy: SlaPolicy,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> SlaPolicy:
    """Change a policy. Open tickets keep the deadlines they were given; the targets apply to
    new tickets and to deadlines recalculated later (a pause ending, a reassignment)."""
    _require_admin(actor)
    _unknown_fields(data, POLICY_EDITABLE_FIELDS)
    with transaction.atomic():
        _policy_lock()
        current = SlaPolicy.all_objects.get(pk=policy.pk)
        changes = _policy_values(data, current=current)
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=policy, data=changes, actor=actor, expected_version=expected_version
        )


def sla_policy_delete(*, actor: Any, policy: SlaPolicy) -> SlaPolicy:
    """Move a policy to the recycle bin; its tickets keep their deadlines."""
    _require_admin(actor)
    return object_soft_delete(instance=policy, actor=actor)  # type: ignore[return-value]  # returns the instance given


# --- the usual set-up -----------------------------------------------------------------------------


def _department_ensure(
    *, actor: Any, code: str, name: str, parent: Any
) -> tuple[Department | None, bool]:
    """The live department of ``code`` (or, failing that, the only one called ``name``), made
    when there is none; and whether it was made. One an administrator moved to the recycle bin
    stays there: None."""
    department = Department.objects.filter(code=code).first()
    if department is None:
        named = list(Department.objects.filter(name=name)[:2])
        department = named[0] if len(named) == 1 else None
    if department is not None:
        return department, False
    if Department.all_objects.filter(code=code).exists():
        return None, False
    return department_create(actor=actor, name=name, code=code, parent=parent), True


def service_defaults_ensure(*, actor: Any) -> dict[str, int]:
    """Set up the usual service desk, leaving alone whatever already exists (so it can run any
    number of times): the departments 技术部, 供应链部, 财务部 and 客服中心 (under the root
    department when there is exactly one), a service team for each (its members: the
    department's active handlers and service agents; no lead — the administrator picks one), and
    the rules 产品质量 → 技术部, 物流延迟 → 供应链部, 账务争议 → 财务部, 售后支持 → 客服中心 for
    categories that have no rule yet. ``actor`` None is the system (the demo loader). Returns
    how many departments, teams and rules it created."""
    if actor is not None:
        _require_admin(actor)
    counts = {"departments": 0, "teams": 0, "rules": 0}
    with transaction.atomic():
        roots = list(Department.objects.filter(parent__isnull=True)[:2])
        parent = roots[0] if len(roots) == 1 else None
        teams: dict[str, ServiceTeam] = {}
        for code, name in DEFAULT_DEPARTMENTS:
            department, created = _department_ensure(
                actor=actor, code=code, name=name, parent=parent
            )
            if department is None:
                continue
            counts["departments"] += int(created)
            team = ServiceTeam.all_objects.filter(department=department).first()
            if team is None:
                team = ServiceTeam(department=department)
                model_create(instance=team, actor=actor)
                members = User.objects.filter(
                    department=department, is_active=True, role__in=DEFAULT_MEMBER_ROLES
                ).order_by("pk")
                _members_set(actor=actor, team=team, members=list(members))
                counts["teams"] += 1
            if team.deleted_at is None:
                teams[code] = team
        for category_code, category_name, department_code in DEFAULT_ROUTES:
            team = teams.get(department_code)
            category = (
                TicketCategory.objects.filter(code=category_code).first()
                or TicketCategory.objects.filter(name=category_name).first()
            )
            if team is None or category is None:
                continue
            if RoutingRule.objects.filter(category=category).exists():
                continue
            model_create(instance=RoutingRule(category=category, team=team), actor=actor)
            counts["rules"] += 1
    return counts
