"""HTML pages of the customer archive: list, detail, create and edit, contacts, delete.

Thin views: fetch through customers.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, TooManyFieldsSent, ValidationError
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
from guanxi.core.audit_display import audit_change_rows
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
    NeedCategoryForm,
    NeedFilterForm,
    NeedForm,
    NeedNoteForm,
    NeedStatusForm,
    PoolPolicyForm,
    ReasonForm,
    SavedViewForm,
    TransferForm,
)
from guanxi.customers.history_views import history_detail_context
from guanxi.customers.merge.selectors import customer_merged_pointer, customer_merges_of
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Contact, Customer, Need, PoolPolicy
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
    need_can_write,
    need_category_can_edit,
    need_category_get_for_user,
    need_category_require_edit,
    need_get_for_user,
    pool_policy_can_edit,
)
from guanxi.customers.selectors import (
    DUPLICATE_SCAN_GROUPS,
    contact_list,
    contact_personal_data,
    contact_reveals_left,
    contact_shown_in_full,
    customer_detail,
    customer_duplicate_groups,
    customer_list,
    customer_page,
    customer_recycle_at,
    customer_visible_queryset,
    customers_recycle_due_count,
    need_category_list,
    need_customer_needs,
    need_detail,
    need_history,
    need_page,
    need_unmet_summary,
    pool_policy_get,
    region_city_choices,
    region_district_choices,
    tag_list,
)
from guanxi.customers.services import BULK_LIMIT, CustomerDuplicateSuspectedError
from guanxi.customers.timeline import customer_page_sections, customer_timeline

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
    # --- history library: churned or stopped customers, asked for by the tab or the lifecycle.
    if filters.get("archived") or filters.get("lifecycle") in ARCHIVED_LIFECYCLES:
        return "history"
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
    try:
        found = customer_get_for_user(request.user, customer_id)
    except NotFoundError:
        # --- merge: the page of a merged customer leads to the one it was merged into.
        survivor = customer_merged_pointer(actor=request.user, customer_id=customer_id)
        if survivor is None:
            raise
        messages.info(
            request,
            _("The customer you opened was merged into %(name)s.") % {"name": survivor.name},
        )
        return redirect("customers:customer-detail", survivor.pk)
    customer = customer_detail(customer=found)
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
            **_timeline(request.user, customer),
            "can_write": customer_can_write(request.user, customer),
            **_pool_context(request.user, customer),
            **_need_customer_context(request.user, customer),
            **_merge_context(request.user, customer),
            **history_detail_context(request.user, customer),  # --- history library
            # Cards and buttons other apps add (customers.timeline), e.g. follow-ups.
            "page_sections": customer_page_sections(actor=request.user, customer=customer),
        },
    )


def _merge_context(actor: Any, customer: Customer) -> dict[str, Any]:
    """--- merge: "Merge…" for managers, and the merges into this customer with their undo."""
    return {
        "can_merge": customer_manages(actor) and customer_can_write(actor, customer),
        "customer_merges": customer_merges_of(customer=customer),
    }


# Reveals that cross a redirect: the POST logs the reveal, and the page it redirects to shows the
# contact in full. The grant waits in the server-side session ({contact pk: when}), is honoured
# for a short while only and is checked again, so a forgotten one cannot show a contact after the
# customer went to the pool or the role lost the permission. "show" is the no-JavaScript "Show"
# (used once); "edit" lets the edit form show the real values for a while.
_REVEAL_GRANTS = {"show": ("customers:reveal_show", 60), "edit": ("customers:reveal_edit", 15 * 60)}


def _reveal_grant(request: HttpRequest, kind: str, contact: Contact) -> None:
    key, _seconds = _REVEAL_GRANTS[kind]
    grants = dict(request.session.get(key) or {})
    grants[str(contact.pk)] = time.time()
    request.session[key] = grants


def _reveal_granted(request: HttpRequest, kind: str, contact: Contact, *, use: bool) -> bool:
    key, seconds = _REVEAL_GRANTS[kind]
    grants = dict(request.session.get(key) or {})
    when = grants.pop(str(contact.pk), None) if use else grants.get(str(contact.pk))
    if use:
        request.session[key] = grants
    fresh = isinstance(when, int | float) and 0 <= time.time() - when < seconds
    return fresh and contact_can_reveal(request.user, contact.customer)


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
    rows = []
    contacts = contact_list(actor=request.user, customer=customer.pk).select_related("customer")
    for contact in contacts.order_by("name", "id"):
        personal = (
            contact_personal_data(actor=request.user, contact=contact, revealed=True)
            if _reveal_granted(request, "show", contact, use=True)
            else None
        )
        rows.append(
            _contact_row(request.user, contact, reveals_left=reveals_left, personal=personal)
        )
    return rows


def _timeline(actor: Any, customer: Customer) -> dict[str, Any]:
    """The timeline of every registered source (customers.timeline: the change history,
    interactions, tasks…), and its change history alone as (entry, rows) pairs."""
    items = customer_timeline(actor=actor, customer=customer)
    return {
        "timeline": items,
        "history": [
            (item.context["entry"], item.context["rows"])
            for item in items
            if item.source == "customers.audit"
        ],
    }


def _pool_context(actor: Any, customer: Customer) -> dict[str, Any]:
    """What the detail page offers for the pool: claim, release, transfer, and the recycle date."""
    owned = customer.owner_id is not None
    active = customer.archived_at is None  # --- history library: out of the pool's moves
    return {
        "can_claim": not owned and active and customer_can_claim(actor),
        "can_release": owned and active and customer_can_write(actor, customer),
        "can_transfer": customer_manages(actor),
        "recycle_at": customer_recycle_at(customer=customer),
    }


# --- create and edit ----------------------------------------------------------------------------


def _owners_for_form(actor: Any) -> Any:
    return _owner_choices(actor) if customer_manages(actor) else None


def _form_response(
    request: HttpRequest,
    form: CustomerForm,
    customer: Customer | None,
    conflict: Any = None,
    duplicates: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    refreshing = "refresh_regions" in request.POST
    status = 409 if conflict or duplicates else (400 if form.errors and not refreshing else 200)
    return TemplateResponse(
        request,
        "customers/customer_form.html",
        {
            "form": form,
            "customer": customer,
            "conflict": conflict,
            "refreshing": refreshing,
            "duplicates": duplicates,
        },
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
                allow_duplicates=data["allow_duplicates"],
                churn_reason=data["churn_reason"] or None,  # --- history library
                churn_note=data["churn_note"],
                **extra,
            )
        except ValidationError as error:
            apply_errors(form, error, _SERVICE_FIELDS)
        except CustomerDuplicateSuspectedError as error:
            return _form_response(request, form, None, duplicates=error.extra["matches"])
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
            if name not in CustomerForm.REGION_FIELDS
            and name not in CustomerForm.NOT_CUSTOMER_FIELDS
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
                allow_duplicates=data["allow_duplicates"],
            )
        except ValidationError as error:
            apply_errors(form, error, _SERVICE_FIELDS)
        except CustomerDuplicateSuspectedError as error:
            return _form_response(request, form, customer, duplicates=error.extra["matches"])
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
    # The form shows the real values, so on someone else's customer it needs a reveal: same
    # permission, limit and audit entry as "Show". Asked for by a POST, never by opening the page
    # (a GET, a prefetch or a link from elsewhere must not log reveals in the user's name).
    if request.method == "POST" and "reveal" in request.POST:
        try:
            services.contact_reveal(actor=request.user, contact=contact, for_edit=True)
        except ApplicationError as error:
            return _contact_reveal_page(request, contact, refused=error)
        _reveal_grant(request, "edit", contact)
        return redirect("customers:contact-edit", contact.pk)
    if request.method != "POST" and not (
        contact_shown_in_full(actor=request.user, customer=contact.customer)
        or _reveal_granted(request, "edit", contact, use=False)
    ):
        return _contact_reveal_page(request, contact)
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


def _contact_reveal_page(
    request: HttpRequest, contact: Contact, refused: ApplicationError | None = None
) -> HttpResponse:
    """Before the edit form of someone else's contact: ask for the reveal, or say why not."""
    return TemplateResponse(
        request,
        "customers/contact_form.html",
        {
            "customer": contact.customer,
            "contact": contact,
            "refused": refused,
            "needs_reveal": refused is None,
            "can_reveal": contact_can_reveal(request.user, contact.customer),
        },
        status=refused.status_code if refused else 200,
    )


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
        _reveal_grant(request, "show", contact)
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
    """The list again, with the filters it had (a query string only: never another site). Runs
    after the action went through, so a mangled ``next`` falls back to the plain list rather
    than failing."""
    try:
        cleaned = QueryDict(query or "").copy()
    except TooManyFieldsSent:
        cleaned = QueryDict(mutable=True)
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
    ids = [pk for pk in (data.get("ids") or [])[:BULK_LIMIT] if 0 < pk < 2**63]
    # What the services act on: every customer in the scope, the history library's too.
    chosen = customer_visible_queryset(actor=actor).filter(pk__in=ids)
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


