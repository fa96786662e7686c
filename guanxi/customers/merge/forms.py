"""The compare page's form: one choice per field that differs, the versions compared, and the
confirmation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.merge.selectors import MERGED, SURVIVOR, MergeFieldRow

CHOICE_PREFIX = "value_"


class CustomerMergeForm(forms.Form):
    version_survivor = forms.IntegerField(widget=forms.HiddenInput)
    version_merged = forms.IntegerField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label=_("I have checked the values: merge the two customers."),
        error_messages={"required": _("Tick the box to confirm the merge.")},
    )

    def __init__(self, *args: Any, rows: list[MergeFieldRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in rows:
            if row.differs and not row.locked:
                self.fields[CHOICE_PREFIX + row.name] = forms.ChoiceField(
                    label=row.label,
                    choices=[(SURVIVOR, _("Customer kept")), (MERGED, _("Customer merged"))],
                    required=False,
                    widget=forms.RadioSelect,
                )

    def choices(self) -> dict[str, str]:
        """The sides chosen (cleaned form); fields left unanswered take their default."""
        return {
            name.removeprefix(CHOICE_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(CHOICE_PREFIX) and value
        }

    def submitted_choices(self) -> dict[str, str]:
        """The sides as sent, valid or not, to show them checked again after an error."""
        if not self.is_bound:
            return {}
        return {
            name.removeprefix(CHOICE_PREFIX): self.data.get(name)
            for name in self.fields
            if name.startswith(CHOICE_PREFIX) and self.data.get(name) in (SURVIVOR, MERGED)
        }
