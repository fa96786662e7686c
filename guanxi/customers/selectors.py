"""Reads for customers, contacts, industries and tags: data scope, filters, search, paging."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.core.audit import object_type_of
from guanxi.core.china.credit_code import credit_code_clean
from guanxi.core.china.names import company_name_key, company_name_similarity
from guanxi.core.china.phones import email_mask, phone_mask, phone_normalize, wechat_mask
from guanxi.core.china.regions import region_level
from guanxi.core.china.search import (
    fts5_match,
    fts5_match_any,
    has_private_form,
    postgres_vector_sql,
    private_terms,
    search_terms,
    tsquery_text,
    tsquery_text_any,
)
from guanxi.core.models import AuditEntry, Region
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.quarters import quarter_bounds, quarter_of
from guanxi.core.scope import DataScope, scope_q
from guanxi.customers.models import (
    ARCHIVED_LIFECYCLES,
    ChurnReason,
    Contact,
    Customer,
    CustomerMerge,
    Industry,
    Need,
    NeedCategory,
    NeedNote,
    PoolPolicy,
    Tag,
    VerificationTask,
)

REGION_COLUMNS = {
    Region.Level.PROVINCE: "province_id",
    Region.Level.CITY: "city_id",
    Region.Level.DISTRICT: "district_id",
}

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


def customer_visible_ids(actor: Any, ids: set[Any]) -> set[Any]:
    """The live customers among ``ids`` that ``actor`` may see (for naming them in audit rows)."""
    wanted = {value for value in ids if isinstance(value, int) and 0 < value < 2**63}
    if not wanted:
        return set()
    return set(
        customer_visible_queryset(actor=actor).filter(pk__in=wanted).values_list("pk", flat=True)
    )


def customer_visible_queryset(*, actor: Any) -> QuerySet[Customer]:
    if not _is_active_user(actor):
        return Customer.objects.none()
    return Customer.objects.filter(customer_visible_q(actor))


# Which plan serves a search page best depends on how many rows a term matches, and PostgreSQL's
# guess is poor for what users type. Digits and Latin letters begin many distinct tokens (phone
# tails, credit codes, spellings, private phone numbers) that its statistics never count as
# frequent: "13" was taken for a rare term and planned as a GIN bitmap of a quarter of a million
# customers and a sort of all of them (2.6 s at a million, bench/customers_list_search.py). Chinese
# terms it counts well, yet it walks the list order for a term matching 3,600 rows, underrating
# that walk (68 ms, against 9 ms through the index). So a term's share of the newest rows decides:
# below the dense share, the planner is pushed towards the index; from the walk share, a term of
# letters or digits is left out of the index, and walking the list order finds a page within a few
# thousand rows even in a rep's scope. In between, the index keeps the sort to a few per cent.
SEARCH_DENSITY_PROBE_ROWS = 2000
SEARCH_DENSE_SHARE = 0.005
SEARCH_WALK_SHARE = 0.02
# Walking the list order finds a page after about 50 / (term's share × the scope's share of the
# rows) rows, so a reader whose scope is most of the table may walk for rarer terms: for
# "shenzhen" (1.2 %) an administrator's walk reads ~4,000 rows (12 ms) where the index meant a
# heap scan and sort of 12,000 matches (85 ms). Not below 0.5 %, ten of the probe's 2,000 rows:
# "huawei" had 4 there (0.2 %) but is 0.085 % of the table, and its walk read 600,000 rows
# (260 ms; bench/customers_list_search.py).
SEARCH_WALK_SHARE_BY_SCOPE = {"all": 0.005, "subtree": 0.005, "department": 0.005}
# The owner's private forms: see _search.
SEARCH_PRIVATE_INDEX_SHARE = 0.1


def _search_shares(table: str, terms: list[str]) -> dict[str, float]:
    """Each term's share of the table's newest rows, all in one query."""
    counts = ", ".join(
        ["count(*) FILTER (WHERE strpos(' ' || \"search_key\", %s) <> 0)"] * len(terms)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT count(*), {counts} FROM (SELECT "search_key" FROM "{table}" '
            'ORDER BY "id" DESC LIMIT %s) newest',
            [*(f" {term}" for term in terms), SEARCH_DENSITY_PROBE_ROWS],
        )
        rows, *found = cursor.fetchone()
    return {term: count / max(rows, 1) for term, count in zip(terms, found, strict=True)}


def _search_text_test(column: str, terms: list[str], *, dense: bool) -> RawSQL:
    """Some token of the key begins with one of ``terms``: the index's rule on the key's text, at
    a fraction of the cost of building the vector, which PostgreSQL then builds only for rows that
    pass (a walk through the list order takes a fifth of the time). The planner reads "> 0" as
    selective and "<> 0" as not: a rare term's test tips it to the index, a dense term's leaves its
    estimate alone (as selective, it sent a common term with a lifecycle filter into a bitmap of
    240,000 rows, 170 ms instead of 14)."""
    test = "<> 0" if dense else "> 0"
    tests = " OR ".join([f"strpos(' ' || {column}, %s) {test}"] * len(terms))
    return RawSQL(f"({tests})", [f" {term}" for term in terms], output_field=BooleanField())


def _search_walks(term: str, share: float, walk_share: float = SEARCH_WALK_SHARE) -> bool:
    # has_private_form: the term is not all Chinese, whose shares the planner knows itself.
    return share >= walk_share and has_private_form([term])


def _search_walk_share(actor: Any) -> float:
    if not _is_active_user(actor):
        return SEARCH_WALK_SHARE
    return SEARCH_WALK_SHARE_BY_SCOPE.get(actor.data_scope, SEARCH_WALK_SHARE)


def _search(
    queryset: QuerySet,
    query: str,
    *,
    actor: Any = None,
    owner_field: str = "owner_id",
    pool_field: str | None = None,
) -> QuerySet:
    """Narrow ``queryset`` to rows whose search key matches ``query``, through the engine's index.

    Everyone searches the public tokens of the key; on the rows ``actor`` owns (``owner_field``),
    the private ones too: full phone numbers, e-mail addresses, WeChat IDs (core.china.search),
    which only the owner sees unmasked. A query with nothing searchable in it (punctuation only)
    finds nothing rather than all.

    ``pool_field``: the owner column whose NULL is the pool, for a queryset that a reader whose
    scope is their own rows sees as own + pool. Their search is then asked as (pool AND the
    public terms) OR (own AND any form): the same rows, and on PostgreSQL the pool's part reads
    the pool's own index (customers 0020), not a bitmap of the whole table's matches."""
    terms = search_terms(query)
    if not terms:
        return queryset.none()
    split = (
        pool_field is not None
        and _is_active_user(actor)
        and getattr(actor, "data_scope", None) == DataScope.SELF
    )
    with_private = _is_active_user(actor) and (has_private_form(terms) or split)
    alternatives = private_terms(terms) if with_private else []
    table = queryset.model._meta.db_table
    shares: dict[str, float] = {}
    if connection.vendor == "postgresql":
        # One probe for the public terms and the owner's private forms alike.
        probed = dict.fromkeys([*terms, *(term for group in alternatives for term in group)])
        shares = _search_shares(table, list(probed))
    pool = queryset.filter(**{f"{pool_field}__isnull": True}) if split else queryset
    public = _search_public(pool, terms, walk_share=_search_walk_share(actor), shares=shares)
    if not with_private:
        return public
    owned = queryset.filter(**{owner_field: actor.pk})
    if connection.vendor == "postgresql":
        column = f'"{table}"."search_key"'
        # A dense private prefix ("·13": every phone number) through the GIN index meant a bitmap
        # of every customer's numbers, a second per search; on the owner's rows a text test does.
        # Up to SEARCH_PRIVATE_INDEX_SHARE the index still pays: without it the planner, taking
        # the text test for unselective, walked 60,000 rows for "139" (400 ms, 70 ms with it).
        indexed = []
        private = owned
        for group in alternatives:
            dense = max(shares[term] for term in group)
            private = private.filter(
                _search_text_test(column, group, dense=dense >= SEARCH_DENSE_SHARE)
            )
            if dense < SEARCH_PRIVATE_INDEX_SHARE:
                indexed.append(group)
        if indexed:
            vector = postgres_vector_sql(column)
            private = private.filter(
                RawSQL(
                    f"{vector} @@ %s::tsquery",
                    [tsquery_text_any(indexed)],
                    output_field=BooleanField(),
                )
            )
    else:
        fts = f"{table}_fts"
        private = owned.filter(
            id__in=RawSQL(
                f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [fts5_match_any(alternatives)]
            )
        )
    return public | private


def _search_public(
    queryset: QuerySet,
    terms: list[str],
    *,
    walk_share: float = SEARCH_WALK_SHARE,
    shares: dict[str, float] | None = None,
) -> QuerySet:
    """``shares``: the terms' shares if the caller probed them already (PostgreSQL)."""
    table = queryset.model._meta.db_table
    if connection.vendor == "postgresql":
        column = f'"{table}"."search_key"'
        if shares is None or any(term not in shares for term in terms):
            shares = _search_shares(table, terms)
        for term in terms:
            dense = shares[term] >= SEARCH_DENSE_SHARE
            queryset = queryset.filter(_search_text_test(column, [term], dense=dense))
        indexed = [term for term in terms if not _search_walks(term, shares[term], walk_share)]
        if not indexed:
            return queryset
        vector = postgres_vector_sql(column)
        return queryset.filter(
            RawSQL(f"{vector} @@ %s::tsquery", [tsquery_text(indexed)], output_field=BooleanField())
        )
    fts = f"{table}_fts"
    return queryset.filter(
        id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [fts5_match(terms)])
    )


