"""Forms of the service desk's set-up pages. They parse and shape input; the rules live in
service.setup.services and come back as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.customers.models import Customer
from guanxi.customers.selectors import (
    customer_visible_queryset,
    region_city_choices,
    region_district_choices,
    region_province_choices,
)
from guanxi.service.models import AssignmentMode, ClockMode, Priority, TicketCategory
from guanxi.service.setup import selectors, services

_BLANK = ("", "—")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.username


def _category_choices(current: Any = None) -> list[tuple[Any, str]]:
    choices: list[tuple[Any, str]] = []
    for category in TicketCategory.objects.order_by("position", "pk"):
        label = category.name if category.active else f"{category.name} ({_('off')})"
        choices.append((category.pk, label))
    return choices


class CategoryForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits, hyphens and underscores; imports and the API use it."),
    )
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=32767, initial=0)
    active = forms.BooleanField(
        label=_("In use"),
        required=False,
        help_text=_("Switched off, it keeps its tickets but no new ticket can use it."),
    )

    FIELDS = ("name", "code", "description", "position", "active")

    @classmethod
    def initial_for(cls, category: Any) -> dict[str, Any]:
        if category is None:
            return {"active": True, "position": 0}
        return {"version": category.version, **{n: getattr(category, n) for n in cls.FIELDS}}

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS}


class TeamForm(VersionedForm):
    department = forms.TypedChoiceField(label=_("Department"), coerce=int)
    lead = forms.TypedChoiceField(
        label=_("Team lead"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Told when a ticket of the team misses its deadline."),
    )
    members = forms.TypedMultipleChoiceField(
        label=_("Members"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(
            attrs={"size": 8, "data-tom-select": "", "data-no-results": _("No matches")}
        ),
        help_text=_("They get the team's tickets. Sales roles do not work tickets."),
    )
    assignment_mode = forms.ChoiceField(
        label=_("Assignment"), choices=AssignmentMode.choices, widget=forms.RadioSelect
    )
    work_start = forms.TimeField(label=_("Working hours from"), widget=TIME_INPUT)
    work_end = forms.TimeField(label=_("Working hours to"), widget=TIME_INPUT)
    break_start = forms.TimeField(label=_("Break from"), required=False, widget=TIME_INPUT)
    break_end = forms.TimeField(label=_("Break to"), required=False, widget=TIME_INPUT)
    time_zone = forms.CharField(
        label=_("Time zone"), max_length=50, help_text=_("For example Asia/Shanghai.")
    )

    FIELDS = (
        "lead",
        "members",
        "assignment_mode",
        "work_start",
        "work_end",
        "break_start",
        "break_end",
        "time_zone",
    )

    def __init__(self, *args: Any, team: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, editing=team is not None, **kwargs)
        self.team = team
        if team is not None:
            del self.fields["department"]
        else:
            self.fields["department"].choices = [
                _BLANK,
                *((d.pk, d.name) for d in selectors.departments_without_team()),
            ]
        leads = list(selectors.team_lead_candidates())
        members = list(selectors.team_member_candidates())
        if team is not None:
            # Whoever the team has now stays listed, even if they no longer qualify: the
            # service says why they cannot stay.
            current = [user for user in team.members.all() if user not in members]
            members.extend(current)
            if team.lead is not None and team.lead not in leads:
                leads.append(team.lead)
        self.fields["lead"].choices = [_BLANK, *((u.pk, _user_label(u)) for u in leads)]
        self.fields["members"].choices = [(u.pk, _user_label(u)) for u in members]

    @classmethod
    def initial_for(cls, team: Any) -> dict[str, Any]:
        if team is None:
            return {
                "assignment_mode": AssignmentMode.LEAST_LOADED,
                "work_start": "09:00",
                "work_end": "18:00",
                "time_zone": "Asia/Shanghai",
            }
        initial = {name: getattr(team, name) for name in cls.FIELDS if name != "members"}
        initial["lead"] = team.lead_id
        initial["members"] = [user.pk for user in team.members.all()]
        return {"version": team.version, **initial}

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["members"] = list(data["members"] or [])
        return data


class RoutingRuleForm(VersionedForm):
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=32767,
        help_text=_("Rules are tried from the lowest position; the first that matches wins."),
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    # Plain selects whose values the service checks, with the customer form's HTMX cascade.
    province_code = forms.CharField(label=_("Province"), required=False, widget=forms.Select)
    city_code = forms.CharField(label=_("City"), required=False, widget=forms.Select)
    district_code = forms.CharField(
        label=_("District or county"), required=False, widget=forms.Select
    )
    account_class = forms.ChoiceField(
        label=_("Key-account class"),
        required=False,
        choices=[("", _("Any class")), *Customer.AccountClass.choices],
    )
    team = forms.TypedChoiceField(label=_("Team"), coerce=int)
    assignee = forms.TypedChoiceField(
        label=_("Assignee"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Empty: the team's assignment mode picks. Otherwise a member or its lead."),
    )
    active = forms.BooleanField(label=_("In use"), required=False)

    FIELDS = ("position", "category", "priority", "account_class", "team", "assignee", "active")
    REGION_FIELDS = ("province_code", "city_code", "district_code")

    def __init__(self, *args: Any, rule: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, editing=rule is not None, **kwargs)
        self.rule = rule
        self.fields["category"].choices = [_BLANK, *_category_choices()]
        self.fields["team"].choices = [_BLANK, *((t.pk, str(t)) for t in selectors.team_list())]
        assignees = list(selectors.rule_assignee_candidates())
        if rule is not None and rule.assignee is not None and rule.assignee not in assignees:
            assignees.append(rule.assignee)
        self.fields["assignee"].choices = [
            ("", _("By the team's assignment mode")),
            *((u.pk, _user_label(u)) for u in assignees),
        ]
        self._region_choices()
        options = reverse("customers:region-options")
        self.fields["province_code"].widget.attrs.update(
            {"hx-get": options, "hx-target": "#id_city_code", "hx-trigger": "change"}
        )
        self.fields["city_code"].widget.attrs.update(
            {
                "hx-get": options,
                "hx-target": "#id_district_code",
                "hx-trigger": "change",
                "hx-include": "#id_province_code",
            }
        )

    def _value(self, name: str) -> str:
        if self.is_bound:
            return (self.data.get(self.add_prefix(name)) or "").strip()
        return str(self.initial.get(name) or "")

    def _region_choices(self) -> None:
        """Each select offers what fits the level above it, as chosen so far (without
        JavaScript, "Update region choices" re-renders the form with the new choices)."""
        province, city = self._value("province_code"), self._value("city_code")
        levels = {
            "province_code": region_province_choices(),
            "city_code": region_city_choices(province_code=province),
            "district_code": region_district_choices(province_code=province, city_code=city),
        }
        for name, regions in levels.items():
            choices = [_BLANK, *((r.code, r.name) for r in regions)]
            current = self._value(name)
            if current and current not in {code for code, _label in choices}:
                choices.append((current, current))
            self.fields[name].widget.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["region"] = services.routing_rule_region_code(
                province_code=data.get("province_code"),
                city_code=data.get("city_code"),
                district_code=data.get("district_code"),
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return data

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        if rule is None:
            return {"position": 100, "active": True}
        initial = {name: getattr(rule, name) for name in cls.FIELDS}
        initial["category"] = rule.category_id
        initial["team"] = rule.team_id
        initial["assignee"] = rule.assignee_id
        chain: list[Any] = []
        node = rule.region
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        for region in chain:
            initial[f"{region.level}_code"] = region.code
        return {"version": rule.version, **initial}

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["region"] = self.cleaned_data.get("region")
        data["priority"] = data["priority"] or ""
        data["account_class"] = data["account_class"] or ""
        return data


class SlaPolicyForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    category = forms.TypedChoiceField(
        label=_("Category"), coerce=int, required=False, empty_value=None
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    account_class = forms.ChoiceField(
        label=_("Key-account class"),
        required=False,
        choices=[("", _("Any class")), *Customer.AccountClass.choices],
    )
    response_minutes = forms.IntegerField(
        label=_("Respond within (minutes)"),
        min_value=1,
        help_text=_("24 hours = 1440 minutes."),
    )
    resolution_minutes = forms.IntegerField(
        label=_("Resolve within (minutes)"),
        min_value=1,
        help_text=_("48 hours = 2880 minutes."),
    )
    clock = forms.ChoiceField(
        label=_("Clock"),
        choices=ClockMode.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Working hours: the handling team's hours on the working days of the holiday calendar."
        ),
    )
    warn_percent = forms.IntegerField(
        label=_("Warn at (percentage of the target)"), min_value=1, max_value=99
    )
    active = forms.BooleanField(label=_("In use"), required=False)

    FIELDS = (
        "name",
        "category",
        "priority",
        "account_class",
        "response_minutes",
        "resolution_minutes",
        "clock",
        "warn_percent",
        "active",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        self.fields["category"].choices = [("", _("Any category")), *_category_choices()]

    @classmethod
    def initial_for(cls, policy: Any) -> dict[str, Any]:
        if policy is None:
            return {"clock": ClockMode.WORKING_HOURS, "warn_percent": 80, "active": True}
        initial = {name: getattr(policy, name) for name in cls.FIELDS}
        initial["category"] = policy.category_id
        return {"version": policy.version, **initial}

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["priority"] = data["priority"] or ""
        data["account_class"] = data["account_class"] or ""
        return data


class RoutingTesterForm(forms.Form):
    """Which rule and SLA policy would a ticket get? The customer is looked up as the user
    types (Tom Select on customers:customer-lookup), among those the user may see."""

    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    customer = forms.TypedChoiceField(label=_("Customer"), coerce=int)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [_BLANK, *_category_choices()]
        field = self.fields["customer"]
        field.widget.attrs.update(
            {
                "data-tom-select": "",
                "data-lookup-url": reverse("customers:customer-lookup"),
                "data-placeholder": _("Type a name, pinyin or initials"),
                "data-no-results": _("No matches"),
            }
        )
        choices: list[tuple[Any, str]] = [_BLANK]
        posted = str(self.data.get("customer") or "") if self.is_bound else ""
        if posted.isdigit():
            # What was asked about stays selected, named only if the user may see it.
            name = (
                customer_visible_queryset(actor=actor)
                .filter(pk=int(posted))
                .values_list("name", flat=True)
                .first()
            )
            if name is not None:
                choices.append((int(posted), name))
        field.choices = choices
