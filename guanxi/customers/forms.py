"""Forms parse and shape input for the customer pages; the rules live in services and come back
as field errors (accounts.forms.apply_errors)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.forms import VersionedForm
from guanxi.core.quarters import quarter_clean, quarter_of
from guanxi.customers import services
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Contact, Customer, Need, NeedCategory
from guanxi.customers.selectors import (
    churn_reason_list,
    customer_visible_queryset,
    industry_list,
    region_city_choices,
    region_district_choices,
    region_province_choices,
    tag_list,
)

PHONE_SLOTS = 3
_BLANK = ("", "—")


# The orderings of selectors.CUSTOMER_SORTS, as people name them.
SORT_CHOICES = [
    ("-updated_at", _("Recently updated")),
    ("updated_at", _("Least recently updated")),
    ("-created_at", _("Newest")),
    ("created_at", _("Oldest")),
    ("name", _("Name A–Z")),
    ("-name", _("Name Z–A")),
]


class CustomerFilterForm(forms.Form):
    """The list's GET parameters. A value that does not parse is ignored, never an error page:
    these come from links people bookmark and share."""

    q = forms.CharField(required=False, max_length=100)
    lifecycle = forms.ChoiceField(
        required=False, choices=[("", _("All lifecycles")), *Customer.Lifecycle.choices]
    )
    account_class = forms.ChoiceField(
        required=False, choices=[("", _("All account classes")), *Customer.AccountClass.choices]
    )
    industry = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    tag = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(
        required=False, choices=[("", _("All sources")), *Customer.Source.choices]
    )
    in_pool = forms.ChoiceField(
        required=False,
        choices=[("", _("Pool and owned")), ("1", _("Pool only")), ("0", _("Owned only"))],
    )
    recycle_due = forms.BooleanField(required=False)
    # --- history library: its tab (churned and stopped customers, out of every other list).
    archived = forms.BooleanField(required=False)
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, owners: Any = (), tags: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["industry"].choices = [
            ("", _("All industries")),
            *((i.code, i.name) for i in industry_list()),
        ]
        self.fields["region"].choices = [
            ("", _("All regions")),
            *((r.code, r.name) for r in region_province_choices()),
        ]
        tags = tag_list() if tags is None else tags
        self.fields["tag"].choices = [("", _("All tags")), *((t.pk, t.name) for t in tags)]
        self.fields["owner"].choices = [
            ("", _("All owners")),
            *((u.pk, u.get_full_name()) for u in owners),
        ]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for selectors.customer_page, leaving out whatever did not parse."""
        self.is_valid()
        data = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        in_pool = {"1": True, "0": False}.get(data.get("in_pool") or "")
        return {
            "query": (data.get("q") or "").strip(),
            "lifecycle": data.get("lifecycle") or "",
            "account_class": data.get("account_class") or "",
            "industry": data.get("industry") or "",
            "region": data.get("region") or "",
            "tag": data.get("tag"),
            "owner": data.get("owner"),
            "source": data.get("source") or "",
            "in_pool": in_pool,
            "recycle_due": bool(data.get("recycle_due")),
            "archived": True if data.get("archived") else None,
            "sort": data.get("sort") or "-updated_at",
        }


