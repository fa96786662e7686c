"""REST endpoints of the customer archive: /customers, /contacts, /tags."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status

from guanxi.customers import services
from guanxi.customers.models import Contact, Customer
from guanxi.customers.permissions import (
    contact_get_for_user,
    customer_get_for_claim,
    customer_get_for_user,
    customer_require_create,
    customer_require_manage,
    pool_policy_require_edit,
    tag_get_for_user,
    tag_require_create,
)
from guanxi.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatchIn,
    CustomerBulkIn,
    CustomerBulkOut,
    CustomerHandOverIn,
    CustomerHandOverOut,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatchIn,
    CustomerReleaseIn,
    CustomerTagsIn,
    CustomerTransferIn,
    PoolPolicyIn,
    PoolPolicyOut,
    TagIn,
    TagOut,
    TagPatchIn,
)
from guanxi.customers.selectors import (
    contact_page,
    contact_personal_data,
    customer_detail,
    customer_page,
    pool_policy_get,
    tag_list,
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
    if not hasattr(error, "error_dict"):
        return error
    fields: dict[str, list[Any]] = {}
    for name, errors in error.error_dict.items():
        fields.setdefault(_API_FIELD_NAMES.get(name, name), []).extend(errors)
    return ValidationError(fields)


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
        "preferred_channel": contact.preferred_channel,
        "legal_basis": contact.legal_basis,
        "consent_note": contact.consent_note,
        "consent_at": contact.consent_at,
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
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Customers in your data scope and the pool; ``q`` searches names, pinyin, initials, phone
    tails, credit codes and contact names. Keyset-paginated with ``cursor``."""
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
        sort=sort,
        cursor=cursor,
        limit=limit,
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
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _customer_out(customer_detail(customer=customer)))


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
    renamed = {"owner_id": "owner", "parent_id": "parent"}
    data = {renamed.get(name, name): value for name, value in sent.items()}
    try:
        customer = services.customer_update(
            actor=request.auth, customer=customer, data=data, expected_version=payload.version
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
