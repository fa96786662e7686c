"""Reads for export: the filters of the customer list, the rows of each export as people read
them, and a user's export jobs.

Exports read through the customers app's own selectors (customer_list, contact_list,
contact_personal_data), so an export holds exactly what the list shows to the same user, inside
the same data scope, with contacts' personal data masked for everyone but the customer's owner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts.selectors import user_visible_queryset
from guanxi.customers.forms import CustomerFilterForm
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.selectors import (
    CUSTOMER_SORTS,
    contact_list,
    contact_personal_data,
    customer_list,
)
from guanxi.transfer.formats import CardOut, Cell
from guanxi.transfer.models import ExportJob, ImportJob

# Rows fetched per query: with the tags prefetched per chunk, memory stays flat whatever the size.
CHUNK_SIZE = 1000

# The query-string parameters of the customer list that an export keeps (the cursor is not one:
# an export is every page). value_level is the API's filter the list page does not offer.
FILTER_PARAMS = (*CustomerFilterForm.base_fields, "value_level")
CUSTOMER_PARAM = "customer"


def _owner_choices(actor: Any) -> QuerySet:
    # The owners the list's filter offers (customers.views): the same choices, so an owner filter
    # that the list honours is honoured here, and one it ignores is ignored here too.
    return user_visible_queryset(actor=actor).filter(is_active=True).order_by("full_name", "pk")


def export_filters(
    *, actor: Any, params: Mapping[str, Any], strict: bool = False
) -> dict[str, Any]:
    """The keyword arguments of customer_list (plus ``sort``) that ``params``, the customer
    list's query string, amounts to for ``actor``: CustomerFilterForm decides, as on the list.

    The list ignores a value that does not parse (links get bookmarked); so does an export from
    the list. ``strict`` (the API) refuses one instead: an export silently wider than asked for
    would hand out more rows than the caller meant."""
    data = params if isinstance(params, QueryDict) else _query_dict(params)
    form = CustomerFilterForm(data, owners=_owner_choices(actor))
    filters = form.filters()
    errors = {name: form.errors[name] for name in form.errors if data.get(name) not in (None, "")}
    value_level = data.get("value_level")
    if value_level not in (None, ""):
        if value_level in Customer.ValueLevel.values:
            filters["value_level"] = value_level
        else:
            errors["value_level"] = [_("Select a valid choice.")]
    if strict and errors:
        raise ValidationError(errors)
    return filters


def _query_dict(params: Mapping[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in params.items():
        if value is not None:
            data[name] = value
    return data


def export_query(filters: Mapping[str, Any]) -> str:
    """``filters`` back as the list's query string, leaving out what does not narrow anything:
    what an export job runs again, and what the audit entry records."""
    data = QueryDict(mutable=True)
    names = {"query": "q"}
    for name, value in filters.items():
        if value in ("", None, False) or (name == "sort" and value == "-updated_at"):
            continue
        if name == "in_pool":
            value = "1" if value else "0"
        elif value is True:
            value = "1"
        data[names.get(name, name)] = str(value)
    return data.urlencode()


def export_customers(*, actor: Any, filters: Mapping[str, Any]) -> QuerySet[Customer]:
    """The customers the list shows ``actor`` with ``filters``, in the list's order."""
    filters = dict(filters)
    ordering = CUSTOMER_SORTS[filters.pop("sort", "") or "-updated_at"]
    return (
        customer_list(actor=actor, **filters)
        .select_related("industry", "owner", "department", "parent", "province", "city", "district")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name", "id")))
        .order_by(*ordering)
    )


def export_contacts(
    *, actor: Any, filters: Mapping[str, Any] | None = None, customer: Customer | None = None
) -> QuerySet[Contact]:
    """Contacts of one customer, or of every customer the list shows with ``filters``, grouped
    by customer in the list's order."""
    if customer is not None:
        contacts = contact_list(actor=actor, customer=customer.pk)
        ordering: tuple[str, ...] = ("name", "id")
    else:
        filters = dict(filters or {})
        sort = filters.pop("sort", "") or "-updated_at"
        customers = customer_list(actor=actor, **filters)
        contacts = contact_list(actor=actor).filter(customer__in=customers.values("pk"))
        ordering = (*(_customer_field(name) for name in CUSTOMER_SORTS[sort]), "name", "id")
    return contacts.select_related("customer").order_by(*ordering)


