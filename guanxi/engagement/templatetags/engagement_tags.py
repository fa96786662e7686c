from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import ngettext

from guanxi.engagement.models import Channel, Interaction

register = template.Library()


@register.filter
def channel_label(value: str) -> str:
    return str(Channel(value).label) if value in Channel.values else value


@register.filter
def reaction_badge(value: str) -> str:
    return {
        Interaction.Reaction.POSITIVE: "bg-green-lt",
        Interaction.Reaction.NEGATIVE: "bg-red-lt",
    }.get(value, "bg-secondary-lt")


@register.simple_tag
def period_phrase(unit: str, interval: Any) -> str:
    """ "every month", "every 2 weeks", "every 3 months" in the reader's language."""
    count = int(interval or 1)
    if unit == "week":
        return ngettext("every week", "every %(count)s weeks", count) % {"count": count}
    if unit == "day":
        return ngettext("every day", "every %(count)s days", count) % {"count": count}
    return ngettext("every month", "every %(count)s months", count) % {"count": count}
