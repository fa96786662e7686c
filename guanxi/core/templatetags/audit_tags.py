from __future__ import annotations

from django import template

from guanxi.core.audit import audit_note_display

register = template.Library()


@register.filter
def audit_note(note: str) -> str:
    """A stored note key ("user_deactivated?sessions=1&tokens=0") in the reader's language."""
    return audit_note_display(note)