def _customer_field(name: str) -> str:
    descending = name.startswith("-")
    return f"{'-' if descending else ''}customer__{name.lstrip('-')}"


def export_count(queryset: QuerySet, *, up_to: int) -> int:
    """How many rows ``queryset`` has, counting no further than ``up_to`` (a list of a million
    rows need not be counted to the end to know it is too long for a direct download)."""
    return queryset.order_by().values("pk")[: up_to + 1].count()


# --- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: Any  # lazily translated
    width: int = 16


def _field_header(model: Any, name: str) -> Any:
    return capfirst(model._meta.get_field(name).verbose_name)


def customer_columns() -> list[Column]:
    f = _field_header
    return [
        Column(gettext_lazy("ID"), 8),
        Column(f(Customer, "name"), 32),
        Column(f(Customer, "short_name")),
        Column(f(Customer, "kind"), 12),
        Column(f(Customer, "credit_code"), 22),
        Column(f(Customer, "industry"), 20),
        Column(f(Customer, "province"), 12),
        Column(f(Customer, "city"), 12),
        Column(f(Customer, "district"), 12),
        Column(f(Customer, "address"), 32),
        Column(f(Customer, "website"), 24),
        Column(f(Customer, "source")),
        Column(f(Customer, "source_note"), 20),
        Column(f(Customer, "lifecycle"), 12),
        Column(f(Customer, "account_class")),
        Column(f(Customer, "value_level"), 12),
        Column(f(Customer, "owner"), 14),
        Column(f(Customer, "department"), 14),
        Column(f(Customer, "parent"), 24),
        Column(f(Customer, "tags"), 24),
        Column(f(Customer, "first_contact_date"), 14),
        Column(f(Customer, "first_needs"), 40),
        Column(f(Customer, "created_at"), 18),
        Column(f(Customer, "updated_at"), 18),
    ]


def customer_rows(customers: QuerySet[Customer]) -> Iterator[list[Cell]]:
    pool = _("Pool")
    for c in customers.iterator(chunk_size=CHUNK_SIZE):
        yield [
            c.pk,
            c.name,
            c.short_name,
            c.get_kind_display(),
            c.credit_code,
            c.industry.name if c.industry_id else "",
            c.province.name if c.province_id else "",
            # A municipality's city row repeats its name (北京市 / 北京市): once, as on the list.
            c.city.name if c.city_id and c.city.name != getattr(c.province, "name", "") else "",
            c.district.name if c.district_id else "",
            c.address,
            c.website,
            c.get_source_display(),
            c.source_note,
            c.get_lifecycle_display(),
            c.get_account_class_display(),
            c.get_value_level_display() if c.value_level else "",
            c.owner.get_full_name() if c.owner_id else pool,
            c.department.name if c.department_id else "",
            c.parent.name if c.parent_id else "",
            "、".join(tag.name for tag in c.tags.all()),
            c.first_contact_date,
            c.first_needs,
            c.created_at,
            c.updated_at,
        ]


def contact_columns() -> list[Column]:
    f = _field_header
    return [
        Column(gettext_lazy("ID"), 8),
        Column(gettext_lazy("Customer ID"), 10),
        Column(f(Contact, "customer"), 30),
        Column(f(Contact, "name"), 14),
        Column(f(Contact, "title"), 16),
        Column(f(Contact, "decision_role"), 12),
        Column(f(Contact, "phones"), 34),
        Column(f(Contact, "email"), 26),
        Column(f(Contact, "wechat"), 16),
        Column(f(Contact, "address"), 32),
        Column(f(Contact, "birthday"), 12),
        Column(f(Contact, "preferred_channel"), 12),
        Column(f(Contact, "legal_basis"), 14),
        Column(f(Contact, "consent_note"), 24),
        Column(f(Contact, "consent_at"), 18),
        Column(gettext_lazy("Masked"), 8),
    ]


