from __future__ import annotations

from django import template
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from guanxi.core.audit import audit_note_display

register = template.Library()


@register.filter
def audit_field_label(object_type: str, field_name: str) -> str:
    """The translated label of a changed field ("department" → 部门), or the raw name if the
    model or field no longer exists (the audit trail outlives schema changes)."""
    try:
        model = apps.get_model(object_type)
        return str(model._meta.get_field(field_name).verbose_name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return field_name


@register.filter
def audit_note(note: str) -> str:
    """A stored note key ("user_deactivated?sessions=1&tokens=0") in the reader's language."""
    return audit_note_display(note)
