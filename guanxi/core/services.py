"""Writes that every domain shares: versioned updates, soft delete, restore and purge; saved
views."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import IntegrityError, models, router, transaction
from django.db.models import F
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core import audit_notes
from guanxi.core.audit import audit_record, diff, snapshot
from guanxi.core.china.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    DayKind,
    chinese_calendar_day,
    chinese_calendar_days,
    chinese_calendar_version,
    chinese_calendar_years,
)
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.models import (
    AuditEntry,
    BaseModel,
    CalendarDay,
    CalendarSource,
    CalendarYear,
    SavedView,
)
from guanxi.core.saved_views import (
    SAVED_VIEWS_PER_LIST,
    saved_view_list_get,
    saved_view_query_clean,
)

logger = logging.getLogger(__name__)


def recyclable_models() -> list[type[BaseModel]]:
    return [m for m in apps.get_models() if issubclass(m, BaseModel) and not m._meta.abstract]


def model_update(
    *,
    instance: models.Model,
    data: dict[str, Any],
    actor: Any,
    expected_version: int | None = None,
) -> models.Model:
    """Apply ``data`` to ``instance`` with optimistic locking and a field-level audit entry.

    The UPDATE carries ``WHERE version = expected``; if someone saved in between, nothing is
    written and a ConflictError reports both values of every field the caller changed.
    """
    model = type(instance)
    expected = instance.version if expected_version is None else expected_version
    with transaction.atomic():
        current = model._base_manager.select_for_update().get(pk=instance.pk)
        if current.version != expected:
            # Derived fields (editable=False: search keys, pool dates) are not what the caller
            # typed, and a search key holds contacts' phone numbers in full: left out.
            typed = {f.name for f in model._meta.fields if f.editable}
            changed_by_caller = {k: v for k, v in data.items() if k in typed}
            theirs = snapshot(current, tuple(changed_by_caller))
            raise ConflictError(
                extra={
                    "current_version": current.version,
                    "conflicts": {
                        name: {"yours": _plain_value(value), "theirs": theirs.get(name)}
                        for name, value in changed_by_caller.items()
                    },
                }
            )
        before = snapshot(current)
        for name, value in data.items():
            setattr(current, name, value)
        current.full_clean()
        stamp: dict[str, Any] = {}
        if hasattr(current, "updated_at"):
            current.updated_at = timezone.now()
            stamp["updated_at"] = current.updated_at
        if hasattr(current, "updated_by_id") and getattr(actor, "is_authenticated", False):
            current.updated_by = actor
            stamp["updated_by"] = actor
        update_fields = {name: getattr(current, name) for name in data}
        updated = model._base_manager.filter(pk=current.pk, version=expected).update(
            version=F("version") + 1, **update_fields, **stamp
        )
        if updated != 1:  # pragma: no cover - the row lock above makes this unreachable
            raise ConflictError()
        current.version = expected + 1
        changes = diff(before, snapshot(current))
        if changes:
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=current, changes=changes)
    return current


def _plain_value(value: Any) -> Any:
    return (
        value.pk if isinstance(value, models.Model) else (str(value) if value is not None else None)
    )


def model_create(*, instance: BaseModel, actor: Any) -> BaseModel:
    """Validate, save and audit a new record."""
    if getattr(actor, "is_authenticated", False):
        instance.created_by = actor
        instance.updated_by = actor
    instance.full_clean()
    with transaction.atomic():
        instance.save(force_insert=True)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=instance,
            changes={
                name: {"before": None, "after": value} for name, value in snapshot(instance).items()
            },
        )
    return instance


def object_soft_delete(*, instance: BaseModel, actor: Any) -> BaseModel:
    """Move ``instance`` to the recycle bin. It stays restorable until the purge window ends."""
    if instance.deleted_at is not None:
        raise ApplicationError(
            _("This record is already in the recycle bin."), code="already_deleted"
        )
    with transaction.atomic():
        now = timezone.now()
        # The condition on deleted_at makes a second, concurrent delete a no-op instead of a
        # second audit entry.
        moved = (
            type(instance)
            ._base_manager.filter(pk=instance.pk, deleted_at__isnull=True)
            .update(deleted_at=now, deleted_by=actor, version=F("version") + 1)
        )
        if moved != 1:
            raise ApplicationError(
                _("This record is already in the recycle bin."), code="already_deleted"
            )
        instance.deleted_at = now
        instance.deleted_by = actor
        instance.version += 1
        audit_record(actor=actor, action=AuditEntry.Action.DELETE, obj=instance)
    return instance


def _deleted_owner(instance: BaseModel) -> BaseModel | None:
    """A record in the recycle bin that ``instance`` points to (its parent department, say).
    Restoring ``instance`` before it would bring back a live record under a deleted one."""
    for field in instance._meta.concrete_fields:
        related = field.related_model if field.is_relation else None
        if (
            related is None
            or not issubclass(related, BaseModel)
            or not field.many_to_one
            and not field.one_to_one
        ):
            continue
        target_id = getattr(instance, field.attname)
        if target_id is None:
            continue
        target = related._base_manager.filter(pk=target_id, deleted_at__isnull=False).first()
        if target is not None:
            return target
    return None


# --- restore guards ---
# An app may refuse to bring some of its records back from the recycle bin by the plain restore
# (a customer merged into another comes back only by undoing the merge, which moves its rows back
# too). Registered from AppConfig.ready(), as note labels are, so core need not import the apps.
_RESTORE_GUARDS: dict[type[models.Model], Callable[[Any], None]] = {}


def object_restore_guard_register(model: type[models.Model], guard: Callable[[Any], None]) -> None:
    """``guard(instance)`` raises an ApplicationError that says why, and what to do instead."""
    _RESTORE_GUARDS[model] = guard


def object_restore(*, instance: BaseModel, actor: Any) -> BaseModel:
    """Bring ``instance`` back from the recycle bin."""
    if instance.deleted_at is None:
        raise ApplicationError(_("This record is not in the recycle bin."), code="not_deleted")
    guard = _RESTORE_GUARDS.get(type(instance))
    if guard is not None:
        guard(instance)
    owner = _deleted_owner(instance)
    if owner is not None:
        raise ApplicationError(
            _("Restore “%(label)s” first: this record belongs to it.")
            % {"label": owner.recycle_label()},
            code="owner_deleted",
        )
    with transaction.atomic():
        restored = (
            type(instance)
            ._base_manager.filter(pk=instance.pk, deleted_at__isnull=False)
            .update(deleted_at=None, deleted_by=None, version=F("version") + 1)
        )
        if restored != 1:
            raise ApplicationError(_("This record is not in the recycle bin."), code="not_deleted")
        instance.deleted_at = None
        instance.deleted_by = None
        instance.version += 1
        audit_record(actor=actor, action=AuditEntry.Action.RESTORE, obj=instance)
    return instance


def recycle_bin_purge(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Delete for good what has been in the recycle bin longer than the window. Idempotent.

    Records still referenced by others (a department with members, say) are kept; the next run
    tries again once the references are gone. A record that only a deleted record refers to
    (a sub-department in the bin) goes in the same run: passes repeat while they make progress.
    The stored files of everything a purge deletes (a ticket's attachments, an interaction's)
    are deleted after it commits (object_hard_delete).
    """
    now = now or timezone.now()
    window = settings.GUANXI_RECYCLE_DAYS if days is None else days
    cutoff = now - dt.timedelta(days=window)
    purged = 0
    progress = True
    while progress:
        progress = False
        for model in recyclable_models():
            due = list(
                model._base_manager.filter(deleted_at__lt=cutoff).values_list("pk", flat=True)
            )
            for pk in due:
                try:
                    with transaction.atomic():
                        # Locked and re-checked: a restore or another purge may have come first.
                        instance = (
                            model._base_manager.select_for_update()
                            .filter(pk=pk, deleted_at__lt=cutoff)
                            .first()
                        )
                        if instance is None:
                            continue
                        before = snapshot(instance)
                        audit_record(
                            actor=None,
                            action=AuditEntry.Action.PURGE,
                            obj=instance,
                            changes={
                                name: {"before": value, "after": None}
                                for name, value in before.items()
                            },
                        )
                        object_hard_delete(instance=instance)
                except (models.ProtectedError, models.RestrictedError):
                    continue
                purged += 1
                progress = True
    return purged


