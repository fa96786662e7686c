"""Reads for customers, contacts, industries and tags: data scope, filters, search, paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.audit import object_type_of
from guanxi.core.china.phones import email_mask, phone_mask, wechat_mask
from guanxi.core.china.search import fts5_match, postgres_vector_sql, search_terms, tsquery_text
from guanxi.core.models import AuditEntry, Region
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.scope import scope_q
from guanxi.customers.models import Contact, Customer, Industry, PoolPolicy, Tag

CUSTOMER_SORTS: dict[str, tuple[str, ...]] = {
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}
CONTACT_SORTS = CUSTOMER_SORTS


def _is_active_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def customer_visible_q(actor: Any, *, prefix: str = "") -> Q:
    """Customers ``actor`` may see: their data scope, plus the pool (no owner), which every signed
    in user may browse. ``prefix`` scopes a related model through its customer ("customer__")."""
    if not _is_active_user(actor):
        return Q(pk__in=[])
    scoped = scope_q(actor, owner_field=f"{prefix}owner", department_field=f"{prefix}department")
    if not scoped:
        # An empty Q is "everything"; OR-ing it with the pool would narrow it to the pool.
        return Q()
    return scoped | Q(**{f"{prefix}owner__isnull": True})


def customer_visible_queryset(*, actor: Any) -> QuerySet[Customer]:
    if not _is_active_user(actor):
        return Customer.objects.none()
    return Customer.objects.filter(customer_visible_q(actor))


def _search(queryset: QuerySet, query: str) -> QuerySet:
    """Narrow ``queryset`` to rows whose search key matches ``query``, through the engine's index.

    A query with nothing searchable in it (punctuation only) finds nothing rather than all."""
    terms = search_terms(query)
    if not terms:
        return queryset.none()
    table = queryset.model._meta.db_table
    if connection.vendor == "postgresql":
        vector = postgres_vector_sql(f'"{table}"."search_key"')
        return queryset.filter(
            RawSQL(f"{vector} @@ %s::tsquery", [tsquery_text(terms)], output_field=BooleanField())
        )
    fts = f"{table}_fts"
    return queryset.filter(
        id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [fts5_match(terms)])
    )


def customer_list(
    *,
    actor: Any,
    query: str = "",
    lifecycle: str = "",
    account_class: str = "",
    value_level: str | None = None,
    industry: str = "",
    region: str = "",
    tag: int | None = None,
    owner: int | None = None,
    source: str = "",
    in_pool: bool | None = None,
    recycle_due: bool = False,
) -> QuerySet[Customer]:
    """The customers ``actor`` may see, filtered and searched; always inside the data scope."""
    customers = customer_visible_queryset(actor=actor)
    if lifecycle:
        customers = customers.filter(lifecycle=lifecycle)
    if account_class:
        customers = customers.filter(account_class=account_class)
    if value_level is not None:
        customers = customers.filter(value_level=value_level)
    if industry:
        customers = customers.filter(industry__code=industry)
    if region:
        customers = customers.filter(
            Q(province_id=region) | Q(city_id=region) | Q(district_id=region)
        )
    if tag is not None:
        customers = customers.filter(tags=tag)
    if owner is not None:
        customers = customers.filter(owner_id=owner)
    if source:
        customers = customers.filter(source=source)
    if in_pool is not None:
        customers = customers.filter(owner__isnull=in_pool)
    if recycle_due:
        customers = customers.filter(recycle_due_q())
    if query and query.strip():
        customers = _search(customers, query)
    return customers


def _ordering(sort: str, sorts: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    ordering = sorts.get(sort or "-updated_at")
    if ordering is None:
        raise ValidationError(
            {"sort": [_("Sort by one of: %(choices)s.") % {"choices": ", ".join(sorts)}]},
            code="invalid_sort",
        )
    return ordering


def customer_page(
    *, actor: Any, sort: str = "-updated_at", cursor: str | None = None, limit: int = 50, **filters
) -> Page:
    """One keyset page of ``customer_list``; a fixed number of queries whatever the page size."""
    ordering = _ordering(sort, CUSTOMER_SORTS)
    customers = (
        customer_list(actor=actor, **filters)
        # The region names and the owner are columns of the list page; joined, not queried per row.
        .select_related("industry", "owner", "province", "city", "district")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name", "id")))
    )
    return keyset_paginate(customers, ordering=ordering, cursor=cursor, limit=limit)


def customer_detail(*, customer: Customer) -> Customer:
    """``customer`` reloaded with what its output needs (industry, regions, people, live tags)."""
    return (
        Customer.objects.select_related(
            "industry",
            "province",
            "city",
            "district",
            "owner",
            "department",
            "parent",
            "previous_owner",
        )
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name", "id")))
        .get(pk=customer.pk)
    )


def contact_visible_queryset(*, actor: Any) -> QuerySet[Contact]:
    """Live contacts of live customers ``actor`` may see: the scope is the customer's."""
    if not _is_active_user(actor):
        return Contact.objects.none()
    return Contact.objects.filter(
        customer_visible_q(actor, prefix="customer__"), customer__deleted_at__isnull=True
    )


