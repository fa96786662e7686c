"""Writes of the service desk (C5): opening a ticket (number, routing, SLA deadlines), its life
(assignment, start, waiting, resolution, the customer's confirmation and score, closing,
reopening), comments and attachments, the scheduler's warnings and escalations, and the
automatic close of resolved tickets nobody confirmed.

Every write: explicit actor (None for the scheduler and the customer's public link), validation
before anything is written, one transaction, a TicketTransition row for each status change and an
audit entry (core.services). Time-dependent functions take ``now`` so tests freeze the clock by
passing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import User
from guanxi.core.audit import audit_record
from guanxi.core.china.calendar import CalendarMissing
from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.selectors import working_calendar_load
from guanxi.core.services import model_create, model_update
from guanxi.core.validation import (
    actor_is_user,
    actor_or_none,
    choice_clean,
    errors_collect,
    text_clean,
)
from guanxi.customers.models import Contact, Customer
from guanxi.service import sla
from guanxi.service.models import (
    OPEN_STATUSES,
    ClockMode,
    Priority,
    RoutingRule,
    ServiceTeam,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChannel,
    TicketComment,
    TicketConfirmation,
    TicketNumberCounter,
    TicketPause,
    TicketStatus,
    TicketTransition,
)
from guanxi.service.permissions import ticket_can_create, ticket_can_work
from guanxi.service.selectors import ticket_visible_queryset

logger = logging.getLogger(__name__)

SUBJECT_LIMIT = 200
TEXT_LIMIT = 10000
REASON_LIMIT = 500
COMMENT_LIMIT = 2000
# A score at or below this opens a feedback item with a 24-hour answer deadline (C4).
LOW_SCORE = 2

NOTIFICATION_KINDS = {
    "ticket_assigned": _("A ticket was assigned to you"),
    "ticket_sla_warning": _("A ticket's deadline is near"),
    "ticket_sla_breached": _("A ticket missed its deadline"),
    "ticket_reopened": _("A ticket was reopened"),
}


# --- errors -------------------------------------------------------------------------------------


class TicketStatusError(ApplicationError):
    """The ticket is not in a status from which this step can be taken (someone else moved it)."""

    status_code = 409
    default_code = "ticket_status"
    default_message = _("This ticket is no longer in a status that allows this step.")


class ConfirmationLinkError(ApplicationError):
    """An unknown, used, replaced or expired confirmation link. The same answer for each, so a
    guessed token learns nothing."""

    status_code = 404
    default_code = "link_invalid"
    default_message = _("This link is not valid any more.")


# --- helpers ------------------------------------------------------------------------------------


def _locked(ticket: Ticket, *, version: int | None) -> Ticket:
    """The ticket's row, locked for this transaction, after checking the version the user read
    (a stale form is a 409 with the current values, as for every versioned record)."""
    current = Ticket.all_objects.select_for_update().get(pk=ticket.pk)
    if current.deleted_at is not None:
        raise TicketStatusError()
    if version is not None and current.version != version:
        from guanxi.core.exceptions import ConflictError

        raise ConflictError(extra={"current_version": current.version})
    return current


def _transition(
    *,
    actor: Any,
    ticket: Ticket,
    to_status: str,
    data: dict[str, Any] | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a locked ticket to ``to_status`` with ``data``: one versioned update (audited field by
    field) and one transition row."""
    from_status = ticket.status
    changes = dict(data or {})
    changes["status"] = to_status
    updated = model_update(instance=ticket, data=changes, actor=actor_or_none(actor))
    TicketTransition.objects.create(
        ticket=updated,
        from_status=from_status,
        to_status=to_status,
        assignee=updated.assignee,
        reason=reason,
        actor=actor_or_none(actor),
        at=now or timezone.now(),
    )
    return updated  # type: ignore[return-value]  # model_update returns the instance given


# --- numbers ------------------------------------------------------------------------------------


def ticket_number_next(*, day: dt.date) -> str:
    """The next number of ``day``: ``T`` + date + a four-digit sequence (more digits after 9,999
    a day). One upsert statement takes the sequence, so tickets created at the same moment in
    several processes each get their own number, on SQLite and PostgreSQL alike."""
    quote = connection.ops.quote_name
    table = quote(TicketNumberCounter._meta.db_table)
    day_, last_ = quote("day"), quote("last")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({day_}, {last_}) VALUES (%s, 1) "
            f"ON CONFLICT ({day_}) DO UPDATE SET {last_} = {table}.{last_} + 1 "
            f"RETURNING {last_}",
            [day],
        )
        (sequence,) = cursor.fetchone()
    return f"T{day:%Y%m%d}{sequence:04d}"


# --- routing ------------------------------------------------------------------------------------


def routing_rule_match(*, category: TicketCategory, priority: str, customer: Customer) -> Any:
    """The first active rule, in position order, whose conditions all hold (blank = any). A
    rule's region matches a customer in it at any level below."""
    regions = {customer.province_id, customer.city_id, customer.district_id} - {None}
    rules = (
        RoutingRule.objects.filter(category=category, active=True, team__deleted_at__isnull=True)
        .filter(Q(priority="") | Q(priority=priority))
        .filter(Q(account_class="") | Q(account_class=customer.account_class))
        .filter(Q(region__isnull=True) | Q(region__in=regions))
        .select_related("team", "assignee")
        .order_by("position", "id")
    )
    return rules.first()