# --- deleting for good, with the stored files -----------------------------------------------------


def _file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _collected_files(collector: Collector) -> set[tuple[Storage, str]]:
    """The stored files (storage, name) of every row ``collector`` is about to delete: the rows it
    loaded and the ones it deletes by query without loading them (an attachment table nothing
    points to is such a "fast delete")."""
    files: set[tuple[Storage, str]] = set()

    def add(fields: list[models.FileField], rows: models.QuerySet[Any]) -> None:
        for names in rows.values_list(*(field.attname for field in fields)):
            for field, name in zip(fields, names, strict=True):
                if name:
                    files.add((field.storage, name))

    for model, instances in collector.data.items():
        fields = _file_fields(model)
        if not fields:
            continue
        # Read from the database by key, in batches: the collector loads cascaded rows with
        # only their keys (other fields deferred), and a query per row would be slow.
        keys = sorted(instance.pk for instance in instances)
        for start in range(0, len(keys), 500):
            add(
                fields,
                model._base_manager.using(collector.using).filter(pk__in=keys[start : start + 500]),
            )
    for rows in collector.fast_deletes:
        fields = _file_fields(rows.model)
        if fields:
            add(fields, rows)
    return files


def _stored_files_delete(files: Iterable[tuple[Storage, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)
        except Exception:
            # The rows are gone for good already: one stuck file must not stop the others, nor
            # fail the purge that committed. Logged, for someone to clear by hand.
            logger.exception("could not delete the stored file %s", name)


def object_hard_delete(*, instance: models.Model) -> None:
    """Delete ``instance`` for good, with everything the deletion cascades to (what
    ``instance.delete()`` does), and then the stored files of all those rows (FileField,
    ImageField): PIPL's erasure means the attachments too, not just the rows that named them.

    The files go only once the transaction commits: a rolled-back deletion (or a refused one, a
    ProtectedError raised here before anything is deleted) leaves every file where it was."""
    using = router.db_for_write(type(instance), instance=instance)
    collector = Collector(using=using, origin=instance)
    collector.collect([instance])
    files = _collected_files(collector)
    collector.delete()
    if files:
        transaction.on_commit(lambda: _stored_files_delete(files), using=using)


# --- saved views ---------------------------------------------------------------------------------


def saved_view_create(*, actor: Any, list_name: str, name: str, query: str) -> SavedView:
    """Save the filters of ``query`` under ``name``; saving under an existing name replaces
    that view's filters (the obvious meaning of "save as" with a name you already use)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDeniedError()
    saved_view_list_get(list_name)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the view a name.")]
    elif len(name) > 50:
        errors["name"] = [_("Keep the name under 50 characters.")]
    cleaned = saved_view_query_clean(list_name, query)
    if len(cleaned) > 1000:
        errors["query"] = [_("These filters are too long to save.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = (
            SavedView.objects.select_for_update()
            .filter(user=actor, list_name=list_name, name=name)
            .first()
        )
        if existing is not None:
            existing.query = cleaned
            existing.save(update_fields=["query"])
            return existing
        if (
            SavedView.objects.filter(user=actor, list_name=list_name).count()
            >= SAVED_VIEWS_PER_LIST
        ):
            raise ValidationError(
                {
                    "name": [
                        _("You have %(count)s saved views here, the most there can be. Delete one.")
                        % {"count": SAVED_VIEWS_PER_LIST}
                    ]
                },
                code="too_many_views",
            )
        try:
            with transaction.atomic():
                return SavedView.objects.create(
                    user=actor, list_name=list_name, name=name, query=cleaned
                )
        except IntegrityError as error:  # the same name saved at the same moment elsewhere
            raise ValidationError(
                {"name": [_("You already have a view with this name.")]}, code="duplicate"
            ) from error


def saved_view_delete(*, actor: Any, view: SavedView) -> None:
    if view.user_id != getattr(actor, "pk", None):
        raise NotFoundError()
    view.delete()


# --- calendar ------------------------------------------------------------------------------------
# The holiday and adjusted-working-day table (models.CalendarDay, CalendarYear). Administrators
# edit it; ``calendar_seed`` fills it from the chinese-calendar package without overwriting what
# they edited. Every change is audited; a denied or invalid request changes nothing.

CALENDAR_DAY_EDITABLE_FIELDS = frozenset({"kind", "holiday", "note"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def calendar_date_parse(value: Any, *, field_name: str = "date") -> dt.date:
    """A date from a request (``YYYY-MM-DD``), or a field error naming ``field_name``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value).strip() if isinstance(value, str) else ""
    try:
        parsed = dt.date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            {field_name: [_("Enter a valid date (YYYY-MM-DD).")]}, code="invalid_date"
        )
    return parsed


