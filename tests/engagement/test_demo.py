"""Demo follow-ups (core/demo/engagement.py): months of interactions for the owned customers,
policy tasks done on time, late and not at all (so compliance has figures), next actions in the
past and future, deterministic from the seed, and loaded once."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.core.demo.engagement import demo_engagement_load
from guanxi.engagement.models import FollowUpTask, Interaction
from guanxi.engagement.selectors import compliance_report
from tests.conftest import Org
from tests.engagement.conftest import make_contact, make_customer

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


def _archive(org: Org) -> None:
    lifecycles = ("strategic", "closed", "potential", "intent")
    for index in range(12):
        customer = make_customer(
            (org.rep, org.other_rep, org.kam)[index % 3],
            f"演示客户{index}",
            lifecycle=lifecycles[index % 4],
        )
        make_contact(customer, f"联系人{index}")
    make_customer(None, "公海客户", lifecycle="strategic")


def _fingerprint():
    return sorted(
        Interaction.objects.values_list("customer__name", "channel", "kind", "content", "reaction")
    )


def test_demo_follow_ups_give_the_compliance_page_figures(org: Org):
    _archive(org)
    assert demo_engagement_load(seed=7, today=TODAY) is True
    interactions = Interaction.objects.select_related("customer")
    assert interactions.count() > 50
    assert all(i.customer.owner_id is not None for i in interactions)
    assert all(i.occurred_at.date() <= TODAY for i in interactions)
    assert all(i.contacts.exists() for i in interactions)
    tasks = FollowUpTask.objects.all()
    assert tasks.filter(source="next_action", status="open", due_date__lt=TODAY).exists()
    assert tasks.filter(source="next_action", due_date__gt=TODAY).exists()
    report = compliance_report(
        actor=org.admin, date_from=TODAY - dt.timedelta(days=150), date_to=TODAY, today=TODAY
    )
    assert report.total.on_time and report.total.late and report.total.missed
    assert {row.user for row in report.people} == {org.rep, org.other_rep, org.kam}
    # a second run adds nothing; the same seed draws the same log
    first = _fingerprint()
    assert demo_engagement_load(seed=7, today=TODAY) is False
    assert _fingerprint() == first
    FollowUpTask.objects.all().delete()
    Interaction.all_objects.all().delete()
    demo_engagement_load(seed=7, today=TODAY)
    assert _fingerprint() == first


def test_demo_bell_has_this_mornings_notices_not_six_months_of_escalations(org: Org):
    from guanxi.notifications.models import Notification

    _archive(org)
    demo_engagement_load(seed=7, today=TODAY)
    # every task overdue beyond a fortnight is recorded as escalated back then, silently
    overdue_long = FollowUpTask.objects.filter(
        status="open", due_date__lt=TODAY - dt.timedelta(days=14)
    )
    assert overdue_long.exists()
    assert not overdue_long.filter(escalated_at__isnull=True).exists()
    escalated_now = Notification.objects.filter(kind="followup_escalated")
    assert (
        escalated_now.count()
        == FollowUpTask.objects.filter(
            status="open",
            due_date__gte=TODAY - dt.timedelta(days=14),
            escalated_at__isnull=False,
            escalated_to__isnull=False,
        ).count()
    )
    # the reps have this morning's digest
    assert Notification.objects.filter(kind="followup_due", recipient=org.rep).exists()