def team_assignee_pick(*, team: ServiceTeam) -> User | None:
    """The member who gets the team's next ticket: round robin continues after the last one
    given a ticket; least loaded takes the member with the fewest open tickets (the earliest
    member on a tie). Runs with the team's row locked by the caller, so two tickets created at
    once do not both go to the same person by mistake."""
    members = list(team.members.filter(is_active=True).order_by("id"))
    if not members:
        return None
    if team.assignment_mode == "round_robin":
        after = [
            member
            for member in members
            if team.last_assignee_id and member.pk > team.last_assignee_id
        ]
        return (after or members)[0]
    loads = dict(
        Ticket.objects.filter(assignee__in=members, status__in=OPEN_STATUSES)
        .values("assignee")
        .annotate(open=Count("id"))
        .values_list("assignee", "open")
    )
    return min(members, key=lambda member: (loads.get(member.pk, 0), member.pk))


# --- SLA ----------------------------------------------------------------------------------------


def sla_policy_for(*, category: TicketCategory, priority: str, account_class: str) -> Any:
    """The most specific active policy: a key-account class weighs most (VIP customers get their
    own), then the category, then the priority; blank means any."""
    candidates = (
        SlaPolicy.objects.filter(active=True)
        .filter(Q(category__isnull=True) | Q(category=category))
        .filter(Q(priority="") | Q(priority=priority))
        .filter(Q(account_class="") | Q(account_class=account_class))
    )

    def weight(policy: SlaPolicy) -> tuple[int, int]:
        score = (4 if policy.account_class else 0) + (2 if policy.category_id else 0)
        score += 1 if policy.priority else 0
        return (score, -policy.pk)

    return max(candidates, key=weight, default=None)


def sla_calendar_for(
    *, policy: SlaPolicy, team: ServiceTeam | None, working_days: Any = None
) -> sla.SlaCalendar:
    """The clock of a ticket: 24 × 7, or the handling team's working hours (Mon–Fri 09:00–18:00
    Asia/Shanghai without a team) on the working days of the holiday table."""
    zone = zoneinfo.ZoneInfo(team.time_zone if team else settings.TIME_ZONE)
    if policy.clock == ClockMode.ALWAYS:
        return sla.SlaCalendar(mode="24x7", timezone=zone)
    intervals = (
        sla.working_intervals(team.work_start, team.work_end, team.break_start, team.break_end)
        if team is not None
        else sla.DEFAULT_INTERVALS
    )
    return sla.SlaCalendar(
        mode="working_hours",
        timezone=zone,
        intervals=intervals,
        working_days=working_days if working_days is not None else working_calendar_load(),
    )


def _pauses(ticket: Ticket) -> list[tuple[dt.datetime, dt.datetime | None]]:
    return [(pause.started_at, pause.ended_at) for pause in ticket.pauses.all()]


def sla_deadlines(ticket: Ticket, *, working_days: Any = None) -> dict[str, Any]:
    """The ticket's deadlines and warning moments from its policy, its pauses and its clock.
    A deadline is None while the clock is paused; a year missing from the holiday table gives
    ``calendar_missing`` instead of any deadline, never a wrong one."""
    blank = {
        "response_due_at": None,
        "resolution_due_at": None,
        "response_warn_at": None,
        "resolution_warn_at": None,
        "calendar_missing": None,
    }
    policy = ticket.sla_policy
    if policy is None:
        return blank
    calendar = sla_calendar_for(policy=policy, team=ticket.team, working_days=working_days)
    pauses = _pauses(ticket) if ticket.pk else []
    start = ticket.created_at
    share = policy.warn_percent / 100
    try:
        response = dt.timedelta(minutes=policy.response_minutes)
        resolution = dt.timedelta(minutes=policy.resolution_minutes)
        return {
            "response_due_at": sla.deadline_with_pauses(start, response, calendar, pauses),
            "resolution_due_at": sla.deadline_with_pauses(start, resolution, calendar, pauses),
            "response_warn_at": sla.deadline_with_pauses(start, response * share, calendar, pauses),
            "resolution_warn_at": sla.deadline_with_pauses(
                start, resolution * share, calendar, pauses
            ),
            "calendar_missing": None,
        }
    except CalendarMissing as missing:
        return {**blank, "calendar_missing": missing.year}


# --- creating -----------------------------------------------------------------------------------