def calendar_year_check(year: Any, field_name: str = "year") -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            {
                field_name: [
                    _("Enter a year from %(first)s to %(last)s.")
                    % {"first": FIRST_YEAR, "last": LAST_YEAR}
                ]
            },
            code="year_out_of_range",
        )
    return year


def _calendar_day_validate(day: CalendarDay) -> None:
    """The rules a full_clean cannot know, checked before it so the messages say what to do."""
    errors: dict[str, list[str]] = {}
    if isinstance(day.date, dt.date) and not FIRST_YEAR <= day.date.year <= LAST_YEAR:
        errors["date"] = [
            _("Enter a date from %(first)s to %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR}
        ]
    if day.kind not in (DayKind.HOLIDAY, DayKind.WORKDAY):
        errors["kind"] = [_("Choose holiday or adjusted working day.")]
    elif day.kind == DayKind.WORKDAY and isinstance(day.date, dt.date) and day.date.weekday() < 5:
        errors["kind"] = [
            _(
                "An adjusted working day is a Saturday or Sunday worked in exchange for a "
                "holiday; a weekday is a working day anyway."
            )
        ]
    if day.kind in (DayKind.HOLIDAY, DayKind.WORKDAY) and not day.holiday:
        errors["holiday"] = [_("Choose the holiday this day belongs to.")]
    if errors:
        raise ValidationError(errors)


def _calendar_stamp(row: CalendarDay | CalendarYear, actor: Any) -> None:
    row.updated_at = timezone.now()
    row.updated_by = actor if getattr(actor, "is_authenticated", False) else None


def calendar_day_create(
    *, actor: Any, date: dt.date, kind: str, holiday: str = "", note: str = ""
) -> CalendarDay:
    """Add a holiday or adjusted working day. A date an administrator removed earlier (an
    ``ordinary`` row) takes the new values; any other date already in the table is refused."""
    day = CalendarDay(
        date=date,
        kind=kind,
        holiday=(holiday or "").strip(),
        note=(note or "").strip(),
        source=CalendarSource.EDITED,
    )
    _calendar_day_validate(day)
    with transaction.atomic():
        existing = CalendarDay.objects.select_for_update().filter(date=date).first()
        if existing is not None and existing.kind != DayKind.ORDINARY:
            raise ValidationError(
                {
                    "date": [
                        _("%(date)s is already in the calendar: edit it instead.") % {"date": date}
                    ]
                },
                code="duplicate",
            )
        if existing is not None:
            return _calendar_day_apply(
                existing, {"kind": day.kind, "holiday": day.holiday, "note": day.note}, actor
            )
        _calendar_stamp(day, actor)
        day.full_clean()
        try:
            with transaction.atomic():
                day.save(force_insert=True)
        except IntegrityError as error:  # the same date added at the same moment elsewhere
            raise ValidationError(
                {
                    "date": [
                        _("%(date)s is already in the calendar: edit it instead.") % {"date": date}
                    ]
                },
                code="duplicate",
            ) from error
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=day,
            changes={
                name: {"before": None, "after": value} for name, value in snapshot(day).items()
            },
        )
    return day


