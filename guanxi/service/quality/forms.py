"""Forms parse and shape input for the quality review pages; the rules (ranges, required scores,
who may do what) live in services and come back as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.service.quality.models import ItemKind, Review, ScoreSheet
from guanxi.service.quality.services import comment_field, score_field

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SheetForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    applies_to = forms.ChoiceField(label=_("Applies to"), choices=ItemKind.choices)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    pass_percent = forms.IntegerField(
        label=_("Pass mark (%)"),
        help_text=_("A review passes at this share of the total, with no critical criterion lost."),
    )
    active = forms.BooleanField(label=_("In use"), required=False)

    FIELDS = ("name", "applies_to", "description", "pass_percent", "active")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            # What a sheet scores is fixed once it exists: its reviews are of that kind.
            del self.fields["applies_to"]

    @classmethod
    def initial_for(cls, sheet: ScoreSheet | None) -> dict[str, Any]:
        if sheet is None:
            return {"active": True, "pass_percent": 80, "applies_to": ItemKind.TICKET}
        return {"version": sheet.version, **{name: getattr(sheet, name) for name in cls.FIELDS}}

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.FIELDS if name in self.fields}


class CriterionForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=60)
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    max_points = forms.IntegerField(label=_("Maximum points"))
    critical = forms.BooleanField(
        label=_("Critical"),
        required=False,
        help_text=_("Anything below full points fails the whole review."),
    )
    position = forms.IntegerField(label=_("Position"), required=False, min_value=0)

    FIELDS = ("name", "description", "max_points", "critical", "position")

    @classmethod
    def initial_for(cls, criterion: Any) -> dict[str, Any]:
        if criterion is None:
            return {"max_points": 10}
        return {
            "version": criterion.version,
            **{name: getattr(criterion, name) for name in cls.FIELDS},
        }

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        if data["position"] is None:
            data.pop("position")
        return data


class SampleForm(forms.Form):
    sheet = forms.ChoiceField(label=_("Score sheet"))
    period_start = forms.DateField(label=_("Finished from"), widget=DATE_INPUT)
    period_end = forms.DateField(label=_("Finished to"), widget=DATE_INPUT)
    per_agent = forms.IntegerField(label=_("Items per agent"), initial=3)

    def __init__(self, *args: Any, sheets: list[ScoreSheet], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sheets = {str(sheet.pk): sheet for sheet in sheets}
        self.fields["sheet"].choices = [
            (str(sheet.pk), f"{sheet.name} ({sheet.get_applies_to_display()})") for sheet in sheets
        ]

    @staticmethod
    def initial_period(today: dt.date | None = None) -> dict[str, Any]:
        """Last calendar month: what a monthly review usually samples."""
        today = today or timezone.localdate()
        end = today.replace(day=1) - dt.timedelta(days=1)
        return {"period_start": end.replace(day=1), "period_end": end, "per_agent": 3}

    def chosen_sheet(self) -> ScoreSheet:
        return self.sheets[self.cleaned_data["sheet"]]


class ReviewForm(forms.Form):
    """One points field and one comment field per criterion (``score_<id>``, ``comment_<id>``),
    and the overall comment. Points are parsed here and judged by the service."""

    comment = forms.CharField(
        label=_("Overall comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, lines: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[score_field(line.criterion_id)] = forms.IntegerField(
                label=line.name,
                required=False,
                widget=forms.NumberInput(attrs={"min": 0, "max": line.max_points, "step": 1}),
                error_messages={"invalid": _("Enter a whole number.")},
            )
            label = _("Comment on %(criterion)s") % {"criterion": line.name}
            self.fields[comment_field(line.criterion_id)] = forms.CharField(
                label=label,
                required=False,
                max_length=1000,
                widget=forms.TextInput(attrs={"aria-label": label}),
            )

    def rows(self) -> list[dict[str, Any]]:
        """Per criterion: the line and its two bound fields, for the template."""
        return [
            {
                "line": line,
                "score": self[score_field(line.criterion_id)],
                "comment": self[comment_field(line.criterion_id)],
            }
            for line in self.lines
        ]

    def scores(self) -> dict[int, Any]:
        return {
            line.criterion_id: self.cleaned_data.get(score_field(line.criterion_id))
            for line in self.lines
        }

    def comments(self) -> dict[int, str]:
        return {
            line.criterion_id: self.cleaned_data.get(comment_field(line.criterion_id)) or ""
            for line in self.lines
        }


class ResolveForm(ReviewForm):
    """Settling a dispute: a note, and the scores corrected only if ``rescore`` is ticked."""

    note = forms.CharField(
        label=_("Resolution"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    rescore = forms.BooleanField(label=_("Correct the scores"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["comment"]


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you disagree"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class ReviewFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Review.Status.choices]
    )
    passed = forms.ChoiceField(
        label=_("Verdict"),
        required=False,
        choices=[("", _("Passed or not")), ("yes", _("Passed")), ("no", _("Not passed"))],
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        found: dict[str, Any] = {}
        if self.cleaned_data.get("status"):
            found["status"] = self.cleaned_data["status"]
        if self.cleaned_data.get("passed") in ("yes", "no"):
            found["passed"] = self.cleaned_data["passed"] == "yes"
        return found


class FiguresForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE_INPUT)
    kind = forms.ChoiceField(
        label=_("Items"),
        required=False,
        choices=[("", _("Tickets and interactions")), *ItemKind.choices],
    )

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The chosen period; by default this month so far."""
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("date_to") or today
        start = data.get("date_from") or end.replace(day=1)
        return start, end

    def kind_value(self) -> str:
        return (self.cleaned_data.get("kind") or "") if self.is_valid() else ""
