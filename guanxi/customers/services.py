"""Writes for customers, contacts and tags. Every write: explicit actor, full_clean, one
transaction, an audit entry (core.services)."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from guanxi.accounts.models import User
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.audit import audit_record, diff, object_type_of, snapshot
from guanxi.core.china.credit_code import credit_code_clean
from guanxi.core.china.phones import is_masked, phone_normalize
from guanxi.core.china.regions import region_chain, region_validate
from guanxi.core.china.search import search_document
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.models import AuditEntry, Region
from guanxi.core.quarters import quarter_bounds, quarter_of
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.customers.audit_notes import PERSONAL_DATA_REVEALED, PERSONAL_DATA_REVEALED_FOR_EDIT
from guanxi.customers.models import (
    ARCHIVED_LIFECYCLES,
    ChurnReason,
    Contact,
    Customer,
    Industry,
    Need,
    NeedCategory,
    NeedNote,
    PoolPolicy,
    Tag,
    VerificationTask,
)
from guanxi.customers.permissions import (
    CustomerAlreadyClaimedError,
    contact_reveal_allowed,
    customer_can_claim,
    customer_can_write,
    customer_manages,
    pool_holding_exempt,
    pool_policy_can_edit,
    verification_tasks_can_create,
)
from guanxi.customers.selectors import (
    RECYCLE_EXEMPT_LIFECYCLES,
    DuplicateCandidate,
    DuplicateMatch,
    contact_personal_data,
    contact_personal_value_mask,
    contact_reveals_today,
    contact_shown_in_full,
    customer_duplicates_find_many,
    customer_name_key,
    customer_visible_q,
    customer_visible_queryset,
    pool_claims_today,
    pool_policy_get,
    verification_contact_changes,
)

OWNER_SELF: Any = object()
"""Default owner of a new customer: the actor."""

CUSTOMER_EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "name",
        "short_name",
        "credit_code",
        "industry",
        "region_code",
        "address",
        "website",
        "source",
        "source_note",
        "lifecycle",
        "account_class",
        "owner",
        "first_contact_date",
        "first_needs",
        "parent",
        "tags",
    }
)
CONTACT_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "title",
        "decision_role",
        "phones",
        "email",
        "wechat",
        "address",
        "birthday",
        "birthday_lunar",  # --- engagement (care calendar)
        "preferred_channel",
        "legal_basis",
        "consent_note",
        "consent_at",
        "marketing_opt_out",
    }
)
# --- history library: the reason and details that go with a move to churned or stopped.
CUSTOMER_EDITABLE_FIELDS |= {"churn_reason", "churn_note"}
TAG_EDITABLE_FIELDS = frozenset({"name", "color"})
# Changes to these fields change the customer's search key.
_CUSTOMER_KEY_FIELDS = frozenset({"kind", "name", "short_name", "credit_code"})


# --- search keys --------------------------------------------------------------------------------


def customer_search_key(customer: Customer) -> str:
    """Name, short name, credit code, and the names and phones of the live contacts, so that a
    phone tail or a contact's name finds the company."""
    contacts = list(
        Contact.objects.filter(customer_id=customer.pk).values_list("name", "phones")
        if customer.pk
        else []
    )
    return customer_search_document(
        kind=customer.kind,
        name=customer.name,
        short_name=customer.short_name,
        credit_code=customer.credit_code,
        contacts=contacts,
    )


def customer_search_document(
    *, kind: str, name: str, short_name: str, credit_code: str, contacts: Iterable[Any]
) -> str:
    """The key from plain values (``contacts``: name and stored phones of each live contact), so
    that a migration recomputing keys builds exactly what the services do."""
    contacts = list(contacts)
    names = [name, short_name]
    person_names = [contact_name for contact_name, _phones in contacts]
    if kind == Customer.Kind.INDIVIDUAL:
        person_names.append(name)
        names = [short_name]
    return search_document(
        names=[value for value in names if value],
        person_names=person_names,
        phones=[number for _name, phones in contacts for number in _phone_numbers(phones)],
        codes=[credit_code] if credit_code else [],
    )


def contact_search_key(contact: Contact) -> str:
    return contact_search_document(
        name=contact.name, phones=contact.phones, email=contact.email, wechat=contact.wechat
    )


def contact_search_document(*, name: str, phones: Any, email: str, wechat: str) -> str:
    # E-mail and WeChat ID are personal data: private tokens, found only by the owner's search.
    return search_document(
        person_names=[name],
        phones=_phone_numbers(phones),
        private_words=[value for value in (email, wechat) if value],
    )


def _phone_numbers(phones: Any) -> list[str]:
    return [
        str(phone["number"])
        for phone in phones or []
        if isinstance(phone, dict) and phone.get("number")
    ]


def customer_search_key_refresh(*, customer_id: int) -> None:
    """Recompute a customer's key after its contacts changed. Derived data: no version bump."""
    customer = Customer.all_objects.filter(pk=customer_id).first()
    if customer is not None:
        Customer.all_objects.filter(pk=customer_id).update(search_key=customer_search_key(customer))


# --- resolving references -----------------------------------------------------------------------


def _industry_resolve(value: Industry | str | None, *, current: Industry | None = None) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, Industry):
        return value
    industry = Industry.objects.filter(code=str(value).strip().upper()).first()
    # A customer may keep an industry that has since been switched off, not pick one.
    if industry is None or (not industry.is_active and industry != current):
        raise ValidationError(
            {"industry": [_("%(code)s is not an industry in the list.") % {"code": value}]},
            code="industry_unknown",
        )
    return industry


def _regions_resolve(
    region_code: str | None, *, current: Customer | None = None
) -> dict[str, Region | None]:
    """``region_code`` (any level) expanded to province, city and district, validated as a chain.
    Errors name ``region_code``, the one field a caller sends."""
    code = (region_code or "").strip()
    if not code:
        return {"province": None, "city": None, "district": None}
    try:
        chain = region_chain(code=code)
        levels = {region.level: region for region in chain}
        region_validate(
            province_code=_code(levels.get(Region.Level.PROVINCE)),
            city_code=_code(levels.get(Region.Level.CITY)),
            district_code=_code(levels.get(Region.Level.DISTRICT)),
            allow_inactive=current is not None and current.region_code == code,
        )
    except ValidationError as error:
        raise ValidationError({"region_code": error.messages}, code="invalid_region") from error
    return {
        "province": levels.get(Region.Level.PROVINCE),
        "city": levels.get(Region.Level.CITY),
        "district": levels.get(Region.Level.DISTRICT),
    }


def _code(region: Region | None) -> str | None:
    return region.code if region is not None else None


def customer_region_code(
    *,
    province_code: str | None,
    city_code: str | None = None,
    district_code: str | None = None,
    current: Customer | None = None,
) -> str | None:
    """The one ``region_code`` a form's three selects (province, city, district) stand for: the
    most specific code, after checking that the three name one place. Errors are keyed
    ``province_code``, ``city_code`` and ``district_code``. A customer may keep a retired code."""
    codes = [(value or "").strip() for value in (province_code, city_code, district_code)]
    wanted = next((code for code in reversed(codes) if code), None)
    region_validate(
        province_code=codes[0],
        city_code=codes[1],
        district_code=codes[2],
        allow_inactive=current is not None and wanted is not None and current.region_code == wanted,
    )
    return wanted


def _owner_resolve(*, actor: Any, value: Any) -> User | None:
    """The owner ``actor`` asks for. Reps file customers for themselves only; managers and
    administrators may name any active colleague they can see, or nobody (the pool)."""
    if actor is None:
        # The system (the demo loader, scheduled jobs) files for whoever it names; nobody is the
        # pool. It has no data scope, so any active user will do.
        return _system_owner_resolve(value)
    if value is OWNER_SELF:
        return actor
    owner_id = value.pk if isinstance(value, User) else value
    if owner_id is not None and owner_id == actor.pk:
        return actor
    if not customer_manages(actor):
        raise PermissionDeniedError(
            _("Only sales managers and administrators assign customers to others or the pool."),
            code="owner_assign_denied",
        )
    if owner_id is None:
        return None
    owner = user_visible_queryset(actor=actor).filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationError(
            {"owner": [_("Choose an active user you can see.")]}, code="owner_unknown"
        )
    return owner


def _system_owner_resolve(value: Any) -> User | None:
    if value is OWNER_SELF or value is None:
        return None
    owner_id = value.pk if isinstance(value, User) else value
    owner = User.objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationError({"owner": [_("Choose an active user.")]}, code="owner_unknown")
    return owner


def _parent_resolve(*, actor: Any, value: Any, customer: Customer | None) -> Customer | None:
    if value is None or value == "":
        return None
    parent_id = value.pk if isinstance(value, Customer) else value
    candidates = Customer.objects.all() if actor is None else customer_visible_queryset(actor=actor)
    parent = candidates.filter(pk=parent_id).first()
    if parent is None:
        raise ValidationError(
            {"parent": [_("Choose a customer you can see as the parent company.")]},
            code="parent_unknown",
        )
    if customer is not None and customer.pk is not None:
        # Walk up from the new parent: reaching the customer itself would close a loop.
        seen: set[int] = set()
        current: int | None = parent.pk
        while current is not None and current not in seen:
            if current == customer.pk:
                raise ValidationError(
                    {
                        "parent": [
                            _(
                                "A customer cannot be its own parent company, directly or "
                                "through its subsidiaries."
                            )
                        ]
                    },
                    code="parent_cycle",
                )
            seen.add(current)
            current = (
                Customer.all_objects.filter(pk=current).values_list("parent_id", flat=True).first()
            )
    return parent