def _phone_labels() -> dict[str, str]:
    return {value: str(label) for value, label in Contact.PhoneLabel.choices}


def contact_rows(*, actor: Any, contacts: QuerySet[Contact]) -> Iterator[list[Cell]]:
    """Phones, e-mail and WeChat ID through contact_personal_data: in full on ``actor``'s own
    customers, masked on every other. An export is never a way around masking."""
    labels = _phone_labels()
    yes, no = _("yes"), _("no")
    for contact in contacts.iterator(chunk_size=CHUNK_SIZE):
        personal = contact_personal_data(actor=actor, contact=contact)
        phones = "; ".join(
            f"{labels.get(phone['label'], phone['label'])} {phone['number']}".strip()
            for phone in personal["phones"]
        )
        yield [
            contact.pk,
            contact.customer_id,
            contact.customer.name,
            contact.name,
            contact.title,
            contact.get_decision_role_display(),
            phones,
            personal["email"],
            personal["wechat"],
            contact.address,
            contact.birthday,
            contact.get_preferred_channel_display() if contact.preferred_channel else "",
            contact.get_legal_basis_display(),
            contact.consent_note,
            contact.consent_at,
            yes if personal["masked"] else no,
        ]


def contact_cards(*, actor: Any, contacts: QuerySet[Contact]) -> Iterator[CardOut]:
    """The same contacts as vCards, masked the same way."""
    for contact in contacts.iterator(chunk_size=CHUNK_SIZE):
        personal = contact_personal_data(actor=actor, contact=contact)
        yield CardOut(
            name=contact.name,
            organisation=contact.customer.name,
            title=contact.title,
            role=contact.get_decision_role_display(),
            phones=[(phone["number"], phone["label"]) for phone in personal["phones"]],
            email=personal["email"],
            wechat=personal["wechat"],
            address=contact.address,
            birthday=contact.birthday,
        )


# --- jobs -----------------------------------------------------------------------------------


def export_job_list(*, actor: Any, limit: int = 100) -> list[ExportJob]:
    """``actor``'s own exports, newest first: nobody sees another's."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    return list(ExportJob.objects.filter(user=actor).order_by("-created_at", "-id")[:limit])


def export_jobs_pending_count(*, actor: Any) -> int:
    return ExportJob.objects.filter(
        user=actor, status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)
    ).count()


def export_query_labels(*, actor: Any, queries: list[str]) -> dict[str, str]:
    """Each export's filters as people read them ("Closed deal · 华东"), for "My exports": the
    choice labels the list's filter form shows. One form for the whole page."""
    form = CustomerFilterForm(owners=_owner_choices(actor))
    labels: dict[str, dict[str, str]] = {
        name: {str(value): str(label) for value, label in field.choices}
        for name, field in form.fields.items()
        if hasattr(field, "choices")
    }
    labels["value_level"] = {str(v): str(label) for v, label in Customer.ValueLevel.choices}
    shown: dict[str, str] = {}
    for query in queries:
        parts = []
        for name, value in QueryDict(query).items():
            if name == "q":
                parts.append(f"“{value}”")
            elif name == "recycle_due":
                parts.append(_("Due for recycling"))
            elif name == CUSTOMER_PARAM:
                parts.append(_("One customer (#%(id)s)") % {"id": value})
            else:
                parts.append(labels.get(name, {}).get(value, value))
        shown[query] = " · ".join(parts)
    return shown


# --- imports --------------------------------------------------------------------------------


def import_job_list(*, actor: Any, limit: int = 50) -> list[ImportJob]:
    """``actor``'s own imports, newest first: nobody sees another's."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    return list(ImportJob.objects.filter(user=actor).order_by("-created_at", "-id")[:limit])


def import_undo_until(job: ImportJob) -> Any:
    """Until when ``job`` can be undone (None when it cannot)."""
    if job.status != ImportJob.Status.DONE or job.finished_at is None:
        return None
    return job.finished_at + dt.timedelta(days=settings.GUANXI_IMPORT_UNDO_DAYS)
