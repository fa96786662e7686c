"""HTML pages of the customer archive: list, detail, create and edit, contacts, delete.

Thin views: fetch through customers.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors, form_submit
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.audit_display import ChangeRow, audit_change_rows
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.pagination import InvalidCursorError
from guanxi.core.selectors import saved_view_list
from guanxi.customers import services
from guanxi.customers.forms import (
    PHONE_SLOTS,
    BulkActionForm,
    ContactForm,
    CustomerFilterForm,
    CustomerForm,
    HandOverForm,
    PoolPolicyForm,
    ReasonForm,
    SavedViewForm,
    TransferForm,
)
from guanxi.customers.models import Contact, Customer, PoolPolicy
from guanxi.customers.permissions import (
    CustomerAlreadyClaimedError,
    contact_can_reveal,
    contact_get_for_user,
    customer_can_claim,
    customer_can_create,
    customer_can_write,
    customer_get_for_claim,
    customer_get_for_user,
    customer_manages,
    customer_require_create,
    customer_require_manage,
    pool_policy_can_edit,
)
from guanxi.customers.selectors import (
    contact_list,
    contact_personal_data,
    contact_reveals_left,
    customer_detail,
    customer_history,
    customer_list,
    customer_page,
    customer_recycle_at,
    customers_recycle_due_count,
    pool_policy_get,
    region_city_choices,
    region_district_choices,
    tag_list,
)
from guanxi.customers.services import BULK_LIMIT

PAGE_SIZE = 50
SAVED_VIEW_LIST = "customers"
LOOKUP_LIMIT = 20


def _owner_choices(actor: Any) -> Any:
    return user_visible_queryset(actor=actor).filter(is_active=True).order_by("full_name", "pk")


# --- list ---------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def customer_index(request: HttpRequest) -> HttpResponse:
    actor = request.user
    # The filter and the bulk forms both offer owners and tags: one query each.
    owners, tags = list(_owner_choices(actor)), list(tag_list())
    policy = pool_policy_get()
    filter_form = CustomerFilterForm(request.GET, owners=owners, tags=tags)
    filters = filter_form.filters()
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = customer_page(actor=actor, cursor=cursor, limit=PAGE_SIZE, **filters)
    except InvalidCursorError as error:
        page = customer_page(actor=actor, limit=PAGE_SIZE, **filters)
        cursor, cursor_error = None, error.message
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
    template = "customers/customer_list.html"
    # A history restore needs the whole page; "More" appends rows; a filter change replaces the
    # results.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows" if cursor else "#results"
    manages = customer_manages(actor)
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "filter_form": filter_form,
            "filtered": _filtered(filters),
            "query": query.urlencode(),
            "next_query": next_query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
            "can_create": customer_can_create(actor),
            "can_claim": customer_can_claim(actor),
            "tab": _tab(filters, actor),
            "saved_views": saved_view_list(actor=actor, list_name=SAVED_VIEW_LIST),
            "saved_view_form": SavedViewForm(initial={"query": query.urlencode()}),
            "bulk_form": BulkActionForm(users=owners, manages=manages, tags=tags),
            "recycle_due_count": customers_recycle_due_count(actor=actor, policy=policy),
            "pool_policy": policy,
        },
    )


def _filtered(filters: dict[str, Any]) -> bool:
    """Whether anything narrows the list (for the "none match" versus "none yet" message)."""
    return any(value not in ("", None, False) for name, value in filters.items() if name != "sort")


def _tab(filters: dict[str, Any], actor: Any) -> str:
    """Which of the list's tabs the filters amount to: mine, the pool, due for recycling."""
    if filters.get("recycle_due"):
        return "recycle_due"
    if filters.get("in_pool") is True:
        return "pool"
    if filters.get("owner") == actor.pk:
        return "mine"
    return "all"


# --- detail -------------------------------------------------------------------------------------