def ticket_create(
    *,
    actor: Any,
    customer: Customer,
    category: TicketCategory,
    subject: str,
    description: str,
    channel: str = TicketChannel.PHONE,
    priority: str = Priority.NORMAL,
    contact: Contact | None = None,
    attachments: Sequence[Any] = (),
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket for ``customer``: numbered, routed by the first matching rule to a team and
    (by the team's assignment mode, unless the rule names someone) a person, with its response
    and resolution deadlines from the most specific SLA policy on the team's clock. Invalid input
    is a ValidationError and nothing is written."""
    if not ticket_can_create(actor):
        raise PermissionDeniedError()
    if customer.deleted_at is not None or customer.archived_at is not None:
        raise PermissionDeniedError()
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    channel = errors_collect(errors, lambda: choice_clean("channel", channel, TicketChannel)) or ""
    priority = errors_collect(errors, lambda: choice_clean("priority", priority, Priority)) or ""
    subject = errors_collect(
        errors, lambda: text_clean("subject", subject, limit=SUBJECT_LIMIT, required=True)
    )
    description = errors_collect(
        errors, lambda: text_clean("description", description, limit=TEXT_LIMIT, required=True)
    )
    if not category.active or category.deleted_at is not None:
        errors.setdefault("category", []).append(gettext("This category is no longer in use."))
    if contact is not None and (contact.customer_id != customer.pk or contact.deleted_at):
        errors.setdefault("contact", []).append(gettext("Choose a contact of this customer."))
    checked = errors_collect(errors, lambda: _attachments_check(list(attachments))) or []
    if errors:
        raise ValidationError(errors)
    stored: list[str] = []
    try:
        # The files go to storage before the transaction: the day's number counter stays locked
        # from the number to the commit, and a large upload must not hold up every other ticket.
        files = _attachments_store(actor=actor, checked=checked, stored=stored, now=now)
        with transaction.atomic():
            rule = routing_rule_match(category=category, priority=priority, customer=customer)
            team = assignee = None
            if rule is not None:
                team = ServiceTeam.objects.select_for_update().get(pk=rule.team_id)
                active_member = (
                    rule.assignee is not None
                    and rule.assignee.is_active
                    and (
                        team.lead_id == rule.assignee_id
                        or team.members.filter(pk=rule.assignee_id).exists()
                    )
                )
                assignee = rule.assignee if active_member else team_assignee_pick(team=team)
                if assignee is not None and not active_member:
                    ServiceTeam.objects.filter(pk=team.pk).update(last_assignee=assignee)
            ticket = Ticket(
                number=ticket_number_next(day=timezone.localtime(now).date()),
                channel=channel,
                customer=customer,
                contact=contact,
                category=category,
                priority=priority,
                subject=subject,
                description=description,
                status=TicketStatus.ASSIGNED if assignee else TicketStatus.NEW,
                team=team,
                department_id=team.department_id if team else None,
                assignee=assignee,
                routing_rule=rule,
                sla_policy=sla_policy_for(
                    category=category, priority=priority, account_class=customer.account_class
                ),
                created_at=now,
                updated_at=now,
            )
            for name, value in sla_deadlines(ticket).items():
                setattr(ticket, name, value)
            model_create(instance=ticket, actor=actor)
            TicketTransition.objects.create(
                ticket=ticket,
                from_status="",
                to_status=ticket.status,
                assignee=assignee,
                reason=gettext_noop("Routed by rule") if rule else "",
                actor=actor_or_none(actor),
                at=now,
            )
            for attachment in files:
                attachment.ticket = ticket
                # The ticket and the uploader are the rows in hand: not looked up again per file
                # while the day's counter is held.
                attachment.full_clean(exclude=["ticket", "uploaded_by"])
                attachment.save()
            if assignee is not None and assignee != actor:
                _assigned_notify(ticket=ticket, actor=actor)
    except BaseException:
        _storage_remove(stored)
        raise
    return ticket


# --- working a ticket ---------------------------------------------------------------------------


def _require_work(actor: Any, ticket: Ticket) -> None:
    if not actor_is_user(actor) or not ticket_can_work(actor, ticket):
        raise PermissionDeniedError()


def ticket_assign(
    *,
    actor: Any,
    ticket: Ticket,
    assignee: User,
    reason: str = "",
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Give the ticket to ``assignee`` (a member or the lead of a service team; the ticket moves
    to that person's team). A reassignment needs a reason; the first assignment does not."""
    _require_work(actor, ticket)
    errors: dict[str, list[str]] = {}
    reason = errors_collect(errors, lambda: text_clean("reason", reason, limit=REASON_LIMIT)) or ""
    team = _team_of(assignee, prefer=ticket.team_id) if assignee is not None else None
    if team is None:
        errors.setdefault("assignee", []).append(
            gettext("Choose an active member of a service team.")
        )
    if ticket.assignee_id and ticket.assignee_id != getattr(assignee, "pk", None) and not reason:
        errors.setdefault("reason", []).append(gettext("Say why the ticket changes hands."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status not in OPEN_STATUSES:
            raise TicketStatusError()
        if current.assignee_id == assignee.pk:
            return current
        # On another team the deadlines follow that team's working hours.
        moved = current.team_id != team.pk
        current.team = team
        data: dict[str, Any] = {"assignee": assignee, "team": team, "department": team.department}
        if moved:
            data.update({**sla_deadlines(current), **WARNINGS_CLEARED})
        to_status = TicketStatus.ASSIGNED if current.status == TicketStatus.NEW else current.status
        updated = _transition(
            actor=actor, ticket=current, to_status=to_status, data=data, reason=reason, now=now
        )
        if assignee != actor:
            _assigned_notify(ticket=updated, actor=actor)
    return updated


def _team_of(user: User, *, prefer: int | None) -> ServiceTeam | None:
    """The service team ``user`` works the ticket in: the ticket's own team when they are in it
    (a reassignment inside the team keeps its clock and visibility), else their first team."""
    if not user.is_active:
        return None
    teams = ServiceTeam.objects.filter(Q(members=user) | Q(lead=user)).distinct().order_by("id")
    return next((team for team in teams if team.pk == prefer), None) or teams.first()


# A step that moves the deadlines also clears the warnings already sent, so that the new clock
# warns again (a breach stays recorded).
WARNINGS_CLEARED = {"response_warned_at": None, "resolution_warned_at": None}


def ticket_start(
    *, actor: Any, ticket: Ticket, version: int | None = None, now: dt.datetime | None = None
) -> Ticket:
    """The assignee takes the ticket into work: that is its first response."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status not in {TicketStatus.NEW, TicketStatus.ASSIGNED}:
            raise TicketStatusError()
        data: dict[str, Any] = {}
        if current.assignee_id is None:
            team = _team_of(actor, prefer=current.team_id)
            data.update(
                {
                    "assignee": actor,
                    "team": team or current.team,
                    "department": team.department if team else current.department,
                }
            )
            if team is not None and team.pk != current.team_id:
                current.team = team
                data.update({**sla_deadlines(current), **WARNINGS_CLEARED})
        if current.first_response_at is None:
            data["first_response_at"] = now
        return _transition(
            actor=actor, ticket=current, to_status=TicketStatus.IN_PROGRESS, data=data, now=now
        )


def ticket_wait(
    *,
    actor: Any,
    ticket: Ticket,
    reason: str,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Waiting on the customer (more information, a site visit they must arrange): the SLA clock
    stops until the ticket is resumed."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    reason = text_clean("reason", reason, limit=REASON_LIMIT, required=True)
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status not in {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS}:
            raise TicketStatusError()
        TicketPause.objects.create(ticket=current, started_at=now)
        data = {"paused_at": now, **sla_deadlines(current)}
        if current.first_response_at is None:
            data["first_response_at"] = now
        return _transition(
            actor=actor,
            ticket=current,
            to_status=TicketStatus.WAITING,
            data=data,
            reason=reason,
            now=now,
        )


def ticket_resume(
    *, actor: Any, ticket: Ticket, version: int | None = None, now: dt.datetime | None = None
) -> Ticket:
    """The customer answered: the clock runs again and the deadlines move by the time waited."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status != TicketStatus.WAITING:
            raise TicketStatusError()
        TicketPause.objects.filter(ticket=current, ended_at__isnull=True).update(ended_at=now)
        data = {"paused_at": None, **sla_deadlines(current), **WARNINGS_CLEARED}
        return _transition(
            actor=actor, ticket=current, to_status=TicketStatus.IN_PROGRESS, data=data, now=now
        )


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, hashlib.sha256(token.encode()).hexdigest()


def confirmation_link_create(*, ticket: Ticket, now: dt.datetime | None = None) -> str:
    """A new confirmation link for the resolved ticket; earlier ones stop working. Returns the
    token (only its hash is kept)."""
    now = now or timezone.now()
    TicketConfirmation.objects.filter(
        ticket=ticket, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    token, token_hash = _token()
    TicketConfirmation.objects.create(
        ticket=ticket,
        contact=ticket.contact,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.GUANXI_TICKET_AUTOCLOSE_DAYS),
    )
    return token


def ticket_resolve(
    *,
    actor: Any,
    ticket: Ticket,
    resolution: str,
    version: int | None = None,
    now: dt.datetime | None = None,
    send_link: bool = True,
) -> tuple[Ticket, str]:
    """The handler's answer: the ticket is resolved and the customer's contact gets a link to
    confirm and score it (by e-mail when the contact has an address; the page shows the link
    once so that it can be sent by SMS or WeChat; ``send_link`` False leaves the e-mail out, for
    the demo's history). Returns the ticket and the link's token."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    resolution = text_clean("resolution", resolution, limit=TEXT_LIMIT, required=True)
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status not in OPEN_STATUSES:
            raise TicketStatusError()
        TicketPause.objects.filter(ticket=current, ended_at__isnull=True).update(ended_at=now)
        data: dict[str, Any] = {
            "resolution": resolution,
            "resolved_at": now,
            "resolved_by": actor_or_none(actor),
            "paused_at": None,
        }
        if current.first_response_at is None:
            data["first_response_at"] = now
        updated = _transition(
            actor=actor, ticket=current, to_status=TicketStatus.RESOLVED, data=data, now=now
        )
        token = confirmation_link_create(ticket=updated, now=now)
        email = _contact_email(updated.contact) if send_link else ""
        if email:
            transaction.on_commit(
                lambda: _confirmation_mail(ticket_id=updated.pk, email=email, token=token)
            )
    return updated, token


def ticket_confirmation_link_renew(*, actor: Any, ticket: Ticket) -> str:
    """A fresh link for a resolved ticket (the first was lost, or went to the wrong person)."""
    _require_work(actor, ticket)
    with transaction.atomic():
        current = _locked(ticket, version=None)
        if current.status != TicketStatus.RESOLVED:
            raise TicketStatusError()
        token = confirmation_link_create(ticket=current)
        audit_record(actor=actor, action="update", obj=current, note="confirmation_link_renewed")
    return token


def _contact_email(contact: Contact | None) -> str:
    if contact is None or contact.deleted_at is not None:
        return ""
    return contact.email


def _confirmation_mail(*, ticket_id: int, email: str, token: str) -> None:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    link = settings.SITE_URL.rstrip("/") + reverse("service:confirm", args=[token])
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Your request %(number)s has been resolved") % {"number": ticket.number}
        body = gettext(
            "We have resolved your request “%(subject)s”. Please tell us whether the problem is "
            "solved and how satisfied you are:\n\n%(link)s\n"
        ) % {"subject": ticket.subject, "link": link}
    try:
        send_mail(subject, body, None, [email])
    except Exception:  # the link is also on the ticket page; a mail server failure must not undo
        logger.exception("confirmation mail for ticket %s failed", ticket_id)


def ticket_close(
    *, actor: Any, ticket: Ticket, version: int | None = None, now: dt.datetime | None = None
) -> Ticket:
    """Close a resolved or confirmed ticket. It stays in the customer's history."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status not in {TicketStatus.RESOLVED, TicketStatus.CONFIRMED}:
            raise TicketStatusError()
        _links_revoke(current)
        return _transition(
            actor=actor,
            now=now,
            ticket=current,
            to_status=TicketStatus.CLOSED,
            data={"closed_at": now},
        )


def _links_revoke(ticket: Ticket) -> None:
    TicketConfirmation.objects.filter(
        ticket=ticket, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def _reopen(
    *, actor: Any, ticket: Ticket, reason: str, now: dt.datetime, message: str | None = None
) -> Ticket:
    """Back to work. The time it spent resolved does not count against its resolution target:
    it is recorded as a pause from the resolution to now. ``message``: the assignee's notice
    when the system reopens it (the customer's answer), a msgid of its own so that it is
    translated; a person's reopen quotes their reason."""
    if ticket.resolved_at is not None:
        TicketPause.objects.create(ticket=ticket, started_at=ticket.resolved_at, ended_at=now)
    _links_revoke(ticket)
    data = {
        "reopen_count": ticket.reopen_count + 1,
        "resolved_at": None,
        "confirmed_at": None,
        "closed_at": None,
        "paused_at": None,
        **sla_deadlines(ticket),
        **WARNINGS_CLEARED,
    }
    to_status = TicketStatus.IN_PROGRESS if ticket.assignee_id else TicketStatus.NEW
    updated = _transition(
        actor=actor, ticket=ticket, to_status=to_status, data=data, reason=reason, now=now
    )
    recipients = [user for user in (updated.assignee,) if user is not None and user != actor]
    if message is None:
        message, params = (
            gettext_noop("Ticket %(number)s was reopened: %(reason)s"),
            {"number": updated.number, "reason": reason},
        )
    else:
        params = {"number": updated.number}
    _notify(
        recipients=recipients,
        kind="ticket_reopened",
        message=message,
        params=params,
        ticket=updated,
        dedupe_key=f"ticket_reopened:{updated.pk}:{updated.reopen_count}",
        actor=actor,
    )
    return updated


def ticket_reopen(
    *,
    actor: Any,
    ticket: Ticket,
    reason: str,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Reopen a resolved, confirmed or closed ticket, with a reason."""
    _require_work(actor, ticket)
    now = now or timezone.now()
    reason = text_clean("reason", reason, limit=REASON_LIMIT, required=True)
    with transaction.atomic():
        current = _locked(ticket, version=version)
        if current.status in OPEN_STATUSES:
            raise TicketStatusError()
        return _reopen(actor=actor, ticket=current, reason=reason, now=now)


# --- the customer's confirmation ----------------------------------------------------------------


def confirmation_link_live(*, token: str, ticket: Ticket) -> bool:
    """Whether ``token`` is still the working link of ``ticket``."""
    try:
        return confirmation_for_token(token).ticket_id == ticket.pk
    except ConfirmationLinkError:
        return False


def confirmation_for_token(token: str, *, now: dt.datetime | None = None) -> TicketConfirmation:
    """The live confirmation of ``token``; ConfirmationLinkError for anything else."""
    now = now or timezone.now()
    if not isinstance(token, str) or not 10 <= len(token) <= 100:
        raise ConfirmationLinkError()
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    confirmation = (
        TicketConfirmation.objects.select_related("ticket", "ticket__customer", "ticket__category")
        .filter(token_hash=token_hash, used_at__isnull=True, revoked_at__isnull=True)
        .filter(expires_at__gt=now, ticket__deleted_at__isnull=True)
        .first()
    )
    if confirmation is None or confirmation.ticket.status != TicketStatus.RESOLVED:
        raise ConfirmationLinkError()
    return confirmation


def ticket_confirmation_submit(
    *, token: str, solved: bool, score: Any, comment: str = "", now: dt.datetime | None = None
) -> Ticket:
    """The customer's answer through the link (no login): whether the problem is solved and a
    score of 1–5 with a comment. Solved with a fair score confirms the ticket. Not solved, or a
    score of 2 or less, reopens it and opens a feedback item that must be answered within 24
    hours. The link works once."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    try:
        score_value = int(score)
    except (TypeError, ValueError):
        score_value = 0
    if not 1 <= score_value <= 5:
        errors["score"] = [gettext("Choose a score from 1 to 5.")]
    comment = (
        errors_collect(errors, lambda: text_clean("comment", comment, limit=COMMENT_LIMIT)) or ""
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        confirmation = confirmation_for_token(token, now=now)
        locked = TicketConfirmation.objects.select_for_update().get(pk=confirmation.pk)
        if locked.used_at is not None or locked.revoked_at is not None:
            raise ConfirmationLinkError()
        TicketConfirmation.objects.filter(pk=locked.pk).update(
            used_at=now, confirmed=bool(solved), score=score_value, comment=comment
        )
        ticket = _locked(confirmation.ticket, version=None)
        if ticket.status != TicketStatus.RESOLVED:
            raise ConfirmationLinkError()
        data = {"satisfaction": score_value, "satisfaction_comment": comment}
        ticket = model_update(instance=ticket, data=data, actor=None)  # type: ignore[assignment]
        if solved and score_value > LOW_SCORE:
            return _transition(
                actor=None,
                now=now,
                ticket=ticket,
                to_status=TicketStatus.CONFIRMED,
                data={"confirmed_at": now},
                reason=gettext_noop("Confirmed by the customer"),
            )
        low = score_value <= LOW_SCORE
        reason = (
            gettext_noop("Low satisfaction score from the customer")
            if low
            else gettext_noop("The customer says the problem is not solved")
        )
        message = (
            gettext_noop("Ticket %(number)s was reopened: the customer gave it a low score.")
            if low
            else gettext_noop("Ticket %(number)s was reopened: the customer says it is not solved.")
        )
        reopened = _reopen(actor=None, ticket=ticket, reason=reason, now=now, message=message)
        if score_value <= LOW_SCORE or not solved:
            from guanxi.feedback.services import feedback_item_open

            feedback_item_open(
                actor=None,
                customer=reopened.customer,
                source="ticket_csat",
                summary=f"{reopened.number} {reopened.subject}"[:200],
                comment=comment,
                # A contact moved to another customer since (a merge undone) is left out.
                contact=(
                    reopened.contact
                    if reopened.contact and reopened.contact.customer_id == reopened.customer_id
                    else None
                ),
                ticket=reopened,
                score=score_value,
                owner=reopened.assignee,
            )
        return reopened


# --- comments and attachments -------------------------------------------------------------------


def _attachments_check(uploads: Sequence[Any], *, already: int = 0) -> list[Any]:
    """``uploads`` checked as an interaction's are (size; type by name and content, through
    engagement's ``attachment_check``) and within ``GUANXI_ATTACHMENTS_PER_TICKET`` with the
    ``already`` kept: one field error on ``attachments`` naming every bad file, so that a
    refused upload stores none of them."""
    from guanxi.engagement.services import attachment_check

    errors: dict[str, list[str]] = {}
    _attachments_count_check(len(uploads), already=already, errors=errors)
    checked = []
    for upload in uploads:
        item = errors_collect(errors, lambda upload=upload: attachment_check(upload))
        if item is not None:
            checked.append(item)
    if errors:
        raise ValidationError(errors)
    return checked


def _attachments_count_check(
    count: int, *, already: int, errors: dict[str, list[str]] | None = None
) -> None:
    # A setting, read at call time: core's upload size guard derives its bound from it too.
    limit = settings.GUANXI_ATTACHMENTS_PER_TICKET
    if count + already <= limit:
        return
    message = gettext("A ticket keeps at most %(limit)s attachments.") % {"limit": limit}
    if errors is None:
        raise ValidationError({"attachments": [message]}, code="too_many_attachments")
    errors.setdefault("attachments", []).append(message)


def _attachments_store(
    *, actor: Any, checked: Sequence[Any], stored: list[str], now: dt.datetime | None
) -> list[TicketAttachment]:
    """Unsaved rows for ``checked`` whose files are already in storage; each stored name is
    added to ``stored`` at once, so that the caller's failure path removes exactly those."""
    rows = []
    for item in checked:
        attachment = TicketAttachment(
            name=item.name,
            size=item.size,
            content_type=item.content_type,
            uploaded_by=actor_or_none(actor),
            created_at=now or timezone.now(),
        )
        item.file.seek(0)
        attachment.file.save(item.name, item.file, save=False)
        stored.append(attachment.file.name)
        rows.append(attachment)
    return rows


def _storage_remove(names: Sequence[str]) -> None:
    storage = TicketAttachment.file.field.storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # a file already gone is what we want; the error being undone is raised
            logger.warning("could not remove ticket attachment file %s", name)


def ticket_attachments_add(
    *,
    actor: Any,
    ticket: Ticket,
    files: Sequence[Any],
    now: dt.datetime | None = None,
) -> list[TicketAttachment]:
    """Keep ``files`` with ``ticket`` (for those who work it), in any status: an invoice or a
    photo may arrive after the ticket is closed. Checked as on opening; one bad file refuses the
    upload and nothing is stored. As on opening, the files go to storage before the transaction
    (a large upload must not hold the ticket's row locked against its handlers), then the rows
    and one audit entry on the ticket naming the files. Neither the ticket's version nor its
    deadlines move: an attachment is not a step, and a handler's open form must stay current."""
    _require_work(actor, ticket)
    uploads = list(files)
    if not uploads:
        raise ValidationError({"attachments": [gettext("This field is required.")]})
    checked = _attachments_check(uploads, already=ticket.attachments.count())
    stored: list[str] = []
    try:
        rows = _attachments_store(actor=actor, checked=checked, stored=stored, now=now)
        with transaction.atomic():
            current = _locked(ticket, version=None)
            # Counted again under the ticket's lock: two uploads at once must not pass the limit
            # together.
            _attachments_count_check(len(rows), already=current.attachments.count())
            for row in rows:
                row.ticket = current
                # The ticket (locked) and the uploader are in hand: no lookups per file.
                row.full_clean(exclude=["ticket", "uploaded_by"])
                row.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=current,
                changes={"attachments": {"before": None, "after": [row.name for row in rows]}},
            )
    except BaseException:
        _storage_remove(stored)
        raise
    return rows


def ticket_comment_add(
    *,
    actor: Any,
    ticket: Ticket,
    body: str,
    internal: bool = True,
    now: dt.datetime | None = None,
) -> TicketComment:
    """A note on the ticket. Anyone who sees the ticket may comment internally. A reply to the
    customer is the handlers': it is e-mailed to the ticket's contact (so the contact must have
    an address) and counts as the first response."""
    if (
        not actor_is_user(actor)
        or not ticket_visible_queryset(actor=actor).filter(pk=ticket.pk).exists()
    ):
        raise PermissionDeniedError()
    if not internal and not ticket_can_work(actor, ticket):
        raise PermissionDeniedError()
    now = now or timezone.now()
    body = text_clean("body", body, limit=TEXT_LIMIT, required=True)
    email = "" if internal else _contact_email(ticket.contact)
    if not internal and not email:
        raise ValidationError(
            {
                "internal": [
                    gettext(
                        "The ticket's contact has no e-mail address: call them, and keep the "
                        "note internal."
                    )
                ]
            },
            code="no_email",
        )
    with transaction.atomic():
        current = _locked(ticket, version=None)
        comment = TicketComment(ticket=current, body=body, internal=bool(internal))
        model_create(instance=comment, actor=actor)
        if not internal:
            if current.first_response_at is None:
                model_update(instance=current, data={"first_response_at": now}, actor=actor)
            transaction.on_commit(lambda: _reply_mail(ticket_id=current.pk, email=email, body=body))
    return comment


def _reply_mail(*, ticket_id: int, email: str, body: str) -> None:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("About your request %(number)s") % {"number": ticket.number}
    try:
        send_mail(subject, body, None, [email])
    except Exception:  # the reply is kept on the ticket; a mail server failure must not undo it
        logger.exception("reply mail for ticket %s failed", ticket_id)


# --- the scheduler ------------------------------------------------------------------------------


def _notify(
    *,
    recipients: Sequence[User | None],
    kind: str,
    message: str,
    params: dict[str, Any],
    ticket: Ticket,
    dedupe_key: str,
    actor: Any = None,
) -> int:
    """notify() each recipient who may see the ticket (the message names it and its customer)."""
    from guanxi.notifications.services import notify

    sent = 0
    for user in {user for user in recipients if user is not None and user.is_active}:
        if not ticket_visible_queryset(actor=user).filter(pk=ticket.pk).exists():
            continue
        sent += len(
            notify(
                recipients=[user],
                kind=kind,
                message=message,
                params=params,
                url=reverse("service:ticket-detail", args=[ticket.pk]),
                dedupe_key=dedupe_key,
                actor=actor_or_none(actor),
            )
        )
    return sent


def _assigned_notify(*, ticket: Ticket, actor: Any) -> None:
    _notify(
        recipients=[ticket.assignee],
        kind="ticket_assigned",
        message=gettext_noop("Ticket %(number)s (%(customer)s) is yours: %(subject)s"),
        params={
            "number": ticket.number,
            "customer": ticket.customer.name,
            "subject": ticket.subject,
        },
        ticket=ticket,
        dedupe_key=f"ticket_assigned:{ticket.pk}:{ticket.assignee_id}:{ticket.version}",
        actor=actor,
    )


def _escalation_recipients(ticket: Ticket) -> list[User | None]:
    """Who hears of a breach: the team's lead (the department manager), else the assignee's
    manager."""
    if ticket.team is not None and ticket.team.lead is not None:
        return [ticket.team.lead]
    return [ticket.assignee.manager if ticket.assignee else None]


SLA_MESSAGES = {
    ("response", "warn"): gettext_noop(
        "Ticket %(number)s (%(customer)s) must have a first response by %(deadline)s."
    ),
    ("resolution", "warn"): gettext_noop(
        "Ticket %(number)s (%(customer)s) must be resolved by %(deadline)s."
    ),
    ("response", "breach"): gettext_noop(
        "Ticket %(number)s (%(customer)s) missed its first-response deadline (%(deadline)s)."
    ),
    ("resolution", "breach"): gettext_noop(
        "Ticket %(number)s (%(customer)s) missed its resolution deadline (%(deadline)s)."
    ),
}


def tickets_calendar_refresh() -> int:
    """Open tickets whose deadlines waited for a year missing from the holiday table get them
    once an administrator has added the year. Returns how many got deadlines."""
    from guanxi.core.models import CalendarYear

    covered = set(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
    waiting = Ticket.objects.filter(
        status__in=OPEN_STATUSES, calendar_missing__in=covered
    ).values_list("pk", flat=True)
    refreshed = 0
    working_days = working_calendar_load() if covered else None
    for pk in list(waiting[:1000]):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=pk).first()
            if ticket is None or ticket.calendar_missing not in covered:
                continue
            deadlines = sla_deadlines(ticket, working_days=working_days)
            model_update(instance=ticket, data=deadlines, actor=None)
            refreshed += deadlines["calendar_missing"] is None
    return refreshed


def tickets_sla_check(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The scheduler's pass (every few minutes): the assignee (the team lead while nobody has the
    ticket) is warned once when a target's warning share is used; at the deadline the team lead
    hears and the ticket is flagged breached. Each step happens once per ticket and target: a
    conditional UPDATE claims it, so two schedulers never send it twice. Tickets that waited for
    a missing calendar year get their deadlines first (tickets_calendar_refresh)."""
    now = now or timezone.now()
    tickets_calendar_refresh()
    counts = {"warned": 0, "breached": 0}
    running = Ticket.objects.filter(status__in=[s for s in OPEN_STATUSES if s != "waiting"])
    steps = (
        ("response", "warn", Q(first_response_at__isnull=True)),
        ("resolution", "warn", Q()),
        ("response", "breach", Q(first_response_at__isnull=True)),
        ("resolution", "breach", Q()),
    )
    for target, step, extra in steps:
        moment = f"{target}_warn_at" if step == "warn" else f"{target}_due_at"
        mark = f"{target}_warned_at" if step == "warn" else f"{target}_breached_at"
        due = running.filter(extra, **{f"{moment}__lte": now, f"{mark}__isnull": True})
        for ticket in due.select_related("customer", "team__lead", "assignee__manager")[:1000]:
            claimed = Ticket.objects.filter(pk=ticket.pk, **{f"{mark}__isnull": True}).update(
                **{mark: now}
            )
            if not claimed:
                continue
            deadline = timezone.localtime(getattr(ticket, f"{target}_due_at"))
            params = {
                "number": ticket.number,
                "customer": ticket.customer.name,
                "deadline": deadline.strftime("%Y-%m-%d %H:%M"),
            }
            if step == "warn":
                counts["warned"] += 1
                lead = ticket.team.lead if ticket.team else None
                _notify(
                    recipients=[ticket.assignee or lead],
                    kind="ticket_sla_warning",
                    message=SLA_MESSAGES[(target, step)],
                    params=params,
                    ticket=ticket,
                    dedupe_key=f"ticket_sla_warning:{ticket.pk}:{target}:{deadline.isoformat()}",
                )
            else:
                counts["breached"] += 1
                _notify(
                    recipients=[*_escalation_recipients(ticket), ticket.assignee],
                    kind="ticket_sla_breached",
                    message=SLA_MESSAGES[(target, step)],
                    params=params,
                    ticket=ticket,
                    dedupe_key=f"ticket_sla_breached:{ticket.pk}:{target}:{deadline.isoformat()}",
                )
    return counts


def tickets_autoclose(*, now: dt.datetime | None = None) -> int:
    """Resolved tickets the customer did not answer within GUANXI_TICKET_AUTOCLOSE_DAYS close by
    themselves, as do confirmed ones. Returns how many closed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.GUANXI_TICKET_AUTOCLOSE_DAYS)
    due = Ticket.objects.filter(
        Q(status=TicketStatus.RESOLVED, resolved_at__lte=cutoff) | Q(status=TicketStatus.CONFIRMED)
    ).values_list("pk", flat=True)
    closed = 0
    for pk in list(due[:1000]):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=pk).first()
            if ticket is None:
                continue
            expired = ticket.status == TicketStatus.RESOLVED and ticket.resolved_at <= cutoff
            if not (expired or ticket.status == TicketStatus.CONFIRMED):
                continue
            _links_revoke(ticket)
            _transition(
                actor=None,
                now=now,
                ticket=ticket,
                to_status=TicketStatus.CLOSED,
                data={"closed_at": now},
                reason=(
                    gettext_noop("Closed automatically: not confirmed in time")
                    if expired
                    else gettext_noop("Closed after the customer's confirmation")
                ),
            )
            closed += 1
    return closed
