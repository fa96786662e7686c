"""Forms of the service desk's pages. They parse and show errors; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.customers.models import Customer
from guanxi.service.models import (
    Priority,
    ServiceTeam,
    TicketCategory,
    TicketChannel,
    TicketStatus,
)

BOOTSTRAP_SELECT = {"class": "form-select"}
BOOTSTRAP_INPUT = {"class": "form-control"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs=BOOTSTRAP_INPUT))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class TicketForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=TicketChannel.choices,
        initial=TicketChannel.PHONE,
        widget=forms.Select(attrs=BOOTSTRAP_SELECT),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=TicketCategory.objects.none(),
        widget=forms.Select(attrs=BOOTSTRAP_SELECT),
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        initial=Priority.NORMAL,
        widget=forms.Select(attrs=BOOTSTRAP_SELECT),
    )
    contact = forms.TypedChoiceField(
        label=_("Contact"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs=BOOTSTRAP_SELECT),
    )
    subject = forms.CharField(
        label=_("Subject"), max_length=200, widget=forms.TextInput(attrs=BOOTSTRAP_INPUT)
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=10000,
        widget=forms.Textarea(attrs={**BOOTSTRAP_INPUT, "rows": 5}),
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["category"].queryset = TicketCategory.objects.filter(active=True)
        contacts = customer.contacts.order_by("name", "pk").values_list("pk", "name", "title")
        self.fields["contact"].choices = [("", "—")] + [
            (pk, f"{name} · {title}" if title else name) for pk, name, title in contacts
        ]

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        contact = None
        if data.get("contact"):
            contact = self.customer.contacts.filter(pk=data["contact"]).first()
        return {
            "channel": data["channel"],
            "category": data["category"],
            "priority": data["priority"],
            "contact": contact,
            "subject": data["subject"],
            "description": data["description"],
            "attachments": data.get("attachments") or [],
        }


class TicketFilterForm(forms.Form):
    VIEWS = (
        ("", _("All I can see")),
        ("mine", _("Assigned to me")),
        ("team", _("My teams' queue")),
        ("unassigned", _("Unassigned")),
        ("breached", _("Deadline missed")),
        ("open", _("Open")),
    )
    view = forms.ChoiceField(required=False, choices=VIEWS)
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any status")), *TicketStatus.choices]
    )
    category = forms.ModelChoiceField(
        required=False, queryset=TicketCategory.objects.all(), empty_label=_("Any category")
    )
    priority = forms.ChoiceField(
        required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    team = forms.ModelChoiceField(
        required=False,
        queryset=ServiceTeam.objects.select_related("department"),
        empty_label=_("Any team"),
    )
    q = forms.CharField(required=False, max_length=100)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs=BOOTSTRAP_INPUT)
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        widget=forms.Select(attrs=BOOTSTRAP_SELECT),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs=BOOTSTRAP_INPUT),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=10000,
        widget=forms.Textarea(attrs={**BOOTSTRAP_INPUT, "rows": 4}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=10000,
        widget=forms.Textarea(attrs={**BOOTSTRAP_INPUT, "rows": 3}),
    )
    internal = forms.BooleanField(
        label=_("Internal note (not shown to the customer)"), required=False, initial=True
    )


class AttachmentForm(forms.Form):
    """Files added to a ticket from its page; the service checks them (and that there are any)."""

    attachments = MultipleFileField(
        label=_("Attachments"), help_text=_("PDF, images, Word, Excel, PowerPoint, text or CSV.")
    )


class ConfirmationForm(forms.Form):
    """The customer's page: no account, a few plain questions."""

    solved = forms.TypedChoiceField(
        label=_("Is the problem solved?"),
        choices=(("yes", _("Yes, it is solved")), ("no", _("No, it is not solved"))),
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled it?"),
        choices=[(str(value), str(value)) for value in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={**BOOTSTRAP_INPUT, "rows": 3}),
    )