@login_required
@require_GET
def customer_show(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_detail(customer=customer_get_for_user(request.user, customer_id))
    reveal = _reveal_context(request.user, customer)
    contacts = _contact_rows(request, customer, reveals_left=reveal["reveals_left"])
    return TemplateResponse(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "contacts_masked": any(row["masked"] for row in contacts),
            **reveal,
            "history": _timeline(customer),
            "can_write": customer_can_write(request.user, customer),
            **_pool_context(request.user, customer),
        },
    )


# The no-JavaScript reveal: the POST logs it and redirects, and the customer page it lands on shows
# that contact in full for that one response (read once from the server-side session).
_REVEALED_SESSION_KEY = "customers:revealed_contact"


def _reveal_context(actor: Any, customer: Customer) -> dict[str, Any]:
    can_reveal = contact_can_reveal(actor, customer)
    return {
        "can_reveal": can_reveal,
        "reveals_left": contact_reveals_left(user=actor) if can_reveal else 0,
    }


def _contact_row(
    actor: Any,
    contact: Contact,
    *,
    reveals_left: int,
    personal: dict[str, Any] | None = None,
    error: ApplicationError | None = None,
) -> dict[str, Any]:
    """One contact block: personal data through the one selector (or the full data a reveal just
    returned), and whether to offer "Show"."""
    if personal is None:
        personal = contact_personal_data(actor=actor, contact=contact)
    return {
        "contact": contact,
        **personal,
        "can_reveal": personal["masked"]
        and reveals_left > 0
        and contact_can_reveal(actor, contact.customer),
        "error": error,
    }


def _contact_rows(
    request: HttpRequest, customer: Customer, *, reveals_left: int
) -> list[dict[str, Any]]:
    revealed = request.session.pop(_REVEALED_SESSION_KEY, None)
    rows = []
    contacts = contact_list(actor=request.user, customer=customer.pk).select_related("customer")
    for contact in contacts.order_by("name", "id"):
        personal = (
            contact_personal_data(actor=request.user, contact=contact, revealed=True)
            if contact.pk == revealed
            else None
        )
        rows.append(
            _contact_row(request.user, contact, reveals_left=reveals_left, personal=personal)
        )
    return rows


def _timeline(customer: Customer) -> list[tuple[Any, list[ChangeRow]]]:
    entries = customer_history(customer=customer)
    rows = audit_change_rows(entries)
    return [(entry, rows[entry.pk]) for entry in entries]


def _pool_context(actor: Any, customer: Customer) -> dict[str, Any]:
    """What the detail page offers for the pool: claim, release, transfer, and the recycle date."""
    owned = customer.owner_id is not None
    return {
        "can_claim": not owned and customer_can_claim(actor),
        "can_release": owned and customer_can_write(actor, customer),
        "can_transfer": customer_manages(actor),
        "recycle_at": customer_recycle_at(customer=customer),
    }


# --- create and edit ----------------------------------------------------------------------------


def _owners_for_form(actor: Any) -> Any:
    return _owner_choices(actor) if customer_manages(actor) else None