def contact_list(
    *,
    actor: Any,
    query: str = "",
    customer: int | None = None,
    decision_role: str = "",
) -> QuerySet[Contact]:
    contacts = contact_visible_queryset(actor=actor)
    if customer is not None:
        contacts = contacts.filter(customer_id=customer)
    if decision_role:
        contacts = contacts.filter(decision_role=decision_role)
    if query and query.strip():
        contacts = _search(contacts, query)
    return contacts


def contact_page(
    *, actor: Any, sort: str = "-updated_at", cursor: str | None = None, limit: int = 50, **filters
) -> Page:
    ordering = _ordering(sort, CONTACT_SORTS)
    contacts = contact_list(actor=actor, **filters).select_related("customer")
    return keyset_paginate(contacts, ordering=ordering, cursor=cursor, limit=limit)


def contact_shown_in_full(*, actor: Any, customer: Customer) -> bool:
    """Whether ``actor`` sees the contacts' phones, e-mail and WeChat ID in full without asking:
    only the customer's owner (it is their customer; they call these people). Managers,
    administrators, service staff, analysts and pool browsers get them masked and may ask for a
    logged reveal (services.contact_reveal) if their role allows it."""
    return customer.owner_id is not None and customer.owner_id == getattr(actor, "pk", None)


def contact_personal_value_mask(name: str, value: Any) -> Any:
    """One stored value of a contact field, as someone who may not see it in full sees it:
    ``phones`` (the stored list) with each number masked, ``email`` and ``wechat`` masked, any
    other field unchanged. Shared by contact_personal_data and the audit trail's display (see
    CustomersConfig.ready), so a phone looks the same masked everywhere. Never raises: it also
    reads audit entries of any age."""
    if name == "phones":
        if not isinstance(value, list):
            return value
        return [
            {**phone, "number": phone_mask(str(phone.get("number", "")))}
            if isinstance(phone, dict)
            else phone_mask(str(phone))
            for phone in value
        ]
    if name == "email":
        return email_mask(value) if isinstance(value, str) else value
    if name == "wechat":
        return wechat_mask(value) if isinstance(value, str) else value
    return value


def contact_personal_data(
    *, actor: Any, contact: Contact, revealed: bool = False
) -> dict[str, Any]:
    """Phones, e-mail and WeChat ID of ``contact`` as ``actor`` may see them: in full for the
    customer's owner (contact_shown_in_full), or with ``revealed`` right after
    services.contact_reveal allowed and logged a reveal; masked for everyone else.

    Every output of a contact's personal data goes through here: the detail page and its HTMX
    fragments, the contacts API (list, search, show, reveal), and the exports and notifications
    still to come. (The edit form holds the real values, so a non-owner gets it only through
    services.contact_reveal.) ``contact.customer`` must be loaded (or loadable)."""
    phones = [
        {"number": str(phone.get("number", "")), "label": str(phone.get("label", ""))}
        for phone in contact.phones or []
        if isinstance(phone, dict)
    ]
    if revealed or contact_shown_in_full(actor=actor, customer=contact.customer):
        return {
            "phones": phones,
            "email": contact.email,
            "wechat": contact.wechat,
            "masked": False,
        }
    return {
        "phones": contact_personal_value_mask("phones", phones),
        "email": contact_personal_value_mask("email", contact.email),
        "wechat": contact_personal_value_mask("wechat", contact.wechat),
        "masked": True,
    }


def industry_list(*, include_inactive: bool = False) -> QuerySet[Industry]:
    industries = Industry.objects.all()
    return industries if include_inactive else industries.filter(is_active=True)


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("-is_preset", "name", "id")


def customer_history(*, customer: Customer, limit: int = 50) -> list[AuditEntry]:
    """The customer's own audit entries (created, field changes, deleted, restored), newest first.

    For anyone who may see the customer: it is the record's history, not the audit trail at
    large. Contacts' entries stay out, since they carry phone numbers; should they ever come in,
    the timeline shows them through core.audit_display, which masks them as the audit trail
    does."""
    return list(
        AuditEntry.objects.filter(
            object_type=object_type_of(Customer), object_id=str(customer.pk)
        ).order_by("-occurred_at", "-id")[:limit]
    )


