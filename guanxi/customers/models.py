"""Customer archive (C1): customers, contacts, industries and tags.

A customer without an owner is in the pool (公海); the pool rules (claim, release, transfer, caps,
protection, cooldown) live in services, with their settings in the single PoolPolicy row.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel


class Industry(BaseModel):
    """One entry of the configurable industry list, seeded with the 20 sections (门类 A–T) of the
    national classification GB/T 4754-2017."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    audit_fields = ("code", "name", "sort_order", "is_active")

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ("sort_order", "code")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TagColor(models.TextChoices):
    # Tabler's palette names, so a template can use them as badge classes directly.
    BLUE = "blue", _("Blue")
    AZURE = "azure", _("Azure")
    INDIGO = "indigo", _("Indigo")
    PURPLE = "purple", _("Purple")
    PINK = "pink", _("Pink")
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")
    TEAL = "teal", _("Teal")
    GRAY = "gray", _("Gray")


class Tag(BaseModel):
    name = models.CharField(_("name"), max_length=30)
    color = models.CharField(
        _("colour"), max_length=10, choices=TagColor.choices, default=TagColor.BLUE
    )
    is_preset = models.BooleanField(_("preset"), default=False, editable=False)

    audit_fields = ("name", "color")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ("name", "id")
        # Unique among live tags only: a deleted tag in the recycle bin does not block its name.
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(deleted_at__isnull=True), name="tag_name_live_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(BaseModel):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        GOVERNMENT = "government", _("Government body")
        INDIVIDUAL = "individual", _("Individual")

    class Source(models.TextChoices):
        WEBSITE_FORM = "website_form", _("Website form")
        TRADE_SHOW = "trade_show", _("Trade show registration")
        SALES_MEETING = "sales_meeting", _("Sales meeting")
        REFERRAL = "referral", _("Third-party referral")
        OTHER = "other", _("Other")

    class Lifecycle(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        INTENT = "intent", _("Intent")
        CLOSED = "closed", _("Closed deal")
        STRATEGIC = "strategic", _("Strategic")
        CHURNED = "churned", _("Churned")
        # --- history library: the relationship ended on purpose or with the business (停止合作),
        # as opposed to drifting to a competitor or away (流失). Both put the customer in the
        # history library (ARCHIVED_LIFECYCLES).
        STOPPED = "stopped", _("Stopped cooperation")

    class AccountClass(models.TextChoices):
        NONE = "none", _("Not a key account")
        ORDINARY = "ordinary", _("Ordinary key account")
        IMPORTANT = "important", _("Important key account")
        STRATEGIC = "strategic", _("Strategic key account")

    class ValueLevel(models.TextChoices):
        UNKNOWN = "", _("Not computed")
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, db_index=True
    )
    industry = models.ForeignKey(
        Industry,
        verbose_name=_("industry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    province = models.ForeignKey(
        "core.Region",
        verbose_name=_("province"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    city = models.ForeignKey(
        "core.Region",
        verbose_name=_("city"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    district = models.ForeignKey(
        "core.Region",
        verbose_name=_("district or county"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    website = models.URLField(_("website"), max_length=255, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER
    )
    source_note = models.CharField(_("source note"), max_length=255, blank=True)
    lifecycle = models.CharField(
        _("lifecycle"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.POTENTIAL
    )
    account_class = models.CharField(
        _("key-account class"),
        max_length=20,
        choices=AccountClass.choices,
        default=AccountClass.NONE,
    )
    value_level = models.CharField(
        _("value level"), max_length=10, choices=ValueLevel.choices, blank=True, default=""
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_customers",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
    )
    first_contact_date = models.DateField(_("first contact date"), null=True, blank=True)
    first_needs = models.TextField(_("first needs"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subsidiaries",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    # The pool (公海): when the owner got it, until when it cannot be recycled, the last time
    # anyone worked on it, and who had it before it last went back to the pool.
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True, editable=False)
    protected_until = models.DateTimeField(
        _("protected until"), null=True, blank=True, editable=False
    )
    last_activity_at = models.DateTimeField(
        _("last activity at"), null=True, blank=True, editable=False
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("previous owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    released_at = models.DateTimeField(
        _("released to the pool at"), null=True, blank=True, editable=False
    )
    # Derived (guanxi.core.china.search); indexed by FTS5 or a GIN expression index.
    search_key = models.TextField(_("search key"), blank=True, editable=False)
    # --- duplicates ---
    # Derived (selectors.customer_name_key): the duplicate check finds equal keys through the
    # index customer_name_key and near ones among their neighbours in index order.
    name_key = models.CharField(_("name key"), max_length=200, blank=True, editable=False)
    # --- history library ---
    # A churned or stopped customer (lifecycle in ARCHIVED_LIFECYCLES) is in the history library:
    # when it went there (the end of its tenure), why, and the lifecycle it had before, which the
    # restore form offers back. services.customer_archive and customer_restore_from_history keep
    # them in step with the lifecycle; the constraint customer_archive_consistent holds them so.
    archived_at = models.DateTimeField(
        _("moved to the history library at"), null=True, blank=True, editable=False
    )
    churn_reason = models.ForeignKey(
        "ChurnReason",
        verbose_name=_("churn reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        editable=False,
    )
    churn_note = models.TextField(_("churn details"), blank=True, editable=False)
    archived_from = models.CharField(
        _("lifecycle before the history library"),
        max_length=20,
        blank=True,
        editable=False,
        choices=Lifecycle.choices,
    )
    # --- verification ---
    # When someone last confirmed the customer's contact data (services.verification_task_verify).
    verified_at = models.DateTimeField(_("data verified at"), null=True, blank=True, editable=False)
    # --- merge ---
    # Set on a duplicate merged into another customer (CustomerMerge) while it waits in the
    # recycle bin: its page leads to the survivor, and only undoing the merge brings it back.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_customers",
        editable=False,
    )

    audit_fields = (
        "kind",
        "name",
        "short_name",
        "credit_code",
        "industry",
        "province",
        "city",
        "district",
        "address",
        "website",
        "source",
        "source_note",
        "lifecycle",
        "account_class",
        "value_level",
        "owner",
        "department",
        "first_contact_date",
        "first_needs",
        "parent",
        "claimed_at",
        "protected_until",
        "previous_owner",
        "released_at",
        # --- history library ---
        "archived_at",
        "churn_reason",
        "churn_note",
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ("-updated_at", "-id")
        indexes = [
            # Keyset orderings, alone and behind the filters a list uses most.
            models.Index(fields=["-updated_at", "-id"], name="customer_updated"),
            models.Index(fields=["-created_at", "-id"], name="customer_created"),
            models.Index(fields=["name", "id"], name="customer_name"),
            models.Index(fields=["owner", "-updated_at", "-id"], name="customer_owner_updated"),
            models.Index(fields=["department", "-updated_at", "-id"], name="customer_dept_updated"),
            models.Index(fields=["lifecycle", "-updated_at", "-id"], name="customer_lifecycle"),
            models.Index(fields=["account_class", "-updated_at", "-id"], name="customer_class"),
            # A rep lists their own customers and the pool, where key accounts and strategic
            # customers are rare or absent: without these, such a filter walks all of
            # customer_class or customer_lifecycle to find nothing (130 ms at a million rows).
            models.Index(
                fields=["owner", "account_class", "-updated_at", "-id"],
                name="customer_owner_class",
            ),
            models.Index(
                fields=["owner", "lifecycle", "-updated_at", "-id"],
                name="customer_owner_lifecycle",
            ),
            # A rep's district filter (own + pool): PostgreSQL intersected the district with the
            # pool's 150,000 rows (43 ms at a million customers); with the owner beside the
            # district both halves are a few dozen rows (13 ms, bench/customers_list_search.py).
            models.Index(fields=["district", "owner"], name="customer_district_owner"),
            # The recycle job: owned customers by how long they have been idle.
            models.Index(fields=["owner", "last_activity_at"], name="customer_owner_activity"),
            # --- duplicates: equal and neighbouring name keys (selectors._name_neighbours).
            models.Index(fields=["name_key"], name="customer_name_key"),
            # --- history library: its tab walks the list order among the few archived rows.
            models.Index(
                fields=["-updated_at", "-id"],
                condition=Q(archived_at__isnull=False),
                name="customer_archived_updated",
            ),
        ]
        constraints = [
            # --- history library: archived exactly when churned or stopped, always with a reason.
            models.CheckConstraint(
                condition=Q(
                    lifecycle__in=("churned", "stopped"),
                    archived_at__isnull=False,
                    churn_reason__isnull=False,
                )
                | (
                    ~Q(lifecycle__in=("churned", "stopped"))
                    & Q(archived_at__isnull=True, churn_reason__isnull=True)
                ),
                name="customer_archive_consistent",
                violation_error_message=_(
                    "A churned or stopped customer needs a churn reason; no other customer has one."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def region_code(self) -> str | None:
        return self.district_id or self.city_id or self.province_id


class PoolPolicy(models.Model):
    """The rules of the customer pool: one row (pk 1), seeded with the defaults by a migration
    and edited by administrators."""

    SINGLETON_PK = 1

    daily_claim_cap = models.PositiveIntegerField(
        _("claims per rep per day"), default=20, validators=[MaxValueValidator(10000)]
    )
    holding_cap = models.PositiveIntegerField(
        _("customers a rep may own"), default=300, validators=[MaxValueValidator(1000000)]
    )
    protection_days = models.PositiveIntegerField(
        _("protection after a claim (days)"), default=30, validators=[MaxValueValidator(3650)]
    )
    reclaim_cooldown_days = models.PositiveIntegerField(
        _("re-claim cooldown for the previous owner (days)"),
        default=7,
        validators=[MaxValueValidator(3650)],
    )
    recycle_after_days = models.PositiveIntegerField(
        _("recycle after days without activity"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    warn_days_before = models.PositiveIntegerField(
        _("warn days before recycling"), default=7, validators=[MaxValueValidator(3650)]
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    audit_fields = (
        "daily_claim_cap",
        "holding_cap",
        "protection_days",
        "reclaim_cooldown_days",
        "recycle_after_days",
        "warn_days_before",
    )

    class Meta:
        verbose_name = _("pool policy")
        verbose_name_plural = _("pool policies")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="pool_policy_single_row")]

    def __str__(self) -> str:
        return str(_("Customer pool policy"))

    def clean(self) -> None:
        if self.warn_days_before >= self.recycle_after_days:
            raise ValidationError(
                {
                    "warn_days_before": [
                        _("The warning must come before the recycling: fewer days, please.")
                    ]
                }
            )


class Contact(BaseModel):
    class DecisionRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        INFLUENCER = "influencer", _("Influencer")
        USER = "user", _("End user")
        OTHER = "other", _("Other")

    class PhoneLabel(models.TextChoices):
        MOBILE = "mobile", _("Mobile phone")
        WORK = "work", _("Work phone")
        HOME = "home", _("Home phone")
        OTHER = "other", _("Other")

    class Channel(models.TextChoices):
        NONE = "", _("No preference")
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        EMAIL = "email", _("E-mail")
        VISIT = "visit", _("Visit")

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("Consent")
        CONTRACT = "contract", _("Contract")
        LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")
        OTHER = "other", _("Other")

    # Purging a customer from the recycle bin takes its contacts with it.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    decision_role = models.CharField(
        _("decision role"), max_length=20, choices=DecisionRole.choices, default=DecisionRole.OTHER
    )
    # [{"number": "+8613800138000", "label": "mobile"}, ...], numbers in E.164.
    phones = models.JSONField(_("phones"), default=list, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    # --- engagement (care calendar): the person keeps their birthday in the lunar calendar, on the
    # lunar date of the date of birth above (guanxi.core.china.calendar.birthday_next).
    birthday_lunar = models.BooleanField(_("lunar birthday"), default=False)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True, default=""
    )
    legal_basis = models.CharField(
        _("legal basis"), max_length=30, choices=LegalBasis.choices, default=LegalBasis.CONSENT
    )
    consent_note = models.CharField(_("consent note"), max_length=255, blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    # The person asked not to be sent surveys or marketing (PIPL: processing stops when consent
    # is withdrawn). feedback.selectors.survey_recipients leaves them out. The time is the
    # services', set when the flag turns on and cleared when it turns off.
    marketing_opt_out = models.BooleanField(_("opted out of surveys and marketing"), default=False)
    marketing_opt_out_at = models.DateTimeField(
        _("opted out at"), null=True, blank=True, editable=False
    )
    search_key = models.TextField(_("search key"), blank=True, editable=False)
    # --- verification: when the owner last confirmed this contact's data as correct.
    verified_at = models.DateTimeField(_("data verified at"), null=True, blank=True, editable=False)

    audit_fields = (
        "customer",
        "name",
        "title",
        "decision_role",
        "phones",
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
        "marketing_opt_out_at",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("-updated_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-updated_at", "-id"], name="contact_customer"),
            models.Index(fields=["-updated_at", "-id"], name="contact_updated"),
            models.Index(fields=["name", "id"], name="contact_name"),
        ]

    def __str__(self) -> str:
        return self.name


# --- needs (C2) ---------------------------------------------------------------------------------


class NeedCategory(BaseModel):
    """One entry of the configurable list of need categories (product, delivery, after-sales …),
    seeded by migration 0010 and kept by administrators. A category is switched off rather than
    deleted: the needs filed under it keep it."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    audit_fields = ("code", "name", "sort_order", "is_active")

    class Meta:
        verbose_name = _("need category")
        verbose_name_plural = _("need categories")
        ordering = ("sort_order", "id")

    def __str__(self) -> str:
        return self.name


class Need(BaseModel):
    """One need of one customer (需求): what they want, how well the company's offer fits it, and
    for what does not fit, the plan with its owner and due date. Needs follow their customer's
    data scope and write permission, as contacts do."""

    class Priority(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    class FitStatus(models.TextChoices):
        NOT_ASSESSED = "not_assessed", _("Not yet assessed")
        MET = "met", _("Fully met")
        PARTIAL = "partial", _("Partly met")
        UNMET = "unmet", _("Not met yet")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        SALES_MEETING = "sales_meeting", _("Sales meeting")
        PHONE_CALL = "phone_call", _("Phone call")
        RETURN_VISIT = "return_visit", _("Return visit")
        TENDER = "tender", _("Tender or procurement documents")
        FEEDBACK = "feedback", _("Customer feedback")
        OTHER = "other", _("Other")

    # Fits that leave a gap: an open need with one of them is "unmet" and needs a plan.
    GAP_FITS = (FitStatus.PARTIAL, FitStatus.UNMET)

    # Purging a customer from the recycle bin takes its needs with it.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="needs"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        NeedCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="needs",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    expected_date = models.DateField(_("expected by"), null=True, blank=True)
    fit_status = models.CharField(
        _("fit"), max_length=20, choices=FitStatus.choices, default=FitStatus.NOT_ASSESSED
    )
    solution = models.TextField(_("solution or improvement plan"), blank=True)
    plan_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("plan owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="planned_needs",
    )
    plan_due_date = models.DateField(_("plan due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.SALES_MEETING
    )

    audit_fields = (
        "customer",
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
        "closed_at",
        "source",
    )

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ("-updated_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-updated_at", "-id"], name="need_customer"),
            models.Index(fields=["-updated_at", "-id"], name="need_updated"),
            # The unmet view: open needs with a gap, counted per category.
            models.Index(fields=["status", "fit_status", "category"], name="need_gap"),
            models.Index(fields=["plan_owner", "status"], name="need_plan_owner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0),
                name="need_quantity_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def recycle_label(self) -> str:
        return f"{self.title} · {self.customer}"

    @property
    def has_gap(self) -> bool:
        return self.fit_status in self.GAP_FITS

    @property
    def plan_overdue(self) -> bool:
        return (
            self.status == self.Status.OPEN
            and self.has_gap
            and self.plan_due_date is not None
            and self.plan_due_date < timezone.localdate()
        )


class NeedNote(models.Model):
    """One entry of a need's update log, as the people working on it write it: what the customer
    said, what was decided and why. The audit trail already records every field change (who,
    when, before, after) but not the reason, and a call that changes nothing leaves no trace
    there; the need's history page shows both, merged by time. Append-only: a note is a record
    of what was said, corrected by a later note, not by editing."""

    need = models.ForeignKey(
        Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="notes"
    )
    text = models.TextField(_("note"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("need update note")
        verbose_name_plural = _("need update notes")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["need", "-created_at", "-id"], name="need_note_need")]

    def __str__(self) -> str:
        return self.text[:50]


# --- merge ---------------------------------------------------------------------------------------


class CustomerMerge(models.Model):
    """One merge of a duplicate (``merged``) into the customer kept (``survivor``): who, when,
    which value each field took, the survivor's fields before and after, and exactly which rows
    moved, so that undoing it moves back those rows and nothing else (customers.merge.services).

    Audit entries cannot move (the trail is append-only), so the survivor's timeline reads the
    merged record's entries through this row (selectors.customer_history). Not a domain record
    of its own: no version, no recycle bin; undoing stamps ``undone_at`` and keeps the row."""

    survivor = models.ForeignKey(
        Customer,
        verbose_name=_("customer kept"),
        on_delete=models.CASCADE,
        related_name="merges",
    )
    # Null once the merged record is purged from the recycle bin: the undo then refuses, and the
    # id and name below keep the history readable.
    merged = models.ForeignKey(
        Customer,
        verbose_name=_("customer merged"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_record_id = models.BigIntegerField(_("ID of the customer merged"))
    merged_name = models.CharField(_("name of the customer merged"), max_length=200)
    merged_at = models.DateTimeField(_("merged at"), default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # {"name": "survivor" | "merged", ...}: the side each compared field was taken from.
    values = models.JSONField(_("values chosen"), default=dict, blank=True)
    # The survivor's compared fields (and owner) as audit snapshots, before and after the merge:
    # undo restores a field only where it still has the value the merge gave it.
    survivor_before = models.JSONField(_("survivor before"), default=dict, blank=True)
    survivor_after = models.JSONField(_("survivor after"), default=dict, blank=True)
    contact_ids = models.JSONField(_("contacts moved"), default=list, blank=True)
    need_ids = models.JSONField(_("needs moved"), default=list, blank=True)
    tag_ids_added = models.JSONField(_("tags added"), default=list, blank=True)
    subsidiary_ids = models.JSONField(_("subsidiaries moved"), default=list, blank=True)
    # Other apps' rows that followed the customer (customers.merge.relations): {key: [ids]}.
    related_ids = models.JSONField(_("related records moved"), default=dict, blank=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the undo did: rows moved back, rows no longer there, fields that kept a newer value.
    undo_report = models.JSONField(_("undo report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ("-merged_at", "-id")
        indexes = [
            models.Index(fields=["survivor", "-merged_at"], name="customer_merge_survivor"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(survivor=models.F("merged_record_id")),
                name="customer_merge_two_customers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged_name} → {self.survivor_id}"


# --- history library ----------------------------------------------------------------------------

# The lifecycles that put a customer in the history library (客户历史库).
ARCHIVED_LIFECYCLES = (Customer.Lifecycle.CHURNED, Customer.Lifecycle.STOPPED)


class ChurnReason(BaseModel):
    """One entry of the configurable list of churn reasons (流失原因), seeded by migration 0015
    and kept by administrators. A reason is switched off rather than deleted: the customers
    archived with it keep it, and the breakdown still counts them under it."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    audit_fields = ("code", "name", "sort_order", "is_active")

    class Meta:
        verbose_name = _("churn reason")
        verbose_name_plural = _("churn reasons")
        ordering = ("sort_order", "id")

    def __str__(self) -> str:
        return self.name


# --- verification -------------------------------------------------------------------------------


class VerificationTask(BaseModel):
    """One quarter's check of one customer's contact data (定期信息核对), for the customer's owner.

    ``owner`` is who owned the customer when the task was made; whoever owns it now does the
    check (a transfer does not leave it with someone who can no longer open the customer).
    ``changes`` lists what was changed on the contacts while the task was open, recorded when
    the owner confirms: field names only, never the values (they are personal data)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        VERIFIED = "verified", _("Verified")
        SKIPPED = "skipped", _("Skipped")

    # Purging a customer from the recycle bin takes its tasks with it.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="verification_tasks",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    quarter = models.CharField(_("quarter"), max_length=6)  # "2026Q4"
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    changes = models.JSONField(_("changes"), default=list, blank=True)

    audit_fields = ("status", "verified_by", "verified_at", "note")

    class Meta:
        verbose_name = _("verification task")
        verbose_name_plural = _("verification tasks")
        ordering = ("created_at", "id")
        constraints = [
            # One task per customer and quarter: the quarterly job may run any number of times.
            models.UniqueConstraint(
                fields=["customer", "quarter"], name="verification_task_once_per_quarter"
            ),
        ]
        indexes = [
            # "My verification tasks" and the stale-data report: one quarter's tasks by status.
            models.Index(
                fields=["quarter", "status", "created_at", "id"], name="verification_quarter"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.quarter}"

    def recycle_label(self) -> str:
        return str(self)
