from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.notifications.kinds import notification_kinds
from guanxi.notifications.models import RobotProvider

OWNER_SELF = "self"


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind.kind, kind.label) for kind in notification_kinds()]


class RobotForm(forms.Form):
    """Create (every field) or edit (url and secret optional: blank keeps the stored one)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    provider = forms.ChoiceField(label=_("Provider"), choices=RobotProvider.choices)
    owner = forms.ChoiceField(label=_("For"))
    url = forms.CharField(
        label=_("Webhook address"),
        max_length=1000,
        help_text=_("Stored encrypted and never shown again in full."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        help_text=_(
            "The DingTalk or Feishu signing secret (DingTalk's starts with SEC); leave it "
            "empty for WeCom."
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    clear_secret = forms.BooleanField(label=_("Remove the signing secret"), required=False)
    kinds = forms.MultipleChoiceField(
        label=_("Notifications sent to a department robot"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every kind. Personal robots follow your preferences."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, departments: Any = (), robot: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.robot = robot
        self.fields["kinds"].choices = _kind_choices()
        if robot is None:
            self.fields["owner"].choices = [(OWNER_SELF, _("Me (a personal robot)"))] + [
                (str(department.pk), department.name) for department in departments
            ]
            del self.fields["clear_secret"]
            del self.fields["version"]
        else:
            # Provider and owner are fixed once the robot exists: delete it and add another.
            del self.fields["provider"]
            del self.fields["owner"]
            self.fields["url"].required = False
            self.fields["url"].help_text = _(
                "Now %(masked)s. Leave empty to keep it; stored encrypted."
            ) % {"masked": robot.url_masked}
            if robot.secret_masked:
                self.fields["secret"].help_text = _("Set. Leave empty to keep it.")
            else:
                del self.fields["clear_secret"]
            if robot.department_id is None:
                del self.fields["kinds"]

    def department_id(self) -> int | None:
        owner = self.cleaned_data.get("owner")
        return None if owner in (None, "", OWNER_SELF) else int(owner)


class PreferencesForm(forms.Form):
    """One row of three switches per registered kind: ``<kind>-in_app``, ``-email``, ``-robot``."""

    CHANNELS = ("in_app", "email", "robot")

    def __init__(self, *args: Any, rows: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = list(rows)
        for row in self.rows:
            for channel in self.CHANNELS:
                self.fields[f"{row.kind.kind}-{channel}"] = forms.BooleanField(
                    required=False, initial=getattr(row, channel), label=row.kind.label
                )

    def table(self) -> list[tuple[Any, list[Any]]]:
        return [
            (row, [self[f"{row.kind.kind}-{channel}"] for channel in self.CHANNELS])
            for row in self.rows
        ]

    def changes(self) -> list[tuple[str, dict[str, bool]]]:
        """(kind, channels) for every row whose switches differ from what is stored."""
        changed = []
        for row in self.rows:
            values = {
                channel: bool(self.cleaned_data.get(f"{row.kind.kind}-{channel}"))
                for channel in self.CHANNELS
            }
            if any(values[channel] != getattr(row, channel) for channel in self.CHANNELS):
                changed.append((row.kind.kind, values))
        return changed