def customer_intake_search(*, query: str, limit: int = 20) -> list[Customer]:
    """The service desk's intake (a caller names their company): every live customer outside
    the history library, whoever owns it, matched on the key's public tokens only (names,
    pinyin, initials, contact names, phone tails, credit codes), never the owners' private
    ones. Callers show the name and the owner's name, nothing else of a customer outside the
    reader's scope."""
    live = Customer.objects.filter(archived_at__isnull=True)
    return list(
        _search(live, query, actor=None).select_related("owner").order_by("name", "pk")[:limit]
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
    archived: bool | None = None,
) -> QuerySet[Customer]:
    """The customers ``actor`` may see, filtered and searched; always inside the data scope.

    ``archived``: the history library (True) or the active customers (False). Unsaid, a list
    shows the active ones, unless its lifecycle filter asks for churned or stopped."""
    customers = customer_visible_queryset(actor=actor)
    # --- history library: archived customers leave every list and search unless asked for.
    if archived is None:
        archived = lifecycle in ARCHIVED_LIFECYCLES
    customers = customers.filter(archived_at__isnull=not archived)
    if lifecycle:
        customers = customers.filter(lifecycle=lifecycle)
    if account_class:
        customers = customers.filter(account_class=account_class)
    if value_level is not None:
        customers = customers.filter(value_level=value_level)
    if industry:
        customers = customers.filter(industry__code=industry)
    if region:
        # A customer filed under a district carries its city and province too (region_validate),
        # so the column of the code's own level finds every customer inside the region.
        column = REGION_COLUMNS.get(region_level(region) or "")
        customers = customers.filter(**{column: region}) if column else customers.none()
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
        customers = _search(customers, query, actor=actor, pool_field="owner_id")
    return customers


