"""Fixtures for the follow-up tests: the fast organisation of the accounts suite, a fingerprint of
every table the engagement app writes, and builders that go through the services with a frozen
clock (``now=`` / ``today=``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.engagement import services
from guanxi.engagement.models import (
    CalendarFeedToken,
    CommunicationPlan,
    EngagementSettings,
    FollowUpTask,
    Interaction,
    InteractionAttachment,
    MaintenancePolicy,
    MaintenanceRule,
)
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.customers.conftest import make_contact, make_customer  # noqa: F401  (re-exported)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment of ``day`` in the deployment's time zone."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the engagement app can write (soft-deleted ones too), the customers and contacts
    it touches, and the audit trail."""
    state: dict[str, list[dict[str, Any]]] = {}
    models = (
        Interaction,
        Interaction.contacts.through,
        Interaction.participants.through,
        InteractionAttachment,
        FollowUpTask,
        MaintenancePolicy,
        MaintenanceRule,
        EngagementSettings,
        CommunicationPlan,
        CalendarFeedToken,
        Customer,
        Contact,
        AuditEntry,
    )
    for model in models:
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


def log(
    customer: Customer,
    *,
    channel: str = "phone",
    when: dt.datetime,
    actor: Any = None,
    content: str = "电话沟通",
    **fields: Any,
) -> Interaction:
    """An interaction logged through the service at ``when`` (the clock frozen just after it)."""
    return services.interaction_create(
        actor=actor or customer.owner,
        customer=customer,
        channel=channel,
        content=content,
        occurred_at=when,
        now=fields.pop("now", when + dt.timedelta(minutes=5)),
        **fields,
    )


def tasks_of(customer: Customer, **filters: Any) -> list[FollowUpTask]:
    return list(
        FollowUpTask.objects.filter(customer=customer, **filters).order_by("due_date", "id")
    )


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _notifications_registered() -> None:
    """The notification kinds come from EngagementConfig.ready(); nothing to do but make sure the
    notifications app is there (the services call its notify())."""
    from guanxi.notifications.kinds import notification_kind_get

    notification_kind_get("followup_due")