def _credit_code_check(*, kind: str, credit_code: str) -> str:
    code = (credit_code or "").strip()
    if not code:
        return ""
    if kind == Customer.Kind.INDIVIDUAL:
        raise ValidationError(
            {"credit_code": [_("An individual has no unified social credit code.")]},
            code="credit_code_individual",
        )
    try:
        return credit_code_clean(code)
    except ValidationError as error:
        raise ValidationError(
            {"credit_code": error.messages}, code="invalid_credit_code"
        ) from error


def _collect(errors: dict[str, list[str]], call: Any) -> Any:
    """Run ``call``; file its field errors in ``errors`` so one answer names every bad field."""
    try:
        return call()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
        return None


# --- duplicates ---------------------------------------------------------------------------------


class CustomerDuplicateSuspectedError(ApplicationError):
    """Likely duplicates of the customer being saved (selectors.DUPLICATE_LIKELY_SCORE): nothing
    is written until the user confirms (``allow_duplicates``). ``extra["matches"]`` lists them
    as the actor may see them (selectors.DuplicateMatch.as_dict)."""

    status_code = 409
    default_code = "duplicate_suspected"
    default_message = _(
        "This looks like a customer that is already filed. Check the matches; to file it "
        "anyway, confirm."
    )


def _duplicates_screen(
    *,
    actor: Any,
    errors: dict[str, list[str]],
    name: str,
    kind: str,
    credit_code: str,
    exclude_id: int | None = None,
) -> list[DuplicateMatch]:
    """The duplicate check of a customer about to be saved, with its cleaned values ('' for a
    value that did not change). An equal credit code is a field error added to ``errors``: the
    same company cannot be filed twice, whatever the user confirms. The other likely duplicates
    are returned, for _duplicates_refuse."""
    candidate = DuplicateCandidate(
        name_key=(
            customer_name_key(name=name, kind=kind)
            if name and kind != Customer.Kind.INDIVIDUAL
            else ""
        ),
        credit_code=credit_code or "",
        exclude_id=exclude_id,
    )
    if not candidate.name_key and not candidate.credit_code:
        return []
    matches = customer_duplicates_find_many(actor=actor, candidates=[candidate])[0]
    taken = next((match for match in matches if "credit_code" in match.reasons), None)
    if taken is None:
        return matches
    if taken.in_pool:
        message = _(
            "%(name)s, in the pool, already has this unified social credit code: the same "
            "company cannot be filed twice. Claim it instead."
        ) % {"name": taken.name}
    elif taken.visible:
        message = _(
            "%(name)s, owned by %(owner)s, already has this unified social credit code: the same "
            "company cannot be filed twice."
        ) % {"name": taken.name, "owner": taken.owner_name}
    else:
        message = _(
            "A customer owned by %(owner)s already has this unified social credit code: the "
            "same company cannot be filed twice."
        ) % {"owner": taken.owner_name}
    errors.setdefault("credit_code", []).append(message)
    return []


def _duplicates_refuse(matches: list[DuplicateMatch], *, allow: bool) -> None:
    if matches and not allow:
        raise CustomerDuplicateSuspectedError(
            extra={"matches": [match.as_dict() for match in matches]}
        )


# --- customers ----------------------------------------------------------------------------------


def customer_create(
    *,
    actor: Any,
    name: str,
    kind: str = Customer.Kind.COMPANY,
    short_name: str = "",
    credit_code: str = "",
    industry: Industry | str | None = None,
    region_code: str | None = None,
    address: str = "",
    website: str = "",
    source: str = Customer.Source.OTHER,
    source_note: str = "",
    lifecycle: str = Customer.Lifecycle.POTENTIAL,
    account_class: str = Customer.AccountClass.NONE,
    owner: Any = OWNER_SELF,
    first_contact_date: dt.date | None = None,
    first_needs: str = "",
    parent: Customer | int | None = None,
    tags: Sequence[int] = (),
    allow_duplicates: bool = False,
    churn_reason: Any = None,
    churn_note: str = "",
) -> Customer:
    """File a new customer. An equal credit code on a live customer is a field error; likely
    duplicates by name are a 409 (CustomerDuplicateSuspectedError) unless ``allow_duplicates``
    confirms them. Nothing is written on either. A customer filed as churned or stopped goes
    straight into the history library and needs a ``churn_reason`` (a field error without)."""
    owner_user = _owner_resolve(actor=actor, value=owner)
    errors: dict[str, list[str]] = {}
    cleaned_code = _collect(errors, lambda: _credit_code_check(kind=kind, credit_code=credit_code))
    industry_row = _collect(errors, lambda: _industry_resolve(industry))
    regions = _collect(errors, lambda: _regions_resolve(region_code)) or {}
    parent_row = _collect(errors, lambda: _parent_resolve(actor=actor, value=parent, customer=None))
    tag_rows = _collect(errors, lambda: _tags_resolve(tags))
    # --- history library
    history = _collect(
        errors,
        lambda: _history_fields_new(lifecycle=lifecycle, reason=churn_reason, note=churn_note),
    )
    suspected = _duplicates_screen(
        actor=actor,
        errors=errors,
        name=(name or "").strip(),
        kind=kind,
        credit_code=cleaned_code or "",
    )
    if errors:
        raise ValidationError(errors)
    _duplicates_refuse(suspected, allow=allow_duplicates)
    now = timezone.now()
    customer = Customer(
        kind=kind,
        name=(name or "").strip(),
        short_name=(short_name or "").strip(),
        credit_code=cleaned_code or "",
        industry=industry_row,
        address=address,
        website=(website or "").strip(),
        source=source,
        source_note=source_note,
        lifecycle=lifecycle,
        account_class=account_class,
        owner=owner_user,
        department=owner_user.department if owner_user else None,
        first_contact_date=first_contact_date,
        first_needs=first_needs,
        parent=parent_row,
        # Filing a customer is claiming it: the owner gets the same protection as after a claim.
        claimed_at=now if owner_user else None,
        protected_until=_protection_end(now) if owner_user else None,
        last_activity_at=now,
        **regions,
        **(history or {}),
    )
    customer.search_key = customer_search_key(customer)
    customer.name_key = customer_name_key(name=customer.name, kind=customer.kind)
    with transaction.atomic():
        model_create(instance=customer, actor=actor)
        if tag_rows:
            customer.tags.set(tag_rows)
    return customer


def customer_update(
    *,
    actor: Any,
    customer: Customer,
    data: dict[str, Any],
    expected_version: int | None = None,
    allow_duplicates: bool = False,
) -> Customer:
    """Change ``customer``. ``region_code`` replaces province, city and district together;
    ``tags`` (ids) replaces the tags, audited as its own entry;
    a new ``owner`` brings the owner's department along. A stale ``expected_version`` is a 409
    with both values and writes nothing. A new name, kind or credit code is checked for
    duplicates as in customer_create (``allow_duplicates`` confirms likely ones)."""
    unknown = set(data) - CUSTOMER_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    tag_rows = _collect(errors, lambda: _tags_resolve(data["tags"])) if "tags" in data else None
    # --- history library: into it through customer_archive (a reason is required), out of it
    # through customer_restore_from_history; between churned and stopped, or a corrected reason,
    # is an edit like any other.
    history = _collect(errors, lambda: _history_move(customer=customer, data=data)) or {}
    move = history.get("move")
    data = {
        name: value
        for name, value in data.items()
        if name not in {"churn_reason", "churn_note"} and not (name == "lifecycle" and move)
    }
    changes.update(history.get("changes", {}))
    for name in ("name", "short_name", "address", "website", "source", "source_note"):
        if name in data:
            changes[name] = (data[name] or "").strip()
    for name in ("lifecycle", "account_class", "first_needs", "first_contact_date", "kind"):
        if name in data:
            changes[name] = data[name] if data[name] is not None else _blank(name)
    kind = changes.get("kind", customer.kind)
    if "credit_code" in data or "kind" in data:
        code = data.get("credit_code", customer.credit_code)
        cleaned = _collect(errors, lambda: _credit_code_check(kind=kind, credit_code=code))
        changes["credit_code"] = cleaned or ""
    if "industry" in data:
        changes["industry"] = _collect(
            errors, lambda: _industry_resolve(data["industry"], current=customer.industry)
        )
    if "region_code" in data:
        regions = _collect(errors, lambda: _regions_resolve(data["region_code"], current=customer))
        changes.update(regions or {})
    if "parent" in data:
        changes["parent"] = _collect(
            errors, lambda: _parent_resolve(actor=actor, value=data["parent"], customer=customer)
        )
    if "owner" in data and data["owner"] != customer.owner_id:
        owner_user = _owner_resolve(actor=actor, value=data["owner"])
        changes["owner"] = owner_user
        changes["department"] = owner_user.department if owner_user else None
    # --- duplicates: only what changes is checked (a new name key, kind or credit code), so a
    # duplicate filed long ago does not stop every later edit.
    if {"name", "kind"} & set(changes):
        changes["name_key"] = customer_name_key(name=changes.get("name", customer.name), kind=kind)
    names_anew = kind != customer.kind or changes.get("name_key", customer.name_key) != (
        customer.name_key
    )
    new_code = changes.get("credit_code", customer.credit_code)
    suspected = _duplicates_screen(
        actor=actor,
        errors=errors,
        name=changes.get("name", customer.name) if names_anew else "",
        kind=kind,
        credit_code=new_code if new_code != customer.credit_code else "",
        exclude_id=customer.pk,
    )
    if errors:
        raise ValidationError(errors)
    _duplicates_refuse(suspected, allow=allow_duplicates)
    if _CUSTOMER_KEY_FIELDS & set(changes):
        candidate = Customer(
            pk=customer.pk,
            **{
                "kind": changes.get("kind", customer.kind),
                "name": changes.get("name", customer.name),
                "short_name": changes.get("short_name", customer.short_name),
                "credit_code": changes.get("credit_code", customer.credit_code),
            },
        )
        changes["search_key"] = customer_search_key(candidate)
    if "owner" in changes:
        # Assigning through an edit is a transfer (or a release when the owner is nobody).
        now = timezone.now()
        changes["previous_owner"] = customer.owner
        changes["claimed_at"] = now if changes["owner"] else None
        changes["protected_until"] = _protection_end(now) if changes["owner"] else None
        changes["released_at"] = None if changes["owner"] else now
    if changes:
        changes["last_activity_at"] = timezone.now()
    with transaction.atomic():
        updated = customer
        if changes or tag_rows is not None or not move:
            updated = model_update(
                instance=customer, data=changes, actor=actor, expected_version=expected_version
            )
            if tag_rows is not None:
                # After the version check above, so a stale form changes no tags either.
                updated = customer_tags_set(actor=actor, customer=updated, tags=tag_rows)
            expected_version = None  # checked; the move below follows what was just written
        # --- history library
        if move == "archive":
            updated = customer_archive(
                actor=actor,
                customer=updated,
                reason=history["reason"],
                note=history["note"],
                lifecycle=history["lifecycle"],
                expected_version=expected_version,
            )
        elif move == "restore":
            updated = customer_restore_from_history(
                actor=actor,
                customer=updated,
                lifecycle=history["lifecycle"],
                expected_version=expected_version,
            )
    return updated