def _calendar_day_apply(row: CalendarDay, data: Mapping[str, Any], actor: Any) -> CalendarDay:
    """Apply an administrator's values to a locked row, validate, save and audit."""
    before = snapshot(row)
    for name, value in data.items():
        if value is None and name in ("holiday", "note"):
            value = ""  # an explicit null in the API clears the field
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    row.source = CalendarSource.EDITED
    _calendar_day_validate(row)
    _calendar_stamp(row, actor)
    row.full_clean()
    changes = diff(before, snapshot(row))
    if not changes:
        return row
    row.save()
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=row, changes=changes)
    return row


def calendar_day_update(*, actor: Any, day: CalendarDay, data: Mapping[str, Any]) -> CalendarDay:
    """Change a day's kind, holiday or note. The day counts as edited from then on: a re-seed
    leaves it alone."""
    unknown = set(data) - CALENDAR_DAY_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(pk=day.pk).first()
        if row is None:
            raise NotFoundError()
        return _calendar_day_apply(row, data, actor)


def calendar_day_delete(*, actor: Any, day: CalendarDay) -> CalendarDay | None:
    """Make ``day``'s date an ordinary day again. When chinese-calendar has a holiday or
    adjusted working day on that date, the row stays as an ``ordinary`` marker (returned), so
    that a re-seed does not bring the package's day back; otherwise it goes. Deleting such a
    marker lets the next re-seed restore the package's day."""
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(pk=day.pk).first()
        if row is None:
            raise NotFoundError()
        before = snapshot(row)
        if row.kind != DayKind.ORDINARY and chinese_calendar_day(row.date) is not None:
            row.kind = DayKind.ORDINARY
            row.holiday = ""
            row.source = CalendarSource.EDITED
            _calendar_stamp(row, actor)
            row.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=row,
                changes=diff(before, snapshot(row)),
                note=audit_notes.CALENDAR_DAY_REMOVED,
            )
            return row
        label = str(row)
        row_id = row.pk
        row.delete()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            object_type="core.calendarday",
            object_id=str(row_id),
            object_label=label,
            changes={name: {"before": value, "after": None} for name, value in before.items()},
            note=audit_notes.CALENDAR_DAY_DELETED,
        )
    return None