class CustomerForm(VersionedForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=100, required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=40,
        required=False,
        help_text=_("18 characters; checked with its check digit."),
    )
    # Plain selects whose values the service checks: an industry or region that is no longer
    # offered may still be kept by a customer that has it.
    industry = forms.CharField(label=_("Industry"), required=False, widget=forms.Select)
    province_code = forms.CharField(label=_("Province"), required=False, widget=forms.Select)
    city_code = forms.CharField(label=_("City"), required=False, widget=forms.Select)
    district_code = forms.CharField(
        label=_("District or county"), required=False, widget=forms.Select
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    website = forms.URLField(
        label=_("Website"), max_length=255, required=False, assume_scheme="https"
    )
    source = forms.ChoiceField(label=_("Source"), choices=Customer.Source.choices)
    source_note = forms.CharField(label=_("Source note"), max_length=255, required=False)
    lifecycle = forms.ChoiceField(label=_("Lifecycle"), choices=Customer.Lifecycle.choices)
    account_class = forms.ChoiceField(
        label=_("Key-account class"), choices=Customer.AccountClass.choices
    )
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    first_contact_date = forms.DateField(
        label=_("First contact date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    first_needs = forms.CharField(
        label=_("First needs"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.TypedMultipleChoiceField(
        label=_("Tags"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(
            attrs={"size": 6, "data-tom-select": "", "data-no-results": _("No matches")}
        ),
    )
    # Any customer the user can see may be the parent: a million of them are no select's
    # options, so the select holds the current parent and Tom Select looks others up as the user
    # types (customers:customer-lookup). The service checks the choice against the data scope.
    parent = forms.TypedChoiceField(
        label=_("Parent company"), required=False, coerce=int, empty_value=None
    )
    # --- duplicates: shown with the warning that lists likely duplicates; ticking it confirms
    # them (services' allow_duplicates). Not a customer field: never in changed_data's changes.
    allow_duplicates = forms.BooleanField(label=_("File it anyway"), required=False)
    # --- history library: what a move to churned or stopped needs (services check it).
    churn_reason = forms.ChoiceField(
        label=_("Churn reason"),
        required=False,
        help_text=_(
            "Needed for churned or stopped cooperation: the customer then moves to the "
            "history library."
        ),
    )
    churn_note = forms.CharField(
        label=_("Churn details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    REGION_FIELDS = ("province_code", "city_code", "district_code")
    NOT_CUSTOMER_FIELDS = ("version", "allow_duplicates")

    def __init__(
        self,
        *args: Any,
        customer: Customer | None = None,
        owners: Any = None,
        editing: bool = False,
        actor: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        self.customer = customer
        self.actor = actor
        industries = list(industry_list())
        current_industry = customer.industry if customer is not None else None
        if current_industry is not None and current_industry not in industries:
            industries.append(current_industry)
        self.fields["industry"].widget.choices = [
            _BLANK,
            *((i.code, str(i)) for i in industries),
        ]
        self.fields["tags"].choices = [(t.pk, t.name) for t in tag_list()]
        if owners is None:
            # Only managers and administrators choose an owner; others file for themselves.
            del self.fields["owner"]
        else:
            self.fields["owner"].choices = [
                ("", _("Nobody (the pool)")),
                *((u.pk, u.get_full_name()) for u in owners),
            ]
        self._parent_choices(customer)
        self._region_choices()
        # --- history library: the reasons in use, and the one the customer keeps if switched off.
        reasons = [(r.code, r.name) for r in churn_reason_list()]
        if customer is not None and customer.churn_reason_id:
            current = customer.churn_reason
            if current.code not in {code for code, _name in reasons}:
                reasons.append((current.code, current.name))
        self.fields["churn_reason"].choices = [_BLANK, *reasons]
        # The HTMX cascade: a province brings its cities, a city its districts.
        options = reverse("customers:region-options")
        self.fields["province_code"].widget.attrs.update(
            {"hx-get": options, "hx-target": "#id_city_code", "hx-trigger": "change"}
        )
        self.fields["city_code"].widget.attrs.update(
            {
                "hx-get": options,
                "hx-target": "#id_district_code",
                "hx-trigger": "change",
                "hx-include": "#id_province_code",
            }
        )

    def _parent_choices(self, customer: Customer | None) -> None:
        field = self.fields["parent"]
        field.widget.attrs.update(
            {
                "data-tom-select": "",
                "data-lookup-url": reverse("customers:customer-lookup"),
                "data-placeholder": _("Type a name, pinyin or initials"),
                "data-no-results": _("No matches"),
            }
        )
        choices: list[tuple[Any, str]] = [("", "—")]
        if customer is not None and customer.parent_id:
            choices.append((customer.parent_id, customer.parent.name))
        posted = self._value("parent")
        if posted.isdigit() and int(posted) not in {value for value, _label in choices}:
            # What was posted stays selected when the form comes back with errors; its name only
            # if the user may see it, and the service decides whether it may be used.
            name = (
                customer_visible_queryset(actor=self.actor)
                .filter(pk=int(posted))
                .values_list("name", flat=True)
                .first()
            )
            choices.append((int(posted), name or f"#{posted}"))
        field.choices = choices

    def _value(self, name: str) -> str:
        if self.is_bound:
            return (self.data.get(self.add_prefix(name)) or "").strip()
        return str(self.initial.get(name) or "")

    def _region_choices(self) -> None:
        """Each select offers what fits the level above it, as chosen so far (the cascade
        without JavaScript: "Update regions" re-renders the form with the new choices)."""
        province, city = self._value("province_code"), self._value("city_code")
        levels = {
            "province_code": region_province_choices(),
            "city_code": region_city_choices(province_code=province),
            "district_code": region_district_choices(province_code=province, city_code=city),
        }
        for name, regions in levels.items():
            choices = [_BLANK, *((r.code, r.name) for r in regions)]
            current = self._value(name)
            if current and current not in {code for code, _label in choices}:
                # A retired code the customer keeps, or an unknown one the service will refuse.
                choices.append((current, current))
            self.fields[name].widget.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["region_code"] = services.customer_region_code(
                province_code=data.get("province_code"),
                city_code=data.get("city_code"),
                district_code=data.get("district_code"),
                current=self.customer,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return data

    def region_changed(self) -> bool:
        return any(name in self.changed_data for name in self.REGION_FIELDS)

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, Any]:
        return {
            "kind": customer.kind,
            "name": customer.name,
            "short_name": customer.short_name,
            "credit_code": customer.credit_code,
            "industry": customer.industry.code if customer.industry_id else "",
            "province_code": customer.province_id or "",
            "city_code": customer.city_id or "",
            "district_code": customer.district_id or "",
            "address": customer.address,
            "website": customer.website,
            "source": customer.source,
            "source_note": customer.source_note,
            "lifecycle": customer.lifecycle,
            "account_class": customer.account_class,
            "owner": customer.owner_id,
            "first_contact_date": customer.first_contact_date,
            "first_needs": customer.first_needs,
            "tags": [tag.pk for tag in customer.tags.all()],
            "parent": customer.parent_id,
            "version": customer.version,
            # --- history library
            "churn_reason": customer.churn_reason.code if customer.churn_reason_id else "",
            "churn_note": customer.churn_note,
        }


class ContactForm(VersionedForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    decision_role = forms.ChoiceField(
        label=_("Role in the decision"), choices=Contact.DecisionRole.choices
    )
    phone_1 = forms.CharField(label=_("Phone 1"), max_length=40, required=False)
    phone_1_label = forms.ChoiceField(
        label=_("Kind of phone 1"), choices=Contact.PhoneLabel.choices, required=False
    )
    phone_2 = forms.CharField(label=_("Phone 2"), max_length=40, required=False)
    phone_2_label = forms.ChoiceField(
        label=_("Kind of phone 2"), choices=Contact.PhoneLabel.choices, required=False
    )
    phone_3 = forms.CharField(label=_("Phone 3"), max_length=40, required=False)
    phone_3_label = forms.ChoiceField(
        label=_("Kind of phone 3"), choices=Contact.PhoneLabel.choices, required=False
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=50, required=False)
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    birthday = forms.DateField(
        label=_("Birthday"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # --- engagement (care calendar)
    birthday_lunar = forms.BooleanField(
        label=_("Celebrates the lunar birthday"),
        required=False,
        help_text=_("Greetings then fall on the lunar date of the date of birth entered."),
    )
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"), choices=Contact.Channel.choices, required=False
    )
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=Contact.LegalBasis.choices)
    consent_note = forms.CharField(
        label=_("Consent record"),
        max_length=255,
        required=False,
        help_text=_("How and when the person agreed, or the contract that covers it."),
    )
    consent_at = forms.DateTimeField(
        label=_("Consent given at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    marketing_opt_out = forms.BooleanField(
        label=_("Opted out of surveys and marketing"),
        required=False,
        help_text=_("The person asked not to be sent surveys or marketing: sends leave them out."),
    )

    def phones(self) -> tuple[list[dict[str, str]], dict[int, str]]:
        """The filled phone inputs as the service takes them, and which input each index of
        that list came from (so an error on ``phones.1`` lands next to the right input)."""
        phones: list[dict[str, str]] = []
        slots: dict[int, str] = {}
        for slot in range(1, PHONE_SLOTS + 1):
            number = (self.cleaned_data.get(f"phone_{slot}") or "").strip()
            if number:
                slots[len(phones)] = f"phone_{slot}"
                label = self.cleaned_data.get(f"phone_{slot}_label") or Contact.PhoneLabel.MOBILE
                phones.append({"number": number, "label": label})
        return phones, slots

    def service_data(self) -> dict[str, Any]:
        data = {
            name: self.cleaned_data.get(name)
            for name in (
                "name",
                "title",
                "decision_role",
                "email",
                "wechat",
                "address",
                "birthday",
                "birthday_lunar",
                "preferred_channel",
                "legal_basis",
                "consent_note",
                "consent_at",
                "marketing_opt_out",
            )
        }
        data["phones"] = self.phones()[0]
        return data

    @classmethod
    def initial_for(cls, contact: Contact) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": contact.name,
            "title": contact.title,
            "decision_role": contact.decision_role,
            "email": contact.email,
            "wechat": contact.wechat,
            "address": contact.address,
            "birthday": contact.birthday,
            "birthday_lunar": contact.birthday_lunar,
            "preferred_channel": contact.preferred_channel,
            "legal_basis": contact.legal_basis,
            "consent_note": contact.consent_note,
            "consent_at": timezone.localtime(contact.consent_at) if contact.consent_at else None,
            "marketing_opt_out": contact.marketing_opt_out,
            "version": contact.version,
        }
        for slot, phone in enumerate(contact.phones[:PHONE_SLOTS], start=1):
            if isinstance(phone, dict):
                initial[f"phone_{slot}"] = phone.get("number", "")
                initial[f"phone_{slot}_label"] = phone.get("label", Contact.PhoneLabel.MOBILE)
        return initial


# --- pool moves and bulk actions ----------------------------------------------------------------


def _user_choices(users: Any) -> list[tuple[Any, str]]:
    return [("", "—"), *((user.pk, user.get_full_name() or user.username) for user in users)]


class ReasonForm(forms.Form):
    """Releasing a customer to the pool: the reason is kept in the audit trail."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the customer's history."),
    )


class TransferForm(ReasonForm):
    to_user = forms.TypedChoiceField(label=_("New owner"), coerce=int, empty_value=None)

    field_order = ("to_user", "reason")

    def __init__(self, *args: Any, users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_user"].choices = _user_choices(users)


class HandOverForm(TransferForm):
    """Everything one user owns to another, for a colleague who leaves."""

    from_user = forms.TypedChoiceField(label=_("From"), coerce=int, empty_value=None)

    field_order = ("from_user", "to_user", "reason")

    def __init__(self, *args: Any, users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, users=users, **kwargs)
        self.fields["from_user"].choices = _user_choices(users)
        self.fields["to_user"].label = _("To")


class BulkActionForm(forms.Form):
    """The ticked rows of the customer list and what to do with them. The first post shows a
    confirmation page; only a post with ``confirm`` acts."""

    class Action(models.TextChoices):
        TAG_ADD = "tag_add", _("Add a tag")
        TAG_REMOVE = "tag_remove", _("Remove a tag")
        TRANSFER = "transfer", _("Transfer to another owner")
        RELEASE = "release", _("Release to the pool")

    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    action = forms.ChoiceField(label=_("Action"), choices=[("", "—"), *Action.choices])
    tag = forms.TypedChoiceField(label=_("Tag"), coerce=int, empty_value=None, required=False)
    to_user = forms.TypedChoiceField(
        label=_("New owner"), coerce=int, empty_value=None, required=False
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, users: Any = (), manages: bool = False, tags: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Any integer is accepted here; the service checks each id against the data scope.
        self.fields["ids"].valid_value = lambda value: True  # type: ignore[method-assign]
        tags = tag_list() if tags is None else tags
        self.fields["tag"].choices = [("", "—"), *((t.pk, t.name) for t in tags)]
        if manages:
            self.fields["to_user"].choices = _user_choices(users)
        else:
            # Transfers are a manager's decision; reps tag and release their own customers.
            del self.fields["to_user"]
            self.fields["action"].choices = [
                choice
                for choice in self.fields["action"].choices
                if choice[0] != self.Action.TRANSFER
            ]


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("View name"), max_length=50)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class PoolPolicyForm(VersionedForm):
    daily_claim_cap = forms.IntegerField(
        label=_("Claims per rep per day"), min_value=0, max_value=10000
    )
    holding_cap = forms.IntegerField(
        label=_("Customers a rep may own"), min_value=0, max_value=1000000
    )
    protection_days = forms.IntegerField(
        label=_("Protection after a claim (days)"),
        min_value=0,
        max_value=3650,
        help_text=_("Work on the customer (a follow-up, an edit) extends it."),
    )
    reclaim_cooldown_days = forms.IntegerField(
        label=_("Re-claim cooldown for the previous owner (days)"), min_value=0, max_value=3650
    )
    recycle_after_days = forms.IntegerField(
        label=_("Recycle after days without activity"), min_value=1, max_value=3650
    )
    warn_days_before = forms.IntegerField(
        label=_("Warn days before recycling"), min_value=0, max_value=3650
    )


# --- needs (C2) ---------------------------------------------------------------------------------

NEED_SORT_CHOICES = [
    ("category", _("By category")),
    ("-updated_at", _("Recently updated")),
    ("updated_at", _("Least recently updated")),
    ("-created_at", _("Newest")),
    ("created_at", _("Oldest")),
]
# The needs page's fit filter also offers both gaps together: what the unmet view is about.
NEED_FIT_UNMET = "unmet_any"


def _category_choices(categories: Any, current: NeedCategory | None = None) -> list[Any]:
    rows = list(categories)
    if current is not None and current not in rows:
        rows.append(current)  # switched off since, and kept by this need
    return [("", "—"), *((category.pk, category.name) for category in rows)]


class NeedForm(VersionedForm):
    title = forms.CharField(label=_("Need"), max_length=200)
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, empty_value=None)
    priority = forms.ChoiceField(label=_("Priority"), choices=Need.Priority.choices)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.DecimalField(
        label=_("Quantity"), required=False, max_digits=12, decimal_places=2
    )
    unit = forms.CharField(
        label=_("Unit"),
        max_length=20,
        required=False,
        help_text=_("For example pieces, sets, licences or tonnes."),
    )
    expected_date = forms.DateField(
        label=_("Expected by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    source = forms.ChoiceField(label=_("Source"), choices=Need.Source.choices)
    fit_status = forms.ChoiceField(
        label=_("Fit with our offer"),
        choices=Need.FitStatus.choices,
        help_text=_("Partly or not met: give a solution, a plan owner and a due date."),
    )
    solution = forms.CharField(
        label=_("Solution or improvement plan"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    plan_owner = forms.TypedChoiceField(
        label=_("Plan owner"), required=False, coerce=int, empty_value=None
    )
    plan_due_date = forms.DateField(
        label=_("Plan due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    note = forms.CharField(
        label=_("Update note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the need's history: what the customer said, what was decided, why."),
    )

    # Fields the service takes under the same name; ``note`` and ``version`` travel apart.
    SERVICE_FIELDS = (
        "title",
        "category",
        "priority",
        "description",
        "quantity",
        "unit",
        "expected_date",
        "source",
        "fit_status",
        "solution",
        "plan_owner",
        "plan_due_date",
    )

    def __init__(
        self,
        *args: Any,
        categories: Any = (),
        users: Any = (),
        need: Need | None = None,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        self.fields["category"].choices = _category_choices(
            categories, need.category if need is not None else None
        )
        owners = [("", "—"), *((user.pk, user.get_full_name() or user.username) for user in users)]
        if need is not None and need.plan_owner_id and need.plan_owner_id not in dict(owners):
            plan_owner = need.plan_owner
            owners.append((plan_owner.pk, plan_owner.get_full_name() or plan_owner.username))
        self.fields["plan_owner"].choices = owners

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.SERVICE_FIELDS}

    @classmethod
    def initial_for(cls, need: Need) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(need, name) for name in cls.SERVICE_FIELDS}
        initial["category"] = need.category_id
        initial["plan_owner"] = need.plan_owner_id
        initial["version"] = need.version
        return initial


class NeedFilterForm(forms.Form):
    """The needs page's GET parameters. A value that does not parse is ignored, never an error
    page: these come from links people bookmark and share."""

    category = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    fit_status = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Any fit")),
            (NEED_FIT_UNMET, _("Partly or not met")),
            *Need.FitStatus.choices,
        ],
    )
    priority = forms.ChoiceField(
        required=False, choices=[("", _("Any priority")), *Need.Priority.choices]
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", _("Open")), ("closed", _("Closed")), ("all", _("Open and closed"))],
    )
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    plan_owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    sort = forms.ChoiceField(required=False, choices=NEED_SORT_CHOICES)

    def __init__(self, *args: Any, categories: Any = (), users: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", _("All categories")),
            *((category.pk, category.name) for category in categories),
        ]
        people = [(user.pk, user.get_full_name() or user.username) for user in users]
        self.fields["owner"].choices = [("", _("All owners")), *people]
        self.fields["plan_owner"].choices = [("", _("Any plan owner")), *people]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for selectors.need_page, leaving out whatever did not parse."""
        self.is_valid()
        data = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        fit = data.get("fit_status") or ""
        status = data.get("status") or ""
        return {
            "category": data.get("category"),
            "fit_status": "" if fit == NEED_FIT_UNMET else fit,
            "unmet": fit == NEED_FIT_UNMET,
            "priority": data.get("priority") or "",
            "status": {"": Need.Status.OPEN, "closed": Need.Status.CLOSED}.get(status, ""),
            "owner": data.get("owner"),
            "plan_owner": data.get("plan_owner"),
            "customer": data.get("customer"),
            "sort": data.get("sort") or "category",
        }


class NeedStatusForm(VersionedForm):
    """Closing or reopening a need, with an optional note for its history."""

    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NeedNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Update"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the customer said, what was decided, what happens next."),
    )


class NeedCategoryForm(VersionedForm):
    code = forms.SlugField(
        label=_("Code"),
        max_length=30,
        help_text=_("Letters, digits, hyphens; fixed once saved (integrations filter by it)."),
    )
    name = forms.CharField(label=_("Name"), max_length=50)
    sort_order = forms.IntegerField(label=_("Sort order"), min_value=0, max_value=100000)
    is_active = forms.BooleanField(label=_("In use"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            del self.fields["code"]


# --- history library ----------------------------------------------------------------------------


class CustomerArchiveForm(VersionedForm):
    """Move a customer into the history library: churned or stopped, why, and the details."""

    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"),
        choices=[
            (Customer.Lifecycle.CHURNED, Customer.Lifecycle.CHURNED.label),
            (Customer.Lifecycle.STOPPED, Customer.Lifecycle.STOPPED.label),
        ],
    )
    churn_reason = forms.ChoiceField(label=_("Churn reason"))
    churn_note = forms.CharField(
        label=_("Churn details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What happened, in a few words: who decided, what they went for instead."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, editing=True, **kwargs)
        self.fields["churn_reason"].choices = [
            _BLANK,
            *((reason.code, reason.name) for reason in churn_reason_list()),
        ]


class CustomerRestoreForm(VersionedForm):
    """Bring a customer back from the history library as one of the active lifecycles."""

    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"),
        choices=[
            (value, label)
            for value, label in Customer.Lifecycle.choices
            if value not in ARCHIVED_LIFECYCLES
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, editing=True, **kwargs)


class ChurnReasonForm(VersionedForm):
    code = forms.SlugField(
        label=_("Code"),
        max_length=30,
        help_text=_("Letters, digits, hyphens; fixed once saved (integrations send it)."),
    )
    name = forms.CharField(label=_("Name"), max_length=50)
    sort_order = forms.IntegerField(label=_("Sort order"), min_value=0, max_value=100000)
    is_active = forms.BooleanField(label=_("In use"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, editing=editing, **kwargs)
        if editing:
            del self.fields["code"]


class ChurnBreakdownForm(forms.Form):
    """The breakdown's period (GET). Unsaid, the last twelve months up to today."""

    date_from = forms.DateField(
        label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def period(self) -> tuple[Any, Any]:
        """The period asked for, or the default; a bad one leaves its errors on the form."""
        today = timezone.localdate()
        default = (today - dt.timedelta(days=364), today)
        if not self.is_valid():
            return default
        date_from = self.cleaned_data.get("date_from") or default[0]
        date_to = self.cleaned_data.get("date_to") or default[1]
        if date_from > date_to:
            self.add_error("date_to", _("The end of the period comes before its start."))
            return default
        return date_from, date_to


# --- verification -------------------------------------------------------------------------------


class VerificationForm(forms.Form):
    note = forms.CharField(
        label=_("What changed (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Say how you checked (call, e-mail, visit) and anything the contact forms do not hold."
        ),
    )


class VerificationReportForm(forms.Form):
    """The report's quarter and owner (GET); what does not parse falls back to the current
    quarter and everyone, with the error shown."""

    quarter = forms.CharField(label=_("Quarter"), required=False, max_length=6)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, owners: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", _("All owners")),
            *((user.pk, user.get_full_name()) for user in owners),
        ]

    def clean_quarter(self) -> str:
        value = self.cleaned_data.get("quarter") or ""
        if not value.strip():
            return quarter_of()
        try:
            return quarter_clean(value)
        except ValidationError as error:
            raise ValidationError(error.message_dict["quarter"]) from error

    def values(self) -> tuple[str, int | None]:
        if not self.is_valid():
            quarter = self.cleaned_data.get("quarter") or quarter_of()
            return quarter, self.cleaned_data.get("owner")
        return self.cleaned_data["quarter"], self.cleaned_data.get("owner")
