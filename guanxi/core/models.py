from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.china.calendar import DayKind, HolidayKey


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):  # type: ignore[misc]  # from_queryset builds the base class at runtime
    """Default manager: soft-deleted rows are invisible unless asked for via ``all_objects``."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class BaseModel(models.Model):
    """Timestamps, authorship, optimistic locking and soft delete for every domain record.

    ``audit_fields`` names the fields whose before/after values the audit trail records;
    ``recycle_label`` is how the record is named in the recycle bin.
    """

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = AliveManager()
    all_objects = SoftDeleteQuerySet.as_manager()

    audit_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def recycle_label(self) -> str:
        return str(self)

    def validate_unique(self, exclude: Any = None) -> None:
        """Django checks uniqueness through the default manager, which hides soft-deleted rows,
        but the database constraint still sees them: a code kept by a record in the recycle bin
        would pass validation and then fail on save. Check those rows too."""
        super().validate_unique(exclude)
        unique_checks, _date_checks = self._get_unique_checks(
            exclude=exclude, include_meta_constraints=True
        )
        errors: dict[str, list[ValidationError]] = {}
        for model_class, fields in unique_checks:
            lookup = {}
            for name in fields:
                value = getattr(self, self._meta.get_field(name).attname)
                if value is None or value == "":
                    break
                lookup[name] = value
            else:
                rows = model_class._base_manager.filter(deleted_at__isnull=False, **lookup)
                if not self._state.adding and self.pk is not None:
                    rows = rows.exclude(pk=self.pk)
                if rows.exists():
                    key = fields[0] if len(fields) == 1 else NON_FIELD_ERRORS
                    message = _("%(error)s It belongs to a record in the recycle bin.") % {
                        "error": self.unique_error_message(model_class, fields).messages[0]
                    }
                    errors.setdefault(key, []).append(
                        ValidationError(message, code="unique_deleted")
                    )
        if errors:
            raise ValidationError(errors)


class AuditEntry(models.Model):
    """One change or one reveal of personal data. Append-only: database triggers refuse UPDATE and
    DELETE on this table (migration 0002), so not even a bug in Guanxi can rewrite history."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Moved to recycle bin")
        RESTORE = "restore", _("Restored")
        PURGE = "purge", _("Purged")
        LOGIN = "login", _("Signed in")
        LOGOUT = "logout", _("Signed out")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        REVEAL = "reveal", _("Revealed personal data")
        EXPORT = "export", _("Exported")
        ACTION = "action", _("Action")

    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["object_type", "object_id", "-occurred_at"])]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_label}"


class ScheduleSlot(models.Model):
    """One firing of one periodic job. The unique pair makes firing idempotent: several
    scheduler processes may race for a slot, exactly one inserts it and enqueues the job."""

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(default=timezone.now)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="schedule_slot_once")]
        ordering = ("-slot",)

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M}"


class Region(models.Model):
    """One administrative division of the national code table (GB/T 2260), kept as data.

    Reference data, not a domain record: no soft delete, no version. Codes are never deleted,
    because customers keep the code they were filed under; a code the Ministry of Civil Affairs
    retires is marked inactive by ``region_load --retire-missing`` instead. Municipalities
    (北京市 110000) have a city-level row of the same name (110100) that holds their districts.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        DISTRICT = "district", _("District or county")

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ("code",)
        # The code's shape is checked by the loader: a REGEXP check constraint would need Django's
        # SQLite function and break the database for every other SQLite client.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="province", parent__isnull=True)
                | (~models.Q(level="province") & models.Q(parent__isnull=False)),
                name="region_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SavedView(models.Model):
    """A user's named filter set for one list ("views" in the list's menu): the query string of
    the list without its cursor. A personal preference, not a business record, so no version,
    recycle bin or audit trail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    list_name = models.CharField(_("list"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ("list_name", "name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_name", "name"], name="saved_view_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RateWindow(models.Model):
    """The API rate limit's counter per token (or client address) when there is no Redis: one row
    per key, counted by a single upsert statement (core.api_auth), so concurrent requests in
    several processes cannot lose counts, at one query per request instead of a cache's many."""

    key = models.CharField(max_length=200, primary_key=True)
    opened = models.FloatField()  # epoch seconds: the same number on both engines
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


# --- calendar ------------------------------------------------------------------------------------
# China's statutory holidays and adjusted working days (调休), kept as data: the State Council
# publishes each year's arrangement late in the year before, and the chinese-calendar package
# stops at its last release. Reference data like Region: no soft delete, no version; every change
# goes through core.services and is audited.


class CalendarSource(models.TextChoices):
    SEEDED = "seeded", _("chinese-calendar package")
    EDITED = "edited", _("Administrator")


class CalendarYear(models.Model):
    """Whether the holiday table covers one year. Only a year with a row marked ``complete`` is
    covered; in any other year working-day questions are refused, never guessed."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(_("complete"), default=False)
    source = models.CharField(
        _("source"), max_length=10, choices=CalendarSource.choices, default=CalendarSource.EDITED
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    audit_fields: ClassVar[tuple[str, ...]] = ("year", "complete", "source", "note")

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ("year",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(year__gte=1900, year__lte=2099), name="calendar_year_range"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["seeded", "edited"]), name="calendar_year_source"
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """One holiday (a day off) or adjusted working day (a weekend day worked). A date without a
    row is an ordinary day: Monday to Friday working, weekends rest. An ``ordinary`` row keeps
    a seeded day an administrator removed from coming back with the next re-seed."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=DayKind.choices)
    holiday = models.CharField(_("holiday"), max_length=30, choices=HolidayKey.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=CalendarSource.choices, default=CalendarSource.EDITED
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    audit_fields: ClassVar[tuple[str, ...]] = ("date", "kind", "holiday", "note", "source")

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ("date",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday", "ordinary"]),
                name="calendar_day_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=["seeded", "edited"]), name="calendar_day_source"
            ),
        ]

    def __str__(self) -> str:
        label = self.get_holiday_display() if self.holiday else ""
        return f"{self.date.isoformat()} {self.get_kind_display()} {label}".strip()
