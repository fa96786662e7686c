"""Forms of the shared screens. They parse and shape input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.china.calendar import DayKind, HolidayKey

# --- calendar ------------------------------------------------------------------------------------


class CalendarDayForm(forms.Form):
    """A holiday or adjusted working day. On the edit page the date is shown, not changed:
    moving a day is deleting it and adding another."""

    date = forms.DateField(
        label=_("Date"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a valid date (YYYY-MM-DD).")},
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (DayKind.HOLIDAY, DayKind.HOLIDAY.label),
            (DayKind.WORKDAY, DayKind.WORKDAY.label),
        ],
        help_text=_("An adjusted working day is a Saturday or Sunday worked for a holiday."),
    )
    holiday = forms.ChoiceField(
        label=_("Holiday"), choices=[("", "—"), *HolidayKey.choices], required=False
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["date"].disabled = True


class CalendarYearForm(forms.Form):
    complete = forms.BooleanField(
        label=_("Complete"),
        required=False,
        help_text=_(
            "Every holiday and adjusted working day of the year is entered. Only complete years "
            "are used for working days and deadlines."
        ),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CalendarSeedForm(forms.Form):
    year = forms.TypedChoiceField(
        label=_("Year"), coerce=int, required=False, empty_value=None, choices=()
    )
    overwrite_edited = forms.BooleanField(
        label=_("Also replace days an administrator edited"), required=False
    )

    def __init__(self, *args: Any, years: range, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [
            ("", _("Every year the package covers")),
            *((year, str(year)) for year in reversed(years)),
        ]