def _form_response(
    request: HttpRequest, form: CustomerForm, customer: Customer | None, conflict: Any = None
) -> HttpResponse:
    refreshing = "refresh_regions" in request.POST
    status = 409 if conflict else (400 if form.errors and not refreshing else 200)
    return TemplateResponse(
        request,
        "customers/customer_form.html",
        {"form": form, "customer": customer, "conflict": conflict, "refreshing": refreshing},
        status=status,
    )


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    customer_require_create(request.user)
    owners = _owners_for_form(request.user)
    initial = {
        "owner": request.user.pk,
        "kind": Customer.Kind.COMPANY,
        "source": Customer.Source.OTHER,
        "lifecycle": Customer.Lifecycle.POTENTIAL,
        "account_class": Customer.AccountClass.NONE,
    }
    form = CustomerForm(request.POST or None, owners=owners, initial=initial, actor=request.user)
    if "refresh_regions" in request.POST:
        # The no-JavaScript cascade: the same values with the new city and district choices,
        # nothing saved.
        return _form_response(request, _refreshed(request, owners=owners), None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        extra = {"owner": data["owner"]} if "owner" in form.fields else {}
        try:
            customer = services.customer_create(
                actor=request.user,
                name=data["name"],
                kind=data["kind"],
                short_name=data["short_name"],
                credit_code=data["credit_code"],
                industry=data["industry"] or None,
                region_code=data["region_code"],
                address=data["address"],
                website=data["website"],
                source=data["source"],
                source_note=data["source_note"],
                lifecycle=data["lifecycle"],
                account_class=data["account_class"],
                first_contact_date=data["first_contact_date"],
                first_needs=data["first_needs"],
                parent=data["parent"],
                tags=data["tags"],
                **extra,
            )
        except ValidationError as error:
            apply_errors(form, error, _SERVICE_FIELDS)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Customer %(name)s was created.") % {"name": customer})
            return redirect("customers:customer-detail", customer.pk)
    return _form_response(request, form, None)


def _refreshed(request: HttpRequest, **kwargs: Any) -> CustomerForm:
    """The submitted values on a fresh, unbound form: the region refresh shows no errors."""
    initial = {**request.POST.dict(), "tags": request.POST.getlist("tags")}
    return CustomerForm(initial=initial, actor=request.user, **kwargs)


# Service field names that the form spells differently.
_SERVICE_FIELDS = {"region_code": "province_code", "province": "province_code"}
_SERVICE_FIELDS |= {"city": "city_code", "district": "district_code"}


@login_required
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_detail(
        customer=customer_get_for_user(request.user, customer_id, write=True)
    )
    owners = _owners_for_form(request.user)
    form = CustomerForm(
        request.POST or None,
        initial=CustomerForm.initial_for(customer),
        customer=customer,
        owners=owners,
        editing=True,
        actor=request.user,
    )
    if "refresh_regions" in request.POST:
        refreshed = _refreshed(request, customer=customer, owners=owners, editing=True)
        return _form_response(request, refreshed, customer)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {
            name: data[name]
            for name in form.changed_data
            if name not in CustomerForm.REGION_FIELDS and name != "version"
        }
        if "industry" in changes:
            changes["industry"] = changes["industry"] or None
        if form.region_changed():
            changes["region_code"] = data["region_code"]
        try:
            services.customer_update(
                actor=request.user,
                customer=customer,
                data=changes,
                expected_version=data["version"],
            )
        except ValidationError as error:
            apply_errors(form, error, _SERVICE_FIELDS)
        except ConflictError as error:
            conflict = error.extra.get("conflicts", {})
            form.add_error(None, str(error.message))
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:customer-detail", customer.pk)
    return _form_response(request, form, customer, conflict)


@login_required
@require_POST
def customer_delete(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    try:
        services.customer_delete(actor=request.user, customer=customer)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("customers:customer-detail", customer.pk)
    messages.success(request, _("%(name)s was moved to the recycle bin.") % {"name": customer})
    return redirect("customers:customer-list")


@login_required
@require_GET
def region_options(request: HttpRequest) -> HttpResponse:
    """The <option>s of the city select (from ``province_code``) or, with ``city_code``, of the
    district select, for the HTMX cascade of the customer form. A province change also empties
    the district select (out of band) and offers the districts directly under the province."""
    province = request.GET.get("province_code", "").strip()[:6]
    city = request.GET.get("city_code", "").strip()[:6]
    if "city_code" in request.GET:
        return TemplateResponse(
            request,
            "customers/customer_form.html#region-options",
            {"regions": region_district_choices(province_code=province, city_code=city)},
        )
    return TemplateResponse(
        request,
        "customers/customer_form.html#region-options",
        {
            "regions": region_city_choices(province_code=province),
            "districts": region_district_choices(province_code=province, city_code=""),
            "out_of_band": True,
        },
    )


# --- contacts -----------------------------------------------------------------------------------


def _contact_form_response(
    request: HttpRequest,
    form: ContactForm,
    customer: Customer,
    contact: Contact | None,
    conflict: Any = None,
) -> HttpResponse:
    return TemplateResponse(
        request,
        "customers/contact_form.html",
        {
            "form": form,
            "customer": customer,
            "contact": contact,
            "conflict": conflict,
            "phone_slots": [
                (form[f"phone_{slot}"], form[f"phone_{slot}_label"])
                for slot in range(1, PHONE_SLOTS + 1)
            ],
        },
        status=409 if conflict else (400 if form.errors else 200),
    )


def _apply_contact_errors(form: ContactForm, error: ValidationError) -> None:
    slots = form.phones()[1]
    field_map = {f"phones.{index}": name for index, name in slots.items()}
    field_map["phones"] = "phone_1"
    apply_errors(form, error, field_map)


@login_required
def contact_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    form = ContactForm(
        request.POST or None,
        initial={"decision_role": Contact.DecisionRole.OTHER, "phone_1_label": "mobile"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                actor=request.user, customer=customer, **form.service_data()
            )
        except ValidationError as error:
            _apply_contact_errors(form, error)
        else:
            messages.success(request, _("Contact %(name)s was added.") % {"name": contact})
            return redirect("customers:customer-detail", customer.pk)
    return _contact_form_response(request, form, customer, None)


@login_required
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_get_for_user(request.user, contact_id, write=True)
    if request.method != "POST":
        try:
            # The form shows the real values, so opening it on someone else's customer is a
            # reveal: same permission, limit and audit entry (the owner's is free).
            services.contact_reveal(actor=request.user, contact=contact, for_edit=True)
        except ApplicationError as error:
            return TemplateResponse(
                request,
                "customers/contact_form.html",
                {"customer": contact.customer, "contact": contact, "refused": error},
                status=error.status_code,
            )
    form = ContactForm(request.POST or None, initial=ContactForm.initial_for(contact), editing=True)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        changed = set(form.changed_data)
        changes = {name: value for name, value in data.items() if name in changed}
        if any(name.startswith("phone_") for name in changed):
            # Numbers beyond the three inputs (filed through the API) are kept as they were.
            changes["phones"] = data["phones"] + list(contact.phones[PHONE_SLOTS:])
        try:
            services.contact_update(
                actor=request.user,
                contact=contact,
                data=changes,
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            _apply_contact_errors(form, error)
        except ConflictError as error:
            conflict = error.extra.get("conflicts", {})
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:customer-detail", contact.customer_id)
    return _contact_form_response(request, form, contact.customer, contact, conflict)


@login_required
@require_POST
def contact_reveal(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Show one contact's phones, e-mail and WeChat ID in full (services.contact_reveal checks the
    permission, the pool and the daily limit, and logs it). HTMX swaps in the contact's block;
    without JavaScript the customer page shows the contact in full once, after a redirect."""
    contact = contact_get_for_user(request.user, contact_id)
    if not request.htmx:
        # A refusal escapes to ApplicationErrorMiddleware: its page and status (403, 409, 429).
        services.contact_reveal(actor=request.user, contact=contact)
        request.session[_REVEALED_SESSION_KEY] = contact.pk
        url = reverse("customers:customer-detail", args=[contact.customer_id])
        return redirect(f"{url}#contact-{contact.pk}")
    personal, refusal = None, None
    try:
        personal = services.contact_reveal(actor=request.user, contact=contact)
    except ApplicationError as error:
        # htmx swaps only 2xx answers: a refusal comes back as the block, with the reason in it.
        refusal = error
    customer = contact.customer
    reveal = _reveal_context(request.user, customer)
    row = _contact_row(
        request.user,
        contact,
        reveals_left=reveal["reveals_left"],
        personal=personal,
        error=refusal,
    )
    return TemplateResponse(
        request,
        "customers/customer_detail.html#contact",
        {
            "row": row,
            "customer": customer,
            "can_write": customer_can_write(request.user, customer),
            "reveals_left_oob": reveal["can_reveal"],
            **reveal,
        },
    )


@login_required
@require_POST
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_get_for_user(request.user, contact_id, write=True)
    try:
        services.contact_delete(actor=request.user, contact=contact)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("%(name)s was moved to the recycle bin.") % {"name": contact})
    return redirect("customers:customer-detail", contact.customer_id)


# --- the pool: claim, release, transfer, hand-over, policy --------------------------------------


def _back_to_list(query: str = "") -> HttpResponse:
    """The list again, with the filters it had (a query string only: never another site)."""
    cleaned = QueryDict(query or "").copy()
    cleaned.pop("cursor", None)
    url = reverse("customers:customer-list")
    return redirect(f"{url}?{cleaned.urlencode()}" if cleaned else url)


@login_required
@require_POST
def customer_claim(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_get_for_claim(request.user, customer_id)
        customer = services.customer_claim(actor=request.user, customer=customer)
    except (NotFoundError, PermissionDeniedError):
        raise
    except CustomerAlreadyClaimedError as error:
        # Someone else's now, and perhaps outside this user's scope: back to the pool.
        messages.error(request, str(error.message))
        return _back_to_list(request.POST.get("next", "") or "in_pool=1")
    except ApplicationError as error:
        messages.error(request, str(error.message))
        if request.POST.get("from") == "list":
            return _back_to_list(request.POST.get("next", ""))
        return redirect("customers:customer-detail", customer_id)
    messages.success(request, _("%(name)s is now yours.") % {"name": customer})
    if request.POST.get("from") == "list":
        return _back_to_list(request.POST.get("next", ""))
    return redirect("customers:customer-detail", customer.pk)


def _move_response(
    request: HttpRequest, template: str, form: Any, customer: Customer | None
) -> HttpResponse:
    return TemplateResponse(
        request,
        template,
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


@login_required
def customer_release(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    form = ReasonForm(request.POST or None)
    if customer.owner_id is None:
        messages.info(request, _("This customer is already in the pool."))
        return redirect("customers:customer-detail", customer.pk)
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.customer_release(
                actor=request.user, customer=customer, reason=form.cleaned_data["reason"]
            ),
        )
        if saved:
            messages.success(request, _("%(name)s went back to the pool.") % {"name": customer})
            return redirect("customers:customer-detail", customer.pk)
    return _move_response(request, "customers/customer_release.html", form, customer)


@login_required
def customer_transfer(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer_require_manage(request.user)
    customer = customer_get_for_user(request.user, customer_id, write=True)
    form = TransferForm(request.POST or None, users=_owner_choices(request.user))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.customer_transfer(
                actor=request.user,
                customer=customer,
                to_user=form.cleaned_data["to_user"],
                reason=form.cleaned_data["reason"],
            ),
        )
        if saved:
            customer.refresh_from_db()
            messages.success(
                request,
                _("%(name)s now belongs to %(owner)s.")
                % {"name": customer, "owner": customer.owner.get_full_name()},
            )
            return redirect("customers:customer-detail", customer.pk)
    return _move_response(request, "customers/customer_transfer.html", form, customer)


@login_required
def customers_hand_over(request: HttpRequest) -> HttpResponse:
    customer_require_manage(request.user)
    users = user_visible_queryset(actor=request.user).order_by("-is_active", "full_name", "pk")
    form = HandOverForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        moved: list[int] = []
        saved, _conflict = form_submit(
            form,
            lambda: moved.append(
                services.customers_hand_over(
                    actor=request.user,
                    from_user=data["from_user"],
                    to_user=data["to_user"],
                    reason=data["reason"],
                )
            ),
        )
        if saved:
            count = moved[0]
            messages.success(
                request,
                ngettext(
                    "%(count)s customer was handed over.",
                    "%(count)s customers were handed over.",
                    count,
                )
                % {"count": count},
            )
            return redirect("customers:customer-list")
    return _move_response(request, "customers/customer_hand_over.html", form, None)


@login_required
def pool_policy_edit(request: HttpRequest) -> HttpResponse:
    """The pool's rules: everyone may read them, administrators change them."""
    policy = pool_policy_get()
    can_edit = pool_policy_can_edit(request.user)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    initial = {name: getattr(policy, name) for name in PoolPolicy.audit_fields}
    form = PoolPolicyForm(
        request.POST or None, initial={**initial, "version": policy.version}, editing=True
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        saved, conflict = form_submit(
            form,
            lambda: services.pool_policy_update(
                actor=request.user, data=data, expected_version=version
            ),
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("customers:pool-policy")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return TemplateResponse(
        request,
        "customers/pool_policy.html",
        {"form": form, "can_edit": can_edit, "policy": policy, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


# --- bulk actions -------------------------------------------------------------------------------


@login_required
@require_POST
def customers_bulk(request: HttpRequest) -> HttpResponse:
    """Ticked rows → a confirmation page that lists them → (with ``confirm``) the action, all or
    nothing. Errors come back on the confirmation page and nothing changes."""
    actor = request.user
    manages = customer_manages(actor)
    form = BulkActionForm(request.POST, users=_owner_choices(actor), manages=manages)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    chosen = customer_list(actor=actor).filter(pk__in=(data.get("ids") or [])[:BULK_LIMIT])
    if valid and "confirm" in request.POST:
        try:
            count = _bulk_run(actor, data)
        except ValidationError as error:
            apply_errors(form, error)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _bulk_done_message(data["action"], count))
            return _back_to_list(data.get("next", ""))
    elif valid and not data.get("ids"):
        form.add_error(None, _("Tick at least one customer in the list first."))
    return TemplateResponse(
        request,
        "customers/customer_bulk.html",
        {
            "form": form,
            "customers": chosen.select_related("owner").order_by("name", "pk"),
            "action_label": dict(BulkActionForm.Action.choices).get(data.get("action", ""), ""),
        },
        status=400 if form.errors else 200,
    )


def _bulk_run(actor: Any, data: dict[str, Any]) -> int:
    action = data["action"]
    if action in (BulkActionForm.Action.TAG_ADD, BulkActionForm.Action.TAG_REMOVE):
        return services.customers_bulk_tag(
            actor=actor,
            ids=data["ids"],
            tag=data.get("tag"),
            add=action == BulkActionForm.Action.TAG_ADD,
        )
    if action == BulkActionForm.Action.TRANSFER:
        return services.customers_bulk_transfer(
            actor=actor, ids=data["ids"], to_user=data.get("to_user"), reason=data["reason"]
        )
    return services.customers_bulk_release(actor=actor, ids=data["ids"], reason=data["reason"])


def _bulk_done_message(action: str, count: int) -> str:
    if action == BulkActionForm.Action.TRANSFER:
        text = ngettext(
            "%(count)s customer was transferred.", "%(count)s customers were transferred.", count
        )
    elif action == BulkActionForm.Action.RELEASE:
        text = ngettext(
            "%(count)s customer went back to the pool.",
            "%(count)s customers went back to the pool.",
            count,
        )
    else:
        text = ngettext(
            "The tags of %(count)s customer changed.",
            "The tags of %(count)s customers changed.",
            count,
        )
    return text % {"count": count}


# --- lookup -------------------------------------------------------------------------------------


@login_required
@require_GET
def customer_lookup(request: HttpRequest) -> JsonResponse:
    """Up to 20 customers the user can see matching ``q`` (the list's search), as JSON for the
    parent-company picker. The data scope applies as everywhere; nothing but id and name."""
    query = request.GET.get("q", "").strip()[:100]
    if not query:
        return JsonResponse({"results": []})
    rows = customer_list(actor=request.user, query=query).order_by("name", "pk")[:LOOKUP_LIMIT]
    return JsonResponse(
        {"results": [{"id": pk, "name": name} for pk, name in rows.values_list("pk", "name")]}
    )
