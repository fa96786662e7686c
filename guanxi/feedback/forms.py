"""Forms parse and shape input for the feedback pages; the rules live in services and come back
as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.customers.forms import CustomerFilterForm
from guanxi.engagement.forms import FILTER_DATE_VALIDATORS
from guanxi.feedback.models import (
    Dimension,
    FeedbackSource,
    FeedbackStatus,
    QuestionType,
    SurveyKind,
    SurveyQuestion,
    SurveyStatus,
)
from guanxi.feedback.selectors import (
    NOT_CLOSED,
    RECIPIENTS_ALL,
    RECIPIENTS_PRIMARY,
    SEGMENT_FILTERS,
    UNASSIGNED,
)
from guanxi.feedback.services import EXPIRES_DAYS_DEFAULT, EXPIRES_DAYS_MAX, QUESTIONS_MAX

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXTAREA = forms.Textarea(attrs={"rows": 3})


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.username


# --- feedback items -----------------------------------------------------------------------------


class FeedbackFilterForm(forms.Form):
    """The list's GET parameters; a value that does not parse is ignored (links get shared)."""

    status = forms.ChoiceField(
        required=False, choices=[("", _("Not closed")), ("all", _("All")), *FeedbackStatus.choices]
    )
    overdue = forms.BooleanField(required=False)
    source = forms.ChoiceField(
        required=False, choices=[("", _("All sources")), *FeedbackSource.choices]
    )
    owner = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, owners: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", _("Any owner")),
            ("me", _("Mine")),
            (UNASSIGNED, _("Unassigned")),
            *((str(user.pk), _user_label(user)) for user in owners),
        ]

    def filters(self, actor: Any) -> dict[str, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        data = {name: cleaned.get(name) for name in self.fields if name not in self.errors}
        owner_value = data.get("owner") or ""
        owner: int | str | None
        if owner_value == "me":
            owner = actor.pk
        elif owner_value == UNASSIGNED:
            owner = UNASSIGNED
        elif owner_value:
            owner = int(owner_value)
        else:
            owner = None
        status = data.get("status") or ""
        return {
            "status": "" if status == "all" else (status or NOT_CLOSED),
            "overdue": bool(data.get("overdue")),
            "source": data.get("source") or "",
            "owner": owner,
        }


class FeedbackItemForm(forms.Form):
    """Feedback heard on a call or a visit, recorded by staff."""

    source = forms.ChoiceField(
        label=_("Heard through"),
        choices=[
            (FeedbackSource.STAFF, FeedbackSource.STAFF.label),
            (FeedbackSource.OTHER, FeedbackSource.OTHER.label),
        ],
    )
    contact = forms.TypedChoiceField(
        label=_("Contact"), required=False, coerce=int, empty_value=None
    )
    score = forms.IntegerField(
        label=_("Score given (0–10)"), required=False, min_value=0, max_value=10
    )
    summary = forms.CharField(label=_("Summary"), max_length=200)
    comment = forms.CharField(
        label=_("What the customer said"), max_length=4000, required=False, widget=TEXTAREA
    )

    def __init__(self, *args: Any, contacts: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].choices = [
            ("", "—"),
            *((contact.pk, contact.name) for contact in contacts),
        ]


class RespondForm(VersionedForm):
    response = forms.CharField(
        label=_("What we told the customer"), max_length=4000, widget=TEXTAREA
    )
    improvement_action = forms.CharField(
        label=_("Improvement action"),
        max_length=4000,
        required=False,
        widget=TEXTAREA,
        help_text=_("What will change so that this does not happen again. Needed to close."),
    )
    improvement_due = forms.DateField(label=_("Improvement due"), required=False, widget=DATE_INPUT)


class CloseForm(VersionedForm):
    improvement_action = forms.CharField(
        label=_("Improvement action"), max_length=4000, required=False, widget=TEXTAREA
    )
    improvement_due = forms.DateField(label=_("Improvement due"), required=False, widget=DATE_INPUT)


class AssignForm(VersionedForm):
    owner = forms.TypedChoiceField(label=_("Hand to"), coerce=int)

    def __init__(self, *args: Any, users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(user.pk, _user_label(user)) for user in users]


# --- surveys ------------------------------------------------------------------------------------

BLANK_QUESTION_ROWS = 2


class SurveyForm(VersionedForm):
    """A survey and its questions inline: one row of fields per question (``q-<n>-text`` …), a
    row left empty is no question, ``add_rows`` asks for more empty rows. No JavaScript needed."""

    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    intro = forms.CharField(
        label=_("Introduction shown to the customer"),
        max_length=2000,
        required=False,
        widget=TEXTAREA,
    )
    negative_score_max = forms.IntegerField(
        label=_("Negative at or below (1–5 scores)"), min_value=1, max_value=4, initial=2
    )
    negative_nps_max = forms.IntegerField(
        label=_("Negative at or below (0–10 scores)"), min_value=0, max_value=9, initial=6
    )
    rows = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        questions: list[dict[str, Any]] | None = None,
        extra: int = BLANK_QUESTION_ROWS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            try:
                count = int(self.data.get("rows") or 0)
            except (TypeError, ValueError):
                count = 0
            count = max(0, min(count, QUESTIONS_MAX + BLANK_QUESTION_ROWS))
            if self.data.get("add_rows"):
                count = min(count + BLANK_QUESTION_ROWS, QUESTIONS_MAX + BLANK_QUESTION_ROWS)
            self.question_rows = [self._row_from_data(index) for index in range(count)]
        else:
            initial = list(questions or [])
            self.question_rows = [
                {
                    "text": row.get("text", ""),
                    "type": row.get("type", QuestionType.SCORE),
                    "dimension": row.get("dimension", Dimension.OVERALL),
                    "choices": "\n".join(row.get("choices") or []),
                    "required": bool(row.get("required", True)),
                }
                for row in initial
            ] + [self._blank() for _index in range(extra)]
        for index, row in enumerate(self.question_rows):
            row["index"] = index
        self.initial.setdefault("rows", len(self.question_rows))

    @staticmethod
    def _blank() -> dict[str, Any]:
        return {
            "text": "",
            "type": QuestionType.SCORE,
            "dimension": Dimension.OVERALL,
            "choices": "",
            "required": True,
        }

    def _row_from_data(self, index: int) -> dict[str, Any]:
        prefix = f"q-{index}-"
        return {
            "text": str(self.data.get(prefix + "text") or "")[:1000],
            "type": str(self.data.get(prefix + "type") or ""),
            "dimension": str(self.data.get(prefix + "dimension") or ""),
            "choices": str(self.data.get(prefix + "choices") or "")[:5000],
            "required": bool(self.data.get(prefix + "required")),
        }

    def questions(self) -> list[dict[str, Any]]:
        """The rows that hold a question, for the services (which check them)."""
        return [
            {
                "text": row["text"],
                "type": row["type"],
                "dimension": row["dimension"],
                "choices": row["choices"],
                "required": row["required"],
            }
            for row in self.question_rows
            if row["text"].strip()
        ]

    def wants_rows(self) -> bool:
        return bool(self.is_bound and self.data.get("add_rows"))

    question_types = QuestionType.choices
    dimensions = Dimension.choices


class SurveySendForm(CustomerFilterForm):
    """The segment (the customer list's own filters: lifecycle, key-account class, industry,
    region, tag), who of each customer, how long the links work, whether to e-mail; ``confirm``
    marks the second POST that sends."""

    recipients = forms.ChoiceField(
        label=_("Whom to ask"),
        choices=[
            (RECIPIENTS_PRIMARY, _("One contact per customer (the decision maker first)")),
            (RECIPIENTS_ALL, _("Every contact with an e-mail address or a phone number")),
        ],
        initial=RECIPIENTS_PRIMARY,
        widget=forms.RadioSelect,
    )
    expires_days = forms.IntegerField(
        label=_("Links work for (days)"),
        min_value=1,
        max_value=EXPIRES_DAYS_MAX,
        initial=EXPIRES_DAYS_DEFAULT,
    )
    email = forms.BooleanField(
        label=_("E-mail the link to contacts with an e-mail address"), required=False, initial=True
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def segment(self) -> dict[str, Any]:
        filters = self.filters()
        return {name: filters.get(name) for name in SEGMENT_FILTERS}


class SurveyFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", _("All statuses")), *SurveyStatus.choices]
    )


class AnalysisForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=DATE_INPUT, validators=FILTER_DATE_VALIDATORS
    )

    def period(self) -> tuple[Any, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return cleaned.get("date_from"), cleaned.get("date_to")


def answer_field_name(question: SurveyQuestion) -> str:
    return f"q{question.pk}"
