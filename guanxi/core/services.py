"""Writes that every domain shares: versioned updates, soft delete, restore and purge; saved
views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.audit import audit_record, diff, snapshot
from guanxi.core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from guanxi.core.models import AuditEntry, BaseModel, SavedView
from guanxi.core.saved_views import (
    SAVED_VIEWS_PER_LIST,
    saved_view_list_get,
    saved_view_query_clean,
)


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
                        instance.delete()
                except (models.ProtectedError, models.RestrictedError):
                    continue
                purged += 1
                progress = True
    return purged


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
