"""What relationship maintenance adds to the customer page (customers.timeline): the interaction
log and completed follow-ups on the timeline, the "Log interaction" button, and a card with the
customer's policy, communication plan and open follow-ups. Registered in EngagementConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineItem
from guanxi.engagement.permissions import interaction_can_log, plan_can_edit
from guanxi.engagement.selectors import (
    effective_rules,
    followup_customer_open,
    interactions_for_timeline,
    plan_for_customer,
    policy_for_customer,
    tasks_for_timeline,
)


def interaction_items(actor: Any, customer: Customer, limit: int) -> list[TimelineItem]:
    return [
        TimelineItem(
            when=interaction.occurred_at,
            source="engagement.interactions",
            template="engagement/partials/timeline_interaction.html",
            context={"interaction": interaction},
            tiebreak=interaction.pk,
        )
        for interaction in interactions_for_timeline(actor=actor, customer=customer, limit=limit)
    ]


def task_items(actor: Any, customer: Customer, limit: int) -> list[TimelineItem]:
    """Follow-ups done, at the time they were done. (Open ones are on the card; the engine's
    cancellations are bookkeeping, not history.)"""
    return [
        TimelineItem(
            when=task.completed_at,
            source="engagement.tasks",
            template="engagement/partials/timeline_task.html",
            context={"task": task},
            tiebreak=task.pk,
        )
        for task in tasks_for_timeline(actor=actor, customer=customer, limit=limit)
        if task.completed_at is not None
    ]


def log_button_context(actor: Any, customer: Customer) -> dict[str, Any] | None:
    if not interaction_can_log(actor, customer) or customer.deleted_at is not None:
        return None
    return {"customer_id": customer.pk}


def card_context(actor: Any, customer: Customer) -> dict[str, Any] | None:
    """The follow-up card: the policy the customer follows and its rules as they apply (narrowed
    by the plan), the communication plan, and the open follow-ups."""
    policy = policy_for_customer(customer)
    plan = plan_for_customer(customer=customer)
    return {
        "customer_id": customer.pk,
        "policy": policy,
        "rules": effective_rules(policy=policy, plan=plan),
        "plan": plan,
        "can_edit_plan": plan_can_edit(actor, customer),
        "tasks": followup_customer_open(actor=actor, customer=customer),
        "today": timezone.localdate(),
    }
