"""HTML pages of the customer archive: list, detail, create and edit, contacts, delete.

Thin views: fetch through customers.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.exceptions import ApplicationError, ConflictError
from guanxi.core.pagination import InvalidCursorError
from guanxi.customers import services
from guanxi.customers.forms import PHONE_SLOTS, ContactForm, CustomerFilterForm, CustomerForm
from guanxi.customers.models import Contact, Customer
from guanxi.customers.permissions import (
    contact_get_for_user,
    contact_reveals,
    customer_can_create,
    customer_can_write,
    customer_get_for_user,
    customer_manages,
    customer_require_create,
)
from guanxi.customers.selectors import (
    contact_list,
    contact_personal_data,
    customer_detail,
    customer_history,
    customer_page,
    region_city_choices,
    region_district_choices,
)

PAGE_SIZE = 50


def _owner_choices(actor: Any) -> Any:
    return user_visible_queryset(actor=actor).filter(is_active=True).order_by("full_name", "pk")


# --- list ---------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def customer_index(request: HttpRequest) -> HttpResponse:
    filter_form = CustomerFilterForm(request.GET, owners=_owner_choices(request.user))
    filters = filter_form.filters()
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = customer_page(actor=request.user, cursor=cursor, limit=PAGE_SIZE, **filters)
    except InvalidCursorError as error:
        page = customer_page(actor=request.user, limit=PAGE_SIZE, **filters)
        cursor, cursor_error = None, error.message
    next_query = request.GET.copy()
    next_query.pop("cursor", None)
    if page.next_cursor:
        next_query["cursor"] = page.next_cursor
    template = "customers/customer_list.html"
    # A history restore needs the whole page; "More" appends rows; a filter change replaces the
    # results.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows" if cursor else "#results"
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "filter_form": filter_form,
            "filtered": any(value not in ("", None) for value in filters.values()),
            "next_query": next_query.urlencode() if page.next_cursor else "",
            "cursor_error": cursor_error,
            "can_create": customer_can_create(request.user),
        },
    )


# --- detail -------------------------------------------------------------------------------------


@login_required
@require_GET
def customer_show(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_detail(customer=customer_get_for_user(request.user, customer_id))
    reveal = contact_reveals(request.user, customer)
    contacts = [
        {"contact": contact, **contact_personal_data(contact=contact, reveal=reveal)}
        for contact in contact_list(actor=request.user, customer=customer.pk).order_by("name", "id")
    ]
    return TemplateResponse(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "history": customer_history(customer=customer),
            "can_write": customer_can_write(request.user, customer),
        },
    )


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
    form = CustomerForm(request.POST or None, owners=owners, initial=initial)
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
    return CustomerForm(initial=initial, **kwargs)


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
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_get_for_user(request.user, contact_id, write=True)
    try:
        services.contact_delete(actor=request.user, contact=contact)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("%(name)s was moved to the recycle bin.") % {"name": contact})
    return redirect("customers:customer-detail", contact.customer_id)
