"""Demo history library and quarterly verification: a churn reason and a few words for every
churned demo customer (some of them stopped cooperation rather than churned), spread over the
past months, and the current quarter's verification tasks with some already confirmed.

The choices come from a checksum of the customer's name, not from the seeded generator, so that
adding them draws nothing from it and every other demo value stays what it was. Demo data is data,
not interface text: nothing here is translated.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

from django.utils import timezone

from guanxi.core.quarters import quarter_of
from guanxi.customers.models import Customer, VerificationTask
from guanxi.customers.services import verification_task_verify, verification_tasks_create

# Codes seeded by migration 0015, with what a rep might write down.
REASON_NOTES = {
    "price": "报价高出竞品一成左右，续约没有谈拢",
    "competitor": "已改用同行的方案，对方给了三年维保",
    "needs-changed": "业务调整，不再需要这类产品",
    "service": "对售后响应速度不满意，投诉后仍未改善",
    "quality": "一批货出现质量问题后暂停采购",
    "business-closed": "公司经营困难，已停止合作",
    "unreachable": "多次电话未接通，原联系人已离职",
    "other": "",
}
# Reasons after which the relationship ended rather than drifted away: stopped cooperation.
STOPPED_REASONS = frozenset({"business-closed", "needs-changed"})
# Confirmed already: one task in this many, by customer id.
VERIFIED_ONE_IN = 4


@dataclass(frozen=True)
class DemoChurn:
    lifecycle: str
    reason: str
    note: str
    days_ago: int  # when it went into the history library


def demo_churn(name: str, *, first_contact_days_ago: int) -> DemoChurn:
    digest = zlib.crc32(name.encode("utf-8"))
    codes = list(REASON_NOTES)
    code = codes[digest % len(codes)]
    lifecycle = (
        Customer.Lifecycle.STOPPED if code in STOPPED_REASONS else Customer.Lifecycle.CHURNED
    )
    # Within the last eleven months, and after the first contact.
    days_ago = (digest >> 8) % max(1, min(first_contact_days_ago, 330))
    return DemoChurn(lifecycle=lifecycle, reason=code, note=REASON_NOTES[code], days_ago=days_ago)


def demo_churn_backdate(customer: Customer, churn: DemoChurn) -> None:
    """Spread the demo's archiving over the past months, as if it had happened then, so that the
    churn-reason breakdown has a period to show. A direct update: demo history, not an edit."""
    when = timezone.now() - dt.timedelta(days=churn.days_ago)
    Customer.objects.filter(pk=customer.pk).update(archived_at=when)


def demo_verification_load() -> bool:
    """The current quarter's verification tasks, once: a later run in the same quarter finds
    them and adds none. Some are confirmed by their owners. Returns True if it created any."""
    if not verification_tasks_create(actor=None):
        return False
    tasks = VerificationTask.objects.filter(
        quarter=quarter_of(), status=VerificationTask.Status.OPEN, customer__owner__isnull=False
    ).select_related("customer__owner")
    for task in tasks:
        if task.customer_id % VERIFIED_ONE_IN == 0:
            verification_task_verify(actor=task.customer.owner, task=task, note="电话回访确认")
    return True
