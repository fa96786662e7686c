"""Reads for merging duplicates: the compare page's rows, what will move, the merges of a
customer and whether each can still be undone, the candidates to merge with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.audit import snapshot
from guanxi.customers.models import (
    ARCHIVED_LIFECYCLES,
    Contact,
    Customer,
    CustomerMerge,
    Need,
    Tag,
)
from guanxi.customers.selectors import (
    customer_duplicates_find,
    customer_list,
    customer_visible_q,
    customer_visible_queryset,
)

SURVIVOR = "survivor"
MERGED = "merged"
SIDES = (SURVIVOR, MERGED)

MERGE_FIELDS = (
    "kind",
    "name",
    "short_name",
    "credit_code",
    "industry",
    "region",
    "address",
    "website",
    "source",
    "source_note",
    "lifecycle",
    "account_class",
    "first_contact_date",
    "first_needs",
    "parent",
)
"""The fields the compare page offers a choice for, in the order of the customer page. ``region``
stands for province, city and district together (one place, never a mix of two). The owner is no
choice: the survivor keeps its own (customer_merge_owner_after). Value level is computed, and
pool dates follow the owner."""

# The fields the survivor's snapshots hold: the compared ones and the owner.
STATE_FIELDS = (*MERGE_FIELDS, "owner")

CANDIDATE_LIMIT = 20


def merge_field_label(name: str) -> str:
    if name == "region":
        return str(_("Region"))
    return str(Customer._meta.get_field(name).verbose_name)


def customer_merge_state(customer: Customer) -> dict[str, Any]:
    """The survivor's compared fields and owner as plain values (foreign keys by id, dates as ISO
    text, the region as [province, city, district]): what CustomerMerge keeps before and after,
    and what undoing compares."""
    plain = snapshot(
        customer, tuple(name for name in STATE_FIELDS if name != "region")
    )  # audit-style plain values
    plain["region"] = [customer.province_id, customer.city_id, customer.district_id]
    return {name: plain[name] for name in STATE_FIELDS}


def _choice_value(customer: Customer, name: str, pair: tuple[int, int]) -> Any:
    """The value compared for ``name``: as in the state, except that a parent company that is one
    of the two customers counts as none (the merge would make the survivor its own parent, or
    leave it under a record in the recycle bin)."""
    value = customer_merge_state(customer)[name]
    if name == "parent" and value in pair:
        return None
    return value


def _empty(value: Any) -> bool:
    return value in (None, "", []) or (isinstance(value, list) and not any(value))


def merge_lifecycle_locked(survivor: Customer, merged: Customer) -> bool:
    """A customer enters and leaves the history library from its own page (a churn reason goes
    with it), not through a merge: when either lifecycle is an archived one, the survivor keeps
    its own."""
    return survivor.lifecycle != merged.lifecycle and (
        survivor.lifecycle in ARCHIVED_LIFECYCLES or merged.lifecycle in ARCHIVED_LIFECYCLES
    )


def customer_merge_defaults(*, survivor: Customer, merged: Customer) -> dict[str, str]:
    """The side each field is taken from unless chosen otherwise: the survivor's value when it has
    one, else the other's."""
    pair = (survivor.pk, merged.pk)
    defaults: dict[str, str] = {}
    for name in MERGE_FIELDS:
        kept = _choice_value(survivor, name, pair)
        other = _choice_value(merged, name, pair)
        locked = name == "lifecycle" and merge_lifecycle_locked(survivor, merged)
        defaults[name] = MERGED if _empty(kept) and not _empty(other) and not locked else SURVIVOR
    return defaults


@dataclass(frozen=True)
class MergeFieldRow:
    """One line of the compare page: both values as people read them, whether they differ (only
    then is there a choice), the side chosen by default, and ``locked`` when only the survivor's
    value can be kept (the history library's lifecycles)."""

    name: str
    label: str
    survivor_display: str
    merged_display: str
    differs: bool
    default: str
    locked: bool = False


@dataclass
class MergePreview:
    survivor: Customer
    merged: Customer
    rows: list[MergeFieldRow]
    contacts: int
    needs: int
    tags: list[Tag]
    subsidiaries: int
    owner_after: Any  # the survivor's owner after the merge (a User or None)
    undo_until: dt.datetime
    choices: dict[str, str] = field(default_factory=dict)

    @property
    def differing(self) -> list[MergeFieldRow]:
        return [row for row in self.rows if row.differs]


def _display(customer: Customer, name: str) -> str:
    if name == "region":
        parts: list[str] = []
        for region in (customer.province, customer.city, customer.district):
            if region is not None and region.name not in parts:
                parts.append(region.name)
        return " ".join(parts) or "—"
    value = getattr(customer, name)
    if value is None or value == "":
        return "—"
    model_field = Customer._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


_RELATED = ("industry", "province", "city", "district", "parent", "owner")