def _ordering(sort: str, sorts: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    ordering = sorts.get(sort or "-updated_at")
    if ordering is None:
        raise ValidationError(
            {"sort": [_("Sort by one of: %(choices)s.") % {"choices": ", ".join(sorts)}]},
            code="invalid_sort",
        )
    return ordering


# The region names and the owner are columns of the list page; joined, not queried per row.
CUSTOMER_PAGE_RELATED = ("industry", "owner", "province", "city", "district")


def customer_page(
    *,
    actor: Any,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
    related: tuple[str, ...] = CUSTOMER_PAGE_RELATED,
    **filters,
) -> Page:
    """One keyset page of ``customer_list``; a fixed number of queries whatever the page size.

    ``related`` names the foreign keys to join; join only those the caller shows. On PostgreSQL
    every joined table multiplies the planner's work: at a million customers the five above cost
    4 ms of planning for a page that runs in 0.4 ms, 30 ms with a tag filter in a manager's scope
    (bench/customers_list_search.py)."""
    ordering = _ordering(sort, CUSTOMER_SORTS)
    customers = customer_list(actor=actor, **filters)
    # --- history library: its rows name their churn reason.
    if related and (filters.get("archived") or filters.get("lifecycle") in ARCHIVED_LIFECYCLES):
        related = (*related, "churn_reason")
    if related:  # select_related() with no names would follow every foreign key
        customers = customers.select_related(*related)
    customers = customers.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name", "id"))
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
            "churn_reason",  # --- history library
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
        contacts = _search(contacts, query, actor=actor, owner_field="customer__owner_id")
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
    does.

    --- merge: audit entries cannot move (the trail is append-only), so the history of every
    customer merged into this one (CustomerMerge, not undone) comes in here, up to its merge;
    each such entry carries ``merged_from``, the merged customer's name, for the timeline."""
    sources = customer_merged_sources(customer_id=customer.pk)
    condition = Q(object_id=str(customer.pk))
    for source in sources.values():
        condition |= Q(object_id=str(source.customer_id), occurred_at__lt=source.merged_at)
    entries = list(
        AuditEntry.objects.filter(condition, object_type=object_type_of(Customer)).order_by(
            "-occurred_at", "-id"
        )[:limit]
    )
    for entry in entries:
        source = sources.get(entry.object_id)
        entry.merged_from = source.name if source is not None else ""
    return entries


# --- merge ---------------------------------------------------------------------------------------

MERGE_CHAIN_LIMIT = 20
"""How many merges deep the history of merged customers is followed (A into B, B into C …)."""


@dataclass(frozen=True)
class MergedSource:
    """A customer merged into another, directly or through a chain of merges: its history up to
    ``merged_at`` belongs to the survivor's."""

    customer_id: int
    name: str
    merged_at: dt.datetime


def customer_merged_sources(*, customer_id: int) -> dict[str, MergedSource]:
    """The customers merged into ``customer_id`` and not separated again, by id as a string (the
    audit trail's object_id), following chains of merges. One query per link of a chain; one in
    all for a customer nothing was merged into."""
    found: dict[str, MergedSource] = {}
    frontier = [customer_id]
    for _depth in range(MERGE_CHAIN_LIMIT):
        merges = CustomerMerge.objects.filter(
            survivor_id__in=frontier, undone_at__isnull=True
        ).values_list("merged_record_id", "merged_name", "merged_at")
        frontier = []
        for merged_id, name, merged_at in merges:
            key = str(merged_id)
            if key not in found and merged_id != customer_id:
                found[key] = MergedSource(customer_id=merged_id, name=name, merged_at=merged_at)
                frontier.append(merged_id)
        if not frontier:
            break
    return found


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


# --- duplicates ---------------------------------------------------------------------------------
#
# The duplicate check (客户查重, 撞单) compares a candidate (typed into a form, sent to the API,
# read from an import row) with the live customers: the same unified social credit code, the
# same or a similar normalised name (Customer.name_key, core.china.names), the same phone number
# or e-mail address of a contact. Every candidate row comes from an index, never from a scan: the
# B-trees of credit_code and name_key, and the contacts' search index. A match outside the
# actor's data scope is still reported (someone has this company: that is what 撞单 is about)
# but masked: who owns it, or that it is in the pool, and nothing else.

DUPLICATE_LIKELY_SCORE = 90
"""The one threshold. A match scoring this or more is a likely duplicate: the form warns and asks
"File it anyway", the API answers 409 ``duplicate_suspected``; nothing below it is reported. A
name counts when its similarity (core.china.names.company_name_similarity, 0–100) reaches it; an
equal credit code scores 100; an equal phone number or e-mail address scores the threshold
itself, so it is reported whatever the name. A match's score is the highest of its reasons."""

DUPLICATE_CREDIT_CODE_SCORE = 100
DUPLICATE_CONTACT_SCORE = DUPLICATE_LIKELY_SCORE

DUPLICATE_NAME_NEIGHBOURS = 25
"""Keys read on each side of the candidate's key in name_key order, among those sharing its first
half: equal keys first, then the nearest ones. A similarity of 90 lets about one character in
ten differ, so a near duplicate shares a long prefix and sorts next to the candidate."""

DUPLICATE_CONTACT_ROWS = 1000
"""Contacts read for one batch of phones and e-mail addresses: a switchboard number shared by
thousands of contacts must not load them all."""

DUPLICATE_LIMIT_MAX = 50

DUPLICATE_REASONS = {
    "credit_code": _("Same unified social credit code"),
    "name": _("Similar name"),
    "phone": _("Same phone number"),
    "email": _("Same e-mail address"),
}
"""Why a customer matched, strongest first, with the label people read."""


def customer_name_key(*, name: str, kind: str) -> str:
    """The value of Customer.name_key. Government bodies keep their region in it: 北京市财政局 and
    上海市财政局 are two customers. (北京银行 and 上海银行 stay apart by the normaliser's own rule:
    a region in front of nothing but generic words is part of the name.)"""
    key = company_name_key(name or "", keep_regions=kind == Customer.Kind.GOVERNMENT)
    # NFKC can lengthen a name (㈱ is three characters): the column holds 200.
    return key[: Customer._meta.get_field("name_key").max_length]


@dataclass(frozen=True)
class DuplicateCandidate:
    """What the check compares, cleaned: the name key ('' leaves names out, as for individuals,
    whose names repeat), the credit code, phones in E.164, e-mail addresses case-folded, and the
    customer being edited, which is no duplicate of itself."""

    name_key: str = ""
    credit_code: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    exclude_id: int | None = None


@dataclass(frozen=True)
class DuplicateMatch:
    """One customer that looks like the candidate.

    ``visible``: whether the actor may see it (their data scope, or the pool). Only then are
    ``customer_id``, ``name`` and ``owner_id`` filled; a match the actor may not see says who owns
    it (``owner_name``) and nothing else: no id, no name, no contact data. ``owner_name`` is ''
    for a pool customer, which everyone may see. ``reasons``: keys of DUPLICATE_REASONS, strongest
    first."""

    score: int
    reasons: tuple[str, ...]
    visible: bool
    in_pool: bool
    owner_name: str = ""
    customer_id: int | None = None
    name: str = ""
    owner_id: int | None = None

    @property
    def reason_labels(self) -> list[str]:
        return [str(DUPLICATE_REASONS[code]) for code in self.reasons]

    @property
    def holder(self) -> str:
        """Who has the match, the part anyone may be told."""
        if self.in_pool:
            return str(_("In the pool"))
        return str(_("Owned by %(owner)s") % {"owner": self.owner_name})

    def as_dict(self) -> dict[str, Any]:
        """The shape of a match in the API and in a 409's ``matches`` (docs/api.md)."""
        return {
            "score": self.score,
            "reasons": [
                {"code": code, "label": str(DUPLICATE_REASONS[code])} for code in self.reasons
            ],
            "visible": self.visible,
            "id": self.customer_id,
            "name": self.name if self.visible else None,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name or None,
            "in_pool": self.in_pool,
            "holder": self.holder,
        }


def duplicate_candidate(
    *,
    name: str = "",
    kind: str = "",
    credit_code: str = "",
    phones: Iterable[Any] = (),
    emails: Iterable[Any] = (),
    exclude_id: int | None = None,
) -> DuplicateCandidate:
    """Plain values as a DuplicateCandidate. Phones in any format people write them (or
    ``{"number": …}``); blank phones and e-mail addresses are skipped. Raises ValidationError
    keyed ``credit_code``, ``phones.<index>`` and ``emails.<index>``: an importer reports them on
    the row, the API as a 422."""
    errors: dict[str, list[str]] = {}
    code = (credit_code or "").strip()
    if code:
        try:
            code = credit_code_clean(code)
        except ValidationError as error:
            errors["credit_code"] = error.messages
    numbers: list[str] = []
    for index, phone in enumerate(phones or ()):
        raw = str((phone.get("number") if isinstance(phone, dict) else phone) or "").strip()
        if not raw:
            continue
        try:
            number = phone_normalize(raw)
        except ValidationError as error:
            errors[f"phones.{index}"] = error.messages
            continue
        if number not in numbers:
            numbers.append(number)
    addresses: list[str] = []
    for index, email in enumerate(emails or ()):
        value = str(email or "").strip()
        if not value:
            continue
        try:
            validate_email(value)
        except ValidationError as error:
            errors[f"emails.{index}"] = error.messages
            continue
        if value.casefold() not in addresses:
            addresses.append(value.casefold())
    if errors:
        raise ValidationError(errors)
    return DuplicateCandidate(
        name_key=""
        if kind == Customer.Kind.INDIVIDUAL
        else customer_name_key(name=name, kind=kind),
        credit_code=code,
        phones=tuple(numbers),
        emails=tuple(addresses),
        exclude_id=exclude_id,
    )


def customer_duplicates_find(
    *,
    actor: Any,
    name: str = "",
    credit_code: str = "",
    phones: Iterable[Any] = (),
    emails: Iterable[Any] = (),
    kind: str = "",
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateMatch]:
    """Live customers that look like the one described, likeliest first, at most ``limit``
    (see DUPLICATE_LIKELY_SCORE for what counts, DuplicateMatch for what ``actor`` is told).
    ``kind``: the candidate's (an individual is not compared by name). ValidationError for a
    malformed credit code, phone or e-mail address (duplicate_candidate)."""
    candidate = duplicate_candidate(
        name=name,
        kind=kind,
        credit_code=credit_code,
        phones=phones,
        emails=emails,
        exclude_id=exclude_id,
    )
    return customer_duplicates_find_many(actor=actor, candidates=[candidate], limit=limit)[0]


def customer_duplicates_find_many(
    *, actor: Any, candidates: Sequence[DuplicateCandidate], limit: int = 10
) -> list[list[DuplicateMatch]]:
    """customer_duplicates_find for many candidates at once (an import, row by row): the matches
    of each, in the same order. One query for every credit code, one for every phone and e-mail
    address, two small index reads per name, and two to load and scope what matched, however
    many candidates; an importer passes a few hundred rows at a time. ``actor`` None is the
    system, which sees everything."""
    limit = max(1, min(limit, DUPLICATE_LIMIT_MAX))
    found: list[dict[int, dict[str, int]]] = [{} for _candidate in candidates]

    def note(index: int, pk: int, reason: str, score: int) -> None:
        reasons = found[index].setdefault(pk, {})
        reasons[reason] = max(score, reasons.get(reason, 0))

    codes = {candidate.credit_code for candidate in candidates if candidate.credit_code}
    by_code: dict[str, list[int]] = {}
    if codes:
        for pk, code in Customer.objects.filter(credit_code__in=codes).values_list(
            "pk", "credit_code"
        ):
            by_code.setdefault(code, []).append(pk)
    for index, candidate in enumerate(candidates):
        for pk in by_code.get(candidate.credit_code, ()):
            note(index, pk, "credit_code", DUPLICATE_CREDIT_CODE_SCORE)
        if candidate.name_key:
            for pk, key in _name_neighbours(candidate.name_key):
                score = company_name_similarity(candidate.name_key, key)
                if score >= DUPLICATE_LIKELY_SCORE:
                    note(index, pk, "name", score)
    phone_holders, email_holders = _contact_holders(
        phones={number for candidate in candidates for number in candidate.phones},
        emails={email for candidate in candidates for email in candidate.emails},
    )
    for index, candidate in enumerate(candidates):
        for number in candidate.phones:
            for pk in phone_holders.get(number, ()):
                note(index, pk, "phone", DUPLICATE_CONTACT_SCORE)
        for email in candidate.emails:
            for pk in email_holders.get(email, ()):
                note(index, pk, "email", DUPLICATE_CONTACT_SCORE)
    ids = {pk for matches in found for pk in matches}
    if not ids:
        return [[] for _candidate in candidates]
    customers = (
        Customer.objects.select_related("owner")
        .only("pk", "name", "owner_id", "owner__full_name", "owner__username")
        .in_bulk(list(ids))
    )
    if actor is None:
        visible = set(ids)
    else:
        visible = set(
            customer_visible_queryset(actor=actor).filter(pk__in=ids).values_list("pk", flat=True)
        )
    for index, candidate in enumerate(candidates):
        # Only a customer the actor sees is left out: leaving out one they cannot see would let
        # them test, id by id, which hidden customers match.
        if candidate.exclude_id in visible:
            found[index].pop(candidate.exclude_id, None)
    results: list[list[DuplicateMatch]] = []
    for matches in found:
        ranked = sorted(
            (
                (pk, _duplicate_match(customers[pk], reasons, visible=pk in visible))
                for pk, reasons in matches.items()
                if pk in customers
            ),
            # An equal credit code first, so that a limit never cuts the one match that refuses.
            key=lambda pair: (
                "credit_code" not in pair[1].reasons,
                -pair[1].score,
                -len(pair[1].reasons),
                pair[0],
            ),
        )
        results.append([match for _pk, match in ranked[:limit]])
    return results


def _duplicate_match(
    customer: Customer, reasons: dict[str, int], *, visible: bool
) -> DuplicateMatch:
    owner = customer.owner
    return DuplicateMatch(
        score=max(reasons.values()),
        reasons=tuple(code for code in DUPLICATE_REASONS if code in reasons),
        visible=visible,
        in_pool=owner is None,
        owner_name=owner.get_full_name() if owner is not None else "",
        customer_id=customer.pk if visible else None,
        name=customer.name if visible else "",
        owner_id=customer.owner_id if visible else None,
    )


def _string_after(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (its last character
    moved up by one, past the surrogates, which no database stores), None when there is none."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000
    if code > 0x10FFFF:
        return None
    return prefix[:-1] + chr(code)


def _name_neighbours(key: str) -> list[tuple[int, str]]:
    """(pk, name_key) of up to DUPLICATE_NAME_NEIGHBOURS companies on each side of ``key`` in
    name_key order, among those sharing its first half: two range reads of the index. The range
    bounds keep each read short; ``startswith`` keeps the rule exact under any collation."""
    prefix = key[: max(2, math.ceil(len(key) / 2))]
    rows = Customer.objects.exclude(kind=Customer.Kind.INDIVIDUAL).filter(
        name_key__startswith=prefix
    )
    above = rows.filter(name_key__gte=key)
    upper = _string_after(prefix)
    if upper is not None:
        above = above.filter(name_key__lt=upper)
    below = rows.filter(name_key__gte=prefix, name_key__lt=key)
    return [
        *above.order_by("name_key", "pk").values_list("pk", "name_key")[:DUPLICATE_NAME_NEIGHBOURS],
        *below.order_by("-name_key", "-pk").values_list("pk", "name_key")[
            :DUPLICATE_NAME_NEIGHBOURS
        ],
    ]


def _contacts_matching_any(queries: Iterable[str]) -> QuerySet[Contact]:
    """Live contacts of live customers whose search key matches any of ``queries`` (each the
    AND of its terms, as in the list's search), through the FTS5 table or the GIN index.

    The private tokens count too: full phone numbers and e-mail addresses are private in the
    key (only the owner's search reaches them), and the duplicate check must find them whoever
    asks. It tells no more than who holds the match."""
    groups = [private_terms(terms) for terms in (search_terms(query) for query in queries) if terms]
    contacts = Contact.objects.filter(customer__deleted_at__isnull=True)
    if not groups:
        return contacts.none()
    table = Contact._meta.db_table
    if connection.vendor == "postgresql":
        vector = postgres_vector_sql(f'"{table}"."search_key"')
        tsquery = " | ".join(f"({tsquery_text_any(group)})" for group in groups)
        return contacts.filter(
            RawSQL(f"{vector} @@ %s::tsquery", [tsquery], output_field=BooleanField())
        )
    fts = f"{table}_fts"
    match = " OR ".join(f"({fts5_match_any(group)})" for group in groups)
    return contacts.filter(id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [match]))


def _contact_holders(
    *, phones: set[str], emails: set[str]
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Which customers have a contact with each of ``phones`` (E.164) and ``emails`` (folded):
    candidates through the search index (a phone's digits, an address's words), then the exact
    value checked here."""
    phone_holders: dict[str, set[int]] = {}
    email_holders: dict[str, set[int]] = {}
    if not phones and not emails:
        return phone_holders, email_holders
    queries = [number.lstrip("+") for number in sorted(phones)] + sorted(emails)
    rows = _contacts_matching_any(queries).values_list("customer_id", "phones", "email")
    for customer_id, numbers, email in rows[:DUPLICATE_CONTACT_ROWS]:
        for phone in numbers if isinstance(numbers, list) else ():
            number = phone.get("number") if isinstance(phone, dict) else None
            if number in phones:
                phone_holders.setdefault(number, set()).add(customer_id)
        folded = (email or "").casefold()
        if folded in emails:
            email_holders.setdefault(folded, set()).add(customer_id)
    return phone_holders, email_holders


# The scan over existing data: groups of customers within the actor's scope that share a key.

DUPLICATE_SCAN_REASONS = ("name", "credit_code", "phone")
DUPLICATE_SCAN_GROUPS = 50
"""Groups shown per page of the scan, largest first; the rest come after those are dealt with."""
DUPLICATE_SCAN_MEMBERS = 20
"""Customers shown per group."""


@dataclass(frozen=True)
class DuplicateGroup:
    """Customers sharing one value: ``reason`` says which (a key of DUPLICATE_REASONS),
    ``value`` shows it (the name key, the credit code, the phone masked), ``count`` is how many
    share it in the scope, ``customers`` the first DUPLICATE_SCAN_MEMBERS of them."""

    reason: str
    value: str
    count: int
    customers: list[Customer]

    @property
    def unshown(self) -> int:
        return self.count - len(self.customers)


@dataclass(frozen=True)
class DuplicateScan:
    reason: str
    groups: list[DuplicateGroup]
    more: bool  # more groups than shown


def customer_duplicate_groups(
    *, actor: Any, reason: str = "name", limit: int = DUPLICATE_SCAN_GROUPS
) -> DuplicateScan:
    """Groups of likely duplicates among the customers ``actor`` may see: the same name key
    (companies and government bodies), the same credit code, or a contact phone number shared
    across customers. One reason per call (the page shows one tab); three queries. The groups are
    exact equalities, the only ones a database finds without comparing every pair; similar names
    are caught one at a time, when filed or edited."""
    if reason not in DUPLICATE_SCAN_REASONS:
        reason = "name"
    if reason == "phone":
        return _duplicates_scan_phones(actor=actor, limit=limit)
    field = "name_key" if reason == "name" else "credit_code"
    scoped = customer_visible_queryset(actor=actor).exclude(**{field: ""})
    if reason == "name":
        scoped = scoped.exclude(kind=Customer.Kind.INDIVIDUAL)
    counts = list(
        scoped.order_by()
        .values_list(field)
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .order_by("-count", field)[: limit + 1]
    )
    shown = counts[:limit]
    members: dict[str, list[Customer]] = {}
    if shown:
        rows = (
            scoped.filter(**{f"{field}__in": [value for value, _count in shown]})
            .annotate(rank=Window(RowNumber(), partition_by=[F(field)], order_by=[F("pk").asc()]))
            .filter(rank__lte=DUPLICATE_SCAN_MEMBERS)
            .select_related("owner")
            .order_by(field, "pk")
        )
        for customer in rows:
            members.setdefault(getattr(customer, field), []).append(customer)
    groups = [
        DuplicateGroup(reason=reason, value=value, count=count, customers=members.get(value, []))
        for value, count in shown
    ]
    return DuplicateScan(reason=reason, groups=groups, more=len(counts) > limit)


def _duplicates_scan_phones(*, actor: Any, limit: int) -> DuplicateScan:
    scoped = contact_visible_queryset(actor=actor)
    scope_sql, scope_params = scoped.values("pk").query.sql_with_params()
    table = Contact._meta.db_table
    if connection.vendor == "postgresql":
        elements = (
            f"{table} c CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN "
            "jsonb_typeof(c.phones) = 'array' THEN c.phones ELSE '[]'::jsonb END) AS e(value)"
        )
        number = "e.value->>'number'"
        is_object = "jsonb_typeof(e.value) = 'object'"
    else:
        elements = (
            f"{table} c, json_each(CASE WHEN json_valid(c.phones) AND "
            "json_type(c.phones) = 'array' THEN c.phones ELSE '[]' END) AS e"
        )
        number = "json_extract(e.value, '$.number')"
        is_object = "e.type = 'object'"
    sql = (
        f"SELECT {number} AS number, COUNT(DISTINCT c.customer_id) AS shared FROM {elements} "
        f"WHERE {is_object} AND {number} IS NOT NULL AND c.id IN ({scope_sql}) "
        "GROUP BY 1 HAVING COUNT(DISTINCT c.customer_id) > 1 ORDER BY 2 DESC, 1 LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*scope_params, limit + 1])
        counts = [(str(row[0]), int(row[1])) for row in cursor.fetchall()]
    shown = counts[:limit]
    holders: dict[str, set[int]] = {}
    if shown:
        wanted = {value for value, _count in shown}
        matching = _contacts_matching_any(value.lstrip("+") for value in sorted(wanted))
        pairs = matching.filter(pk__in=scoped.values("pk")).values_list("customer_id", "phones")
        for customer_id, numbers in pairs:
            for phone in numbers if isinstance(numbers, list) else ():
                value = phone.get("number") if isinstance(phone, dict) else None
                if value in wanted:
                    holders.setdefault(value, set()).add(customer_id)
    wanted_ids = {pk for ids in holders.values() for pk in sorted(ids)[:DUPLICATE_SCAN_MEMBERS]}
    customers = Customer.objects.select_related("owner").in_bulk(list(wanted_ids))
    groups = [
        DuplicateGroup(
            reason="phone",
            value=phone_mask(value),
            count=count,
            customers=[
                customers[pk]
                for pk in sorted(holders.get(value, ()))[:DUPLICATE_SCAN_MEMBERS]
                if pk in customers
            ],
        )
        for value, count in shown
    ]
    return DuplicateScan(reason="phone", groups=groups, more=len(counts) > limit)


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
    # --- history library: archived customers are never recycled (archived_at).
    return (
        Q(owner__isnull=False, archived_at__isnull=True)
        & idle
        & unprotected
        & ~Q(lifecycle__in=RECYCLE_EXEMPT_LIFECYCLES)
    )


def customers_recycle_upcoming(*, now: dt.datetime | None = None) -> QuerySet[Customer]:
    return Customer.objects.filter(recycle_due_q(now=now)).order_by("last_activity_at", "pk")


def customer_recycle_at(*, customer: Customer, policy: PoolPolicy | None = None) -> Any:
    """When the recycle job will take ``customer`` back to the pool if nobody works on it; None
    for pool customers and for deals, which are never recycled for being quiet."""
    if customer.owner_id is None or customer.lifecycle in RECYCLE_EXEMPT_LIFECYCLES:
        return None
    if customer.archived_at is not None:  # --- history library: never recycled
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


# --- needs (C2) ---------------------------------------------------------------------------------

NEED_SORTS: dict[str, tuple[str, ...]] = {
    # Grouped by category in the administrators' order; within one, the longest-standing first.
    "category": ("category__sort_order", "category_id", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
}
# The order of a customer's needs on its page: the urgent first.
_PRIORITY_RANK = {Need.Priority.HIGH: 0, Need.Priority.MEDIUM: 1, Need.Priority.LOW: 2}


def need_visible_queryset(*, actor: Any) -> QuerySet[Need]:
    """Live needs of live customers ``actor`` may see: the scope is the customer's, pool
    customers' needs included, exactly as for contacts."""
    if not _is_active_user(actor):
        return Need.objects.none()
    return Need.objects.filter(
        customer_visible_q(actor, prefix="customer__"), customer__deleted_at__isnull=True
    )


def _choice_check(name: str, value: str, choices: Any) -> None:
    if value and value not in choices.values:
        raise ValidationError(
            {name: [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}]},
            code="invalid_choice",
        )


def need_list(
    *,
    actor: Any,
    customer: int | None = None,
    category: int | None = None,
    fit_status: str = "",
    unmet: bool = False,
    priority: str = "",
    status: str = "",
    owner: int | None = None,
    plan_owner: int | None = None,
) -> QuerySet[Need]:
    """The needs ``actor`` may see, filtered; always inside the data scope. ``unmet``: open needs
    the offer meets partly or not at all. ``owner`` is the customer's owner; ``plan_owner`` who
    carries the plan for the gap. An unknown choice is a field error, not an empty list."""
    _choice_check("fit_status", fit_status, Need.FitStatus)
    _choice_check("priority", priority, Need.Priority)
    _choice_check("status", status, Need.Status)
    needs = need_visible_queryset(actor=actor)
    if customer is not None:
        needs = needs.filter(customer_id=customer)
    if category is not None:
        needs = needs.filter(category_id=category)
    if fit_status:
        needs = needs.filter(fit_status=fit_status)
    if unmet:
        needs = needs.filter(status=Need.Status.OPEN, fit_status__in=Need.GAP_FITS)
    if priority:
        needs = needs.filter(priority=priority)
    if status:
        needs = needs.filter(status=status)
    if owner is not None:
        needs = needs.filter(customer__owner_id=owner)
    if plan_owner is not None:
        needs = needs.filter(plan_owner_id=plan_owner)
    return needs


def need_page(
    *, actor: Any, sort: str = "category", cursor: str | None = None, limit: int = 50, **filters
) -> Page:
    """One keyset page of ``need_list`` with what a row shows joined: a fixed number of
    queries whatever the page size."""
    ordering = _ordering(sort or "category", NEED_SORTS)
    needs = need_list(actor=actor, **filters).select_related("customer", "category", "plan_owner")
    return keyset_paginate(needs, ordering=ordering, cursor=cursor, limit=limit)


def need_detail(*, need: Need) -> Need:
    return Need.objects.select_related(
        "customer", "category", "plan_owner", "created_by", "updated_by"
    ).get(pk=need.pk)


@dataclass
class NeedGapGroup:
    """The unmet needs of one category: how many the offer meets partly or not at all, how many
    are high priority, and how many plans are past their due date."""

    category: NeedCategory
    partial: int
    unmet: int
    high_priority: int
    overdue: int

    @property
    def total(self) -> int:
        return self.partial + self.unmet


def need_unmet_summary(
    *,
    actor: Any,
    customer: int | None = None,
    priority: str = "",
    owner: int | None = None,
    plan_owner: int | None = None,
    today: dt.date | None = None,
) -> list[NeedGapGroup]:
    """Open needs with a gap (partly or not met) in ``actor``'s data scope, counted per category
    in the categories' order; categories without any are left out. Two queries."""
    today = today or timezone.localdate()
    needs = need_list(
        actor=actor,
        customer=customer,
        priority=priority,
        owner=owner,
        plan_owner=plan_owner,
        unmet=True,
    )
    counts = (
        # order_by() drops the model's ordering, which would otherwise join the GROUP BY.
        needs.order_by()
        .values("category_id")
        .annotate(
            partial=Count("pk", filter=Q(fit_status=Need.FitStatus.PARTIAL)),
            unmet=Count("pk", filter=Q(fit_status=Need.FitStatus.UNMET)),
            high_priority=Count("pk", filter=Q(priority=Need.Priority.HIGH)),
            overdue=Count("pk", filter=Q(plan_due_date__lt=today)),
        )
    )
    by_category = {row["category_id"]: row for row in counts}
    categories = NeedCategory.all_objects.filter(pk__in=by_category).order_by("sort_order", "id")
    return [
        NeedGapGroup(
            category=category,
            partial=by_category[category.pk]["partial"],
            unmet=by_category[category.pk]["unmet"],
            high_priority=by_category[category.pk]["high_priority"],
            overdue=by_category[category.pk]["overdue"],
        )
        for category in categories
    ]


def need_customer_needs(*, actor: Any, customer: Customer, limit: int = 50) -> dict[str, Any]:
    """A customer's open needs for its page, the urgent first, and how many are closed."""
    needs = need_list(actor=actor, customer=customer.pk).select_related("category", "plan_owner")
    open_needs = sorted(
        needs.filter(status=Need.Status.OPEN)[:limit],
        key=lambda need: (_PRIORITY_RANK.get(need.priority, 9), need.expected_date or dt.date.max),
    )
    return {
        "needs": open_needs,
        "closed_count": needs.filter(status=Need.Status.CLOSED).count(),
    }


@dataclass
class NeedHistoryItem:
    """One line of a need's history: an audit entry (a change, with its readable rows added by
    the caller) or an update note."""

    occurred_at: dt.datetime
    entry: AuditEntry | None = None
    note: NeedNote | None = None


def need_history(*, need: Need, limit: int = 100) -> list[NeedHistoryItem]:
    """The need's changes (its own audit entries) and update notes, newest first, for anyone who
    may see the need: it is the record's history, not the audit trail at large."""
    entries = AuditEntry.objects.filter(
        object_type=object_type_of(Need), object_id=str(need.pk)
    ).order_by("-occurred_at", "-id")[:limit]
    notes = NeedNote.objects.filter(need=need).select_related("author")[:limit]
    items = [NeedHistoryItem(occurred_at=entry.occurred_at, entry=entry) for entry in entries]
    items += [NeedHistoryItem(occurred_at=note.created_at, note=note) for note in notes]
    items.sort(key=lambda item: item.occurred_at, reverse=True)
    return items[:limit]


def need_category_list(*, include_inactive: bool = False) -> QuerySet[NeedCategory]:
    categories = NeedCategory.objects.order_by("sort_order", "id")
    return categories if include_inactive else categories.filter(is_active=True)


# --- history library ----------------------------------------------------------------------------


def churn_reason_list(*, include_inactive: bool = False) -> QuerySet[ChurnReason]:
    reasons = ChurnReason.objects.order_by("sort_order", "id")
    return reasons if include_inactive else reasons.filter(is_active=True)


@dataclass(frozen=True)
class CustomerTenure:
    """How long a customer was with us: from the first contact (or, unknown, from when it was
    filed) to when it went into the history library, or to today for an active one."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return max(0, (self.end - self.start).days)


def customer_tenure(*, customer: Customer) -> CustomerTenure:
    start = customer.first_contact_date or timezone.localdate(customer.created_at)
    end = timezone.localdate(customer.archived_at) if customer.archived_at else timezone.localdate()
    return CustomerTenure(start=start, end=end)


def customer_last_order(*, customer: Customer) -> Any:
    """The customer's most recent order, for the history library. There are no orders yet
    (C7): None, which pages show as "—", until the sales app answers here."""
    return None


@dataclass(frozen=True)
class ChurnBreakdownRow:
    reason: ChurnReason | None
    churned: int
    stopped: int

    @property
    def total(self) -> int:
        return self.churned + self.stopped


@dataclass(frozen=True)
class ChurnBreakdown:
    date_from: dt.date
    date_to: dt.date
    rows: list[ChurnBreakdownRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    def share(self, row: ChurnBreakdownRow) -> float:
        return round(100 * row.total / self.total, 1) if self.total else 0.0


def churn_breakdown(*, actor: Any, date_from: dt.date, date_to: dt.date) -> ChurnBreakdown:
    """Customers in ``actor``'s data scope that went into the history library between the two
    days (inclusive, in the deployment's time zone), counted per churn reason and split into
    churned and stopped; one grouped query. Every reason in use is listed, with zeros; a reason
    switched off appears only where it still counts customers. A customer restored since is no
    longer counted: its spell in the history library stays in its timeline."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    counts = {
        row["churn_reason"]: row
        for row in customer_visible_queryset(actor=actor)
        .filter(archived_at__gte=start, archived_at__lt=end)
        .values("churn_reason")
        .annotate(
            churned=Count("pk", filter=Q(lifecycle=Customer.Lifecycle.CHURNED)),
            stopped=Count("pk", filter=Q(lifecycle=Customer.Lifecycle.STOPPED)),
        )
        .order_by()
    }
    rows = []
    for reason in churn_reason_list(include_inactive=True):
        found = counts.get(reason.pk)
        if found is None and not reason.is_active:
            continue
        rows.append(
            ChurnBreakdownRow(
                reason=reason,
                churned=found["churned"] if found else 0,
                stopped=found["stopped"] if found else 0,
            )
        )
    return ChurnBreakdown(date_from=date_from, date_to=date_to, rows=rows)


# --- verification -------------------------------------------------------------------------------

VERIFICATION_CHANGES_LIMIT = 50
"""How many contact changes a verification records (and its page lists) at most."""


def verification_task_visible_queryset(*, actor: Any) -> QuerySet[VerificationTask]:
    """Tasks of live customers ``actor`` may see: the scope is the customer's."""
    if not _is_active_user(actor):
        return VerificationTask.objects.none()
    return VerificationTask.objects.filter(
        customer_visible_q(actor, prefix="customer__"), customer__deleted_at__isnull=True
    )


def verification_task_list_mine(
    *, actor: Any, quarter: str | None = None
) -> QuerySet[VerificationTask]:
    """The open tasks of ``quarter`` (the current one by default) for the customers ``actor``
    owns now, whoever owned them when the task was made; the oldest first."""
    if not _is_active_user(actor):
        return VerificationTask.objects.none()
    return VerificationTask.objects.filter(
        quarter=quarter or quarter_of(),
        status=VerificationTask.Status.OPEN,
        customer__owner=actor,
        customer__deleted_at__isnull=True,
        customer__archived_at__isnull=True,
    )


def verification_task_page(
    *, actor: Any, quarter: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    tasks = verification_task_list_mine(actor=actor, quarter=quarter).select_related("customer")
    return keyset_paginate(tasks, ordering=("created_at", "id"), cursor=cursor, limit=limit)


def verification_task_open_for(*, customer: Customer) -> VerificationTask | None:
    """The customer's open task of the current quarter, if it has one."""
    return VerificationTask.objects.filter(
        customer=customer, quarter=quarter_of(), status=VerificationTask.Status.OPEN
    ).first()


def verification_contact_changes(
    *, customer: Customer, since: dt.datetime, limit: int = VERIFICATION_CHANGES_LIMIT
) -> list[dict[str, Any]]:
    """What was done to the customer's contacts since ``since`` (added, changed, removed), from
    the audit trail, oldest first: who, when, which contact and which fields. Field names only:
    the values are personal data, and the trail keeps them for those who may see them."""
    contacts = dict(Contact.all_objects.filter(customer=customer).values_list("pk", "name"))
    if not contacts:
        return []
    entries = AuditEntry.objects.filter(
        object_type=object_type_of(Contact),
        object_id__in=[str(pk) for pk in contacts],
        occurred_at__gte=since,
        action__in=(
            AuditEntry.Action.CREATE,
            AuditEntry.Action.UPDATE,
            AuditEntry.Action.DELETE,
            AuditEntry.Action.RESTORE,
        ),
    ).order_by("occurred_at", "id")[:limit]
    return [
        {
            "contact_id": int(entry.object_id),
            "contact": contacts.get(int(entry.object_id), entry.object_label),
            "action": entry.action,
            "fields": sorted(entry.changes) if entry.action == AuditEntry.Action.UPDATE else [],
            "by": entry.actor_label,
            "at": entry.occurred_at.isoformat(),
        }
        for entry in entries
    ]


@dataclass(frozen=True)
class VerificationOwnerRow:
    owner: Any
    customers: int
    verified: int

    @property
    def stale(self) -> int:
        return self.customers - self.verified


@dataclass(frozen=True)
class VerificationReport:
    quarter: str
    start: dt.date
    end: dt.date
    rows: list[VerificationOwnerRow]

    @property
    def customers(self) -> int:
        return sum(row.customers for row in self.rows)

    @property
    def verified(self) -> int:
        return sum(row.verified for row in self.rows)

    @property
    def stale(self) -> int:
        return self.customers - self.verified


def _verification_scope(*, actor: Any) -> QuerySet[Customer]:
    """The customers a verification report covers: active (not in the history library) and
    owned, inside ``actor``'s data scope. Pool customers have nobody to check them."""
    return customer_visible_queryset(actor=actor).filter(
        archived_at__isnull=True, owner__isnull=False
    )


def _verified_in(quarter: str) -> Exists:
    return Exists(
        VerificationTask.objects.filter(
            customer=OuterRef("pk"), quarter=quarter, status=VerificationTask.Status.VERIFIED
        )
    )


def verification_report(*, actor: Any, quarter: str) -> VerificationReport:
    """Per owner: the active customers in ``actor``'s scope and how many of them had their data
    verified in ``quarter`` (a verified task of that quarter); one grouped query, and one for
    the owners' names. Owners with the most unverified customers first."""
    start, end = quarter_bounds(quarter)
    grouped = (
        _verification_scope(actor=actor)
        .annotate(is_verified=_verified_in(quarter))
        .values("owner")
        .annotate(total=Count("pk"), verified=Count("pk", filter=Q(is_verified=True)))
        .order_by()
    )
    counts = list(grouped)
    owners = User.objects.in_bulk([row["owner"] for row in counts])
    rows = [
        VerificationOwnerRow(
            owner=owners.get(row["owner"]), customers=row["total"], verified=row["verified"]
        )
        for row in counts
    ]
    rows.sort(key=lambda row: (-row.stale, str(row.owner)))
    return VerificationReport(quarter=quarter, start=start, end=end, rows=rows)


def verification_stale_page(
    *,
    actor: Any,
    quarter: str,
    owner: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The customers of the report that were not verified in ``quarter``, by name."""
    customers = _verification_scope(actor=actor).filter(~_verified_in(quarter))
    if owner is not None:
        customers = customers.filter(owner_id=owner)
    customers = customers.select_related("owner")
    return keyset_paginate(customers, ordering=("name", "id"), cursor=cursor, limit=limit)