def _blank(name: str) -> Any:
    return None if name == "first_contact_date" else ""


def customer_delete(*, actor: Any, customer: Customer) -> Customer:
    """Move ``customer`` to the recycle bin; its contacts go out of sight with it."""
    if Customer.objects.filter(parent=customer).exists():
        raise ApplicationError(
            _("This customer is the parent company of others; change theirs first."),
            code="customer_has_subsidiaries",
        )
    return object_soft_delete(instance=customer, actor=actor)


def _tags_resolve(tag_ids: Iterable[Any]) -> list[Tag]:
    wanted: list[int] = []
    for value in tag_ids or ():
        tag_id = value.pk if isinstance(value, Tag) else value
        if tag_id not in wanted:
            wanted.append(tag_id)
    found = Tag.objects.in_bulk(wanted)
    missing = [tag_id for tag_id in wanted if tag_id not in found]
    if missing:
        raise ValidationError(
            {"tags": [_("%(ids)s: no such tag.") % {"ids": ", ".join(str(i) for i in missing)}]},
            code="tag_unknown",
        )
    return [found[tag_id] for tag_id in wanted]


def customer_tags_set(*, actor: Any, customer: Customer, tags: Sequence[Any]) -> Customer:
    """Replace the customer's tags; audited as a change of the ``tags`` field."""
    rows = _tags_resolve(tags)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = sorted(locked.tags.values_list("pk", flat=True))
        after = sorted(tag.pk for tag in rows)
        if before == after:
            return locked
        locked.tags.set(rows)
        now = timezone.now()
        Customer.objects.filter(pk=locked.pk).update(
            version=F("version") + 1, updated_at=now, updated_by=actor
        )
        locked.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=locked,
            changes={"tags": {"before": before, "after": after}},
        )
    return locked


# --- contacts -----------------------------------------------------------------------------------


def _phones_clean(phones: Any) -> list[dict[str, str]]:
    """``[{"number", "label"}]`` with numbers in E.164; errors name ``phones.<index>``."""
    if phones is None:
        return []
    if not isinstance(phones, list | tuple):
        raise ValidationError({"phones": [_("Send a list of phone numbers.")]})
    errors: dict[str, list[str]] = {}
    cleaned: list[dict[str, str]] = []
    labels = set(Contact.PhoneLabel.values)
    for index, phone in enumerate(phones):
        entry = phone if isinstance(phone, dict) else {"number": phone}
        label = str(entry.get("label") or Contact.PhoneLabel.MOBILE)
        try:
            number = phone_normalize(str(entry.get("number") or ""))
        except ValidationError as error:
            errors[f"phones.{index}"] = error.messages
            continue
        if label not in labels:
            errors[f"phones.{index}"] = [_("Choose mobile, work, home or other as the label.")]
            continue
        if any(existing["number"] == number for existing in cleaned):
            continue
        cleaned.append({"number": number, "label": label})
    if errors:
        raise ValidationError(errors)
    return cleaned


def contact_create(
    *,
    actor: Any,
    customer: Customer,
    name: str,
    title: str = "",
    decision_role: str = Contact.DecisionRole.OTHER,
    phones: Sequence[Any] = (),
    email: str = "",
    wechat: str = "",
    address: str = "",
    birthday: dt.date | None = None,
    preferred_channel: str = "",
    legal_basis: str = Contact.LegalBasis.CONSENT,
    consent_note: str = "",
    consent_at: dt.datetime | None = None,
    birthday_lunar: bool = False,
    marketing_opt_out: bool = False,
) -> Contact:
    """File a contact of ``customer``. ``marketing_opt_out``: the person asked for no surveys
    or marketing; the time of that is now."""
    _masked_values_refuse({"phones": list(phones), "email": email, "wechat": wechat})
    contact = Contact(
        customer=customer,
        name=(name or "").strip(),
        title=(title or "").strip(),
        decision_role=decision_role,
        phones=_phones_clean(list(phones)),
        email=(email or "").strip(),
        wechat=(wechat or "").strip(),
        address=address,
        birthday=birthday,
        birthday_lunar=bool(birthday_lunar),
        preferred_channel=preferred_channel,
        legal_basis=legal_basis,
        consent_note=consent_note,
        consent_at=consent_at,
        marketing_opt_out=bool(marketing_opt_out),
        marketing_opt_out_at=timezone.now() if marketing_opt_out else None,
    )
    contact.search_key = contact_search_key(contact)
    with transaction.atomic():
        model_create(instance=contact, actor=actor)
        customer_search_key_refresh(customer_id=customer.pk)
    return contact


def contact_update(
    *,
    actor: Any,
    contact: Contact,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Contact:
    """Change the fields in ``data`` (CONTACT_EDITABLE_FIELDS). Turning ``marketing_opt_out``
    on records when (``marketing_opt_out_at``); turning it off clears that; sending the value it
    already has changes neither."""
    unknown = set(data) - CONTACT_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    _masked_values_refuse(data)
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if name == "phones":
            changes[name] = _phones_clean(value)
        elif name in {"birthday", "consent_at"}:
            changes[name] = value
        elif name == "birthday_lunar":  # --- engagement (care calendar)
            changes[name] = bool(value)
        elif name == "marketing_opt_out":
            # An explicit null must not clear a person's opt-out by accident.
            if not isinstance(value, bool):
                raise ValidationError({name: [_("Enter true or false.")]})
            changes[name] = value
            # ``contact`` is the version the caller read (model_update refuses a stale one), so
            # its flag says whether this is a change.
            if changes[name] != contact.marketing_opt_out:
                changes["marketing_opt_out_at"] = timezone.now() if changes[name] else None
        else:
            changes[name] = (value or "").strip() if isinstance(value, str | None) else value
    if {"name", "phones", "email", "wechat"} & set(changes):
        candidate = Contact(
            name=changes.get("name", contact.name),
            phones=changes.get("phones", contact.phones),
            email=changes.get("email", contact.email),
            wechat=changes.get("wechat", contact.wechat),
        )
        changes["search_key"] = contact_search_key(candidate)
    with transaction.atomic():
        try:
            updated = model_update(
                instance=contact, data=changes, actor=actor, expected_version=expected_version
            )
        except ConflictError as error:
            # The saved values come back to compare with; a stale form must not be a way to read
            # personal data without a logged reveal.
            if not contact_shown_in_full(actor=actor, customer=contact.customer):
                _conflict_personal_data_mask(error)
            raise
        if {"name", "phones"} & set(changes):
            customer_search_key_refresh(customer_id=contact.customer_id)
    return updated


def contact_delete(*, actor: Any, contact: Contact) -> Contact:
    with transaction.atomic():
        deleted = object_soft_delete(instance=contact, actor=actor)
        customer_search_key_refresh(customer_id=contact.customer_id)
    return deleted


# --- personal data: masking and reveals ---------------------------------------------------------


def _masked_values_refuse(data: dict[str, Any]) -> None:
    """Refuse a masked value (``138****8000``) sent back as a phone, e-mail or WeChat ID: saving it
    would overwrite the real one with stars. Field errors, nothing written."""
    message = _("This value is masked. Enter the full value, or leave the field unchanged.")
    errors: dict[str, list[ValidationError]] = {}
    phones = data.get("phones")
    for index, phone in enumerate(phones if isinstance(phones, list | tuple) else ()):
        number = phone.get("number") if isinstance(phone, dict) else phone
        if is_masked(str(number or "")):
            errors[f"phones.{index}"] = [ValidationError(message, code="masked_value")]
    for name in ("email", "wechat"):
        if is_masked(str(data.get(name) or "")):
            errors[name] = [ValidationError(message, code="masked_value")]
    if errors:
        raise ValidationError(errors)


def _conflict_personal_data_mask(error: ConflictError) -> None:
    for name, pair in error.extra.get("conflicts", {}).items():
        if isinstance(pair, dict) and "theirs" in pair:
            pair["theirs"] = contact_personal_value_mask(name, pair["theirs"])


class ContactRevealDeniedError(PermissionDeniedError):
    default_message = _(
        "Your role may not reveal personal data. Ask an administrator if you need it."
    )


class ContactRevealPoolError(ApplicationError):
    status_code = 409
    default_code = "reveal_pool_customer"
    default_message = _(
        "Contacts of pool customers stay masked until someone claims the customer. Claim it first."
    )


class ContactRevealLimitError(ApplicationError):
    status_code = 429
    default_code = "reveal_limit_reached"
    default_message = _("You have used all of today's reveals of personal data.")


def contact_reveal(*, actor: Any, contact: Contact, for_edit: bool = False) -> dict[str, Any]:
    """``contact``'s phones, e-mail and WeChat ID in full for ``actor``, who can see the customer
    (the caller fetched the contact through permissions.contact_get_for_user).

    The owner sees them in full anyway: returned as they are, not logged, not counted. Anyone else
    needs a role that may reveal personal data (403), a customer outside the pool (409: pool
    records stay masked until claimed, for everyone) and a reveal left today under
    ``GUANXI_REVEAL_DAILY_LIMIT`` (429). Each reveal is one append-only audit entry: who (actor,
    IP), what (the contact), when. ``for_edit``: opening the edit form of someone else's contact,
    which needs the real values, counts as a reveal and is noted as such."""
    customer = contact.customer
    if contact_shown_in_full(actor=actor, customer=customer):
        return contact_personal_data(actor=actor, contact=contact)
    if not contact_reveal_allowed(actor):
        raise ContactRevealDeniedError()
    if customer.owner_id is None:
        raise ContactRevealPoolError()
    limit = settings.GUANXI_REVEAL_DAILY_LIMIT
    with transaction.atomic():
        # Serialises one user's reveals (two tabs, a double click), so together they cannot go
        # past the limit; other users go on in parallel.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if contact_reveals_today(user=actor) >= limit:
            raise ContactRevealLimitError(
                ngettext(
                    "You have revealed personal data %(limit)s time today, the daily limit. "
                    "Try again tomorrow.",
                    "You have revealed personal data %(limit)s times today, the daily limit. "
                    "Try again tomorrow.",
                    limit,
                )
                % {"limit": limit}
            )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.REVEAL,
            obj=contact,
            object_label=f"{contact} · {customer}",
            note=PERSONAL_DATA_REVEALED_FOR_EDIT if for_edit else PERSONAL_DATA_REVEALED,
        )
    return contact_personal_data(actor=actor, contact=contact, revealed=True)