def customer_merge_preview(
    *, survivor: Customer, merged: Customer, choices: dict[str, str] | None = None
) -> MergePreview:
    """What the compare page shows before a merge: each field side by side, and how many
    contacts, needs, tags and subsidiaries will move to the survivor."""
    survivor = Customer.objects.select_related(*_RELATED).get(pk=survivor.pk)
    merged = Customer.objects.select_related(*_RELATED).get(pk=merged.pk)
    pair = (survivor.pk, merged.pk)
    defaults = customer_merge_defaults(survivor=survivor, merged=merged)
    rows = []
    for name in MERGE_FIELDS:
        locked = name == "lifecycle" and merge_lifecycle_locked(survivor, merged)
        kept, other = _choice_value(survivor, name, pair), _choice_value(merged, name, pair)
        rows.append(
            MergeFieldRow(
                name=name,
                label=merge_field_label(name),
                survivor_display="—" if kept is None else _display(survivor, name),
                merged_display="—" if other is None else _display(merged, name),
                differs=kept != other,
                default=defaults[name],
                locked=locked,
            )
        )
    survivor_tags = Tag.objects.filter(customers=survivor)
    return MergePreview(
        survivor=survivor,
        merged=merged,
        rows=rows,
        contacts=Contact.objects.filter(customer=merged).count(),
        needs=Need.objects.filter(customer=merged).count(),
        tags=list(
            Tag.objects.filter(customers=merged).exclude(pk__in=survivor_tags).order_by("name")
        ),
        subsidiaries=Customer.objects.filter(parent=merged).exclude(pk=survivor.pk).count(),
        owner_after=customer_merge_owner_after(survivor=survivor, merged=merged),
        undo_until=timezone.now() + dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS),
        choices={**defaults, **(choices or {})},
    )


def customer_merge_owner_after(*, survivor: Customer, merged: Customer) -> Any:
    """The survivor keeps its owner. A survivor in the pool takes the other's owner, if any: the
    merge must not send a customer someone works on back to the pool."""
    if survivor.owner_id is not None or merged.owner_id is None:
        return survivor.owner
    owner = merged.owner
    return owner if owner is not None and owner.is_active else None


# --- the merges of a customer -------------------------------------------------------------------


def merge_undo_deadline(merge: CustomerMerge) -> dt.datetime:
    """Until when ``merge`` can be undone: the recycle bin's window (GUANXI_RECYCLE_DAYS) from the
    merge. The merged customer went to the bin a moment after ``merged_at``, so the purge, which
    uses the same window, never takes it while its merge can still be undone."""
    return merge.merged_at + dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS)


def merge_can_undo(merge: CustomerMerge, *, now: dt.datetime | None = None) -> bool:
    """Not undone yet, inside the window, and the merged customer still in the recycle bin."""
    now = now or timezone.now()
    return (
        merge.undone_at is None and merge.merged_id is not None and now < merge_undo_deadline(merge)
    )


@dataclass(frozen=True)
class MergeItem:
    merge: CustomerMerge
    can_undo: bool
    undo_until: dt.datetime


def customer_merges_of(*, customer: Customer, limit: int = 10) -> list[MergeItem]:
    """The merges into ``customer``, newest first, for its page: who was merged in, and whether
    and until when the merge can be undone."""
    merges = CustomerMerge.objects.filter(survivor=customer).select_related(
        "merged_by", "undone_by"
    )[:limit]
    now = timezone.now()
    return [
        MergeItem(
            merge=merge,
            can_undo=merge_can_undo(merge, now=now),
            undo_until=merge_undo_deadline(merge),
        )
        for merge in merges
    ]


def customer_merge_candidates(*, actor: Any, customer: Customer, query: str = "") -> list[Customer]:
    """Customers to merge with ``customer``, for the page that picks one: with ``query``, the
    list's search; without, its likely duplicates (the duplicate check on its name, credit code
    and contacts' phones and e-mail addresses) that ``actor`` may see. Never ``customer``."""
    if query.strip():
        rows = customer_list(actor=actor, query=query).exclude(pk=customer.pk)
        return list(rows.select_related("owner").order_by("name", "pk")[:CANDIDATE_LIMIT])
    contacts = Contact.objects.filter(customer=customer).values_list("phones", "email")[:50]
    phones = [phone for numbers, _email in contacts for phone in (numbers or [])]
    emails = [email for _numbers, email in contacts if email]
    try:
        matches = customer_duplicates_find(
            actor=actor,
            name=customer.name,
            kind=customer.kind,
            credit_code=customer.credit_code,
            phones=phones,
            emails=emails,
            exclude_id=customer.pk,
            limit=CANDIDATE_LIMIT,
        )
    except ValidationError:
        # A stored value the check cannot read (an old phone, say): then by name only.
        matches = customer_duplicates_find(
            actor=actor, name=customer.name, kind=customer.kind, exclude_id=customer.pk
        )
    ids = [match.customer_id for match in matches if match.visible and match.customer_id]
    found = customer_visible_queryset(actor=actor).select_related("owner").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def customer_merged_pointer(*, actor: Any, customer_id: int) -> Customer | None:
    """For a customer merged into another (and so in the recycle bin): the live customer it went
    into, following later merges, if ``actor`` may see both. For the page of a merged customer,
    which leads there instead of a bare "not found"."""
    seen: set[int] = set()
    current = (
        Customer.all_objects.filter(customer_visible_q(actor), pk=customer_id)
        .exclude(merged_into__isnull=True)
        .first()
    )
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        if current.deleted_at is None:
            return current
        if current.merged_into_id is None:
            return None
        current = Customer.all_objects.filter(
            customer_visible_q(actor), pk=current.merged_into_id
        ).first()
    return None
