"""Writing the audit trail. Services call these; nothing else writes AuditEntry rows."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from django.db import models

from guanxi.core.context import request_ip
from guanxi.core.models import AuditEntry


def object_type_of(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.label_lower


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The tracked field values of ``obj``, as JSON-ready values (foreign keys by id)."""
    names = fields if fields is not None else getattr(obj, "audit_fields", ())
    result: dict[str, Any] = {}
    for name in names:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        result[name] = _plain(getattr(obj, attname))
    return result


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in after
        if before.get(name) != after.get(name)
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:255]
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_label=(actor.get_username() if is_user else "system")[:150],
        ip_address=request_ip.get(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label[:255],
        changes=changes or {},
        note=note[:500],
    )


# --- Note labels ------------------------------------------------------------------------------
# Services store a note as a stable key (optionally "key?name=value&…"); apps register a
# translatable label per key from AppConfig.ready(), so core can show notes in the reader's
# language without importing the apps.
_NOTE_LABELS: dict[str, Any] = {}


def audit_note_labels_register(labels: Mapping[str, Any]) -> None:
    _NOTE_LABELS.update(labels)


def audit_note_labels() -> dict[str, Any]:
    return dict(_NOTE_LABELS)


def audit_note_display(note: str) -> str:
    """``note`` in the active language; a note without a registered key is shown as stored."""
    key, _sep, query = note.partition("?")
    label = _NOTE_LABELS.get(key)
    if label is None:
        return note
    values = dict(parse_qsl(query))
    try:
        return str(label) % values if values else str(label)
    except (KeyError, TypeError, ValueError):
        return str(label)


# --- Masked values ----------------------------------------------------------------------------
# Some audited fields hold personal data (a contact's phones, e-mail, WeChat ID). The trail keeps
# them as they were, but every screen and endpoint that shows an entry shows them masked: the
# trail is for seeing what changed, not a way around masking (DESIGN.md C15). Apps register one
# masking function per object type from AppConfig.ready(), as they do note labels, so core need
# not import them.
_VALUE_MASKS: dict[str, Callable[[str, Any], Any]] = {}


def audit_value_mask_register(object_type: str, mask: Callable[[str, Any], Any]) -> None:
    """``mask(field_name, stored_value)`` returns the value to show: masked for a personal field,
    unchanged for any other. It must never raise, whatever an old entry holds."""
    _VALUE_MASKS[object_type] = mask


def audit_changes_display(entry: AuditEntry) -> dict[str, Any]:
    """``entry.changes`` as screens and the API show it: personal values masked."""
    changes = entry.changes
    mask = _VALUE_MASKS.get(entry.object_type)
    if mask is None or not isinstance(changes, dict):
        return changes
    return {
        name: (
            {side: mask(name, value) for side, value in change.items()}
            if isinstance(change, dict)
            else mask(name, change)
        )
        for name, change in changes.items()
    }