# --- tags ---------------------------------------------------------------------------------------


def _tag_name_check(name: str, *, exclude: int | None = None) -> str:
    cleaned = (name or "").strip()
    clash = Tag.objects.filter(name=cleaned)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if cleaned and clash.exists():
        raise ValidationError({"name": [_("A tag with this name exists.")]}, code="tag_exists")
    return cleaned


def tag_create(*, actor: Any, name: str, color: str = "blue") -> Tag:
    tag = Tag(name=_tag_name_check(name), color=color)
    return model_create(instance=tag, actor=actor)


def tag_update(
    *, actor: Any, tag: Tag, data: dict[str, Any], expected_version: int | None = None
) -> Tag:
    unknown = set(data) - TAG_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = dict(data)
    if "name" in changes:
        changes["name"] = _tag_name_check(changes["name"], exclude=tag.pk)
    return model_update(instance=tag, data=changes, actor=actor, expected_version=expected_version)


def tag_delete(*, actor: Any, tag: Tag) -> Tag:
    """Move a custom tag to the recycle bin; customers keep the link, hidden until it returns.
    The presets of C1 stay (they can be renamed or recoloured)."""
    if tag.is_preset:
        raise ApplicationError(
            _("Preset tags cannot be deleted; rename or recolour them instead."),
            code="tag_preset",
        )
    return object_soft_delete(instance=tag, actor=actor)


# --- the pool (公海 / 私海) ---------------------------------------------------------------------

POOL_POLICY_EDITABLE_FIELDS = frozenset(PoolPolicy.audit_fields)
_MOVE_FIELDS = ("owner", "department", "claimed_at", "protected_until", "previous_owner")


def _protection_end(now: dt.datetime, policy: PoolPolicy | None = None) -> dt.datetime:
    policy = policy or pool_policy_get()
    return now + dt.timedelta(days=policy.protection_days)


