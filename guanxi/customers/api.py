"""REST endpoints of the customer archive: /customers, /contacts, /tags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.core.audit import audit_changes_display
from guanxi.core.exceptions import validation_error_renamed
from guanxi.core.quarters import quarter_clean, quarter_of
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, Need, VerificationTask
from guanxi.customers.permissions import (
    churn_reason_get_for_user,
    churn_reason_require_edit,
    contact_get_for_user,
    customer_get_for_claim,
    customer_get_for_user,
    customer_require_create,
    customer_require_manage,
    need_category_get_for_user,
    need_category_require_edit,
    need_get_for_user,
    pool_policy_require_edit,
    tag_get_for_user,
    tag_require_create,
    verification_report_require_view,
    verification_task_get_for_user,
    verification_tasks_require_create,
)
from guanxi.customers.schemas import (
    ChurnBreakdownOut,
    ChurnReasonIn,
    ChurnReasonOut,
    ChurnReasonPatchIn,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatchIn,
    CustomerArchiveIn,
    CustomerBulkIn,
    CustomerBulkOut,
    CustomerDuplicatesIn,
    CustomerDuplicatesOut,
    CustomerHandOverIn,
    CustomerHandOverOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatchIn,
    CustomerReleaseIn,
    CustomerRestoreIn,
    CustomerTagsIn,
    CustomerTransferIn,
    NeedCategoryIn,
    NeedCategoryOut,
    NeedCategoryPatchIn,
    NeedHistoryItemOut,
    NeedIn,
    NeedNoteIn,
    NeedNoteOut,
    NeedOut,
    NeedPage,
    NeedPatchIn,
    NeedStatusIn,
    NeedUnmetOut,
    PoolPolicyIn,
    PoolPolicyOut,
    TagIn,
    TagOut,
    TagPatchIn,
    VerificationIn,
    VerificationReportOut,
    VerificationTaskOut,
    VerificationTaskPage,
    VerificationTasksCreatedOut,
)
from guanxi.customers.selectors import (
    churn_breakdown,
    churn_reason_list,
    contact_page,
    contact_personal_data,
    customer_detail,
    customer_duplicates_find,
    customer_page,
    need_category_list,
    need_detail,
    need_history,
    need_page,
    need_unmet_summary,
    pool_policy_get,
    tag_list,
    verification_report,
    verification_stale_page,
    verification_task_page,
)

router = Router(tags=["customers"])

# The API names foreign keys by id; services name the model fields.
_API_FIELD_NAMES = {
    "owner": "owner_id",
    "parent": "parent_id",
    "department": "department_id",
    "customer": "customer_id",
    "to_user": "to_user_id",
    "tag": "tag_id",
    "from_user": "from_user_id",
    "previous_owner": "previous_owner_id",
    "province": "region_code",
    "city": "region_code",
    "district": "region_code",
}


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


def _customer_out(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "kind": customer.kind,
        "name": customer.name,
        "short_name": customer.short_name,
        "credit_code": customer.credit_code,
        "industry": customer.industry.code if customer.industry_id else None,
        "region_code": customer.region_code,
        "province_code": customer.province_id,
        "city_code": customer.city_id,
        "district_code": customer.district_id,
        "address": customer.address,
        "website": customer.website,
        "source": customer.source,
        "source_note": customer.source_note,
        "lifecycle": customer.lifecycle,
        "account_class": customer.account_class,
        "value_level": customer.value_level,
        "owner_id": customer.owner_id,
        "department_id": customer.department_id,
        "in_pool": customer.in_pool,
        "first_contact_date": customer.first_contact_date,
        "first_needs": customer.first_needs,
        "parent_id": customer.parent_id,
        "tags": [{"id": t.pk, "name": t.name, "color": t.color} for t in customer.tags.all()],
        "claimed_at": customer.claimed_at,
        "protected_until": customer.protected_until,
        "last_activity_at": customer.last_activity_at,
        "previous_owner_id": customer.previous_owner_id,
        "released_at": customer.released_at,
        # --- history library (the reason's code: customer_detail and the history list join it)
        "archived_at": customer.archived_at,
        "churn_reason": customer.churn_reason.code if customer.churn_reason_id else None,
        "churn_note": customer.churn_note,
        "verified_at": customer.verified_at,  # --- verification
        "version": customer.version,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }


def _contact_out(
    actor: Any, contact: Contact, personal: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``personal``: the full data a reveal returned; otherwise the one selector decides."""
    if personal is None:
        personal = contact_personal_data(actor=actor, contact=contact)
    return {
        "id": contact.pk,
        "customer_id": contact.customer_id,
        "name": contact.name,
        "title": contact.title,
        "decision_role": contact.decision_role,
        **personal,
        "address": contact.address,
        "birthday": contact.birthday,
        "birthday_lunar": contact.birthday_lunar,
        "preferred_channel": contact.preferred_channel,
        "legal_basis": contact.legal_basis,
        "consent_note": contact.consent_note,
        "consent_at": contact.consent_at,
        "marketing_opt_out": contact.marketing_opt_out,
        "marketing_opt_out_at": contact.marketing_opt_out_at,
        "version": contact.version,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


# --- customers ----------------------------------------------------------------------------------


@router.get("/customers", response=CustomerPage)
def customer_index(
    request: HttpRequest,
    q: str = "",
    lifecycle: str = "",
    account_class: str = "",
    value_level: str | None = None,
    industry: str = "",
    region: str = "",
    tag: int | None = None,
    owner_id: int | None = None,
    source: str = "",
    in_pool: bool | None = None,
    archived: bool | None = None,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Customers in your data scope and the pool; ``q`` searches names, pinyin, initials, phone
    tails, credit codes and contact names. Keyset-paginated with ``cursor``. Churned and stopped
    customers are in the history library, left out unless ``archived=1`` (only them) or a
    ``lifecycle`` of churned or stopped asks for them."""
    page = customer_page(
        actor=request.auth,
        query=q,
        lifecycle=lifecycle,
        account_class=account_class,
        value_level=value_level,
        industry=industry,
        region=region,
        tag=tag,
        owner=owner_id,
        source=source,
        in_pool=in_pool,
        archived=archived,
        sort=sort,
        cursor=cursor,
        limit=limit,
        # The output names the regions and the owner by code and id, so it joins the industry only.
        related=("industry",),
    )
    return {"items": [_customer_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/customers", response={201: CustomerOut})
def customer_add(request: HttpRequest, payload: CustomerIn) -> Status[Any]:
    customer_require_create(request.auth)
    sent = payload.dict(exclude_unset=True)
    try:
        customer = services.customer_create(
            actor=request.auth,
            name=payload.name,
            kind=payload.kind,
            short_name=payload.short_name,
            credit_code=payload.credit_code,
            industry=payload.industry,
            region_code=payload.region_code,
            address=payload.address,
            website=payload.website,
            source=payload.source,
            source_note=payload.source_note,
            lifecycle=payload.lifecycle,
            account_class=payload.account_class,
            owner=sent.get("owner_id", services.OWNER_SELF),
            first_contact_date=payload.first_contact_date,
            first_needs=payload.first_needs,
            parent=payload.parent_id,
            tags=payload.tags,
            allow_duplicates=payload.allow_duplicates,
            churn_reason=payload.churn_reason,  # --- history library
            churn_note=payload.churn_note or "",
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _customer_out(customer_detail(customer=customer)))


# --- duplicates (before /customers/{customer_id}, whose id never matches the word) --------------


@router.post("/customers/duplicates", response=CustomerDuplicatesOut)
def customer_duplicates_check(request: HttpRequest, payload: CustomerDuplicatesIn) -> Any:
    """The duplicate check (撞单) of a customer you are about to file: live customers with the
    same credit code, phone or e-mail address, or a similar company name, likeliest first. A
    match outside your data scope tells only who owns it (or that it is in the pool): no id, no
    name. For whoever files customers."""
    customer_require_create(request.auth)
    try:
        matches = customer_duplicates_find(
            actor=request.auth,
            name=payload.name,
            kind=payload.kind,
            credit_code=payload.credit_code,
            phones=payload.phones,
            emails=payload.emails,
            exclude_id=payload.exclude_id,
            limit=payload.limit,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return {"matches": [match.as_dict() for match in matches]}


# --- the pool (before /customers/{customer_id}, whose id never matches these words) ------------


@router.get("/customers/pool-policy", response=PoolPolicyOut)
def pool_policy_show(request: HttpRequest) -> Any:
    """The pool's caps and periods; every signed-in user may read them."""
    return pool_policy_get()


@router.put("/customers/pool-policy", response=PoolPolicyOut)
def pool_policy_edit(request: HttpRequest, payload: PoolPolicyIn) -> Any:
    pool_policy_require_edit(request.auth)
    data = payload.dict()
    version = data.pop("version")
    return services.pool_policy_update(actor=request.auth, data=data, expected_version=version)


@router.post("/customers/hand-over", response=CustomerHandOverOut)
def customers_hand_over(request: HttpRequest, payload: CustomerHandOverIn) -> Any:
    """Every customer of ``from_user_id`` (in your data scope) to ``to_user_id``, in one go."""
    customer_require_manage(request.auth)
    try:
        count = services.customers_hand_over(
            actor=request.auth,
            from_user=payload.from_user_id,
            to_user=payload.to_user_id,
            reason=payload.reason,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return {"count": count}


@router.post("/customers/bulk", response=CustomerBulkOut)
def customers_bulk(request: HttpRequest, payload: CustomerBulkIn) -> Any:
    """One action on many customers, all or nothing: ``tag_add`` / ``tag_remove`` (with
    ``tag_id``, customers you may edit), ``transfer`` (managers, with ``to_user_id`` and
    ``reason``), ``release`` (with ``reason``). Customers that already are as asked are left
    alone and not counted."""
    actor = request.auth
    try:
        if payload.action in ("tag_add", "tag_remove"):
            count = services.customers_bulk_tag(
                actor=actor, ids=payload.ids, tag=payload.tag_id, add=payload.action == "tag_add"
            )
        elif payload.action == "transfer":
            count = services.customers_bulk_transfer(
                actor=actor, ids=payload.ids, to_user=payload.to_user_id, reason=payload.reason
            )
        else:
            count = services.customers_bulk_release(
                actor=actor, ids=payload.ids, reason=payload.reason
            )
    except ValidationError as error:
        raise _api_fields(error) from error
    return {"count": count}


@router.post("/customers/{customer_id}/claim", response=CustomerOut)
def customer_claim(request: HttpRequest, customer_id: int) -> Any:
    """Take a pool customer. Refusals: ``already_claimed`` (409), ``daily_cap_reached``,
    ``holding_cap_reached``, ``reclaim_cooldown`` (400)."""
    customer = customer_get_for_claim(request.auth, customer_id)
    customer = services.customer_claim(actor=request.auth, customer=customer)
    return _customer_out(customer_detail(customer=customer))


@router.post("/customers/{customer_id}/release", response=CustomerOut)
def customer_release(request: HttpRequest, customer_id: int, payload: CustomerReleaseIn) -> Any:
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    customer = services.customer_release(
        actor=request.auth, customer=customer, reason=payload.reason
    )
    return _customer_out(customer_detail(customer=customer))


@router.post("/customers/{customer_id}/transfer", response=CustomerOut)
def customer_transfer(request: HttpRequest, customer_id: int, payload: CustomerTransferIn) -> Any:
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    customer_require_manage(request.auth)
    try:
        customer = services.customer_transfer(
            actor=request.auth,
            customer=customer,
            to_user=payload.to_user_id,
            reason=payload.reason,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _customer_out(customer_detail(customer=customer))


@router.get("/customers/{customer_id}", response=CustomerOut)
def customer_show(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    customer = customer_get_for_user(request.auth, customer_id)
    return _customer_out(customer_detail(customer=customer))


@router.patch("/customers/{customer_id}", response=CustomerOut)
def customer_edit(request: HttpRequest, customer_id: int, payload: CustomerPatchIn) -> Any:
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    sent = payload.dict(exclude_unset=True)
    sent.pop("version")
    sent.pop("allow_duplicates", None)
    renamed = {"owner_id": "owner", "parent_id": "parent"}
    data = {renamed.get(name, name): value for name, value in sent.items()}
    try:
        customer = services.customer_update(
            actor=request.auth,
            customer=customer,
            data=data,
            expected_version=payload.version,
            allow_duplicates=payload.allow_duplicates,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _customer_out(customer_detail(customer=customer))


@router.delete("/customers/{customer_id}", response={204: None})
def customer_remove(request: HttpRequest, customer_id: int) -> Status[Any]:
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    services.customer_delete(actor=request.auth, customer=customer)
    return Status(204, None)


@router.put("/customers/{customer_id}/tags", response=CustomerOut)
def customer_tags_edit(request: HttpRequest, customer_id: int, payload: CustomerTagsIn) -> Any:
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    customer = services.customer_tags_set(actor=request.auth, customer=customer, tags=payload.tags)
    return _customer_out(customer_detail(customer=customer))


# --- contacts -----------------------------------------------------------------------------------


@router.get("/contacts", response=ContactPage)
def contact_index(
    request: HttpRequest,
    q: str = "",
    customer_id: int | None = None,
    decision_role: str = "",
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Contacts of the customers you can see. Phones, e-mail and WeChat ID are masked
    (``masked: true``) except on your own customers; ``POST /contacts/{id}/reveal`` shows them."""
    page = contact_page(
        actor=request.auth,
        query=q,
        customer=customer_id,
        decision_role=decision_role,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    return {
        "items": [_contact_out(request.auth, c) for c in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/contacts", response={201: ContactOut})
def contact_add(request: HttpRequest, payload: ContactIn) -> Status[Any]:
    customer = customer_get_for_user(request.auth, payload.customer_id, write=True)
    data = payload.dict()
    data.pop("customer_id")
    try:
        contact = services.contact_create(actor=request.auth, customer=customer, **data)
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _contact_out(request.auth, contact))


@router.get("/contacts/{contact_id}", response=ContactOut)
def contact_show(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    return _contact_out(request.auth, contact_get_for_user(request.auth, contact_id))


@router.post("/contacts/{contact_id}/reveal", response=ContactOut)
def contact_reveal(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    """The contact with phones, e-mail and WeChat ID in full. Needs a role that may reveal
    personal data (403 ``permission_denied``); each reveal is logged in the audit trail and counts
    against the daily limit (429 ``reveal_limit_reached``); pool customers' contacts stay masked
    until claimed (409 ``reveal_pool_customer``). Your own customers' contacts come in full,
    unlogged and uncounted."""
    contact = contact_get_for_user(request.auth, contact_id)
    personal = services.contact_reveal(actor=request.auth, contact=contact)
    return _contact_out(request.auth, contact, personal)


@router.patch("/contacts/{contact_id}", response=ContactOut)
def contact_edit(request: HttpRequest, contact_id: int, payload: ContactPatchIn) -> Any:
    contact = contact_get_for_user(request.auth, contact_id, write=True)
    data = payload.dict(exclude_unset=True)
    data.pop("version")
    try:
        contact = services.contact_update(
            actor=request.auth, contact=contact, data=data, expected_version=payload.version
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _contact_out(request.auth, contact)


@router.delete("/contacts/{contact_id}", response={204: None})
def contact_remove(request: HttpRequest, contact_id: int) -> Status[Any]:
    contact = contact_get_for_user(request.auth, contact_id, write=True)
    services.contact_delete(actor=request.auth, contact=contact)
    return Status(204, None)


# --- tags ---------------------------------------------------------------------------------------


@router.get("/tags", response=list[TagOut])
def tag_index(request: HttpRequest) -> Any:
    return list(tag_list())


@router.post("/tags", response={201: TagOut})
def tag_add(request: HttpRequest, payload: TagIn) -> Status[Any]:
    tag_require_create(request.auth)
    tag = services.tag_create(actor=request.auth, name=payload.name, color=payload.color)
    return Status(201, tag)


@router.patch("/tags/{tag_id}", response=TagOut)
def tag_edit(request: HttpRequest, tag_id: int, payload: TagPatchIn) -> Any:
    tag = tag_get_for_user(request.auth, tag_id, write=True)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if k != "version"}
    return services.tag_update(
        actor=request.auth, tag=tag, data=data, expected_version=payload.version
    )


@router.delete("/tags/{tag_id}", response={204: None})
def tag_remove(request: HttpRequest, tag_id: int) -> Status[Any]:
    tag = tag_get_for_user(request.auth, tag_id, write=True)
    services.tag_delete(actor=request.auth, tag=tag)
    return Status(204, None)


# --- needs (C2) ---------------------------------------------------------------------------------

# The API names foreign keys by id; services name the model fields.
_NEED_API_FIELD_NAMES = {
    "customer": "customer_id",
    "category": "category_id",
    "plan_owner": "plan_owner_id",
}


def _need_api_fields(error: ValidationError) -> ValidationError:
    if not hasattr(error, "error_dict"):
        return error
    fields: dict[str, list[Any]] = {}
    for name, errors in error.error_dict.items():
        fields.setdefault(_NEED_API_FIELD_NAMES.get(name, name), []).extend(errors)
    return ValidationError(fields)


def _need_out(need: Need) -> dict[str, Any]:
    return {
        "id": need.pk,
        "customer_id": need.customer_id,
        "customer_name": need.customer.name,
        "title": need.title,
        "description": need.description,
        "category_id": need.category_id,
        "category_code": need.category.code,
        "category_name": need.category.name,
        "priority": need.priority,
        "quantity": need.quantity,
        "unit": need.unit,
        "expected_date": need.expected_date,
        "fit_status": need.fit_status,
        "solution": need.solution,
        "plan_owner_id": need.plan_owner_id,
        "plan_due_date": need.plan_due_date,
        "plan_overdue": need.plan_overdue,
        "status": need.status,
        "closed_at": need.closed_at,
        "source": need.source,
        "version": need.version,
        "created_at": need.created_at,
        "updated_at": need.updated_at,
    }


@router.get("/needs", response=NeedPage)
def need_index(
    request: HttpRequest,
    customer_id: int | None = None,
    category_id: int | None = None,
    fit_status: str = "",
    unmet: bool = False,
    priority: str = "",
    status: str = "",
    owner_id: int | None = None,
    plan_owner_id: int | None = None,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Needs of the customers you can see (your data scope and the pool). ``unmet``: open needs
    met partly or not at all; ``owner_id`` is the customer's owner, ``plan_owner_id`` who carries
    the plan. ``sort``: -updated_at, updated_at, -created_at, created_at or category.
    Keyset-paginated with ``cursor``."""
    try:
        page = need_page(
            actor=request.auth,
            customer=customer_id,
            category=category_id,
            fit_status=fit_status,
            unmet=unmet,
            priority=priority,
            status=status,
            owner=owner_id,
            plan_owner=plan_owner_id,
            sort=sort,
            cursor=cursor,
            limit=limit,
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return {"items": [_need_out(need) for need in page.items], "next_cursor": page.next_cursor}


@router.post("/needs", response={201: NeedOut})
def need_add(request: HttpRequest, payload: NeedIn) -> Status[Any]:
    """File a need of a customer you may edit. A fit of ``partial`` or ``unmet`` needs a
    ``solution``, a ``plan_owner_id`` and a ``plan_due_date``."""
    customer = customer_get_for_user(request.auth, payload.customer_id, write=True)
    try:
        need = services.need_create(
            actor=request.auth,
            customer=customer,
            title=payload.title,
            category=payload.category_id,
            description=payload.description,
            priority=payload.priority,
            quantity=payload.quantity,
            unit=payload.unit,
            expected_date=payload.expected_date,
            fit_status=payload.fit_status,
            solution=payload.solution,
            plan_owner=payload.plan_owner_id,
            plan_due_date=payload.plan_due_date,
            source=payload.source,
            note=payload.note,
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return Status(201, _need_out(need_detail(need=need)))


# Before /needs/{need_id}, which would take "unmet" for an id.
@router.get("/needs/unmet", response=NeedUnmetOut)
def need_unmet(
    request: HttpRequest,
    customer_id: int | None = None,
    priority: str = "",
    owner_id: int | None = None,
    plan_owner_id: int | None = None,
) -> dict[str, Any]:
    """Open needs met partly or not at all, in your data scope, counted per category (in the
    categories' order; categories without any left out). ``GET /needs?unmet=true&category_id=…``
    lists one group's needs."""
    try:
        groups = need_unmet_summary(
            actor=request.auth,
            customer=customer_id,
            priority=priority,
            owner=owner_id,
            plan_owner=plan_owner_id,
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return {
        "groups": [
            {
                "category_id": group.category.pk,
                "category_code": group.category.code,
                "category_name": group.category.name,
                "partial": group.partial,
                "unmet": group.unmet,
                "high_priority": group.high_priority,
                "overdue": group.overdue,
                "total": group.total,
            }
            for group in groups
        ],
        "total": sum(group.total for group in groups),
    }


@router.get("/needs/{need_id}", response=NeedOut)
def need_show(request: HttpRequest, need_id: int) -> dict[str, Any]:
    return _need_out(need_detail(need=need_get_for_user(request.auth, need_id)))


@router.patch("/needs/{need_id}", response=NeedOut)
def need_edit(request: HttpRequest, need_id: int, payload: NeedPatchIn) -> dict[str, Any]:
    """Change the fields you send. A fit that no longer leaves a gap drops the plan owner and due
    date unless you send them. ``note`` goes into the update history with the change."""
    need = need_get_for_user(request.auth, need_id, write=True)
    sent = payload.dict(exclude_unset=True)
    sent.pop("version")
    note = sent.pop("note", "")
    renamed = {"category_id": "category", "plan_owner_id": "plan_owner"}
    data = {renamed.get(name, name): value for name, value in sent.items()}
    try:
        need = services.need_update(
            actor=request.auth,
            need=need,
            data=data,
            expected_version=payload.version,
            note=note,
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return _need_out(need_detail(need=need))


@router.delete("/needs/{need_id}", response={204: None})
def need_remove(request: HttpRequest, need_id: int) -> Status[Any]:
    """Move the need to the recycle bin (``/recycle-bin`` restores it)."""
    need = need_get_for_user(request.auth, need_id, write=True)
    services.need_delete(actor=request.auth, need=need)
    return Status(204, None)


@router.post("/needs/{need_id}/close", response=NeedOut)
def need_close(request: HttpRequest, need_id: int, payload: NeedStatusIn) -> dict[str, Any]:
    """Close the need (met, done with or dropped; say which in ``note``). 409 ``need_status``
    if it is closed already."""
    need = need_get_for_user(request.auth, need_id, write=True)
    try:
        need = services.need_close(
            actor=request.auth, need=need, note=payload.note, expected_version=payload.version
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return _need_out(need_detail(need=need))


@router.post("/needs/{need_id}/reopen", response=NeedOut)
def need_reopen(request: HttpRequest, need_id: int, payload: NeedStatusIn) -> dict[str, Any]:
    """Open a closed need again; one with a gap needs a complete plan (422 names what is
    missing). 409 ``need_status`` if it is open already."""
    need = need_get_for_user(request.auth, need_id, write=True)
    try:
        need = services.need_reopen(
            actor=request.auth, need=need, note=payload.note, expected_version=payload.version
        )
    except ValidationError as error:
        raise _need_api_fields(error) from error
    return _need_out(need_detail(need=need))


@router.get("/needs/{need_id}/history", response=list[NeedHistoryItemOut])
def need_history_index(request: HttpRequest, need_id: int) -> list[dict[str, Any]]:
    """The need's update history, newest first: its changes (who, when, before and after) and
    the update notes people wrote."""
    need = need_get_for_user(request.auth, need_id)
    items: list[dict[str, Any]] = []
    for item in need_history(need=need):
        if item.note is not None:
            author = item.note.author
            items.append(
                {
                    "kind": "note",
                    "occurred_at": item.occurred_at,
                    "actor_id": item.note.author_id,
                    "actor_label": author.get_username() if author else "system",
                    "action": "note",
                    "changes": {},
                    "note": item.note.text,
                }
            )
        elif item.entry is not None:
            items.append(
                {
                    "kind": "change",
                    "occurred_at": item.occurred_at,
                    "actor_id": item.entry.actor_id,
                    "actor_label": item.entry.actor_label,
                    "action": item.entry.action,
                    "changes": audit_changes_display(item.entry),
                    "note": "",
                }
            )
    return items


@router.post("/needs/{need_id}/notes", response={201: NeedNoteOut})
def need_note_add(request: HttpRequest, need_id: int, payload: NeedNoteIn) -> Status[Any]:
    """Add an entry to the need's update history (who may edit the need)."""
    need = need_get_for_user(request.auth, need_id, write=True)
    note = services.need_note_create(actor=request.auth, need=need, text=payload.text)
    return Status(201, note)


@router.get("/need-categories", response=list[NeedCategoryOut])
def need_category_index(request: HttpRequest) -> Any:
    """Every need category, in use or not (``is_active``), in the administrators' order."""
    return list(need_category_list(include_inactive=True))


@router.post("/need-categories", response={201: NeedCategoryOut})
def need_category_add(request: HttpRequest, payload: NeedCategoryIn) -> Status[Any]:
    """Administrators only."""
    need_category_require_edit(request.auth)
    category = services.need_category_create(
        actor=request.auth,
        code=payload.code,
        name=payload.name,
        sort_order=payload.sort_order,
        is_active=payload.is_active,
    )
    return Status(201, category)


@router.patch("/need-categories/{category_id}", response=NeedCategoryOut)
def need_category_edit(request: HttpRequest, category_id: int, payload: NeedCategoryPatchIn) -> Any:
    """Rename, reorder or switch off a category (administrators); its code stays."""
    category = need_category_get_for_user(request.auth, category_id, write=True)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if k != "version"}
    return services.need_category_update(
        actor=request.auth, category=category, data=data, expected_version=payload.version
    )


# --- history library ----------------------------------------------------------------------------
# Its list is GET /customers?archived=1. Moving in and out follows the customer's write rules.


@router.post("/customers/{customer_id}/archive", response=CustomerOut)
def customer_archive(request: HttpRequest, customer_id: int, payload: CustomerArchiveIn) -> Any:
    """Move the customer into the history library as churned or stopped, with a reason code
    (GET /churn-reasons) and details. PATCH with such a lifecycle does the same and needs the
    same ``churn_reason``."""
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    customer = services.customer_archive(
        actor=request.auth,
        customer=customer,
        reason=payload.churn_reason,
        note=payload.churn_note,
        lifecycle=payload.lifecycle,
        expected_version=payload.version,
    )
    return _customer_out(customer_detail(customer=customer))


@router.post("/customers/{customer_id}/restore", response=CustomerOut)
def customer_restore(request: HttpRequest, customer_id: int, payload: CustomerRestoreIn) -> Any:
    """Bring the customer back from the history library as ``lifecycle``."""
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    customer = services.customer_restore_from_history(
        actor=request.auth,
        customer=customer,
        lifecycle=payload.lifecycle,
        expected_version=payload.version,
    )
    return _customer_out(customer_detail(customer=customer))


@router.get("/churn-breakdown", response=ChurnBreakdownOut)
def churn_breakdown_index(
    request: HttpRequest, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Customers in your data scope that went into the history library in the period (both days
    included; by default the last twelve months), per churn reason."""
    today = timezone.localdate()
    date_from = date_from or today - dt.timedelta(days=364)
    date_to = date_to or today
    if date_from > date_to:
        raise ValidationError(
            {"date_to": [_("The end of the period comes before its start.")]}, code="invalid"
        )
    breakdown = churn_breakdown(actor=request.auth, date_from=date_from, date_to=date_to)
    return {
        "date_from": breakdown.date_from,
        "date_to": breakdown.date_to,
        "total": breakdown.total,
        "items": [
            {
                "reason": row.reason.code if row.reason else "",
                "reason_name": row.reason.name if row.reason else "",
                "is_active": bool(row.reason and row.reason.is_active),
                "churned": row.churned,
                "stopped": row.stopped,
                "total": row.total,
                "share": breakdown.share(row),
            }
            for row in breakdown.rows
        ],
    }


@router.get("/churn-reasons", response=list[ChurnReasonOut])
def churn_reason_index(request: HttpRequest) -> Any:
    """Every churn reason, in use or not (``is_active``), in the administrators' order."""
    return list(churn_reason_list(include_inactive=True))


@router.post("/churn-reasons", response={201: ChurnReasonOut})
def churn_reason_add(request: HttpRequest, payload: ChurnReasonIn) -> Status[Any]:
    """Administrators only."""
    churn_reason_require_edit(request.auth)
    reason = services.churn_reason_create(
        actor=request.auth,
        code=payload.code,
        name=payload.name,
        sort_order=payload.sort_order,
        is_active=payload.is_active,
    )
    return Status(201, reason)


@router.patch("/churn-reasons/{reason_id}", response=ChurnReasonOut)
def churn_reason_edit(request: HttpRequest, reason_id: int, payload: ChurnReasonPatchIn) -> Any:
    """Rename, reorder or switch off a reason (administrators); its code stays."""
    reason = churn_reason_get_for_user(request.auth, reason_id, write=True)
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if k != "version"}
    return services.churn_reason_update(
        actor=request.auth, reason=reason, data=data, expected_version=payload.version
    )


# --- verification -------------------------------------------------------------------------------


def _verification_task_out(task: VerificationTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "customer_id": task.customer_id,
        "customer_name": task.customer.name,
        "owner_id": task.owner_id,
        "quarter": task.quarter,
        "due_date": task.due_date,
        "status": task.status,
        "verified_by_id": task.verified_by_id,
        "verified_at": task.verified_at,
        "note": task.note,
        "changes": task.changes if isinstance(task.changes, list) else [],
        "version": task.version,
        "created_at": task.created_at,
    }


@router.get("/verification-tasks", response=VerificationTaskPage)
def verification_task_index(
    request: HttpRequest, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Your open verification tasks of the current quarter (for the customers you own now), the
    oldest first. Keyset-paginated with ``cursor``."""
    page = verification_task_page(actor=request.auth, cursor=cursor, limit=limit)
    return {
        "items": [_verification_task_out(task) for task in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/verification-tasks/generate", response=VerificationTasksCreatedOut)
def verification_tasks_generate(request: HttpRequest) -> dict[str, Any]:
    """Administrators: make the current quarter's missing tasks now (the schedule does it in the
    first week of each quarter). Idempotent: a second call creates nothing."""
    verification_tasks_require_create(request.auth)
    created = services.verification_tasks_create(actor=request.auth)
    return {"quarter": quarter_of(), "created": created}


@router.get("/verification-tasks/{task_id}", response=VerificationTaskOut)
def verification_task_show(request: HttpRequest, task_id: int) -> dict[str, Any]:
    """A task of a customer you can see."""
    return _verification_task_out(verification_task_get_for_user(request.auth, task_id))


@router.post("/verification-tasks/{task_id}/verify", response=VerificationTaskOut)
def verification_task_verify(
    request: HttpRequest, task_id: int, payload: VerificationIn
) -> dict[str, Any]:
    """Confirm the customer's contact data as correct (correct it first with PATCH
    /contacts/{id}); records who and when. A task that is no longer open is a 409."""
    task = verification_task_get_for_user(request.auth, task_id, write=True)
    verified = services.verification_task_verify(actor=request.auth, task=task, note=payload.note)
    verified.customer = task.customer
    return _verification_task_out(verified)


@router.get("/verification-report", response=VerificationReportOut)
def verification_report_index(
    request: HttpRequest,
    quarter: str = "",
    owner_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Sales managers and administrators: per owner, the active customers in your scope and how
    many were not verified in ``quarter`` (``2026Q4``; the current one by default), and those
    customers by name (optionally one owner's), keyset-paginated."""
    verification_report_require_view(request.auth)
    label = quarter_clean(quarter) if quarter.strip() else quarter_of()
    report = verification_report(actor=request.auth, quarter=label)
    page = verification_stale_page(
        actor=request.auth, quarter=label, owner=owner_id, cursor=cursor, limit=limit
    )
    return {
        "quarter": report.quarter,
        "start": report.start,
        "end": report.end,
        "customers": report.customers,
        "verified": report.verified,
        "stale": report.stale,
        "owners": [
            {
                "owner_id": row.owner.pk if row.owner else None,
                "owner_name": row.owner.get_full_name() if row.owner else "",
                "customers": row.customers,
                "verified": row.verified,
                "stale": row.stale,
            }
            for row in report.rows
        ],
        "stale_customers": [
            {
                "id": customer.pk,
                "name": customer.name,
                "owner_id": customer.owner_id,
                "verified_at": customer.verified_at,
            }
            for customer in page.items
        ],
        "next_cursor": page.next_cursor,
    }