def calendar_year_update(
    *, actor: Any, year: int, complete: bool, note: str | None = None
) -> CalendarYear:
    """Mark ``year`` complete (its holidays and adjusted working days are all entered, so
    working-day questions about it are answered) or not complete (they are refused)."""
    calendar_year_check(year)
    with transaction.atomic():
        row = CalendarYear.objects.select_for_update().filter(year=year).first()
        if complete:
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
            if not CalendarDay.objects.filter(
                date__gte=start, date__lte=end, kind=DayKind.HOLIDAY
            ).exists():
                raise ValidationError(
                    {
                        "complete": [
                            _(
                                "Enter the holidays of %(year)s before you mark the year "
                                "complete: every year has some."
                            )
                            % {"year": year}
                        ]
                    },
                    code="year_empty",
                )
        if row is None:
            row = CalendarYear(
                year=year,
                complete=bool(complete),
                note=(note or "").strip(),
                source=CalendarSource.EDITED,
            )
            _calendar_stamp(row, actor)
            row.full_clean()
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError as error:  # created at the same moment elsewhere
                raise ConflictError() from error
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=row,
                changes={
                    name: {"before": None, "after": value} for name, value in snapshot(row).items()
                },
            )
            return row
        before = snapshot(row)
        row.complete = bool(complete)
        if note is not None:
            row.note = note.strip()
        changes = diff(before, snapshot(row))
        if not changes:
            return row
        row.source = CalendarSource.EDITED
        _calendar_stamp(row, actor)
        row.full_clean()
        row.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=row,
            changes=diff(before, snapshot(row)),
        )
    return row


@dataclass
class CalendarSeedResult:
    years: tuple[int, ...] = ()
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # edited by an administrator, left alone
    removed: int = 0