def _reason_clean(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ValidationError({"reason": [_("Give a reason.")]}, code="reason_required")
    if len(cleaned) > 500:
        raise ValidationError(
            {"reason": [_("Keep the reason under 500 characters.")]}, code="reason_too_long"
        )
    return cleaned


def _move_audit(
    *,
    actor: Any,
    customer: Customer,
    before: dict[str, Any],
    note: str,
    reason: str = "",
) -> None:
    changes = {
        name: {"before": before.get(name), "after": value}
        for name, value in _move_snapshot(customer).items()
        if before.get(name) != value
    }
    if reason:
        changes["reason"] = {"before": None, "after": reason}
    audit_record(
        actor=actor, action=AuditEntry.Action.ACTION, obj=customer, changes=changes, note=note
    )


def _move_snapshot(customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (*_MOVE_FIELDS, "released_at"):
        value = getattr(customer, customer._meta.get_field(name).attname)
        values[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return values


def pool_policy_update(
    *, actor: Any, data: dict[str, Any], expected_version: int | None = None
) -> PoolPolicy:
    """Change the pool's caps and periods (administrators). Audited field by field; a stale
    ``expected_version`` is a 409."""
    if not pool_policy_can_edit(actor):
        raise PermissionDeniedError()
    unknown = set(data) - POOL_POLICY_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    with transaction.atomic():
        policy, _created = PoolPolicy.objects.get_or_create(pk=PoolPolicy.SINGLETON_PK)
        updated = model_update(
            instance=policy, data=data, actor=actor, expected_version=expected_version
        )
    return updated  # type: ignore[return-value]  # model_update returns the instance it was given


def customer_claim(*, actor: Any, customer: Customer) -> Customer:
    """Take a pool customer. Exactly one of any number of concurrent claims wins: the owner is set
    by one conditional UPDATE (``WHERE owner IS NULL``), and the number of rows it changed decides.
    The caps and the cooldown are checked in the same transaction, with the claimer's user row
    locked so that one rep's concurrent claims queue and cannot overrun the caps together."""
    if not customer_can_claim(actor):
        raise PermissionDeniedError()
    policy = pool_policy_get()
    with transaction.atomic():
        # Serialises this rep's own claims (two tabs, a double click); other reps go on in
        # parallel and meet only at the row update below.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        now = timezone.now()
        current = Customer.objects.filter(pk=customer.pk).first()
        if current is None:
            raise ApplicationError(_("This customer no longer exists."), code="not_found")
        if current.owner_id is not None:
            raise CustomerAlreadyClaimedError()
        if current.archived_at is not None:  # --- history library: not in the pool
            raise CustomerArchivedError()
        _claim_rules_check(actor=actor, customer=current, policy=policy, now=now)
        before = _move_snapshot(current)
        claimed = Customer.objects.filter(
            pk=current.pk, owner__isnull=True, deleted_at__isnull=True, archived_at__isnull=True
        ).update(
            owner=actor,
            department=actor.department_id,
            claimed_at=now,
            protected_until=now + dt.timedelta(days=policy.protection_days),
            last_activity_at=now,
            released_at=None,
            updated_at=now,
            updated_by=actor,
            version=F("version") + 1,
        )
        if claimed != 1:
            raise CustomerAlreadyClaimedError()
        current.refresh_from_db()
        _move_audit(actor=actor, customer=current, before=before, note="customer_claimed")
    return current


def _claim_rules_check(
    *, actor: User, customer: Customer, policy: PoolPolicy, now: dt.datetime
) -> None:
    if customer.previous_owner_id == actor.pk and customer.released_at is not None:
        until = customer.released_at + dt.timedelta(days=policy.reclaim_cooldown_days)
        if now < until:
            raise ApplicationError(
                _("You gave this customer up recently; you can claim it again from %(date)s.")
                % {"date": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")},
                code="reclaim_cooldown",
            )
    if pool_claims_today(user=actor, now=now) >= policy.daily_claim_cap:
        raise ApplicationError(
            _("You have claimed %(cap)s customers today, the daily limit. Try again tomorrow.")
            % {"cap": policy.daily_claim_cap},
            code="daily_cap_reached",
        )
    if not pool_holding_exempt(actor):
        holding = Customer.objects.filter(owner=actor).count()
        if holding >= policy.holding_cap:
            raise ApplicationError(
                _(
                    "You already own %(count)s customers, the limit is %(cap)s. Release some to "
                    "the pool before claiming more."
                )
                % {"count": holding, "cap": policy.holding_cap},
                code="holding_cap_reached",
            )


def _locked_owned(customer: Customer) -> Customer:
    current = Customer.all_objects.select_for_update().filter(pk=customer.pk).first()
    if current is None or current.deleted_at is not None:
        raise ApplicationError(_("This customer no longer exists."), code="not_found")
    return current


def _move_save(*, actor: Any, customer: Customer, now: dt.datetime) -> None:
    customer.updated_at = now
    if getattr(actor, "is_authenticated", False):
        customer.updated_by = actor
    Customer.all_objects.filter(pk=customer.pk).update(
        owner=customer.owner_id,
        department=customer.department_id,
        claimed_at=customer.claimed_at,
        protected_until=customer.protected_until,
        previous_owner=customer.previous_owner_id,
        released_at=customer.released_at,
        last_activity_at=customer.last_activity_at,
        updated_at=now,
        updated_by=customer.updated_by_id,
        version=F("version") + 1,
    )
    customer.version += 1


def customer_release(*, actor: Any, customer: Customer, reason: str) -> Customer:
    """Give an owned customer back to the pool (its owner, or a manager or administrator). The
    releasing owner may not claim it back before the cooldown ends."""
    reason = _reason_clean(reason)
    with transaction.atomic():
        current = _locked_owned(customer)
        if current.owner_id is None:
            raise ApplicationError(_("This customer is already in the pool."), code="in_pool")
        if current.archived_at is not None:  # --- history library: it would not be in the pool
            raise CustomerArchivedError()
        if current.owner_id != getattr(actor, "pk", None) and not customer_manages(actor):
            raise PermissionDeniedError()
        before = _move_snapshot(current)
        now = timezone.now()
        _to_pool(customer=current, now=now)
        _move_save(actor=actor, customer=current, now=now)
        _move_audit(
            actor=actor, customer=current, before=before, note="customer_released", reason=reason
        )
    return current


def _to_pool(*, customer: Customer, now: dt.datetime) -> None:
    customer.previous_owner_id = customer.owner_id
    customer.owner = None
    customer.department = None
    customer.claimed_at = None
    customer.protected_until = None
    customer.released_at = now


def _recyclable_q(*, now: dt.datetime, policy: PoolPolicy) -> Q:
    cutoff = now - dt.timedelta(days=policy.recycle_after_days)
    idle = Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, updated_at__lt=cutoff)
    unprotected = Q(protected_until__isnull=True) | Q(protected_until__lte=now)
    # --- history library: archived customers are never recycled (archived_at).
    return (
        Q(owner__isnull=False, archived_at__isnull=True)
        & idle
        & unprotected
        & ~Q(lifecycle__in=RECYCLE_EXEMPT_LIFECYCLES)
    )


def customers_recycle(*, now: dt.datetime | None = None) -> int:
    """Return to the pool every owned customer idle for ``recycle_after_days`` and out of its
    protection (the scheduled job). One transaction per customer, each row re-checked under its
    lock, so a claim or an edit in between wins and a rerun finds nothing left to do. Returns
    how many customers went back."""
    now = now or timezone.now()
    policy = pool_policy_get()
    condition = _recyclable_q(now=now, policy=policy)
    moved = 0
    for pk in list(Customer.objects.filter(condition).values_list("pk", flat=True)):
        with transaction.atomic():
            current = Customer.objects.select_for_update().filter(condition, pk=pk).first()
            if current is None:
                continue
            before = _move_snapshot(current)
            _to_pool(customer=current, now=now)
            _move_save(actor=None, customer=current, now=now)
            _move_audit(actor=None, customer=current, before=before, note="customer_recycled")
            moved += 1
    return moved


def _to_user_resolve(*, actor: Any, value: Any, field: str) -> User:
    user_id = value.pk if isinstance(value, User) else value
    candidates = User.objects.all() if actor is None else user_visible_queryset(actor=actor)
    user = candidates.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise ValidationError(
            {field: [_("Choose an active user you can see.")]}, code="user_unknown"
        )
    return user


def _hand_to(*, customer: Customer, to_user: User, now: dt.datetime, policy: PoolPolicy) -> None:
    customer.previous_owner_id = customer.owner_id
    customer.owner = to_user
    customer.department_id = to_user.department_id
    customer.claimed_at = now
    customer.protected_until = now + dt.timedelta(days=policy.protection_days)
    customer.last_activity_at = now
    customer.released_at = None


def customer_transfer(*, actor: Any, customer: Customer, to_user: Any, reason: str) -> Customer:
    """Give ``customer`` (in the actor's data scope, owned or in the pool) to another active user.
    Managers and administrators only; the caps bind claims, not a manager's decision."""
    if actor is not None and not customer_manages(actor):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    reason = _collect(errors, lambda: _reason_clean(reason)) or ""
    target = _collect(errors, lambda: _to_user_resolve(actor=actor, value=to_user, field="to_user"))
    if errors:
        raise ValidationError(errors)
    policy = pool_policy_get()
    with transaction.atomic():
        current = _locked_owned(customer)
        if (
            actor is not None
            and not customer_visible_queryset(actor=actor).filter(pk=current.pk).exists()
        ):
            raise PermissionDeniedError()
        if current.owner_id == target.pk:
            raise ValidationError(
                {"to_user": [_("This user already owns the customer.")]}, code="same_owner"
            )
        before = _move_snapshot(current)
        now = timezone.now()
        _hand_to(customer=current, to_user=target, now=now, policy=policy)
        _move_save(actor=actor, customer=current, now=now)
        _move_audit(
            actor=actor,
            customer=current,
            before=before,
            note="customer_transferred",
            reason=reason,
        )
    return current


def customers_hand_over(*, actor: Any, from_user: Any, to_user: Any, reason: str) -> int:
    """Give every customer ``from_user`` owns (within the actor's data scope, the recycle bin
    included) to ``to_user`` in one transaction, one audit entry per customer. For a colleague
    who leaves. Returns how many customers moved."""
    if actor is not None and not customer_manages(actor):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    reason = _collect(errors, lambda: _reason_clean(reason)) or ""
    source_id = from_user.pk if isinstance(from_user, User) else from_user
    candidates = User.objects.all() if actor is None else user_visible_queryset(actor=actor)
    source = _collect(
        errors,
        lambda: (
            candidates.filter(pk=source_id).first()
            or _raise(ValidationError({"from_user": [_("Choose a user you can see.")]}))
        ),
    )
    target = _collect(errors, lambda: _to_user_resolve(actor=actor, value=to_user, field="to_user"))
    if source is not None and target is not None and source.pk == target.pk:
        errors.setdefault("to_user", []).append(_("Hand over to someone else."))
    if errors:
        raise ValidationError(errors)
    policy = pool_policy_get()
    rows = Customer.all_objects.filter(owner=source)
    if actor is not None:
        rows = rows.filter(customer_visible_q(actor))
    moved = 0
    with transaction.atomic():
        now = timezone.now()
        for current in rows.select_for_update(of=("self",)).order_by("pk"):
            before = _move_snapshot(current)
            _hand_to(customer=current, to_user=target, now=now, policy=policy)
            _move_save(actor=actor, customer=current, now=now)
            _move_audit(
                actor=actor,
                customer=current,
                before=before,
                note="customer_handed_over",
                reason=reason,
            )
            moved += 1
    return moved


def _raise(error: Exception) -> Any:
    raise error


# --- bulk actions -------------------------------------------------------------------------------

BULK_LIMIT = 500
"""The most customers one bulk action takes: a few pages of ticked rows, one transaction."""


def _bulk_customers(*, actor: Any, ids: Iterable[Any]) -> list[Customer]:
    """The chosen customers, all of them visible to ``actor``, or a field error on ``ids``: a
    bulk action runs on all it was given or on none."""
    wanted: dict[int, None] = {}  # ordered and de-duplicated in linear time
    for value in ids or ():
        try:
            pk = int(value)
        except (TypeError, ValueError, OverflowError):
            pk = 0
        if not 0 < pk < 2**63:  # no database id; and too large ones overflow the driver
            raise ValidationError({"ids": [_("Choose customers from the list.")]}, code="invalid")
        wanted[pk] = None
        if len(wanted) > BULK_LIMIT:
            raise ValidationError(
                {
                    "ids": [
                        _("Choose at most %(limit)s customers at a time.") % {"limit": BULK_LIMIT}
                    ]
                },
                code="too_many",
            )
    if not wanted:
        raise ValidationError({"ids": [_("Choose at least one customer.")]}, code="required")
    found = customer_visible_queryset(actor=actor).in_bulk(wanted)
    missing = len(wanted) - len(found)
    if missing:
        # As for one customer outside the scope: not found, without saying which exist.
        raise NotFoundError(
            ngettext(
                "%(count)s of the chosen customers is gone or outside your data scope; reload "
                "the list and choose again. Nothing changed.",
                "%(count)s of the chosen customers are gone or outside your data scope; reload "
                "the list and choose again. Nothing changed.",
                missing,
            )
            % {"count": missing}
        )
    return [found[pk] for pk in wanted]


def _bulk_require_write(*, actor: Any, customers: Sequence[Customer]) -> None:
    refused = [customer for customer in customers if not customer_can_write(actor, customer)]
    if refused:
        separator = pgettext("between the items of a list", ", ")
        names = separator.join(customer.name for customer in refused[:5])
        raise PermissionDeniedError(
            ngettext(
                "You may not change %(count)s of the chosen customers (%(names)s). Nothing "
                "changed.",
                "You may not change %(count)s of the chosen customers (%(names)s). Nothing "
                "changed.",
                len(refused),
            )
            % {"count": len(refused), "names": names}
        )


def customers_bulk_tag(*, actor: Any, ids: Iterable[Any], tag: Any, add: bool = True) -> int:
    """Add ``tag`` to (or remove it from) every chosen customer the actor may write, in one
    transaction; each change is audited as that customer's own ``tags`` change. Returns how
    many customers changed (those that already had, or lacked, the tag are left as they are)."""
    if tag in (None, ""):
        raise ValidationError({"tag": [_("Choose a tag.")]}, code="required")
    try:
        tag_id = int(tag.pk if isinstance(tag, Tag) else tag)
        if not 0 < tag_id < 2**63:
            raise ValueError(tag_id)
        (row,) = _tags_resolve([tag_id])
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({"tag": [_("Choose a tag.")]}, code="invalid") from None
    except ValidationError as error:
        raise ValidationError({"tag": error.message_dict["tags"]}, code="tag_unknown") from None
    customers = _bulk_customers(actor=actor, ids=ids)
    _bulk_require_write(actor=actor, customers=customers)
    changed = 0
    with transaction.atomic():
        for customer in customers:
            current = set(customer.tags.values_list("pk", flat=True))
            wanted = current | {row.pk} if add else current - {row.pk}
            if wanted != current:
                customer_tags_set(actor=actor, customer=customer, tags=sorted(wanted))
                changed += 1
    return changed


def customers_bulk_transfer(*, actor: Any, ids: Iterable[Any], to_user: Any, reason: str) -> int:
    """Transfer every chosen customer to ``to_user`` (managers and administrators), all or
    nothing; customers ``to_user`` already owns are left alone. Returns how many moved."""
    if not customer_manages(actor):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    _collect(errors, lambda: _reason_clean(reason))
    target = _collect(errors, lambda: _to_user_resolve(actor=actor, value=to_user, field="to_user"))
    customers = _collect(errors, lambda: _bulk_customers(actor=actor, ids=ids))
    if errors:
        raise ValidationError(errors)
    moved = 0
    with transaction.atomic():
        for customer in customers:
            if customer.owner_id == target.pk:
                continue
            customer_transfer(actor=actor, customer=customer, to_user=target, reason=reason)
            moved += 1
    return moved


def customers_bulk_release(*, actor: Any, ids: Iterable[Any], reason: str) -> int:
    """Give every chosen customer back to the pool, all or nothing (each needs its owner or a
    manager). Customers already in the pool are left alone. Returns how many went back."""
    errors: dict[str, list[str]] = {}
    _collect(errors, lambda: _reason_clean(reason))
    customers = _collect(errors, lambda: _bulk_customers(actor=actor, ids=ids))
    if errors:
        raise ValidationError(errors)
    owned = [customer for customer in customers if customer.owner_id is not None]
    _bulk_require_write(actor=actor, customers=owned)
    with transaction.atomic():
        for customer in owned:
            customer_release(actor=actor, customer=customer, reason=reason)
    return len(owned)


# --- needs (C2) ---------------------------------------------------------------------------------

NEED_EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "category",
        "priority",
        "quantity",
        "unit",
        "expected_date",
        "fit_status",
        "solution",
        "plan_owner",
        "plan_due_date",
        "status",
        "source",
    }
)
NEED_CATEGORY_EDITABLE_FIELDS = frozenset({"name", "sort_order", "is_active"})
NEED_TEXT_LIMIT = 10000
NEED_NOTE_LIMIT = 2000
_NEED_CHOICES = {
    "priority": Need.Priority,
    "fit_status": Need.FitStatus,
    "status": Need.Status,
    "source": Need.Source,
}


def _need_choices_check(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    for name, choices in _NEED_CHOICES.items():
        if name in values and values[name] not in choices.values:
            errors.setdefault(name, []).append(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}
            )


def _need_text_clean(name: str, value: Any, *, limit: int = NEED_TEXT_LIMIT) -> str:
    text = (value or "").strip() if isinstance(value, str | None) else str(value).strip()
    if len(text) > limit:
        raise ValidationError(
            {name: [_("Keep this under %(limit)s characters.") % {"limit": limit}]},
            code="too_long",
        )
    return text


def _need_quantity_clean(value: Any) -> decimal.Decimal | None:
    """A positive quantity, or None. Two decimal places are written out ("12.50"), as the column
    returns them, so that re-saving the same amount is not recorded as a change."""
    if value is None or value == "":
        return None
    try:
        quantity = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        raise ValidationError({"quantity": [_("Enter a number.")]}, code="invalid") from None
    if not quantity.is_finite():
        raise ValidationError({"quantity": [_("Enter a number.")]}, code="invalid")
    if quantity <= 0:
        raise ValidationError(
            {"quantity": [_("A quantity is more than zero; leave it empty if there is none.")]},
            code="quantity_not_positive",
        )
    cents = decimal.Decimal("0.01")
    # More places than the column keeps are left for full_clean to refuse, not rounded away.
    return quantity.quantize(cents) if quantity.as_tuple().exponent >= -2 else quantity


def _need_category_resolve(value: Any, *, current: NeedCategory | None = None) -> NeedCategory:
    if value is None or value == "":
        raise ValidationError({"category": [_("Choose a category.")]}, code="required")
    try:
        pk = int(value.pk if isinstance(value, NeedCategory) else value)
        category = NeedCategory.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    except (TypeError, ValueError):
        category = None
    # A need may keep a category that has since been switched off, not pick one.
    if category is None or (not category.is_active and category.pk != getattr(current, "pk", None)):
        raise ValidationError(
            {"category": [_("Choose a need category from the list.")]}, code="category_unknown"
        )
    return category


def _need_plan_owner_resolve(*, actor: Any, value: Any, customer: Customer) -> User | None:
    """Who carries the plan: an active colleague ``actor`` can see (reps: themselves) who can see
    the customer too, or the plan would be work nobody can open."""
    if value is None or value == "":
        return None
    try:
        user_id = int(value.pk if isinstance(value, User) else value)
    except (TypeError, ValueError):
        user_id = -1
    candidates = User.objects.all() if actor is None else user_visible_queryset(actor=actor)
    # An id past the 64-bit column is no user rather than an overflow in the database driver.
    user = candidates.filter(pk=user_id, is_active=True).first() if 0 < user_id < 2**63 else None
    if user is None:
        raise ValidationError(
            {"plan_owner": [_("Choose an active user you can see.")]}, code="user_unknown"
        )
    if not customer_visible_queryset(actor=user).filter(pk=customer.pk).exists():
        raise ValidationError(
            {
                "plan_owner": [
                    _("%(name)s cannot see this customer; choose someone who can.")
                    % {"name": user.get_full_name() or user.get_username()}
                ]
            },
            code="plan_owner_out_of_scope",
        )
    return user


# The fields the plan rule reads: it runs once they are all valid.
_NEED_GAP_FIELDS = ("fit_status", "status", "solution", "plan_owner", "plan_due_date")


def _need_gap_rules(state: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """An open need the offer meets partly or not at all carries a plan: how (solution), who
    (plan owner) and by when (plan due date). Owner and due date belong to such needs only."""
    gap = state["fit_status"] in Need.GAP_FITS
    if gap and state["status"] == Need.Status.OPEN:
        if not state["solution"]:
            errors.setdefault("solution", []).append(
                _("Say how the gap will be closed: a solution or an improvement plan.")
            )
        if state["plan_owner"] is None:
            errors.setdefault("plan_owner", []).append(
                _("Name who owns the plan for what is not met.")
            )
        if state["plan_due_date"] is None:
            errors.setdefault("plan_due_date", []).append(_("Give the plan a due date."))
    if not gap:
        if state["plan_owner"] is not None:
            errors.setdefault("plan_owner", []).append(
                _("Only a need that is partly or not met has a plan owner.")
            )
        if state["plan_due_date"] is not None:
            errors.setdefault("plan_due_date", []).append(
                _("Only a need that is partly or not met has a plan due date.")
            )


def _need_fields_check(need: Need, *, names: Any, errors: dict[str, list[str]]) -> None:
    """The model's own field checks (blank title, lengths, digits) on ``names``, added to
    ``errors`` so that one answer names every bad field; fields with an error already are
    left out."""
    checked = set(names) - set(errors)
    exclude = [field.name for field in Need._meta.fields if field.name not in checked]
    try:
        need.clean_fields(exclude=exclude)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)


def _need_note_add(*, actor: Any, need: Need, text: str) -> NeedNote:
    note = NeedNote(need=need, text=text, author=actor if _is_user(actor) else None)
    note.full_clean()
    note.save(force_insert=True)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=note,
        object_label=f"{need.title} · {need.customer}",
        changes={
            "need": {"before": None, "after": need.pk},
            "text": {"before": None, "after": text},
        },
    )
    return note


