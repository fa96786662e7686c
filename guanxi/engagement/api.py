"""REST endpoints of relationship maintenance: /interactions, /followups (tasks, compliance),
/maintenance-policies and /maintenance-rules, /followup-settings, communication plans, the care
calendar and the calendar feed's secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.core.exceptions import validation_error_renamed
from guanxi.core.storage import attachment_response
from guanxi.customers.permissions import customer_get_for_user
from guanxi.engagement import services
from guanxi.engagement.models import (
    CommunicationPlan,
    EngagementSettings,
    FollowUpTask,
    Interaction,
    InteractionAttachment,
    MaintenancePolicy,
    MaintenanceRule,
)
from guanxi.engagement.permissions import (
    attachment_get_for_user,
    followup_get_for_user,
    interaction_get_for_user,
    interaction_require_log,
    plan_require_edit,
    policy_get_for_user,
    policy_require_edit,
    rule_get_for_user,
    user_require_active,
)
from guanxi.engagement.schemas import (
    AttachmentOut,
    CareDateOut,
    CompleteIn,
    ComplianceOut,
    FeedOut,
    FollowUpOut,
    FollowUpPage,
    GenerationOut,
    InteractionIn,
    InteractionOut,
    InteractionPage,
    InteractionPatchIn,
    PlanIn,
    PlanOut,
    PolicyIn,
    PolicyOut,
    PolicyPatchIn,
    ReassignIn,
    RuleIn,
    RuleOut,
    RulePatchIn,
    SettingsIn,
    SettingsOut,
    SnoozeIn,
)
from guanxi.engagement.selectors import (
    TASK_VIEWS,
    ComplianceRow,
    care_calendar,
    compliance_report,
    filter_dates_check,
    followup_page,
    interaction_detail,
    interaction_page,
    plan_for_customer,
    policy_list,
    settings_get,
)

router = Router(tags=["follow-ups"])

# The API names related records by id; services name the model fields.
_API_FIELD_NAMES = {
    "contacts": "contact_ids",
    "participants": "participant_ids",
    "task": "task_id",
    "assignee": "assignee_id",
}
# Room for the multipart envelope around the files themselves.
_UPLOAD_OVERHEAD = 64 * 1024


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


# --- interactions -------------------------------------------------------------------------------


def _attachment_out(attachment: InteractionAttachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "uploaded_by_id": attachment.uploaded_by_id,
        "created_at": attachment.created_at,
        "url": reverse("api:attachment_download", args=[attachment.pk]),
    }


def _interaction_out(interaction: Interaction) -> dict[str, Any]:
    """``interaction`` as selectors.interaction_prefetch loads it."""
    next_tasks = list(interaction.next_tasks.all())
    return {
        "id": interaction.pk,
        "customer_id": interaction.customer_id,
        "customer_name": interaction.customer.name,
        "channel": interaction.channel,
        "kind": interaction.kind,
        "occurred_at": interaction.occurred_at,
        "contacts": [
            {"id": contact.pk, "name": contact.name, "title": contact.title}
            for contact in interaction.contacts.all()
        ],
        "participants": [
            {"id": user.pk, "name": user.get_full_name()} for user in interaction.participants.all()
        ],
        "content": interaction.content,
        "reaction": interaction.reaction,
        "reaction_note": interaction.reaction_note,
        "next_action": interaction.next_action,
        "next_action_date": interaction.next_action_date,
        "next_task_id": next_tasks[0].pk if next_tasks else None,
        "over_contact_confirmed": interaction.over_contact_confirmed,
        "attachments": [_attachment_out(item) for item in interaction.attachments.all()],
        "created_by_id": interaction.created_by_id,
        "version": interaction.version,
        "created_at": interaction.created_at,
        "updated_at": interaction.updated_at,
    }


@router.get("/interactions", response=InteractionPage)
def interaction_index(
    request: HttpRequest,
    customer_id: int | None = None,
    channel: str = "",
    kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The interaction log of the customers in your data scope, newest first; keyset-paginated
    with ``cursor``. Contacts present are named only (no phones, e-mail or WeChat ID)."""
    page = interaction_page(
        actor=request.auth,
        customer=customer_id,
        channel=channel,
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        cursor=cursor,
        limit=limit,
    )
    return {
        "items": [_interaction_out(item) for item in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/interactions", response={201: InteractionOut})
def interaction_add(request: HttpRequest, payload: InteractionIn) -> Status[Any]:
    """Log a contact with a customer you may edit. It completes the open policy, plan and care
    tasks it fulfils (and ``task_id``); a next action with its date becomes a task for you. One
    contact too many for a policy's or the plan's maximum is a 409 ``over_contact`` with
    ``limits`` unless ``allow_over_contact``; nothing is written then."""
    customer = customer_get_for_user(request.auth, payload.customer_id)
    interaction_require_log(request.auth, customer)
    task = None
    if payload.task_id is not None:
        task = followup_get_for_user(request.auth, payload.task_id)
    try:
        interaction = services.interaction_create(
            actor=request.auth,
            customer=customer,
            channel=payload.channel,
            kind=payload.kind,
            occurred_at=payload.occurred_at,
            contacts=payload.contact_ids,
            participants=payload.participant_ids,
            content=payload.content,
            reaction=payload.reaction,
            reaction_note=payload.reaction_note,
            next_action=payload.next_action,
            next_action_date=payload.next_action_date,
            complete_task=task,
            allow_over_contact=payload.allow_over_contact,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _interaction_out(interaction_detail(interaction=interaction)))


@router.get("/interactions/{interaction_id}", response=InteractionOut)
def interaction_show(request: HttpRequest, interaction_id: int) -> dict[str, Any]:
    interaction = interaction_get_for_user(request.auth, interaction_id)
    return _interaction_out(interaction_detail(interaction=interaction))


@router.patch("/interactions/{interaction_id}", response=InteractionOut)
def interaction_edit(
    request: HttpRequest, interaction_id: int, payload: InteractionPatchIn
) -> dict[str, Any]:
    """Correct an interaction (its author, or a manager who may edit the customer). The next
    action is a task by now: change the task instead."""
    interaction = interaction_get_for_user(request.auth, interaction_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    renamed = {"contact_ids": "contacts", "participant_ids": "participants"}
    data = {renamed.get(name, name): value for name, value in data.items()}
    for name in ("reaction", "reaction_note"):
        if name in data and data[name] is None:
            data[name] = ""
    # These have no empty value: null is refused, not read as "now" or left to the model.
    required = {
        name: [_("This field cannot be null.")]
        for name in ("occurred_at", "channel", "kind", "content")
        if name in data and data[name] is None
    }
    if required:
        raise ValidationError(required, code="null")
    try:
        updated = services.interaction_update(
            actor=request.auth, interaction=interaction, data=data, expected_version=version
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _interaction_out(interaction_detail(interaction=updated))


@router.delete("/interactions/{interaction_id}", response={204: None})
def interaction_remove(request: HttpRequest, interaction_id: int) -> Status[Any]:
    interaction = interaction_get_for_user(request.auth, interaction_id, write=True)
    services.interaction_delete(actor=request.auth, interaction=interaction)
    return Status(204, None)


@router.post(
    "/interactions/{interaction_id}/attachments",
    response={201: list[AttachmentOut]},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files"],
                        "properties": {
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            }
                        },
                    }
                }
            },
        }
    },
)
def attachments_add(request: HttpRequest, interaction_id: int) -> Status[Any]:
    """Attach files (multipart field ``files``, repeated): PDF, images, Word, Excel,
    PowerPoint, text or CSV, each up to ``GUANXI_ATTACHMENT_MAX_BYTES``, checked by content."""
    interaction = interaction_get_for_user(request.auth, interaction_id, write=True)
    limit = settings.GUANXI_ATTACHMENT_MAX_BYTES * settings.GUANXI_ATTACHMENTS_PER_INTERACTION
    # Refused by its declared size before the files are checked or stored. The body was read
    # by now (the NUL guard parses every form); core's UploadSizeGuardMiddleware refuses one
    # larger than any upload may be before that.
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + _UPLOAD_OVERHEAD:
        raise ValidationError({"files": [_("The upload is too large.")]})
    files = request.FILES.getlist("files")
    if not files:
        raise ValidationError({"files": [_("This field is required.")]})
    try:
        rows = services.interaction_attachments_add(
            actor=request.auth, interaction=interaction, files=files
        )
    except ValidationError as error:
        raise ValidationError({"files": error.message_dict.get("attachments", [])}) from error
    return Status(201, [_attachment_out(row) for row in rows])


