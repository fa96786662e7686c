from __future__ import annotations

from typing import Any

from django import template

from guanxi.service.quality.permissions import quality_can_review

register = template.Library()


@register.simple_tag(takes_context=True)
def quality_reviewer(context: Any) -> bool:
    """Whether the signed-in user reviews anything (the queue tab shows for them only)."""
    request = context.get("request")
    return bool(request is not None and quality_can_review(request.user))


@register.filter
def percent(value: Any) -> str:
    """A percentage as people read it: one decimal, none when whole."""
    if value is None:
        return "—"
    number = round(float(value), 1)
    return f"{number:.0f}%" if number == int(number) else f"{number:.1f}%"