def _is_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def need_create(
    *,
    actor: Any,
    customer: Customer,
    title: str,
    category: NeedCategory | int | None,
    description: str = "",
    priority: str = Need.Priority.MEDIUM,
    quantity: Any = None,
    unit: str = "",
    expected_date: dt.date | None = None,
    fit_status: str = Need.FitStatus.NOT_ASSESSED,
    solution: str = "",
    plan_owner: Any = None,
    plan_due_date: dt.date | None = None,
    source: str = Need.Source.SALES_MEETING,
    note: str = "",
) -> Need:
    """File a need of ``customer`` (the caller checked that ``actor`` may write the customer).
    Every field error comes back at once and nothing is written. ``note`` starts the update
    log."""
    errors: dict[str, list[str]] = {}
    values = {"priority": priority, "fit_status": fit_status, "source": source}
    _need_choices_check(values, errors)
    category_row = _collect(errors, lambda: _need_category_resolve(category))
    quantity_value = _collect(errors, lambda: _need_quantity_clean(quantity))
    texts = {
        name: _collect(errors, lambda name=name, value=value: _need_text_clean(name, value)) or ""
        for name, value in (("description", description), ("solution", solution))
    }
    note_text = _collect(errors, lambda: _need_text_clean("note", note, limit=NEED_NOTE_LIMIT))
    owner = _collect(
        errors,
        lambda: _need_plan_owner_resolve(actor=actor, value=plan_owner, customer=customer),
    )
    if not set(_NEED_GAP_FIELDS) & set(errors):
        _need_gap_rules(
            {
                "fit_status": fit_status,
                "status": Need.Status.OPEN,
                "solution": texts["solution"],
                "plan_owner": owner,
                "plan_due_date": plan_due_date,
            },
            errors,
        )
    need = Need(
        customer=customer,
        title=(title or "").strip(),
        category=category_row,
        priority=priority,
        quantity=quantity_value,
        unit=(unit or "").strip(),
        expected_date=expected_date,
        fit_status=fit_status,
        plan_owner=owner,
        plan_due_date=plan_due_date,
        source=source,
        **texts,
    )
    _need_fields_check(need, names=NEED_EDITABLE_FIELDS, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        model_create(instance=need, actor=actor)
        if note_text:
            _need_note_add(actor=actor, need=need, text=note_text)
    return need


def need_update(
    *,
    actor: Any,
    need: Need,
    data: dict[str, Any],
    expected_version: int | None = None,
    note: str = "",
) -> Need:
    """Change ``need`` (the caller checked that ``actor`` may write its customer). A stale
    ``expected_version`` is a 409 with both values of every field sent; bad input is a field
    error per field; either way nothing is written, ``note`` included.

    ``status`` open/closed stamps or clears the closing time. A fit that no longer leaves a gap
    drops the plan owner and due date unless the caller sends them (then it is an error)."""
    unknown = set(data) - NEED_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    errors: dict[str, list[str]] = {}
    _need_choices_check(data, errors)
    changes: dict[str, Any] = {}
    for name in ("title", "unit"):
        if name in data:
            changes[name] = (data[name] or "").strip()
    for name in ("priority", "fit_status", "status", "source", "expected_date", "plan_due_date"):
        if name in data:
            changes[name] = data[name]
    for name in ("description", "solution"):
        if name in data:
            changes[name] = _collect(errors, lambda name=name: _need_text_clean(name, data[name]))
    if "category" in data:
        changes["category"] = _collect(
            errors, lambda: _need_category_resolve(data["category"], current=need.category)
        )
    if "quantity" in data:
        changes["quantity"] = _collect(errors, lambda: _need_quantity_clean(data["quantity"]))
    if "plan_owner" in data and data["plan_owner"] != need.plan_owner_id:
        changes["plan_owner"] = _collect(
            errors,
            lambda: _need_plan_owner_resolve(
                actor=actor, value=data["plan_owner"], customer=need.customer
            ),
        )
    note_text = _collect(errors, lambda: _need_text_clean("note", note, limit=NEED_NOTE_LIMIT))
    fit = changes.get("fit_status", need.fit_status)
    if fit not in Need.GAP_FITS:
        # Owner and due date of a plan that is no longer needed go with it, unless sent.
        for name in ("plan_owner", "plan_due_date"):
            if name not in data:
                changes[name] = None
    if not set(_NEED_GAP_FIELDS) & set(errors):
        _need_gap_rules(
            {name: changes.get(name, getattr(need, name)) for name in _NEED_GAP_FIELDS}, errors
        )
    candidate = copy.copy(need)
    for name, value in changes.items():
        setattr(candidate, name, value)
    _need_fields_check(candidate, names=set(changes), errors=errors)
    if errors:
        raise ValidationError(errors)
    if "status" in changes and changes["status"] != need.status:
        changes["closed_at"] = timezone.now() if changes["status"] == Need.Status.CLOSED else None
    with transaction.atomic():
        updated = model_update(
            instance=need, data=changes, actor=actor, expected_version=expected_version
        )
        if note_text:
            # After the version check above, so a stale form adds no note either.
            _need_note_add(actor=actor, need=updated, text=note_text)
    return updated


class NeedStatusError(ApplicationError):
    status_code = 409
    default_code = "need_status"


def need_close(
    *, actor: Any, need: Need, note: str = "", expected_version: int | None = None
) -> Need:
    """Close ``need``: done with, met or dropped; ``note`` says which. A closed need leaves the
    unmet view and keeps its history."""
    if need.status == Need.Status.CLOSED:
        raise NeedStatusError(_("This need is closed already."))
    return need_update(
        actor=actor,
        need=need,
        data={"status": Need.Status.CLOSED},
        expected_version=expected_version,
        note=note,
    )


def need_reopen(
    *, actor: Any, need: Need, note: str = "", expected_version: int | None = None
) -> Need:
    """Open a closed need again. One with a gap needs its plan (solution, owner, due date) to be
    complete, as any open need does; the refusal names what is missing."""
    if need.status == Need.Status.OPEN:
        raise NeedStatusError(_("This need is open already."))
    return need_update(
        actor=actor,
        need=need,
        data={"status": Need.Status.OPEN},
        expected_version=expected_version,
        note=note,
    )


def need_delete(*, actor: Any, need: Need) -> Need:
    """Move ``need`` to the recycle bin; its history stays and comes back with it."""
    return object_soft_delete(instance=need, actor=actor)


def need_note_create(*, actor: Any, need: Need, text: str) -> NeedNote:
    """Add an entry to ``need``'s update log (the caller checked that ``actor`` may write it)."""
    cleaned = _need_text_clean("text", text, limit=NEED_NOTE_LIMIT)
    if not cleaned:
        raise ValidationError({"text": [_("Write the update first.")]}, code="required")
    with transaction.atomic():
        return _need_note_add(actor=actor, need=need, text=cleaned)


def need_category_create(
    *, actor: Any, code: str, name: str, sort_order: int = 0, is_active: bool = True
) -> NeedCategory:
    category = NeedCategory(
        code=(code or "").strip().lower(),
        name=(name or "").strip(),
        sort_order=sort_order,
        is_active=is_active,
    )
    return model_create(instance=category, actor=actor)


def need_category_update(
    *,
    actor: Any,
    category: NeedCategory,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> NeedCategory:
    """Rename, reorder or switch a category on or off. Its code stays: integrations filter by
    it."""
    unknown = set(data) - NEED_CATEGORY_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = dict(data)
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    return model_update(
        instance=category, data=changes, actor=actor, expected_version=expected_version
    )


# --- history library ----------------------------------------------------------------------------
# A churned or stopped customer (ARCHIVED_LIFECYCLES) is in the history library (客户历史库): out
# of the lists, the search, the pool and the recycle job by default, with its owner, tenure and
# every record kept, and back with customer_restore_from_history. Every way into it goes through
# customer_archive (the edit form and the API's PATCH too, by way of customer_update), so a
# reason is never missing; the constraint customer_archive_consistent holds the rest.

CHURN_NOTE_LIMIT = 2000


class CustomerArchivedError(ApplicationError):
    """A pool move (claim, release) of a customer in the history library: restore it first."""

    status_code = 409
    default_code = "customer_archived"
    default_message = _("This customer is in the history library. Restore it first.")


def _churn_reason_resolve(value: Any) -> ChurnReason:
    """A reason in use, given as the row, its id or its code; field errors name
    ``churn_reason``."""
    if value is None or value == "":
        raise ValidationError(
            {"churn_reason": [_("Choose why the customer churned or stopped.")]},
            code="churn_reason_required",
        )
    if isinstance(value, ChurnReason):
        reason: ChurnReason | None = value
    elif isinstance(value, int) and not isinstance(value, bool):
        reason = ChurnReason.objects.filter(pk=value).first() if 0 < value < 2**63 else None
    else:
        reason = ChurnReason.objects.filter(code=str(value).strip().lower()).first()
    if reason is None or not reason.is_active:
        raise ValidationError(
            {"churn_reason": [_("Choose a churn reason from the list.")]},
            code="churn_reason_unknown",
        )
    return reason


def _churn_note_clean(value: Any) -> str:
    note = str(value or "").strip()
    if len(note) > CHURN_NOTE_LIMIT:
        raise ValidationError(
            {
                "churn_note": [
                    _("Keep the details under %(limit)s characters.") % {"limit": CHURN_NOTE_LIMIT}
                ]
            },
            code="churn_note_too_long",
        )
    return note


def _reason_only_with_history(data: dict[str, Any]) -> None:
    errors = {
        name: [_("This goes with a churned or stopped customer only.")]
        for name in ("churn_reason", "churn_note")
        if data.get(name) not in (None, "")
    }
    if errors:
        raise ValidationError(errors, code="churn_reason_not_archived")


def _history_fields_new(*, lifecycle: str, reason: Any, note: Any) -> dict[str, Any]:
    """The history library's fields of a customer filed as ``lifecycle``."""
    if lifecycle not in ARCHIVED_LIFECYCLES:
        _reason_only_with_history({"churn_reason": reason, "churn_note": note})
        return {}
    errors: dict[str, list[str]] = {}
    row = _collect(errors, lambda: _churn_reason_resolve(reason))
    text = _collect(errors, lambda: _churn_note_clean(note))
    if errors:
        raise ValidationError(errors)
    return {"archived_at": timezone.now(), "churn_reason": row, "churn_note": text or ""}


def _history_move(*, customer: Customer, data: dict[str, Any]) -> dict[str, Any]:
    """What an edit (``data``) means for the history library: a move into it ("archive", with
    the checked reason and details), out of it ("restore"), or plain ``changes`` of the reason
    and details of a customer that stays in it."""
    lifecycle = data.get("lifecycle") or customer.lifecycle
    was, will = customer.lifecycle in ARCHIVED_LIFECYCLES, lifecycle in ARCHIVED_LIFECYCLES
    if will and not was:
        errors: dict[str, list[str]] = {}
        row = _collect(errors, lambda: _churn_reason_resolve(data.get("churn_reason")))
        text = _collect(errors, lambda: _churn_note_clean(data.get("churn_note")))
        if errors:
            raise ValidationError(errors)
        return {"move": "archive", "lifecycle": lifecycle, "reason": row, "note": text or ""}
    if not will:
        _reason_only_with_history(data)
        if not was:
            return {}
        _restore_lifecycle_check(lifecycle)
        return {"move": "restore", "lifecycle": lifecycle}
    changes: dict[str, Any] = {}
    errors = {}
    if "churn_reason" in data:
        changes["churn_reason"] = _collect(
            errors, lambda: _churn_reason_resolve(data["churn_reason"])
        )
    if "churn_note" in data:
        changes["churn_note"] = _collect(errors, lambda: _churn_note_clean(data["churn_note"]))
    if errors:
        raise ValidationError(errors)
    return {"changes": changes}


def _restore_lifecycle_check(lifecycle: str) -> None:
    if lifecycle not in Customer.Lifecycle.values or lifecycle in ARCHIVED_LIFECYCLES:
        raise ValidationError(
            {
                "lifecycle": [
                    _(
                        "Choose the lifecycle the customer returns to: potential, intent, "
                        "closed deal or strategic."
                    )
                ]
            },
            code="restore_lifecycle",
        )


def _history_save(
    *,
    actor: Any,
    customer: Customer,
    change: Any,
    note: str,
    expected_version: int | None,
) -> Customer:
    """Lock the customer, check the version read, apply ``change(current)`` (the new values, or
    an error), validate, save and audit it as one action with ``note``: the timeline shows the
    move, not a bare field change."""
    expected = customer.version if expected_version is None else expected_version
    with transaction.atomic():
        current = Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if current is None:
            raise ApplicationError(_("This customer no longer exists."), code="not_found")
        if current.version != expected:
            raise ConflictError(
                extra={"current_version": current.version, "conflicts": {}},
            )
        values = change(current)
        before = snapshot(current)
        for name, value in values.items():
            setattr(current, name, value)
        current.full_clean()
        now = timezone.now()
        stamp: dict[str, Any] = {"updated_at": now}
        if _is_user(actor):
            stamp["updated_by"] = actor
        Customer.objects.filter(pk=current.pk, version=expected).update(
            version=F("version") + 1, **values, **stamp
        )
        for name, value in stamp.items():
            setattr(current, name, value)
        current.version = expected + 1
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=current,
            changes=diff(before, snapshot(current)),
            note=note,
        )
    return current


def customer_archive(
    *,
    actor: Any,
    customer: Customer,
    reason: Any,
    note: str = "",
    lifecycle: str = Customer.Lifecycle.CHURNED,
    expected_version: int | None = None,
) -> Customer:
    """Move ``customer`` into the history library as churned (流失) or stopped (停止合作), with a
    reason from the configurable list (row, id or code) and free-text details. The owner, the
    tenure and every related record stay; its open verification tasks are skipped (nobody checks
    the data of a customer we no longer work with). Field errors (no reason, an unknown one, a
    lifecycle that is not churned or stopped) write nothing; so does a stale
    ``expected_version`` (409). ``actor`` must be able to write the customer (None: the
    system)."""
    if actor is not None and not customer_can_write(actor, customer):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    if lifecycle not in ARCHIVED_LIFECYCLES:
        errors["lifecycle"] = [_("Choose churned or stopped cooperation.")]
    row = _collect(errors, lambda: _churn_reason_resolve(reason))
    text = _collect(errors, lambda: _churn_note_clean(note))
    if errors:
        raise ValidationError(errors)

    def change(current: Customer) -> dict[str, Any]:
        if current.archived_at is not None:
            raise ApplicationError(
                _("This customer is already in the history library."),
                code="already_archived",
            )
        return {
            "lifecycle": lifecycle,
            "archived_at": timezone.now(),
            "churn_reason": row,
            "churn_note": text or "",
            "archived_from": current.lifecycle,
        }

    with transaction.atomic():
        archived = _history_save(
            actor=actor,
            customer=customer,
            change=change,
            note="customer_archived",
            expected_version=expected_version,
        )
        VerificationTask.objects.filter(
            customer=archived, status=VerificationTask.Status.OPEN
        ).update(
            status=VerificationTask.Status.SKIPPED,
            updated_at=archived.updated_at,
            version=F("version") + 1,
        )
    return archived


def customer_restore_from_history(
    *,
    actor: Any,
    customer: Customer,
    lifecycle: str,
    expected_version: int | None = None,
) -> Customer:
    """Bring ``customer`` back from the history library as ``lifecycle`` (potential, intent,
    closed deal or strategic). The reason and details leave the record (the timeline keeps
    them); the recycle clock starts again from now, and a verification task of the current
    quarter skipped by the archiving opens again. Same permission as customer_archive."""
    if actor is not None and not customer_can_write(actor, customer):
        raise PermissionDeniedError()
    _restore_lifecycle_check(lifecycle)

    def change(current: Customer) -> dict[str, Any]:
        if current.archived_at is None:
            raise ApplicationError(
                _("This customer is not in the history library."), code="not_archived"
            )
        return {
            "lifecycle": lifecycle,
            "archived_at": None,
            "churn_reason": None,
            "churn_note": "",
            "archived_from": "",
            "last_activity_at": timezone.now(),
        }

    with transaction.atomic():
        restored = _history_save(
            actor=actor,
            customer=customer,
            change=change,
            note="customer_restored_from_history",
            expected_version=expected_version,
        )
        VerificationTask.objects.filter(
            customer=restored, quarter=quarter_of(), status=VerificationTask.Status.SKIPPED
        ).update(
            status=VerificationTask.Status.OPEN,
            updated_at=restored.updated_at,
            version=F("version") + 1,
        )
    return restored


CHURN_REASON_EDITABLE_FIELDS = frozenset({"name", "sort_order", "is_active"})


def churn_reason_create(
    *, actor: Any, code: str, name: str, sort_order: int = 0, is_active: bool = True
) -> ChurnReason:
    reason = ChurnReason(
        code=(code or "").strip().lower(),
        name=(name or "").strip(),
        sort_order=sort_order,
        is_active=is_active,
    )
    return model_create(instance=reason, actor=actor)


def churn_reason_update(
    *,
    actor: Any,
    reason: ChurnReason,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ChurnReason:
    """Rename, reorder or switch a reason on or off. Its code stays: integrations send it."""
    unknown = set(data) - CHURN_REASON_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = dict(data)
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    return model_update(  # type: ignore[return-value]  # model_update returns the instance given
        instance=reason, data=changes, actor=actor, expected_version=expected_version
    )


# --- verification -------------------------------------------------------------------------------

VERIFICATION_NOTE_LIMIT = 2000
VERIFICATION_BATCH = 2000


class VerificationTaskClosedError(ApplicationError):
    status_code = 409
    default_code = "task_not_open"
    default_message = _("This verification task is no longer open.")


def verification_tasks_create(
    *, actor: Any, quarter: str | None = None, today: dt.date | None = None
) -> int:
    """Make ``quarter``'s verification tasks (the current quarter by default): one for every
    active (not archived), owned customer that has none yet, for its owner, due on the
    quarter's last day. Idempotent: a customer and quarter have at most one task (a unique
    constraint), so a rerun, or two at once, creates nothing twice. Administrators on demand;
    the scheduled job as the system (``actor`` None). Returns how many tasks were made."""
    if actor is not None and not verification_tasks_can_create(actor):
        raise PermissionDeniedError()
    label = quarter or quarter_of(today)
    _start, due = quarter_bounds(label)
    tasks = VerificationTask.objects.filter(quarter=label)
    before = tasks.count()
    by = actor if _is_user(actor) else None
    last = 0
    while True:
        rows = list(
            Customer.objects.filter(pk__gt=last, archived_at__isnull=True, owner__isnull=False)
            .order_by("pk")
            .values_list("pk", "owner_id")[:VERIFICATION_BATCH]
        )
        if not rows:
            break
        last = rows[-1][0]
        having = set(
            tasks.filter(customer_id__in=[pk for pk, _owner in rows]).values_list(
                "customer_id", flat=True
            )
        )
        VerificationTask.objects.bulk_create(
            [
                VerificationTask(
                    customer_id=pk,
                    owner_id=owner_id,
                    quarter=label,
                    due_date=due,
                    created_by=by,
                    updated_by=by,
                )
                for pk, owner_id in rows
                if pk not in having
            ],
            ignore_conflicts=True,
        )
    created = tasks.count() - before
    if created:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            object_type=object_type_of(VerificationTask),
            object_id=label,
            object_label=label,
            note=f"verification_tasks_created?quarter={label}&count={created}",
        )
    return created


def verification_task_verify(
    *, actor: Any, task: VerificationTask, note: str = ""
) -> VerificationTask:
    """Confirm the customer's contact data as correct (after correcting it with the contact
    forms): the task records who and when, what was changed on the contacts while it was open
    (selectors.verification_contact_changes) and ``note``; the customer and its live contacts
    get the time as ``verified_at``. Whoever may write the customer may confirm (its owner,
    first of all); a task that is no longer open is a 409 and changes nothing."""
    if not _is_user(actor):
        raise PermissionDeniedError()
    text = str(note or "").strip()
    if len(text) > VERIFICATION_NOTE_LIMIT:
        raise ValidationError(
            {
                "note": [
                    _("Keep the note under %(limit)s characters.")
                    % {"limit": VERIFICATION_NOTE_LIMIT}
                ]
            },
            code="note_too_long",
        )
    with transaction.atomic():
        current = VerificationTask.objects.select_for_update().filter(pk=task.pk).first()
        if current is None or current.status != VerificationTask.Status.OPEN:
            raise VerificationTaskClosedError()
        customer = Customer.objects.filter(pk=current.customer_id).first()
        if customer is None:
            raise ApplicationError(_("This customer no longer exists."), code="not_found")
        if customer.archived_at is not None:
            raise CustomerArchivedError()
        if not customer_can_write(actor, customer):
            raise PermissionDeniedError()
        now = timezone.now()
        verified = model_update(
            instance=current,
            data={
                "status": VerificationTask.Status.VERIFIED,
                "verified_by": actor,
                "verified_at": now,
                "note": text,
                "changes": verification_contact_changes(
                    customer=customer, since=current.created_at
                ),
            },
            actor=actor,
        )
        # Derived stamps, not edits: no version bump, so an edit form open elsewhere stays valid.
        Customer.objects.filter(pk=customer.pk).update(verified_at=now)
        Contact.objects.filter(customer=customer).update(verified_at=now)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=customer,
            changes={
                "verified_at": {
                    "before": customer.verified_at.isoformat() if customer.verified_at else None,
                    "after": now.isoformat(),
                }
            },
            note=f"customer_verified?quarter={current.quarter}",
        )
    return verified  # type: ignore[return-value]  # model_update returns the instance given