@router.get("/attachments/{attachment_id}", url_name="attachment_download")
def attachment_download(request: HttpRequest, attachment_id: int) -> Any:
    """The file, for whoever may see its interaction."""
    attachment = attachment_get_for_user(request.auth, attachment_id)
    return attachment_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )


@router.delete("/attachments/{attachment_id}", response={204: None})
def attachment_remove(request: HttpRequest, attachment_id: int) -> Status[Any]:
    attachment = attachment_get_for_user(request.auth, attachment_id, write=True)
    services.interaction_attachment_delete(actor=request.auth, attachment=attachment)
    return Status(204, None)


# --- tasks --------------------------------------------------------------------------------------


def _task_out(task: FollowUpTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "customer_id": task.customer_id,
        "customer_name": task.customer.name,
        "assignee_id": task.assignee_id,
        "source": task.source,
        "kind": task.kind,
        "title": task.display_title,
        "note": task.note,
        "rule_id": task.rule_id,
        "period_start": task.period_start,
        "period_end": task.period_end,
        "channels": list(task.channels or []),
        "occasion_key": task.occasion_key,
        "occasion_date": task.occasion_date,
        "contact_id": task.contact_id,
        "origin_interaction_id": task.origin_id,
        "due_date": task.due_date,
        "deadline": task.deadline,
        "status": task.status,
        "completed_at": task.completed_at,
        "completed_on": task.completed_on,
        "completed_by_id": task.completed_by_id,
        "completed_interaction_id": task.completed_interaction_id,
        "resolution_note": task.resolution_note,
        "snooze_reason": task.snooze_reason,
        "escalated_at": task.escalated_at,
        "escalated_to_id": task.escalated_to_id,
        "version": task.version,
        "created_at": task.created_at,
    }


