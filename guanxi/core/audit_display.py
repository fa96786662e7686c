"""Audit entries as people read them: field labels, and ids, codes and timestamps turned into
names, choice labels and local times.

The trail stores what the code saw (foreign keys by id, choices by value, UTC ISO timestamps) so
that it stays exact after renames; this module translates for screens only, with one query per
related model for a whole page of entries. Personal values are masked first
(audit.audit_changes_display), so nothing here can reveal them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from guanxi.core.audit import audit_changes_display
from guanxi.core.models import AuditEntry

# Changes that are not model fields but travel with an action (a pool move's reason).
_EXTRA_LABELS = {"reason": lambda: _("Reason")}

# Related records whose names are not for everyone (a customer outside the viewer's data scope):
# the app that owns the model registers which of the ids the viewer may see named, as it
# registers note labels. Users, departments, regions, industries and tags are named for all.
_VISIBLE_IDS: dict[type[models.Model], Callable[[Any, set[Any]], set[Any]]] = {}


def audit_visible_ids_register(
    model: type[models.Model], visible: Callable[[Any, set[Any]], set[Any]]
) -> None:
    """``visible(viewer, ids)`` returns the ids among ``ids`` whose names ``viewer`` may see."""
    _VISIBLE_IDS[model] = visible


@dataclass(frozen=True)
class ChangeRow:
    name: str
    label: str
    before: str
    after: str


def _field(object_type: str, name: str) -> models.Field | None:
    try:
        return apps.get_model(object_type)._meta.get_field(name)  # type: ignore[return-value]
    except (LookupError, ValueError, FieldDoesNotExist):
        return None


def _label(object_type: str, name: str, field: models.Field | None) -> str:
    if field is not None and hasattr(field, "verbose_name"):
        return str(field.verbose_name)
    extra = _EXTRA_LABELS.get(name)
    return str(extra()) if extra else name


def _related_names(
    entries: list[AuditEntry], viewer: Any
) -> dict[type[models.Model], dict[Any, str]]:
    """Every related id the entries mention, resolved with one query per related model; ids the
    viewer may not see named stay unnamed."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for entry in entries:
        for name, change in (entry.changes or {}).items():
            field = _field(entry.object_type, name)
            if field is None or not field.is_relation or not isinstance(change, dict):
                continue
            for value in change.values():
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, int | str) and item != "":
                        wanted[field.related_model].add(item)
    names: dict[type[models.Model], dict[Any, str]] = {}
    for model, ids in wanted.items():
        manager = getattr(model, "_base_manager", model.objects)
        visible = _VISIBLE_IDS.get(model)
        if visible is not None:
            ids = visible(viewer, ids)
        try:
            rows = manager.in_bulk(list(ids)) if ids else {}
        except (ValueError, TypeError, OverflowError):
            rows = {}
        names[model] = {pk: _name(row) for pk, row in rows.items()}
    return names


def _name(row: models.Model) -> str:
    full_name = getattr(row, "get_full_name", None)
    if callable(full_name) and full_name():
        return str(full_name())
    return str(getattr(row, "name", None) or row)


def _readable(value: Any, field: models.Field | None, names: dict[Any, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field is not None and field.is_relation:
        items = value if isinstance(value, list) else [value]
        return _separator().join(names.get(item, _hidden(item)) for item in items)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    if isinstance(field, models.DateField) and isinstance(value, str):
        day = parse_date(value)
        if isinstance(day, dt.date):
            return formats.date_format(day, "SHORT_DATE_FORMAT")
    if isinstance(value, list):
        return _separator().join(_item(item) for item in value)
    return str(value)


def _item(item: Any) -> str:
    if isinstance(item, dict) and "number" in item:
        return str(item["number"])  # a contact's phone, already masked where it must be
    return str(item)


def _separator() -> str:
    return pgettext("between the items of a list", ", ")


def _hidden(item: Any) -> str:
    return _("a record you cannot see")


def audit_change_rows(entries: Iterable[AuditEntry], *, viewer: Any) -> dict[int, list[ChangeRow]]:
    """Readable, masked change rows per entry id, for a page of entries shown to ``viewer``."""
    entries = list(entries)
    related = _related_names(entries, viewer)
    rows: dict[int, list[ChangeRow]] = {}
    for entry in entries:
        shown = audit_changes_display(entry) or {}
        entry_rows = []
        for name, change in shown.items() if isinstance(shown, dict) else ():
            field = _field(entry.object_type, name)
            names = (
                related.get(field.related_model, {})
                if field is not None and field.is_relation
                else {}
            )
            before, after = (
                (change.get("before"), change.get("after"))
                if isinstance(change, dict)
                else (None, change)
            )
            entry_rows.append(
                ChangeRow(
                    name=name,
                    label=_label(entry.object_type, name, field),
                    before=_readable(before, field, names),
                    after=_readable(after, field, names),
                )
            )
        rows[entry.pk] = entry_rows
    return rows