def region_city_choices(*, province_code: str) -> QuerySet[Region]:
    """The cities of a province, for the second of the three region selects."""
    if not province_code:
        return Region.objects.none()
    return Region.objects.filter(
        is_active=True, parent_id=province_code, level=Region.Level.CITY
    ).order_by("code")


def region_district_choices(*, province_code: str, city_code: str) -> QuerySet[Region]:
    """The districts of the city, or (no city chosen) those directly under the province, as in
    海南 or for 仙桃市."""
    parent = city_code or province_code
    if not parent:
        return Region.objects.none()
    return Region.objects.filter(
        is_active=True, parent_id=parent, level=Region.Level.DISTRICT
    ).order_by("code")


def region_province_choices() -> QuerySet[Region]:
    return Region.objects.filter(is_active=True, level=Region.Level.PROVINCE).order_by("code")


# --- the pool -----------------------------------------------------------------------------------


# Customers with a deal are not recycled for being quiet; losing them is a manager's decision.
RECYCLE_EXEMPT_LIFECYCLES = (Customer.Lifecycle.CLOSED, Customer.Lifecycle.STRATEGIC)


def pool_policy_get() -> PoolPolicy:
    """The pool's rules; the defaults if the row is missing (a flushed test database)."""
    return PoolPolicy.objects.filter(pk=PoolPolicy.SINGLETON_PK).first() or PoolPolicy(
        pk=PoolPolicy.SINGLETON_PK
    )


def pool_claims_today(*, user: Any, now: dt.datetime | None = None) -> int:
    """How many claims ``user`` made since midnight in the deployment's time zone. Counted from the
    append-only audit trail, so releasing a customer does not give a claim back."""
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return AuditEntry.objects.filter(
        actor_id=user.pk,
        action=AuditEntry.Action.ACTION,
        object_type=object_type_of(Customer),
        note="customer_claimed",
        occurred_at__gte=midnight,
    ).count()


def recycle_due_q(*, now: dt.datetime | None = None, policy: PoolPolicy | None = None) -> Q:
    """Owned customers the recycle job will return to the pool within ``warn_days_before`` days
    unless someone works on them: what the warning before recycling is about."""
    now = now or timezone.now()
    policy = policy or pool_policy_get()
    horizon = now + dt.timedelta(days=policy.warn_days_before)
    cutoff = horizon - dt.timedelta(days=policy.recycle_after_days)
    idle = Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, updated_at__lt=cutoff)
    unprotected = Q(protected_until__isnull=True) | Q(protected_until__lte=horizon)
    return Q(owner__isnull=False) & idle & unprotected & ~Q(lifecycle__in=RECYCLE_EXEMPT_LIFECYCLES)


def customers_recycle_upcoming(*, now: dt.datetime | None = None) -> QuerySet[Customer]:
    return Customer.objects.filter(recycle_due_q(now=now)).order_by("last_activity_at", "pk")


def customer_recycle_at(*, customer: Customer, policy: PoolPolicy | None = None) -> Any:
    """When the recycle job will take ``customer`` back to the pool if nobody works on it; None
    for pool customers and for deals, which are never recycled for being quiet."""
    if customer.owner_id is None or customer.lifecycle in RECYCLE_EXEMPT_LIFECYCLES:
        return None
    policy = policy or pool_policy_get()
    idle_since = customer.last_activity_at or customer.updated_at
    due = idle_since + dt.timedelta(days=policy.recycle_after_days)
    if customer.protected_until and customer.protected_until > due:
        return customer.protected_until
    return due


def customers_recycle_due_count(*, actor: Any, policy: PoolPolicy | None = None) -> int:
    """How many of ``actor``'s own customers are due to go back to the pool soon."""
    if not _is_active_user(actor):
        return 0
    return Customer.objects.filter(recycle_due_q(policy=policy), owner=actor).count()


# --- personal data: reveals ---------------------------------------------------------------------


def contact_reveals_today(*, user: Any, now: dt.datetime | None = None) -> int:
    """How many reveals of contact data ``user`` made since midnight in the deployment's time zone
    (Asia/Shanghai by default). Counted from the append-only audit trail, so the daily limit
    cannot be reset by anything short of a new day."""
    now = now or timezone.now()
    midnight = timezone.localtime(now, timezone.get_default_timezone()).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return AuditEntry.objects.filter(
        actor_id=user.pk,
        action=AuditEntry.Action.REVEAL,
        object_type=object_type_of(Contact),
        occurred_at__gte=midnight,
    ).count()


def contact_reveals_left(*, user: Any, now: dt.datetime | None = None) -> int:
    """Reveals ``user`` may still make today under ``GUANXI_REVEAL_DAILY_LIMIT``."""
    return max(0, settings.GUANXI_REVEAL_DAILY_LIMIT - contact_reveals_today(user=user, now=now))
