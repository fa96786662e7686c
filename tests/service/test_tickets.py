"""Tickets through the services: numbers, routing, SLA deadlines on the team's working calendar,
the status flow with pauses and reopening, the customer's confirmation, and the scheduler's
warnings, escalations and automatic close. The clock is frozen by passing ``now``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import ConflictError, PermissionDeniedError
from guanxi.notifications.models import Notification
from guanxi.service import services
from guanxi.service.models import (
    ServiceTeam,
    SlaPolicy,
    Ticket,
    TicketConfirmation,
    TicketPause,
    TicketStatus,
)
from guanxi.service.permissions import ticket_can_work, ticket_get_for_user
from guanxi.service.selectors import ticket_list, ticket_visible_queryset
from tests.service.conftest import at, category, db_state, open_ticket

pytestmark = pytest.mark.django_db


# --- numbers ------------------------------------------------------------------------------------


def test_numbers_are_t_date_and_a_daily_sequence(org, desk):
    first = open_ticket(org, desk, now=at(2026, 3, 2, 9))
    second = open_ticket(org, desk, now=at(2026, 3, 2, 23, 59))
    next_day = open_ticket(org, desk, now=at(2026, 3, 3, 0, 1))
    assert [first.number, second.number, next_day.number] == [
        "T202603020001",
        "T202603020002",
        "T202603030001",
    ]


def test_the_number_follows_the_local_date_not_utc(org, desk):
    # 07:30 in Shanghai is still the day before in UTC
    ticket = open_ticket(org, desk, now=at(2026, 3, 4, 7, 30))
    assert ticket.number.startswith("T20260304")


# --- routing ------------------------------------------------------------------------------------


def test_round_robin_shares_a_category_among_the_team(org, desk):
    tickets = [open_ticket(org, desk, now=at(2026, 3, 2, 10 + n)) for n in range(3)]
    assert [ticket.assignee for ticket in tickets] == [
        desk.engineer1,
        desk.engineer2,
        desk.engineer1,
    ]
    assert {ticket.team for ticket in tickets} == {desk.tech}
    assert all(ticket.status == TicketStatus.ASSIGNED for ticket in tickets)
    assert all(ticket.department_id == desk.tech.department_id for ticket in tickets)


def test_least_loaded_gives_the_ticket_to_the_member_with_fewest_open(org, desk):
    second = org.agent.__class__.objects.create(
        username="care2", full_name="客服二", role="department_handler", department=org.service
    )
    desk.care.members.add(second)
    first = open_ticket(org, desk, code="after_sales", now=at(2026, 3, 2, 10))
    then = open_ticket(org, desk, code="after_sales", now=at(2026, 3, 2, 11))
    assert {first.assignee, then.assignee} == {org.handler, second}


def test_a_rule_naming_a_person_wins_over_the_team_mode(org, desk):
    rule = desk.tech.rules.get()
    rule.assignee = desk.engineer2
    rule.save()
    assert open_ticket(org, desk).assignee == desk.engineer2


def test_a_more_specific_rule_earlier_in_order_routes_urgent_key_accounts(org, desk):
    from guanxi.service.models import RoutingRule

    RoutingRule.objects.create(
        position=1,
        category=category("product_quality"),
        priority="urgent",
        account_class="strategic",
        team=desk.care,
    )
    assert (
        open_ticket(org, desk, customer=desk.vip, contact=None, priority="urgent").team == desk.care
    )
    assert (
        open_ticket(org, desk, customer=desk.vip, contact=None, priority="normal").team == desk.tech
    )
    assert open_ticket(org, desk, priority="urgent").team == desk.tech


def test_without_a_matching_rule_the_ticket_waits_unassigned(org, desk):
    ticket = open_ticket(org, desk, code="billing_dispute")
    assert ticket.status == TicketStatus.NEW
    assert ticket.assignee is None and ticket.team is None
    assert list(ticket_list(actor=org.agent, view="unassigned")) == [ticket]


# --- SLA ----------------------------------------------------------------------------------------


def test_the_standard_promise_is_24_and_48_hours_around_the_clock(org, desk):
    ticket = open_ticket(org, desk, now=at(2026, 3, 6, 17))
    assert ticket.sla_policy.name == "标准服务承诺"
    assert ticket.response_due_at == at(2026, 3, 7, 17)
    assert ticket.resolution_due_at == at(2026, 3, 8, 17)


def test_urgent_tickets_run_on_the_teams_working_hours_across_a_weekend(org, desk):
    # Friday 17:00: one hour left today; 8 working hours end Monday 16:00
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 6, 17))
    assert ticket.sla_policy.name == "紧急工单"
    assert ticket.response_due_at == at(2026, 3, 6, 18)
    assert ticket.resolution_due_at == at(2026, 3, 9, 16)
    # warned at 80 %: 6 h 24 min of working time
    assert ticket.resolution_warn_at == at(2026, 3, 9, 14, 24)


def test_working_hours_skip_national_day_and_count_the_adjusted_saturday(org, desk):
    # 30 Sep 2026 17:00: 1 h that day, 1–7 Oct are holidays, 8 Oct is a working Thursday
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 9, 30, 17))
    assert ticket.resolution_due_at == at(2026, 10, 8, 16)
    # Friday 9 Oct 17:00: Saturday 10 Oct is a worked day (调休), so the clock runs on it
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 10, 9, 17))
    assert ticket.resolution_due_at == at(2026, 10, 10, 16)


def test_the_teams_own_hours_and_break_are_its_clock(org, desk):
    ServiceTeam.objects.filter(pk=desk.tech.pk).update(
        work_start=dt.time(8, 30),
        work_end=dt.time(17, 30),
        break_start=dt.time(12),
        break_end=dt.time(13),
    )
    ticket = open_ticket(org, desk, priority="high", now=at(2026, 3, 2, 11))
    # 4 h response: 11–12, then 13–16
    assert ticket.response_due_at == at(2026, 3, 2, 16)


def test_a_year_missing_from_the_holiday_table_shows_calendar_missing_not_a_deadline(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 12, 31, 17))
    assert ticket.calendar_missing == 2027
    assert ticket.response_due_at is None and ticket.resolution_due_at is None
    # a 24 × 7 policy needs no calendar
    assert open_ticket(org, desk, now=at(2026, 12, 31, 17)).calendar_missing is None


def test_strategic_key_accounts_get_their_own_policy(org, desk):
    ticket = open_ticket(org, desk, customer=desk.vip, contact=None, now=at(2026, 3, 2, 10))
    assert ticket.sla_policy.name == "战略大客户专属服务"
    assert ticket.response_due_at == at(2026, 3, 2, 12)


def test_the_most_specific_policy_wins(org, desk):
    SlaPolicy.objects.create(
        name="产品质量紧急",
        category=category("product_quality"),
        priority="urgent",
        response_minutes=30,
        resolution_minutes=240,
        clock="24x7",
    )
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 10))
    assert ticket.sla_policy.name == "产品质量紧急"
    assert ticket.response_due_at == at(2026, 3, 2, 10, 30)


def test_waiting_on_the_customer_pauses_the_clock_and_resuming_moves_the_deadline(org, desk):
    ticket = open_ticket(org, desk, now=at(2026, 3, 2, 10))
    assert ticket.resolution_due_at == at(2026, 3, 4, 10)
    ticket = services.ticket_wait(
        actor=desk.engineer1, ticket=ticket, reason="等客户提供照片", now=at(2026, 3, 2, 12)
    )
    assert ticket.status == TicketStatus.WAITING
    assert ticket.resolution_due_at is None  # no deadline while the clock stands still
    assert ticket.first_response_at == at(2026, 3, 2, 12)
    ticket = services.ticket_resume(actor=desk.engineer1, ticket=ticket, now=at(2026, 3, 3, 12))
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.resolution_due_at == at(2026, 3, 5, 10)
    assert TicketPause.objects.get(ticket=ticket).ended_at == at(2026, 3, 3, 12)


# --- the status flow ----------------------------------------------------------------------------


def test_start_is_the_first_response_and_resolve_sends_the_customer_a_link(org, desk):
    ticket = open_ticket(org, desk, now=at(2026, 3, 2, 10))
    ticket = services.ticket_start(actor=desk.engineer1, ticket=ticket, now=at(2026, 3, 2, 11))
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.first_response_at == at(2026, 3, 2, 11)
    with pytest.raises(services.TicketStatusError):
        services.ticket_start(actor=desk.engineer1, ticket=ticket)
    ticket, token = services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="更换主轴轴承", now=at(2026, 3, 2, 15)
    )
    assert ticket.status == TicketStatus.RESOLVED
    assert services.confirmation_for_token(token, now=at(2026, 3, 2, 16)).ticket == ticket
    assert [step.to_status for step in ticket.transitions.all()] == [
        "assigned",
        "in_progress",
        "resolved",
    ]


def test_resolving_e_mails_the_contact_the_link(org, desk, django_capture_on_commit_callbacks):
    ticket = open_ticket(org, desk)
    with django_capture_on_commit_callbacks(execute=True):
        _ticket, token = services.ticket_resolve(
            actor=desk.engineer1, ticket=ticket, resolution="已处理"
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["lin@example.com"]
    assert token in mail.outbox[0].body


def test_a_stale_version_is_a_conflict_and_changes_nothing(org, desk):
    ticket = open_ticket(org, desk)
    services.ticket_start(actor=desk.engineer1, ticket=ticket)
    before = db_state()
    with pytest.raises(ConflictError):
        services.ticket_resolve(
            actor=desk.engineer1, ticket=ticket, resolution="x", version=ticket.version
        )
    assert db_state() == before


def test_a_reassignment_needs_a_reason_and_a_team_member(org, desk):
    ticket = open_ticket(org, desk)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        services.ticket_assign(actor=org.agent, ticket=ticket, assignee=desk.engineer2)
    assert "reason" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.ticket_assign(actor=org.agent, ticket=ticket, assignee=org.rep, reason="转交")
    assert "assignee" in error.value.message_dict
    assert db_state() == before
    moved = services.ticket_assign(
        actor=org.agent, ticket=ticket, assignee=org.handler, reason="属于安装问题"
    )
    assert moved.team == desk.care and moved.assignee == org.handler
    assert moved.transitions.last().reason == "属于安装问题"
    assert Notification.objects.filter(recipient=org.handler, kind="ticket_assigned").exists()


def test_who_may_work_a_ticket(org, desk):
    ticket = open_ticket(org, desk)
    assert ticket_can_work(org.agent, ticket)  # the service desk
    assert ticket_can_work(desk.engineer2, ticket)  # a member of the team
    assert ticket_can_work(desk.tech_lead, ticket)  # the team's lead
    assert ticket_can_work(org.admin, ticket)
    assert not ticket_can_work(org.handler, ticket)  # another team
    # the customer's rep follows it, read-only; an outsider does not see it at all
    assert ticket_get_for_user(org.rep, ticket.pk) == ticket
    with pytest.raises(PermissionDeniedError):
        ticket_get_for_user(org.rep, ticket.pk, write=True)
    assert not ticket_visible_queryset(actor=org.outsider).filter(pk=ticket.pk).exists()
    assert not ticket_visible_queryset(actor=org.other_rep).filter(pk=ticket.pk).exists()
    assert ticket_visible_queryset(actor=org.manager).filter(pk=ticket.pk).exists()


def test_only_the_service_desk_opens_tickets_and_a_refusal_writes_nothing(org, desk):
    before = db_state()
    for actor in (org.rep, org.manager, org.handler, org.analyst):
        with pytest.raises(PermissionDeniedError):
            open_ticket(org, desk, actor=actor)
    assert db_state() == before


def test_bad_input_is_a_field_error_and_writes_nothing(org, desk):
    before = db_state()
    with pytest.raises(ValidationError) as error:
        open_ticket(
            org,
            desk,
            subject=" ",
            priority="whenever",
            channel="pigeon",
            contact=desk.vip.contacts.first(),
        )
    assert {"subject", "priority", "channel"} <= set(error.value.message_dict)
    other = desk.vip
    from tests.service.conftest import make_contact

    stranger = make_contact(other, "外人")
    before = db_state()
    with pytest.raises(ValidationError) as error:
        open_ticket(org, desk, contact=stranger)
    assert "contact" in error.value.message_dict
    assert db_state() == before


def test_reopening_needs_a_reason_and_does_not_count_the_resolved_time(org, desk):
    ticket = open_ticket(org, desk, now=at(2026, 3, 2, 10))
    ticket, _token = services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="已处理", now=at(2026, 3, 2, 12)
    )
    with pytest.raises(ValidationError):
        services.ticket_reopen(actor=org.agent, ticket=ticket, reason="")
    ticket = services.ticket_reopen(
        actor=org.agent, ticket=ticket, reason="客户来电说仍有异响", now=at(2026, 3, 3, 12)
    )
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    # a day spent resolved is a day added to the 48-hour target
    assert ticket.resolution_due_at == at(2026, 3, 5, 10)
    with pytest.raises(services.ConfirmationLinkError):
        services.confirmation_for_token(_token)


def test_closing_keeps_the_ticket_in_the_customers_history(org, desk):
    from guanxi.customers.timeline import customer_timeline

    ticket = open_ticket(org, desk)
    ticket, _token = services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="已处理"
    )
    ticket = services.ticket_close(actor=org.agent, ticket=ticket)
    assert ticket.status == TicketStatus.CLOSED
    items = customer_timeline(actor=org.rep, customer=desk.customer)
    assert [item.context["ticket"] for item in items if item.source == "service.tickets"] == [
        ticket
    ]
    # a rep who sees the customer only as … nobody: another rep's timeline of it has no tickets
    # (the customer page is out of their scope; the source scopes itself all the same)
    assert not [
        item
        for item in customer_timeline(actor=org.other_rep, customer=desk.customer)
        if item.source == "service.tickets"
    ]


# --- the customer's confirmation ----------------------------------------------------------------


def _resolved(org, desk, **fields):
    ticket = open_ticket(org, desk, now=at(2026, 3, 2, 10), **fields)
    return services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="更换轴承", now=at(2026, 3, 2, 15)
    )


def test_a_solved_and_fair_score_confirms_the_ticket(org, desk):
    ticket, token = _resolved(org, desk)
    confirmed = services.ticket_confirmation_submit(
        token=token, solved=True, score=4, comment="很及时", now=at(2026, 3, 2, 18)
    )
    assert confirmed.status == TicketStatus.CONFIRMED
    assert (confirmed.satisfaction, confirmed.satisfaction_comment) == (4, "很及时")
    # the link works once
    with pytest.raises(services.ConfirmationLinkError):
        services.ticket_confirmation_submit(
            token=token, solved=True, score=5, now=at(2026, 3, 2, 19)
        )


def test_a_low_score_reopens_the_ticket_with_a_24_hour_feedback_item(org, desk):
    from guanxi.feedback.models import FeedbackItem

    ticket, token = _resolved(org, desk)
    reopened = services.ticket_confirmation_submit(
        token=token, solved=True, score=2, comment="处理太慢", now=at(2026, 3, 2, 18)
    )
    assert reopened.status == TicketStatus.IN_PROGRESS and reopened.reopen_count == 1
    assert reopened.satisfaction == 2
    item = FeedbackItem.objects.get(ticket=reopened)
    assert item.score == 2 and item.owner == desk.engineer1
    assert item.respond_by - item.created_at == dt.timedelta(hours=24)
    assert Notification.objects.filter(recipient=desk.engineer1, kind="ticket_reopened").exists()


def test_not_solved_reopens_it_even_with_a_good_score(org, desk):
    ticket, token = _resolved(org, desk)
    reopened = services.ticket_confirmation_submit(
        token=token, solved=False, score=4, now=at(2026, 3, 2, 18)
    )
    assert reopened.status == TicketStatus.IN_PROGRESS


def test_a_bad_score_is_refused_and_the_link_still_works(org, desk):
    ticket, token = _resolved(org, desk)
    for score in (0, 6, "five", None):
        with pytest.raises(ValidationError):
            services.ticket_confirmation_submit(token=token, solved=True, score=score)
    assert TicketConfirmation.objects.get(ticket=ticket).used_at is None
    assert services.confirmation_for_token(token, now=at(2026, 3, 2, 16)).ticket == ticket


def test_an_expired_or_renewed_link_is_refused(org, desk):
    ticket, token = _resolved(org, desk)
    with pytest.raises(services.ConfirmationLinkError):
        services.confirmation_for_token(token, now=at(2026, 3, 20))
    fresh = services.ticket_confirmation_link_renew(actor=desk.engineer1, ticket=ticket)
    with pytest.raises(services.ConfirmationLinkError):
        services.confirmation_for_token(token)
    assert services.confirmation_for_token(fresh).ticket == ticket
    for guess in ("", "x" * 5, "x" * 500, fresh[:-1] + ("A" if fresh[-1] != "A" else "B")):
        with pytest.raises(services.ConfirmationLinkError):
            services.confirmation_for_token(guess)


# --- the scheduler ------------------------------------------------------------------------------


def test_the_assignee_is_warned_once_and_the_lead_hears_of_a_breach(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 9))
    # response target 1 h: warned at 09:48, breached at 10:00
    assert services.tickets_sla_check(now=at(2026, 3, 2, 9, 40)) == {"warned": 0, "breached": 0}
    assert services.tickets_sla_check(now=at(2026, 3, 2, 9, 50)) == {"warned": 1, "breached": 0}
    assert services.tickets_sla_check(now=at(2026, 3, 2, 9, 55)) == {"warned": 0, "breached": 0}
    assert (
        Notification.objects.filter(recipient=desk.engineer1, kind="ticket_sla_warning").count()
        == 1
    )
    assert services.tickets_sla_check(now=at(2026, 3, 2, 10, 5)) == {"warned": 0, "breached": 1}
    assert Notification.objects.filter(
        recipient=desk.tech_lead, kind="ticket_sla_breached"
    ).exists()
    ticket.refresh_from_db()
    assert ticket.response_breached_at == at(2026, 3, 2, 10, 5)
    assert list(ticket_list(actor=org.agent, view="breached")) == [ticket]


def test_a_first_response_stops_the_response_warnings(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 9))
    services.ticket_start(actor=desk.engineer1, ticket=ticket, now=at(2026, 3, 2, 9, 10))
    assert services.tickets_sla_check(now=at(2026, 3, 2, 10, 30)) == {"warned": 0, "breached": 0}


def test_a_waiting_ticket_is_neither_warned_nor_breached(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 9))
    services.ticket_wait(
        actor=desk.engineer1, ticket=ticket, reason="等客户", now=at(2026, 3, 2, 9, 5)
    )
    assert services.tickets_sla_check(now=at(2026, 3, 3, 9)) == {"warned": 0, "breached": 0}


def test_unconfirmed_tickets_close_after_the_limit(org, desk, settings):
    settings.GUANXI_TICKET_AUTOCLOSE_DAYS = 3
    ticket, token = _resolved(org, desk)
    assert services.tickets_autoclose(now=at(2026, 3, 4, 15)) == 0
    assert services.tickets_autoclose(now=at(2026, 3, 5, 16)) == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.transitions.last().actor is None
    with pytest.raises(services.ConfirmationLinkError):
        services.confirmation_for_token(token)
    assert Ticket.objects.filter(status=TicketStatus.CLOSED).count() == 1


# --- a merged customer's tickets ----------------------------------------------------------------


def test_tickets_follow_a_merged_customer_and_go_back_on_undo(org, desk):
    from guanxi.customers.merge.services import customer_merge, customer_merge_undo
    from tests.service.conftest import make_customer

    duplicate = make_customer(org.rep, "深圳华南精密机械")
    ticket = open_ticket(org, desk, customer=duplicate, contact=None)
    ticket, token = services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="已处理"
    )
    services.ticket_confirmation_submit(token=token, solved=True, score=1)
    # when the duplicate is merged into the customer
    merge = customer_merge(
        actor=org.manager,
        survivor=desk.customer,
        merged=duplicate,
        values=None,
        expected_versions={"survivor": desk.customer.version, "merged": duplicate.version},
    )
    # then its ticket and feedback item are the survivor's, and the lists still show them
    ticket.refresh_from_db()
    assert ticket.customer == desk.customer
    from guanxi.feedback.models import FeedbackItem

    assert FeedbackItem.objects.get(ticket=ticket).customer == desk.customer
    assert list(ticket_list(actor=org.agent)) == [ticket]
    assert merge.related_ids["service.tickets"] == [ticket.pk]
    # and undoing the merge takes them back
    customer_merge_undo(actor=org.manager, merge=merge)
    ticket.refresh_from_db()
    assert ticket.customer == duplicate
    assert FeedbackItem.objects.get(ticket=ticket).customer == duplicate


# --- review fixes ------------------------------------------------------------------------------


def test_the_desk_opens_tickets_for_customers_outside_its_scope_and_sees_every_ticket(org, desk):
    from guanxi.customers.selectors import customer_visible_queryset

    # given the agent's own data scope (their department) does not reach the rep's customer
    assert not customer_visible_queryset(actor=org.agent).filter(pk=desk.customer.pk).exists()
    # when a colleague's ticket is routed to another department, the agent still follows it
    ticket = open_ticket(org, desk, actor=org.admin)
    assert ticket_visible_queryset(actor=org.agent).filter(pk=ticket.pk).exists()
    # and a customer in the recycle bin takes its tickets along
    from guanxi.customers.services import customer_delete

    customer_delete(actor=org.admin, customer=desk.customer)
    assert not ticket_visible_queryset(actor=org.agent).filter(pk=ticket.pk).exists()


def test_deadlines_come_once_the_missing_year_is_added(org, desk):
    from guanxi.core.models import CalendarYear

    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 12, 31, 17))
    assert ticket.calendar_missing == 2027
    assert services.tickets_calendar_refresh() == 0
    # when an administrator marks 2027 complete (no holidays entered: a plain year)
    CalendarYear.objects.create(year=2027, complete=True)
    assert services.tickets_calendar_refresh() == 1
    ticket.refresh_from_db()
    assert ticket.calendar_missing is None
    # 1 h on 31 Dec, then 7 h on Friday 1 Jan 2027 (no holiday entered)
    assert ticket.resolution_due_at == at(2027, 1, 1, 16)


def test_a_reassignment_inside_the_team_keeps_the_team_for_someone_in_two(org, desk):
    # given an engineer who is also in the service centre's team (a lower id team? either way)
    desk.care.members.add(desk.engineer2)
    ticket = open_ticket(org, desk)
    assert ticket.team == desk.tech and ticket.assignee == desk.engineer1
    moved = services.ticket_assign(
        actor=org.agent, ticket=ticket, assignee=desk.engineer2, reason="工作量平衡"
    )
    assert moved.team == desk.tech and moved.department_id == desk.tech.department_id


def test_moving_deadlines_warns_again(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 9))
    assert services.tickets_sla_check(now=at(2026, 3, 2, 9, 50))["warned"] == 1
    ticket = services.ticket_wait(
        actor=desk.engineer1, ticket=ticket, reason="等客户", now=at(2026, 3, 2, 9, 55)
    )
    ticket = services.ticket_resume(actor=desk.engineer1, ticket=ticket, now=at(2026, 3, 3, 9))
    assert ticket.response_warned_at is None
    # the resolution target (8 h, 80 %) is now 6 h 24 min of working time from the new clock
    assert services.tickets_sla_check(now=at(2026, 3, 3, 16))["warned"] == 1


def test_a_reply_to_the_customer_is_e_mailed_and_is_the_first_response(
    org, desk, django_capture_on_commit_callbacks
):
    ticket = open_ticket(org, desk)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_comment_add(
            actor=desk.engineer1, ticket=ticket, body="您好，我们明天上午上门。", internal=False
        )
    assert [message.to for message in mail.outbox] == [["lin@example.com"]]
    assert "明天上午上门" in mail.outbox[0].body
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def test_a_reply_to_a_contact_without_e_mail_is_refused_and_writes_nothing(org, desk):
    from tests.service.conftest import make_contact

    silent = make_contact(desk.customer, "周某")
    ticket = open_ticket(org, desk, contact=silent)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        services.ticket_comment_add(
            actor=desk.engineer1, ticket=ticket, body="您好", internal=False
        )
    assert "internal" in error.value.message_dict
    assert db_state() == before


def test_the_customers_answer_reopens_with_a_translated_notice(org, desk):
    ticket, token = _resolved(org, desk)
    services.ticket_confirmation_submit(token=token, solved=False, score=4, now=at(2026, 3, 2, 18))
    notice = Notification.objects.get(recipient=desk.engineer1, kind="ticket_reopened")
    # a message of its own, no English reason inside a Chinese sentence
    assert notice.params == {"number": ticket.number}
    assert "customer says it is not solved" in notice.message


def test_figures_leave_out_tickets_without_a_deadline(org, desk):
    from guanxi.service.selectors import ticket_timeliness

    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 12, 31, 17))  # no deadline
    services.ticket_resolve(
        actor=desk.engineer1, ticket=ticket, resolution="已处理", now=at(2026, 12, 31, 17, 30)
    )
    (row,) = ticket_timeliness(
        actor=org.admin, group="category", start=at(2026, 12, 1), end=at(2027, 1, 1, 0)
    )
    assert row.total == 1 and row.resolved == 0 and row.resolution_rate is None


def test_the_deadline_missed_view_lists_open_tickets_only(org, desk):
    ticket = open_ticket(org, desk, priority="urgent", now=at(2026, 3, 2, 9))
    services.tickets_sla_check(now=at(2026, 3, 2, 10, 5))
    assert list(ticket_list(actor=org.agent, view="breached")) == [ticket]
    ticket, _token = services.ticket_resolve(actor=desk.engineer1, ticket=ticket, resolution="x")
    services.ticket_close(actor=desk.engineer1, ticket=ticket)
    assert list(ticket_list(actor=org.agent, view="breached")) == []
