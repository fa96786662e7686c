"""The iCalendar feed of a user's open follow-ups (RFC 5545 through the ``icalendar`` library),
for the calendar apps people already use (Outlook, Apple and Google Calendar, DingTalk, WeCom).

A format, not a rule: the tasks come from selectors.followup_list in the user's own scope, so the
feed shows exactly the tasks their task list does. Each open task is an all-day event on its due
date. A calendar app stores and syncs what it receives, outside Guanxi's masking, so the events
carry no personal data: the customer's name and the task, never a contact's phones, e-mail or
WeChat ID; the words of a next action (typed by people, who may write a number into them) go
through ``text_scrub``, which masks anything that looks like a phone number or an e-mail address.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from guanxi.core.china.phones import email_mask, phone_mask
from guanxi.engagement.models import FollowUpTask
from guanxi.engagement.selectors import followup_list

FEED_PAST_DAYS = 90  # overdue tasks older than this are left out of the feed
FEED_LIMIT = 1000

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly grouped by spaces, dashes or dots, with an optional "+".
_PHONE = re.compile(r"(?<![\w])\+?\d(?:[\d\s().-]{5,}\d)(?![\w])")


def text_scrub(text: str) -> str:
    """``text`` with e-mail addresses and phone-like numbers masked as everywhere else."""
    text = _EMAIL.sub(lambda match: email_mask(match.group(0)), text or "")

    def phone(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return phone_mask(match.group(0)) if len(digits) >= 7 else match.group(0)

    return _PHONE.sub(phone, text)


def feed_calendar(*, user: Any, base_url: str, today: dt.date | None = None) -> bytes:
    """The feed of ``user``'s open tasks, in ``user``'s language."""
    today = today or timezone.localdate()
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        calendar = Calendar()
        calendar.add("prodid", "-//Guanxi CRM//Follow-ups//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", _("Guanxi follow-ups"))
        calendar.add("x-wr-timezone", settings.TIME_ZONE)
        calendar.add("x-published-ttl", "PT1H")
        tasks = (
            followup_list(actor=user, view="open", assignee=user.pk, today=today)
            .filter(due_date__gte=today - dt.timedelta(days=FEED_PAST_DAYS))
            .select_related("customer")
            .order_by("due_date", "id")[:FEED_LIMIT]
        )
        stamp = timezone.now()
        for task in tasks:
            calendar.add_component(_event(task, base_url=base_url, stamp=stamp, today=today))
        return calendar.to_ical()


def _event(task: FollowUpTask, *, base_url: str, stamp: dt.datetime, today: dt.date) -> Event:
    url = urljoin(base_url, reverse("engagement:task-detail", args=[task.pk]))
    event = Event()
    event.add("uid", f"guanxi-followup-{task.pk}")
    event.add("dtstamp", stamp)
    event.add("last-modified", task.updated_at)
    event.add("sequence", task.version)
    event.add("dtstart", task.due_date)
    event.add("dtend", task.due_date + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", f"{text_scrub(task.display_title)} · {task.customer.name}")
    lines = [
        f"{_('Customer')}: {task.customer.name}",
        f"{_('Source')}: {task.get_source_display()}",
        f"{_('Activity')}: {task.get_kind_display()}",
    ]
    if task.due_date < today:
        lines.append(_("Overdue since %(date)s") % {"date": task.due_date.isoformat()})
    if task.source == FollowUpTask.Source.NEXT_ACTION and task.note:
        lines.append(text_scrub(task.note))
    lines.append(url)
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("categories", ["Guanxi"])
    return event
