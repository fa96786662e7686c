"""Forms parse and shape input for the follow-up pages; the rules live in services and come back
as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.accounts.models import User
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Customer
from guanxi.engagement.models import (
    ActivityKind,
    Channel,
    CommunicationPlan,
    FollowUpTask,
    Interaction,
    PeriodUnit,
)
from guanxi.engagement.selectors import FILTER_DATE_MAX, FILTER_DATE_MIN, TASK_VIEWS

# A date out of this range is a field error (and the filter is ignored), not an overflow.
FILTER_DATE_VALIDATORS = [MinValueValidator(FILTER_DATE_MIN), MaxValueValidator(FILTER_DATE_MAX)]

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; the services check each one's size and type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _user_label(user: User) -> str:
    return user.get_full_name() or user.username


class InteractionForm(forms.Form):
    """Logging a contact. ``task`` carries the follow-up task it was opened from (completed along
    with the matching ones); ``allow_over_contact`` confirms past the over-contact warning."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, widget=forms.RadioSelect
    )
    kind = forms.ChoiceField(
        label=_("Purpose"),
        required=False,
        choices=[("", _("From the channel")), *ActivityKind.choices],
        help_text=_("A visit or a video call is a deep conversation, a call a greeting."),
    )
    occurred_at = forms.DateTimeField(
        label=_("Time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    contacts = forms.MultipleChoiceField(
        label=_("Contacts present"), required=False, widget=forms.CheckboxSelectMultiple
    )
    participants = forms.MultipleChoiceField(label=_("Our participants"), required=False)
    content = forms.CharField(
        label=_("What was discussed"), max_length=10000, widget=forms.Textarea(attrs={"rows": 4})
    )
    reaction = forms.ChoiceField(
        label=_("Customer's reaction"), required=False, choices=Interaction.Reaction.choices
    )
    reaction_note = forms.CharField(
        label=_("Reaction in their words"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next_action = forms.CharField(
        label=_("Next action"),
        required=False,
        max_length=500,
        help_text=_("With a date it becomes a follow-up task for you."),
    )
    next_action_date = forms.DateField(
        label=_("Next action date"), required=False, widget=DATE_INPUT
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, images, Word, Excel, PowerPoint, text or CSV."),
    )
    task = forms.IntegerField(required=False, widget=forms.HiddenInput)
    allow_over_contact = forms.BooleanField(
        label=_("Log it anyway: I know this exceeds the contact limit"), required=False
    )

    def __init__(
        self, *args: Any, customer: Customer, participants: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        contacts = customer.contacts.order_by("name", "id")
        self.fields["contacts"].choices = [
            (contact.pk, f"{contact.name}{' · ' + contact.title if contact.title else ''}")
            for contact in contacts
        ]
        people = participants if participants is not None else User.objects.none()
        self.fields["participants"].choices = [(user.pk, _user_label(user)) for user in people]
        self.fields["participants"].widget.attrs.update(
            {"data-tom-select": "", "data-no-results": _("No matches")}
        )
        if not self.is_bound and "occurred_at" not in self.initial:
            self.initial["occurred_at"] = timezone.localtime().replace(second=0, microsecond=0)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "kind": data.get("kind") or "",
            "occurred_at": data["occurred_at"],
            "contacts": [int(pk) for pk in data.get("contacts") or []],
            "participants": [int(pk) for pk in data.get("participants") or []],
            "content": data["content"],
            "reaction": data.get("reaction") or "",
            "reaction_note": data.get("reaction_note") or "",
            "next_action": data.get("next_action") or "",
            "next_action_date": data.get("next_action_date"),
            "attachments": data.get("attachments") or [],
            "allow_over_contact": bool(data.get("allow_over_contact")),
        }


class InteractionEditForm(VersionedForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    kind = forms.ChoiceField(label=_("Purpose"), choices=ActivityKind.choices)
    occurred_at = forms.DateTimeField(
        label=_("Time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    contacts = forms.MultipleChoiceField(
        label=_("Contacts present"), required=False, widget=forms.CheckboxSelectMultiple
    )
    content = forms.CharField(
        label=_("What was discussed"), max_length=10000, widget=forms.Textarea(attrs={"rows": 4})
    )
    reaction = forms.ChoiceField(
        label=_("Customer's reaction"), required=False, choices=Interaction.Reaction.choices
    )
    reaction_note = forms.CharField(
        label=_("Reaction in their words"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, editing=True, **kwargs)
        self.fields["contacts"].choices = [
            (contact.pk, contact.name) for contact in customer.contacts.order_by("name", "id")
        ]

    @classmethod
    def initial_for(cls, interaction: Interaction) -> dict[str, Any]:
        return {
            "version": interaction.version,
            "channel": interaction.channel,
            "kind": interaction.kind,
            "occurred_at": timezone.localtime(interaction.occurred_at),
            "contacts": [contact.pk for contact in interaction.contacts.all()],
            "content": interaction.content,
            "reaction": interaction.reaction,
            "reaction_note": interaction.reaction_note,
        }

    def service_data(self) -> dict[str, Any]:
        data = {
            name: self.cleaned_data.get(name)
            for name in ("channel", "kind", "occurred_at", "content", "reaction", "reaction_note")
        }
        data["reaction"] = data["reaction"] or ""
        data["reaction_note"] = data["reaction_note"] or ""
        data["contacts"] = [int(pk) for pk in self.cleaned_data.get("contacts") or []]
        return data


class AttachmentForm(forms.Form):
    attachments = MultipleFileField(label=_("Attachments"))


class InteractionFilterForm(forms.Form):
    """The interaction list's GET parameters; what does not parse is ignored."""

    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    channel = forms.ChoiceField(required=False, choices=[("", _("All channels")), *Channel.choices])
    kind = forms.ChoiceField(
        required=False, choices=[("", _("All purposes")), *ActivityKind.choices]
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})  # an unbound form (no parameters) has none
        data = {name: cleaned.get(name) for name in self.fields if name not in self.errors}
        return {
            "customer": data.get("customer"),
            "channel": data.get("channel") or "",
            "kind": data.get("kind") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


TASK_VIEW_LABELS = {
    "today": _("Today"),
    "upcoming": _("Upcoming"),
    "open": _("All open"),
    "escalated": _("Escalated"),
    "done": _("Done"),
}


class TaskFilterForm(forms.Form):
    view = forms.ChoiceField(required=False, choices=[(key, key) for key in TASK_VIEWS])
    assignee = forms.ChoiceField(required=False)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        required=False, choices=[("", _("All activities")), *ActivityKind.choices]
    )
    source = forms.ChoiceField(
        required=False, choices=[("", _("All sources")), *FollowUpTask.Source.choices]
    )

    def __init__(self, *args: Any, assignees: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, Any]] = [("", _("Mine")), ("all", _("Everyone I can see"))]
        for user in assignees or ():
            choices.append((str(user.pk), _user_label(user)))
        self.fields["assignee"].choices = choices

    def filters(self, actor: Any) -> dict[str, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})  # an unbound form (no parameters) has none
        data = {name: cleaned.get(name) for name in self.fields if name not in self.errors}
        assignee_value = data.get("assignee") or ""
        if assignee_value == "all":
            assignee = None
        elif assignee_value:
            assignee = int(assignee_value)
        else:
            assignee = actor.pk
        return {
            "view": data.get("view") or "today",
            "assignee": assignee,
            "customer": data.get("customer"),
            "kind": data.get("kind") or "",
            "source": data.get("source") or "",
        }


class CompleteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("New due date"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class ReassignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int)

    def __init__(self, *args: Any, users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [(user.pk, _user_label(user)) for user in users]


class PlanForm(VersionedForm):
    channels = forms.MultipleChoiceField(
        label=_("Preferred channels"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The policy's tasks ask for these channels where the policy allows them."),
    )
    frequency = forms.ChoiceField(
        label=_("Contact at least"),
        required=False,
        choices=CommunicationPlan.Frequency.choices,
        help_text=_("Adds tasks when it is more often than the policy asks."),
    )
    max_per_month = forms.IntegerField(
        label=_("Contacts per month at most"),
        required=False,
        min_value=1,
        max_value=100,
        help_text=_("Logging more asks for a confirmation."),
    )
    themes = forms.CharField(
        label=_("Themes"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 2})
    )

    @classmethod
    def initial_for(cls, plan: CommunicationPlan | None) -> dict[str, Any]:
        if plan is None:
            return {}
        return {
            "version": plan.version,
            "channels": list(plan.channels or []),
            "frequency": plan.frequency,
            "max_per_month": plan.max_per_month,
            "themes": plan.themes,
            "notes": plan.notes,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "channels": list(data.get("channels") or []),
            "frequency": data.get("frequency") or "",
            "max_per_month": data.get("max_per_month"),
            "themes": data.get("themes") or "",
            "notes": data.get("notes") or "",
        }


POLICY_LIFECYCLE_CHOICES = [
    ("", _("Any lifecycle")),
    *(choice for choice in Customer.Lifecycle.choices if choice[0] not in ARCHIVED_LIFECYCLES),
]


class PolicyForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"), required=False, choices=POLICY_LIFECYCLE_CHOICES
    )
    account_class = forms.ChoiceField(
        label=_("Key-account class"),
        required=False,
        choices=[("", _("Any class")), *Customer.AccountClass.choices],
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label=_("In use"), required=False)
    care_birthdays = forms.BooleanField(
        label=_("Greet contacts on their birthdays"), required=False
    )
    care_anniversaries = forms.BooleanField(
        label=_("Greet on the anniversary of the first contact"), required=False
    )
    care_festivals = forms.BooleanField(label=_("Greet at Chinese festivals"), required=False)

    FIELDS = (
        "name",
        "lifecycle",
        "account_class",
        "description",
        "is_active",
        "care_birthdays",
        "care_anniversaries",
        "care_festivals",
    )

    @classmethod
    def initial_for(cls, policy: Any) -> dict[str, Any]:
        if policy is None:
            return {"is_active": True}
        return {"version": policy.version, **{name: getattr(policy, name) for name in cls.FIELDS}}

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS}


class RuleForm(VersionedForm):
    kind = forms.ChoiceField(label=_("Activity"), choices=ActivityKind.choices)
    interval = forms.IntegerField(label=_("Every"), min_value=1, max_value=366, initial=1)
    unit = forms.ChoiceField(label=_("Period unit"), choices=PeriodUnit.choices, initial="month")
    channels = forms.MultipleChoiceField(
        label=_("Allowed channels"),
        required=False,
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any channel."),
    )
    max_count = forms.IntegerField(
        label=_("At most per period"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_("Empty: no limit. Logging more asks for a confirmation."),
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=200)

    FIELDS = ("kind", "interval", "unit", "channels", "max_count", "description")

    @classmethod
    def initial_for(cls, rule: Any) -> dict[str, Any]:
        if rule is None:
            return {"interval": 1, "unit": "month"}
        return {"version": rule.version, **{name: getattr(rule, name) for name in cls.FIELDS}}

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["channels"] = list(data["channels"] or [])
        data["description"] = data["description"] or ""
        return data


class SettingsForm(VersionedForm):
    escalate_after_days = forms.IntegerField(
        label=_("Escalate to the manager after days overdue"), min_value=0, max_value=365
    )
    care_lead_days = forms.IntegerField(
        label=_("Make greeting tasks days ahead"), min_value=0, max_value=60
    )
    festivals = forms.MultipleChoiceField(
        label=_("Festivals to greet at"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from guanxi.core.china.calendar import FestivalKey

        super().__init__(*args, editing=True, **kwargs)
        self.fields["festivals"].choices = FestivalKey.choices

    def service_data(self) -> dict[str, Any]:
        return {
            "escalate_after_days": self.cleaned_data["escalate_after_days"],
            "care_lead_days": self.cleaned_data["care_lead_days"],
            "festivals": list(self.cleaned_data.get("festivals") or []),
        }


class ComplianceForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The chosen period; by default the last 30 days up to yesterday."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        end = data.get("date_to") or today - dt.timedelta(days=1)
        start = data.get("date_from") or end - dt.timedelta(days=29)
        if start > end:
            start, end = end, start
        if (end - start).days > 366:
            start = end - dt.timedelta(days=366)
        return start, end


class CareForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Period"),
        required=False,
        coerce=int,
        choices=[(14, _("Next two weeks")), (30, _("Next 30 days")), (90, _("Next 90 days"))],
    )
