"""The customer page's timeline, and the page's extension points for other apps.

The timeline interleaves, newest first, what every app knows about a customer: the customer's
change history (the audit trail, registered here), the interaction log and follow-up tasks
(guanxi.engagement), and tickets and orders when those apps arrive. An app registers a *source*
from its ``AppConfig.ready()``::

    timeline_source_register("engagement.interactions", interaction_items)

A source is a callable ``source(actor, customer, limit)`` returning at most ``limit``
:class:`TimelineItem` s, newest first, that ``actor`` may see (the customer is one ``actor`` may
see already; anything else the items show is the source's to scope and mask). Each item names
the template that renders it and the context it needs, so the customers app never imports the
others. ``customer_timeline`` merges the sources by time and cuts the result to ``limit``.

The same way, an app may add a *section* to the customer page (a card in the side column, a
button among the actions) with ``customer_page_section_register``; its context callable returns
None when the section has nothing to show to that user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from guanxi.core.audit_display import audit_change_rows
from guanxi.customers.models import Customer


@dataclass(frozen=True)
class TimelineItem:
    when: dt.datetime
    source: str  # the registered source's name
    template: str  # renders one item; gets ``item`` (this) in its context
    context: dict[str, Any] = field(default_factory=dict)
    tiebreak: int = 0  # orders items of the same instant (a row id)


TimelineSource = Callable[[Any, Customer, int], Iterable[TimelineItem]]

_SOURCES: dict[str, TimelineSource] = {}


def timeline_source_register(name: str, source: TimelineSource) -> None:
    """Register (or replace: ready() may run twice in tests) the source called ``name``."""
    _SOURCES[name] = source


def timeline_sources() -> dict[str, TimelineSource]:
    return dict(_SOURCES)


def customer_timeline(*, actor: Any, customer: Customer, limit: int = 50) -> list[TimelineItem]:
    """The ``limit`` newest items of every source, newest first."""
    items: list[TimelineItem] = []
    for source in _SOURCES.values():
        items.extend(source(actor, customer, limit))
    items.sort(key=lambda item: (item.when, item.tiebreak), reverse=True)
    return items[:limit]


def audit_items(actor: Any, customer: Customer, limit: int) -> list[TimelineItem]:
    """The customer's change history (selectors.customer_history), readable and masked
    (core.audit_display)."""
    from guanxi.customers.selectors import customer_history

    entries = customer_history(customer=customer, limit=limit)
    rows = audit_change_rows(entries, viewer=actor)
    return [
        TimelineItem(
            when=entry.occurred_at,
            source="customers.audit",
            template="customers/partials/timeline_audit.html",
            context={"entry": entry, "rows": rows[entry.pk]},
            tiebreak=entry.pk,
        )
        for entry in entries
    ]


timeline_source_register("customers.audit", audit_items)


# --- page sections ------------------------------------------------------------------------------

SECTION_PLACES = ("actions", "side")


@dataclass(frozen=True)
class PageSection:
    name: str
    place: str  # one of SECTION_PLACES
    template: str  # gets ``section`` (the context dict) and ``customer``
    context: Callable[[Any, Customer], dict[str, Any] | None]


_SECTIONS: dict[str, PageSection] = {}


def customer_page_section_register(
    name: str,
    *,
    place: str,
    template: str,
    context: Callable[[Any, Customer], dict[str, Any] | None],
) -> None:
    if place not in SECTION_PLACES:
        raise ValueError(f"unknown place {place!r}: one of {SECTION_PLACES}")
    _SECTIONS[name] = PageSection(name=name, place=place, template=template, context=context)


def customer_page_sections(*, actor: Any, customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Per place, the registered sections that have something to show ``actor``:
    ``[{"template": …, "context": {…}}]``."""
    found: dict[str, list[dict[str, Any]]] = {place: [] for place in SECTION_PLACES}
    for section in _SECTIONS.values():
        context = section.context(actor, customer)
        if context is not None:
            found[section.place].append({"template": section.template, "context": context})
    return found