def calendar_seed(
    *, actor: Any, years: Iterable[int] | None = None, overwrite_edited: bool = False
) -> CalendarSeedResult:
    """(Re-)seed years from the chinese-calendar package (all it covers by default) and mark
    them complete. Days an administrator edited, added or removed are kept unless
    ``overwrite_edited``; seeded days the package no longer has are removed. Idempotent: a
    second run changes nothing and writes no audit entry."""
    available = chinese_calendar_years()
    wanted = sorted(set(available if years is None else years))
    missing = [year for year in wanted if year not in available]
    if missing:
        raise ValidationError(
            {
                "years": [
                    _(
                        "The chinese-calendar package has no arrangement for %(years)s; it covers "
                        "%(first)s to %(last)s. Enter later years by hand."
                    )
                    % {
                        "years": ", ".join(str(year) for year in missing),
                        "first": available.start,
                        "last": available.stop - 1,
                    }
                ]
            },
            code="not_in_package",
        )
    result = CalendarSeedResult(years=tuple(wanted))
    for year in wanted:
        with transaction.atomic():
            counts = _calendar_seed_year(actor=actor, year=year, overwrite_edited=overwrite_edited)
        result.created += counts.created
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.kept += counts.kept
        result.removed += counts.removed
    return result


def _calendar_seed_year(*, actor: Any, year: int, overwrite_edited: bool) -> CalendarSeedResult:
    counts = CalendarSeedResult(years=(year,))
    seed = {day.date: day for day in chinese_calendar_days(year)}
    rows = {
        row.date: row
        for row in CalendarDay.objects.select_for_update().filter(
            date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
        )
    }
    for date, seeded in seed.items():
        row = rows.get(date)
        if row is None:
            row = CalendarDay(
                date=date, kind=seeded.kind, holiday=seeded.holiday, source=CalendarSource.SEEDED
            )
            _calendar_stamp(row, actor)
            row.save(force_insert=True)
            audit_record(
                actor=actor,
                action=AuditEntry.Action.CREATE,
                obj=row,
                changes={
                    name: {"before": None, "after": value} for name, value in snapshot(row).items()
                },
            )
            counts.created += 1
            continue
        if row.source == CalendarSource.EDITED and not overwrite_edited:
            counts.kept += 1
            continue
        before = snapshot(row)
        row.kind, row.holiday, row.source = seeded.kind, seeded.holiday, CalendarSource.SEEDED
        changes = diff(before, snapshot(row))
        if not changes:
            counts.unchanged += 1
            continue
        _calendar_stamp(row, actor)
        row.save()
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=row, changes=changes)
        counts.updated += 1
    for date, row in rows.items():
        if date in seed:
            continue
        if row.source == CalendarSource.EDITED and not overwrite_edited:
            counts.kept += 1
            continue
        before = snapshot(row)
        label, row_id = str(row), row.pk
        row.delete()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            object_type="core.calendarday",
            object_id=str(row_id),
            object_label=label,
            changes={name: {"before": value, "after": None} for name, value in before.items()},
            note=audit_notes.CALENDAR_DAY_DELETED,
        )
        counts.removed += 1
    coverage = CalendarYear.objects.select_for_update().filter(year=year).first()
    if coverage is None:
        coverage = CalendarYear(
            year=year,
            complete=True,
            source=CalendarSource.SEEDED,
            note=f"chinese-calendar {chinese_calendar_version()}".strip(),
        )
        _calendar_stamp(coverage, actor)
        coverage.save(force_insert=True)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=coverage,
            changes={
                name: {"before": None, "after": value} for name, value in snapshot(coverage).items()
            },
        )
    elif not coverage.complete:
        # The package publishes whole arrangements: a seeded year is complete.
        before = snapshot(coverage)
        coverage.complete = True
        _calendar_stamp(coverage, actor)
        coverage.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=coverage,
            changes=diff(before, snapshot(coverage)),
        )
    if counts.created or counts.updated or counts.removed:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=coverage,
            note=audit_notes.CALENDAR_SEED
            + "?"
            + urlencode(
                {
                    "year": year,
                    "created": counts.created,
                    "updated": counts.updated,
                    "removed": counts.removed,
                    "kept": counts.kept,
                }
            ),
        )
    return counts