# --- duplicates ---------------------------------------------------------------------------------


def _duplicate_tabs() -> list[tuple[str, str]]:
    return [
        ("name", _("Same name")),
        ("credit_code", _("Same credit code")),
        ("phone", _("Shared phone number")),
    ]


@login_required
@require_GET
def customer_duplicates_scan(request: HttpRequest) -> HttpResponse:
    """Groups of likely duplicates among the customers in a manager's or administrator's data
    scope, one kind per tab (``by``: name, credit_code, phone), largest first; each customer
    links to its page."""
    customer_require_manage(request.user)
    scan = customer_duplicate_groups(actor=request.user, reason=request.GET.get("by", "name"))
    return TemplateResponse(
        request,
        "customers/customer_duplicates.html",
        {"scan": scan, "tabs": _duplicate_tabs(), "limit": DUPLICATE_SCAN_GROUPS},
    )


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


# --- needs (C2) ---------------------------------------------------------------------------------

NEEDS_PAGE_SIZE = 50


def _need_customer_context(actor: Any, customer: Customer) -> dict[str, Any]:
    """The Needs card of the customer page: open needs (urgent first) and the closed count."""
    return {"customer_needs": need_customer_needs(actor=actor, customer=customer)}


@login_required
@require_GET
@vary_on_headers("HX-Request")
def need_index(request: HttpRequest) -> HttpResponse:
    """Every need the user may see, across customers: the unmet ones counted per category on
    top, the filtered list below, a keyset page at a time."""
    actor = request.user
    users = list(_owner_choices(actor))
    categories = list(need_category_list(include_inactive=True))
    filter_form = NeedFilterForm(request.GET, categories=categories, users=users)
    filters = filter_form.filters()
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = need_page(actor=actor, cursor=cursor, limit=NEEDS_PAGE_SIZE, **filters)
    except InvalidCursorError as error:
        page = need_page(actor=actor, limit=NEEDS_PAGE_SIZE, **filters)
        cursor, cursor_error = None, error.message
    query = request.GET.copy()
    for name in ("cursor", "after_category"):
        query.pop(name, None)
    next_query = query.copy()
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
        # The next page's first row may continue the last category: no second heading for it.
        next_query["after_category"] = page.items[-1].category_id
    template = "customers/need_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows" if cursor else "#results"
    scope = {name: filters[name] for name in ("customer", "priority", "owner", "plan_owner")}
    customer = (
        # The history library's customers keep their needs too.
        customer_visible_queryset(actor=actor).filter(pk=filters["customer"]).first()
        if filters["customer"]
        else None
    )
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "filter_form": filter_form,
            "grouped": filters["sort"] == "category",
            "after_category": _int_or_none(request.GET.get("after_category")) if cursor else None,
            "summary": need_unmet_summary(actor=actor, **scope),
            "summary_query": _query_without(query, ("category", "fit_status", "status")),
            "query": query.urlencode(),
            "next_query": next_query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
            "filter_customer": customer,
        },
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _query_without(query: QueryDict, names: tuple[str, ...]) -> str:
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def _need_form_response(
    request: HttpRequest,
    form: NeedForm,
    customer: Customer,
    need: Need | None,
    conflict: Any = None,
) -> HttpResponse:
    return TemplateResponse(
        request,
        "customers/need_form.html",
        {"form": form, "customer": customer, "need": need, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )


@login_required
def need_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    form = NeedForm(
        request.POST or None,
        categories=need_category_list(),
        users=_owner_choices(request.user),
        initial={
            "priority": Need.Priority.MEDIUM,
            "fit_status": Need.FitStatus.NOT_ASSESSED,
            "source": Need.Source.SALES_MEETING,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            need = services.need_create(
                actor=request.user,
                customer=customer,
                note=form.cleaned_data["note"],
                **form.service_data(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Need “%(title)s” was added.") % {"title": need.title})
            return redirect(reverse("customers:customer-detail", args=[customer.pk]) + "#needs")
    return _need_form_response(request, form, customer, None)


@login_required
@require_GET
def need_show(request: HttpRequest, need_id: int) -> HttpResponse:
    need = need_detail(need=need_get_for_user(request.user, need_id))
    return _need_detail_response(request, need)


def _need_detail_response(
    request: HttpRequest, need: Need, *, note_form: NeedNoteForm | None = None
) -> HttpResponse:
    history = need_history(need=need)
    entries = [item.entry for item in history if item.entry is not None]
    rows = audit_change_rows(entries, viewer=request.user)
    return TemplateResponse(
        request,
        "customers/need_detail.html",
        {
            "need": need,
            "customer": need.customer,
            "history": [
                (item, rows.get(item.entry.pk, []) if item.entry else []) for item in history
            ],
            "can_write": need_can_write(request.user, need),
            "note_form": note_form or NeedNoteForm(),
            "status_form": NeedStatusForm(initial={"version": need.version}, editing=True),
        },
        status=400 if note_form is not None and note_form.errors else 200,
    )


@login_required
def need_edit(request: HttpRequest, need_id: int) -> HttpResponse:
    need = need_detail(need=need_get_for_user(request.user, need_id, write=True))
    form = NeedForm(
        request.POST or None,
        initial=NeedForm.initial_for(need),
        categories=need_category_list(),
        users=_owner_choices(request.user),
        need=need,
        editing=True,
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        changes = {name: data[name] for name in form.changed_data if name in data}
        try:
            services.need_update(
                actor=request.user,
                need=need,
                data=changes,
                expected_version=form.cleaned_data["version"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except ConflictError as error:
            conflict = error.extra.get("conflicts", {})
            form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:need-detail", need.pk)
    return _need_form_response(request, form, need.customer, need, conflict)


def _need_status_change(request: HttpRequest, need_id: int, *, close: bool) -> HttpResponse:
    """Close or reopen from the need's page or from the customer page's Needs card. HTMX (the
    card) swaps in the need's row, with the refusal in it if there is one; without JavaScript
    the page it came from comes back with a message."""
    need = need_get_for_user(request.user, need_id, write=True)
    form = NeedStatusForm(request.POST, editing=True)
    service = services.need_close if close else services.need_reopen
    error_message = None
    if not form.is_valid():
        error_message = " ".join(str(m) for messages_ in form.errors.values() for m in messages_)
    else:
        try:
            need = service(
                actor=request.user,
                need=need,
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            error_message = " ".join(error.messages)
        except ApplicationError as error:
            error_message = str(error.message)
    if request.htmx:
        need = need_detail(need=need)
        return TemplateResponse(
            request,
            "customers/partials/need_card.html#need-row",
            {"need": need, "customer": need.customer, "can_write": True, "error": error_message},
        )
    if error_message:
        messages.error(request, error_message)
    elif close:
        messages.success(request, _("The need was closed."))
    else:
        messages.success(request, _("The need was reopened."))
    if request.POST.get("from") == "customer":
        url = reverse("customers:customer-detail", args=[need.customer_id])
        return redirect(f"{url}#need-{need.pk}")
    return redirect("customers:need-detail", need.pk)


@login_required
@require_POST
def need_close(request: HttpRequest, need_id: int) -> HttpResponse:
    return _need_status_change(request, need_id, close=True)


@login_required
@require_POST
def need_reopen(request: HttpRequest, need_id: int) -> HttpResponse:
    return _need_status_change(request, need_id, close=False)


@login_required
@require_POST
def need_delete(request: HttpRequest, need_id: int) -> HttpResponse:
    need = need_get_for_user(request.user, need_id, write=True)
    try:
        services.need_delete(actor=request.user, need=need)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("customers:need-detail", need.pk)
    messages.success(request, _("%(name)s was moved to the recycle bin.") % {"name": need})
    return redirect(reverse("customers:customer-detail", args=[need.customer_id]) + "#needs")


@login_required
@require_POST
def need_note_create(request: HttpRequest, need_id: int) -> HttpResponse:
    need = need_get_for_user(request.user, need_id, write=True)
    form = NeedNoteForm(request.POST)
    if form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.need_note_create(
                actor=request.user, need=need, text=form.cleaned_data["text"]
            ),
        )
        if saved:
            messages.success(request, _("The update was added to the need's history."))
            return redirect(reverse("customers:need-detail", args=[need.pk]) + "#history")
    return _need_detail_response(request, need_detail(need=need), note_form=form)


@login_required
def need_category_index(request: HttpRequest) -> HttpResponse:
    """The need categories: everyone may read the list, administrators add to it."""
    can_edit = need_category_can_edit(request.user)
    form = None
    if can_edit:
        form = NeedCategoryForm(request.POST or None, initial={"sort_order": 0, "is_active": True})
    if request.method == "POST":
        need_category_require_edit(request.user)
        if form is not None and form.is_valid():
            data = form.cleaned_data
            saved, _conflict = form_submit(
                form,
                lambda: services.need_category_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    sort_order=data["sort_order"],
                    is_active=data["is_active"],
                ),
            )
            if saved:
                messages.success(
                    request, _("Category %(name)s was added.") % {"name": data["name"]}
                )
                return redirect("customers:need-category-list")
    return TemplateResponse(
        request,
        "customers/need_category_list.html",
        {
            "categories": need_category_list(include_inactive=True),
            "form": form,
            "can_edit": can_edit,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def need_category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = need_category_get_for_user(request.user, category_id, write=True)
    form = NeedCategoryForm(
        request.POST or None,
        initial={
            "name": category.name,
            "sort_order": category.sort_order,
            "is_active": category.is_active,
            "version": category.version,
        },
        editing=True,
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        changes = {name: data[name] for name in form.changed_data if name in data}
        saved, conflict = form_submit(
            form,
            lambda: services.need_category_update(
                actor=request.user, category=category, data=changes, expected_version=version
            ),
        )
        if saved:
            messages.success(request, _("Saved."))
            return redirect("customers:need-category-list")
    return TemplateResponse(
        request,
        "customers/need_category_form.html",
        {"form": form, "category": category, "conflict": conflict},
        status=409 if conflict else (400 if form.errors else 200),
    )
