"""Fixtures for the feedback tests: the fast organisation of the accounts suite, a fingerprint of
every table the feedback app writes (and the notifications it sends), and builders that go
through the services."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlsplit

import pytest

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.feedback import services
from guanxi.feedback.models import (
    FeedbackItem,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)
from guanxi.notifications.models import Notification
from guanxi.service.models import Ticket, TicketCategory
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.customers.conftest import make_contact, make_customer  # noqa: F401  (re-exported)

_numbers = itertools.count(1)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the feedback app can write (soft-deleted ones too), the notifications and the
    audit trail."""
    state: dict[str, list[dict[str, Any]]] = {}
    models = (
        Survey,
        SurveyQuestion,
        SurveyInvitation,
        SurveyResponse,
        SurveyAnswer,
        FeedbackItem,
        Notification,
        AuditEntry,
    )
    for model in models:
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


@pytest.fixture(scope="session", autouse=True)
def _urls_loaded() -> None:
    """Import the URLconf (and with it the API's pydantic schemas) before any test freezes the
    clock: freezegun swaps datetime.datetime, which pydantic cannot build a schema for."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (the import is the point)


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def category(code: str = "quality", name: str = "产品质量") -> TicketCategory:
    found = TicketCategory.all_objects.filter(code=code).first()
    return found or TicketCategory.objects.create(code=code, name=name)


def make_ticket(
    customer: Customer,
    *,
    assignee: Any = None,
    satisfaction: int | None = None,
    category_code: str = "quality",
    category_name: str = "产品质量",
    **fields: Any,
) -> Ticket:
    """A ticket row as the service desk keeps it (written directly: these tests are about
    feedback, and the ticket services are the service desk's to test)."""
    return Ticket.objects.create(
        number=f"T-FB-{next(_numbers):05d}",
        customer=customer,
        category=category(category_code, category_name),
        subject=fields.pop("subject", "设备故障"),
        description=fields.pop("description", "设备无法启动"),
        assignee=assignee,
        department=getattr(assignee, "department", None),
        satisfaction=satisfaction,
        status=fields.pop("status", "resolved" if satisfaction is None else "confirmed"),
        **fields,
    )


def make_survey(actor: Any, kind: str = "csat", **fields: Any) -> Survey:
    return services.survey_create(
        actor=actor, title=fields.pop("title", "2026 年度满意度调查"), kind=kind, **fields
    )


def token_of(url: str) -> str:
    """The secret of a survey link (``…/feedback/s/<token>/``)."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def send(actor: Any, survey: Survey, **fields: Any) -> services.SurveySendResult:
    fields.setdefault("filters", {})
    fields.setdefault("email", False)
    return services.survey_send(actor=actor, survey=survey, **fields)


def answer(token: str, survey: Survey, scores: dict[str, Any] | None = None, **by_type: Any) -> Any:
    """Answer every question of ``survey``: score questions with ``score``, NPS with ``nps``,
    text with ``text``, choices with their first option; ``scores`` overrides by question id."""
    values: dict[str, Any] = {}
    for question in survey.questions.all():
        if question.type == "score":
            values[str(question.pk)] = by_type.get("score", 4)
        elif question.type == "nps":
            values[str(question.pk)] = by_type.get("nps", 9)
        elif question.type == "choice":
            values[str(question.pk)] = question.choices[0]
        else:
            values[str(question.pk)] = by_type.get("text", "")
    values.update(scores or {})
    return services.survey_response_submit(token=token, answers=values)