@router.get("/followups", response=FollowUpPage)
def followup_index(
    request: HttpRequest,
    view: str = "open",
    mine: bool = True,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    kind: str = "",
    source: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Follow-up tasks of the customers in your data scope. ``view``: ``today`` (overdue and due
    today), ``overdue``, ``due_today``, ``upcoming`` (14 days), ``open``, ``escalated``,
    ``done``. Your own by default; ``mine=false`` for everyone's you may see, or ``assignee_id``.
    By due date (done: newest first), keyset-paginated with ``cursor``."""
    if view not in TASK_VIEWS:
        raise ValidationError({"view": [_("Select a valid choice.")]})
    assignee = assignee_id if assignee_id is not None else (request.auth.pk if mine else None)
    page = followup_page(
        actor=request.auth,
        view=view,
        assignee=assignee,
        customer=customer_id,
        kind=kind,
        source=source,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_task_out(task) for task in page.items], "next_cursor": page.next_cursor}


def _row_out(row: ComplianceRow, *, department_id: int | None = None) -> dict[str, Any]:
    return {
        "id": row.key,
        "name": row.label,
        "department_id": department_id,
        "due": row.due,
        "on_time": row.on_time,
        "late": row.late,
        "missed": row.missed,
        "rate": row.rate,
    }


@router.get("/followups/compliance", response=ComplianceOut)
def followup_compliance(
    request: HttpRequest, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Follow-up compliance: of the policy and plan tasks whose deadline fell from ``date_from``
    to ``date_to`` (by default the 30 days up to yesterday), those done by the deadline, done
    later and not done, per person and per team, in your data scope (a rep: their own)."""
    user_require_active(request.auth)
    filter_dates_check(date_from=date_from, date_to=date_to)
    today = timezone.localdate()
    end = date_to or today - dt.timedelta(days=1)
    start = date_from or end - dt.timedelta(days=29)
    if start > end or (end - start).days > 366:
        raise ValidationError(
            {"date_from": [_("Choose a period of at most a year, its start before its end.")]}
        )
    report = compliance_report(actor=request.auth, date_from=start, date_to=end, today=today)
    return {
        "date_from": start,
        "date_to": end,
        "total": _row_out(report.total),
        "people": [
            _row_out(row, department_id=row.department.pk if row.department else None)
            for row in report.people
        ],
        "teams": [_row_out(row) for row in report.teams],
    }


@router.post("/followups/generate", response=GenerationOut)
def followups_generate(request: HttpRequest) -> dict[str, Any]:
    """Administrators: make the tasks due now (the nightly job does it anyway). Idempotent."""
    policy_require_edit(request.auth)
    result = services.followups_generate()
    return {
        "policy": result.policy,
        "plan": result.plan,
        "care": result.care,
        "cancelled": result.cancelled,
        "reassigned": result.reassigned,
    }


@router.get("/followups/{task_id}", response=FollowUpOut)
def followup_show(request: HttpRequest, task_id: int) -> dict[str, Any]:
    return _task_out(followup_get_for_user(request.auth, task_id))


@router.post("/followups/{task_id}/complete", response=FollowUpOut)
def followup_complete(request: HttpRequest, task_id: int, payload: CompleteIn) -> dict[str, Any]:
    """Mark a task done without an interaction (its assignee, or whoever may edit the customer).
    A task that is no longer open is a 409 ``task_not_open``."""
    task = followup_get_for_user(request.auth, task_id, write=True)
    done = services.followup_complete(actor=request.auth, task=task, note=payload.note)
    return _task_out(done)


@router.post("/followups/{task_id}/snooze", response=FollowUpOut)
def followup_snooze(request: HttpRequest, task_id: int, payload: SnoozeIn) -> dict[str, Any]:
    """Move the due date later, with a reason. The deadline stays (compliance counts to it)."""
    task = followup_get_for_user(request.auth, task_id, write=True)
    snoozed = services.followup_snooze(
        actor=request.auth, task=task, until=payload.until, reason=payload.reason
    )
    return _task_out(snoozed)


@router.post("/followups/{task_id}/reassign", response=FollowUpOut)
def followup_reassign(request: HttpRequest, task_id: int, payload: ReassignIn) -> dict[str, Any]:
    """Managers and administrators: hand the task to a colleague who can see the customer."""
    task = followup_get_for_user(request.auth, task_id, reassign=True)
    try:
        moved = services.followup_reassign(
            actor=request.auth, task=task, to_user=payload.assignee_id
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _task_out(moved)


# --- policies, rules, settings ------------------------------------------------------------------


def _rule_out(rule: MaintenanceRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "policy_id": rule.policy_id,
        "kind": rule.kind,
        "interval": rule.interval,
        "unit": rule.unit,
        "channels": list(rule.channels or []),
        "max_count": rule.max_count,
        "description": rule.description,
        "version": rule.version,
    }


def _policy_out(policy: MaintenancePolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "lifecycle": policy.lifecycle,
        "account_class": policy.account_class,
        "description": policy.description,
        "is_active": policy.is_active,
        "care_birthdays": policy.care_birthdays,
        "care_anniversaries": policy.care_anniversaries,
        "care_festivals": policy.care_festivals,
        "rules": [_rule_out(rule) for rule in policy.rules.all()],
        "version": policy.version,
    }


def _policy_reload(policy: MaintenancePolicy) -> MaintenancePolicy:
    return next(item for item in policy_list() if item.pk == policy.pk)


@router.get("/maintenance-policies", response=list[PolicyOut])
def policy_index(request: HttpRequest) -> list[dict[str, Any]]:
    """The maintenance policies with their rules; everyone may read them."""
    user_require_active(request.auth)
    return [_policy_out(policy) for policy in policy_list()]


@router.post("/maintenance-policies", response={201: PolicyOut})
def policy_add(request: HttpRequest, payload: PolicyIn) -> Status[Any]:
    policy_require_edit(request.auth)
    policy = services.policy_create(actor=request.auth, **payload.dict())
    return Status(201, _policy_out(_policy_reload(policy)))


@router.get("/maintenance-policies/{policy_id}", response=PolicyOut)
def policy_show(request: HttpRequest, policy_id: int) -> dict[str, Any]:
    return _policy_out(_policy_reload(policy_get_for_user(request.auth, policy_id)))


@router.patch("/maintenance-policies/{policy_id}", response=PolicyOut)
def policy_edit(request: HttpRequest, policy_id: int, payload: PolicyPatchIn) -> dict[str, Any]:
    policy = policy_get_for_user(request.auth, policy_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    updated = services.policy_update(
        actor=request.auth, policy=policy, data=data, expected_version=version
    )
    return _policy_out(_policy_reload(updated))


@router.delete("/maintenance-policies/{policy_id}", response={204: None})
def policy_remove(request: HttpRequest, policy_id: int) -> Status[Any]:
    policy = policy_get_for_user(request.auth, policy_id, write=True)
    services.policy_delete(actor=request.auth, policy=policy)
    return Status(204, None)


@router.post("/maintenance-policies/{policy_id}/rules", response={201: RuleOut})
def rule_add(request: HttpRequest, policy_id: int, payload: RuleIn) -> Status[Any]:
    policy = policy_get_for_user(request.auth, policy_id, write=True)
    rule = services.rule_create(actor=request.auth, policy=policy, **payload.dict())
    return Status(201, _rule_out(rule))


@router.patch("/maintenance-rules/{rule_id}", response=RuleOut)
def rule_edit(request: HttpRequest, rule_id: int, payload: RulePatchIn) -> dict[str, Any]:
    rule = rule_get_for_user(request.auth, rule_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    if "channels" in data and data["channels"] is None:
        data["channels"] = []
    updated = services.rule_update(
        actor=request.auth, rule=rule, data=data, expected_version=version
    )
    return _rule_out(updated)


@router.delete("/maintenance-rules/{rule_id}", response={204: None})
def rule_remove(request: HttpRequest, rule_id: int) -> Status[Any]:
    rule = rule_get_for_user(request.auth, rule_id, write=True)
    services.rule_delete(actor=request.auth, rule=rule)
    return Status(204, None)


def _settings_out(value: EngagementSettings) -> dict[str, Any]:
    return {
        "escalate_after_days": value.escalate_after_days,
        "care_lead_days": value.care_lead_days,
        "festivals": list(value.festivals or []),
        "version": value.version,
    }


@router.get("/followup-settings", response=SettingsOut)
def settings_show(request: HttpRequest) -> dict[str, Any]:
    user_require_active(request.auth)
    return _settings_out(settings_get())


@router.put("/followup-settings", response=SettingsOut)
def settings_edit(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    policy_require_edit(request.auth)
    data = payload.dict()
    version = data.pop("version")
    return _settings_out(
        services.settings_update(actor=request.auth, data=data, expected_version=version)
    )


# --- communication plans ------------------------------------------------------------------------


def _plan_out(customer_id: int, plan: CommunicationPlan | None) -> dict[str, Any]:
    if plan is None:
        return {
            "customer_id": customer_id,
            "channels": [],
            "frequency": "",
            "max_per_month": None,
            "themes": "",
            "notes": "",
            "version": None,
        }
    return {
        "customer_id": customer_id,
        "channels": list(plan.channels or []),
        "frequency": plan.frequency,
        "max_per_month": plan.max_per_month,
        "themes": plan.themes,
        "notes": plan.notes,
        "version": plan.version,
    }


@router.get("/customers/{customer_id}/communication-plan", response=PlanOut)
def plan_show(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    """The customer's communication plan (empty, with a null version, while it has none)."""
    customer = customer_get_for_user(request.auth, customer_id)
    return _plan_out(customer.pk, plan_for_customer(customer=customer))


@router.put("/customers/{customer_id}/communication-plan", response=PlanOut)
def plan_edit(request: HttpRequest, customer_id: int, payload: PlanIn) -> dict[str, Any]:
    """Create or replace the plan (whoever may edit the customer). Send the version you read."""
    customer = customer_get_for_user(request.auth, customer_id, write=True)
    plan_require_edit(request.auth, customer)
    data = payload.dict()
    version = data.pop("version")
    plan = services.communication_plan_save(
        actor=request.auth, customer=customer, data=data, expected_version=version
    )
    return _plan_out(customer.pk, plan)


# --- care calendar and feed ---------------------------------------------------------------------


@router.get("/care-calendar", response=list[CareDateOut])
def care_index(request: HttpRequest, days: int = 30) -> list[dict[str, Any]]:
    """Festivals, contacts' birthdays and first-contact anniversaries of the owned customers in
    your scope, from today for ``days`` days (1 to 366)."""
    user_require_active(request.auth)
    if not 1 <= days <= 366:
        raise ValidationError({"days": [_("Choose from 1 to 366 days.")]})
    today = timezone.localdate()
    items = care_calendar(actor=request.auth, start=today, end=today + dt.timedelta(days=days - 1))
    return [
        {
            "kind": item.kind,
            "date": item.date,
            "label": item.label,
            "customer_id": item.customer.pk if item.customer else None,
            "contact_id": item.contact.pk if item.contact else None,
            "years": item.years,
            "lunar": item.lunar,
            "key": item.key,
        }
        for item in items
    ]


@router.post("/calendar-feed/rotate", response=FeedOut)
def feed_rotate(request: HttpRequest) -> dict[str, Any]:
    """A new secret URL for your iCalendar feed of open follow-ups; the old one stops working.
    The URL is in this answer only."""
    raw = services.calendar_feed_rotate(actor=request.auth)
    url = request.build_absolute_uri(reverse("engagement:feed-ics", args=[raw]))
    return {"url": url, "prefix": raw[: len(services.FEED_TOKEN_PREFIX) + 4]}


@router.delete("/calendar-feed", response={204: None})
def feed_revoke(request: HttpRequest) -> Status[Any]:
    services.calendar_feed_revoke(actor=request.auth)
    return Status(204, None)
