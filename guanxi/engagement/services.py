"""Writes for relationship maintenance (C3): the interaction log, follow-up tasks, the engine that
makes tasks from the maintenance policies, the care calendar and next actions, notifications and
escalation, policies, communication plans and the calendar feed.

Every write: explicit actor (None for the scheduled jobs), full_clean, one transaction, audit
(core.services). Time-dependent functions take ``today`` / ``now`` so that tests freeze the clock
by passing them.

The engine (``followups_generate``) is idempotent: a task is made once per customer, rule and
period (policies), per customer and period (plans), per customer and occasion (care) and per
interaction (next actions), each backed by a database unique constraint; the generator inserts
with ``ignore_conflicts``, so two schedulers or a rerun make nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.audit import audit_record, object_type_of
from guanxi.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.core.validation import (
    actor_is_user,
    actor_or_none,
    choice_clean,
    errors_collect,
    text_clean,
)
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import customer_visible_queryset
from guanxi.engagement import periods
from guanxi.engagement.models import (
    CHANNEL_DEFAULT_KIND,
    KIND_SATISFIES,
    ActivityKind,
    CalendarFeedToken,
    Channel,
    CommunicationPlan,
    EngagementSettings,
    FollowUpTask,
    Interaction,
    InteractionAttachment,
    MaintenancePolicy,
    MaintenanceRule,
    PeriodUnit,
    kinds_fulfilling,
)
from guanxi.engagement.permissions import (
    followup_can_reassign,
    followup_can_work,
    interaction_can_log,
    interaction_can_write,
    plan_can_edit,
    policy_can_edit,
)
from guanxi.engagement.selectors import (
    EffectiveRule,
    local_date,
    local_day_bounds,
    over_contact_find,
    plan_channels_apply,
    policies_by_class,
    policy_customer_q,
    settings_get,
    tasks_by_assignee_due,
    tasks_due_counts_visible,
)
from guanxi.engagement.workdays import working_calendar, working_day_on_or_before

logger = logging.getLogger(__name__)

CONTENT_LIMIT = 10000
NOTE_LIMIT = 500
BATCH = 1000
# A time a little ahead of the server's clock is a phone's clock, not the future.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
SNOOZE_MAX_DAYS = 366
NEXT_ACTION_MAX_DAYS = 3 * 366


# --- errors -------------------------------------------------------------------------------------


class OverContactError(ApplicationError):
    """One more contact would exceed a policy's or the communication plan's maximum. Nothing is
    written unless the user confirms (``allow_over_contact``); ``extra["limits"]`` says which."""

    status_code = 409
    default_code = "over_contact"
    default_message = _(
        "This contact would exceed the most the customer should be contacted. Check the limits; "
        "to log it anyway, confirm."
    )


class TaskNotOpenError(ApplicationError):
    status_code = 409
    default_code = "task_not_open"
    default_message = _("This follow-up task is no longer open.")


# --- attachments --------------------------------------------------------------------------------


def _is_office_zip(head: bytes, data: Any) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        data.seek(0)
        with zipfile.ZipFile(data) as archive:
            return "[Content_Types].xml" in archive.namelist()[:2000]
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        data.seek(0)


def _is_text(head: bytes, data: Any) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample.
            head.decode(encoding) if len(head) < 8192 else head[:-4].decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Extension → (content type, check of the file's first bytes). The type sent back on download is
# ours, never the uploader's; HTML, SVG and scripts are not on the list.
ATTACHMENT_TYPES: dict[str, tuple[str, Any]] = {
    "pdf": ("application/pdf", lambda head, data: head.startswith(b"%PDF-")),
    "png": ("image/png", lambda head, data: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", lambda head, data: head.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda head, data: head.startswith(b"\xff\xd8\xff")),
    "gif": ("image/gif", lambda head, data: head[:6] in (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", lambda head, data: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _is_office_zip,
    ),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _is_office_zip),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _is_office_zip,
    ),
    "doc": ("application/msword", lambda head, data: head.startswith(OLE)),
    "xls": ("application/vnd.ms-excel", lambda head, data: head.startswith(OLE)),
    "ppt": ("application/vnd.ms-powerpoint", lambda head, data: head.startswith(OLE)),
    "txt": ("text/plain; charset=utf-8", _is_text),
    "csv": ("text/csv; charset=utf-8", _is_text),
}


@dataclass(frozen=True)
class CheckedFile:
    file: Any
    name: str
    size: int
    content_type: str


def attachment_check(upload: Any) -> CheckedFile:
    """``upload`` (an UploadedFile) if it is small enough and of an allowed type by its name and
    its content; a field error on ``attachments`` otherwise."""
    name = str(getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200] or "file"
    size = int(getattr(upload, "size", 0) or 0)
    limit = settings.GUANXI_ATTACHMENT_MAX_BYTES
    if size > limit:
        raise ValidationError(
            {
                "attachments": [
                    _("%(name)s is larger than %(limit)s MB.")
                    % {"name": name, "limit": round(limit / 1024 / 1024, 1)}
                ]
            },
            code="attachment_too_large",
        )
    if size == 0:
        raise ValidationError(
            {"attachments": [_("%(name)s is empty.") % {"name": name}]}, code="attachment_empty"
        )
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    known = ATTACHMENT_TYPES.get(extension)
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if known is None or not known[1](head, upload):
        raise ValidationError(
            {
                "attachments": [
                    _(
                        "%(name)s is not a file type we keep: PDF, images (PNG, JPEG, GIF, "
                        "WebP), Word, Excel, PowerPoint, text or CSV, with a content that "
                        "matches its name."
                    )
                    % {"name": name}
                ]
            },
            code="attachment_type",
        )
    return CheckedFile(file=upload, name=name, size=size, content_type=known[0])


def _attachments_check(files: Sequence[Any], *, already: int = 0) -> list[CheckedFile]:
    limit = settings.GUANXI_ATTACHMENTS_PER_INTERACTION
    if len(files) + already > limit:
        raise ValidationError(
            {
                "attachments": [
                    _("An interaction keeps at most %(limit)s attachments.") % {"limit": limit}
                ]
            },
            code="too_many_attachments",
        )
    errors: list[str] = []
    checked = []
    for upload in files:
        try:
            checked.append(attachment_check(upload))
        except ValidationError as error:
            errors.extend(error.message_dict["attachments"])
    if errors:
        raise ValidationError({"attachments": errors}, code="attachment_invalid")
    return checked


def _attachments_save(
    *, actor: Any, interaction: Interaction, checked: Sequence[CheckedFile], stored: list[str]
) -> list[InteractionAttachment]:
    """Store the files (their names collected in ``stored`` so that a rollback can remove
    them) and their rows."""
    rows = []
    for item in checked:
        attachment = InteractionAttachment(
            interaction=interaction,
            name=item.name,
            size=item.size,
            content_type=item.content_type,
            uploaded_by=actor_or_none(actor),
        )
        item.file.seek(0)
        attachment.file.save(item.name, item.file, save=False)
        stored.append(attachment.file.name)
        attachment.save()
        rows.append(attachment)
    return rows


def _storage_remove(names: Iterable[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # pragma: no cover - a file already gone is what we want
            logger.warning("could not remove attachment file %s", name)


# --- interactions -------------------------------------------------------------------------------


def _occurred_at_clean(value: Any, *, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    if not isinstance(value, dt.datetime):
        raise ValidationError({"occurred_at": [_("Enter a valid date and time.")]})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError(
            {"occurred_at": [_("An interaction cannot be logged before it happens.")]},
            code="future",
        )
    if value.year < 2000:
        raise ValidationError({"occurred_at": [_("Enter a valid date and time.")]})
    return value


def _contacts_resolve(customer: Customer, ids: Iterable[Any]) -> list[Contact]:
    wanted = _ids(ids, "contacts")
    if not wanted:
        return []
    found = list(Contact.objects.filter(customer=customer, pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError(
            {"contacts": [_("Choose contacts of this customer.")]}, code="invalid_contact"
        )
    return found


def _participants_resolve(ids: Iterable[Any]) -> list[User]:
    wanted = _ids(ids, "participants")
    if not wanted:
        return []
    found = list(User.objects.filter(pk__in=wanted, is_active=True))
    if len(found) != len(wanted):
        raise ValidationError(
            {"participants": [_("Choose active colleagues.")]}, code="invalid_participant"
        )
    return found


def _ids(values: Iterable[Any], name: str) -> set[int]:
    result = set()
    for value in values or ():
        pk = value.pk if hasattr(value, "pk") else value
        try:
            number = int(pk)
        except (TypeError, ValueError):
            raise ValidationError({name: [_("Select a valid choice.")]}) from None
        if not 0 < number < 2**63:
            raise ValidationError({name: [_("Select a valid choice.")]})
        result.add(number)
    if len(result) > 100:
        raise ValidationError({name: [_("Choose at most 100.")]})
    return result


def _next_action_clean(text: Any, day: Any, *, occurred: dt.date) -> tuple[str, dt.date | None]:
    action = text_clean("next_action", text, limit=NOTE_LIMIT)
    if bool(action) != (day is not None):
        field_name = "next_action_date" if action else "next_action"
        message = (
            _("Give the next action a date: it becomes a task due then.")
            if action
            else _("Say what the next action is.")
        )
        raise ValidationError({field_name: [message]}, code="next_action_incomplete")
    if day is None:
        return "", None
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ValidationError({"next_action_date": [_("Enter a valid date.")]})
    if day < occurred or day > occurred + dt.timedelta(days=NEXT_ACTION_MAX_DAYS):
        raise ValidationError(
            {
                "next_action_date": [
                    _("Choose a date from the interaction's day to three years after it.")
                ]
            },
            code="next_action_date_range",
        )
    return action, day


def interaction_create(
    *,
    actor: Any,
    customer: Customer,
    channel: str,
    content: str,
    kind: str = "",
    occurred_at: dt.datetime | None = None,
    contacts: Iterable[Any] = (),
    participants: Iterable[Any] = (),
    reaction: str = "",
    reaction_note: str = "",
    next_action: str = "",
    next_action_date: dt.date | None = None,
    complete_task: FollowUpTask | None = None,
    attachments: Sequence[Any] = (),
    allow_over_contact: bool = False,
    now: dt.datetime | None = None,
) -> Interaction:
    """Log a contact with ``customer`` (跟进记录). ``kind`` defaults from the channel (a visit is
    a deep conversation, a call a greeting, anything else a light touch). It completes every open
    policy, plan and care task of the customer that it fulfils (and ``complete_task``, whatever
    it is); a next action with its date becomes a task for ``actor``. A contact beyond a policy's
    or the plan's maximum is refused with OverContactError (409) unless ``allow_over_contact``;
    invalid input is a ValidationError. Either way nothing is written."""
    if not actor_is_user(actor):
        raise PermissionDeniedError()
    if not interaction_can_log(actor, customer):
        raise PermissionDeniedError()
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    channel = errors_collect(errors, lambda: choice_clean("channel", channel, Channel)) or ""
    kind = (
        errors_collect(errors, lambda: choice_clean("kind", kind, ActivityKind, blank=True)) or ""
    )
    kind = kind or CHANNEL_DEFAULT_KIND.get(channel, ActivityKind.TOUCH)
    when = errors_collect(errors, lambda: _occurred_at_clean(occurred_at, now=now)) or now
    text = errors_collect(
        errors, lambda: text_clean("content", content, limit=CONTENT_LIMIT, required=True)
    )
    reaction = errors_collect(
        errors, lambda: choice_clean("reaction", reaction, Interaction.Reaction, blank=True)
    )
    note = errors_collect(
        errors, lambda: text_clean("reaction_note", reaction_note, limit=CONTENT_LIMIT)
    )
    contact_rows = errors_collect(errors, lambda: _contacts_resolve(customer, contacts)) or []
    people = errors_collect(errors, lambda: _participants_resolve(participants)) or []
    action = errors_collect(
        errors,
        lambda: _next_action_clean(next_action, next_action_date, occurred=local_date(when)),
    ) or ("", None)
    checked = errors_collect(errors, lambda: _attachments_check(list(attachments))) or []
    if complete_task is not None and (
        complete_task.customer_id != customer.pk or not complete_task.is_open
    ):
        errors.setdefault("task", []).append(str(TaskNotOpenError.default_message))
    if errors:
        raise ValidationError(errors)
    limits = over_contact_find(customer=customer, kind=kind, when=when)
    if limits and not allow_over_contact:
        raise OverContactError(extra={"limits": [limit.as_dict() for limit in limits]})
    interaction = Interaction(
        customer=customer,
        channel=channel,
        kind=kind,
        occurred_at=when,
        content=text,
        reaction=reaction or "",
        reaction_note=note or "",
        next_action=action[0],
        next_action_date=action[1],
        over_contact_confirmed=bool(limits),
    )
    stored: list[str] = []
    try:
        with transaction.atomic():
            model_create(instance=interaction, actor=actor)
            if contact_rows:
                interaction.contacts.set(contact_rows)
            if people:
                interaction.participants.set(people)
            _attachments_save(actor=actor, interaction=interaction, checked=checked, stored=stored)
            if action[1] is not None:
                _next_action_task(actor=actor, interaction=interaction)
            _tasks_complete_by(actor=actor, interaction=interaction, explicit=complete_task)
            # Working on a customer is activity: the pool's recycle rules count from it.
            Customer.objects.filter(
                Q(last_activity_at__lt=when) | Q(last_activity_at__isnull=True), pk=customer.pk
            ).update(last_activity_at=when)
    except BaseException:
        _storage_remove(stored)
        raise
    return interaction


def _next_action_task(*, actor: Any, interaction: Interaction) -> FollowUpTask:
    task = FollowUpTask(
        customer=interaction.customer,
        assignee=actor,
        source=FollowUpTask.Source.NEXT_ACTION,
        kind=interaction.kind,
        title=interaction.next_action[:200],
        note=interaction.next_action,
        origin=interaction,
        due_date=interaction.next_action_date,
        deadline=interaction.next_action_date,
    )
    model_create(instance=task, actor=actor)
    return task


def interaction_fulfils(task: FollowUpTask, interaction: Interaction, day: dt.date) -> bool:
    """Whether ``interaction`` (on ``day``) does what ``task`` asks."""
    if task.source == FollowUpTask.Source.NEXT_ACTION:
        return False  # a next action is done when someone says so (it may be anything)
    if task.kind not in KIND_SATISFIES.get(interaction.kind, ()):
        return False
    if task.channels and interaction.channel not in task.channels:
        return False
    # A period's contact counts from the period's first day; a greeting from the first day of
    # its window (``care_lead_days`` before it is due), late ones too.
    return task.period_start is None or day >= task.period_start


def _tasks_complete_by(
    *, actor: Any, interaction: Interaction, explicit: FollowUpTask | None = None
) -> list[FollowUpTask]:
    """Complete the open tasks of the interaction's customer that it fulfils, and ``explicit``.
    A task is done on the interaction's day, so logging yesterday's visit today is on time for a
    period that ended yesterday."""
    day = local_date(interaction.occurred_at)
    candidates = FollowUpTask.objects.filter(
        customer=interaction.customer, status=FollowUpTask.Status.OPEN
    ).select_for_update()
    done = []
    for task in candidates:
        if (explicit is not None and task.pk == explicit.pk) or interaction_fulfils(
            task, interaction, day
        ):
            done.append(
                model_update(
                    instance=task,
                    data={
                        "status": FollowUpTask.Status.DONE,
                        "completed_at": interaction.occurred_at,
                        "completed_on": day,
                        "completed_by": actor,
                        "completed_interaction": interaction,
                    },
                    actor=actor,
                )
            )
    return done


INTERACTION_EDITABLE_FIELDS = frozenset(
    {"channel", "kind", "occurred_at", "content", "reaction", "reaction_note"}
)


def interaction_update(
    *,
    actor: Any,
    interaction: Interaction,
    data: dict[str, Any],
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Interaction:
    """Correct a logged interaction: channel, purpose, time, content, reaction (``data``), and the
    contacts and participants (``contacts`` / ``participants``: ids, replacing the lists). The
    next action is a task by now: change the task instead. Tasks it completed stay completed."""
    if not interaction_can_write(actor, interaction):
        raise PermissionDeniedError()
    now = now or timezone.now()
    data = dict(data)
    contact_ids = data.pop("contacts", None)
    participant_ids = data.pop("participants", None)
    unknown = set(data) - INTERACTION_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    cleaners = {
        "channel": lambda value: choice_clean("channel", value, Channel),
        "kind": lambda value: choice_clean("kind", value, ActivityKind),
        "occurred_at": lambda value: _occurred_at_clean(value, now=now),
        "content": lambda value: text_clean("content", value, limit=CONTENT_LIMIT, required=True),
        "reaction": lambda value: choice_clean("reaction", value, Interaction.Reaction, blank=True),
        "reaction_note": lambda value: text_clean("reaction_note", value, limit=CONTENT_LIMIT),
    }
    for name, value in data.items():
        cleaned = errors_collect(errors, lambda name=name, value=value: cleaners[name](value))
        if name not in errors:
            changes[name] = cleaned
    contact_rows = (
        errors_collect(errors, lambda: _contacts_resolve(interaction.customer, contact_ids))
        if contact_ids is not None
        else None
    )
    people = (
        errors_collect(errors, lambda: _participants_resolve(participant_ids))
        if participant_ids is not None
        else None
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        updated = model_update(
            instance=interaction, data=changes, actor=actor, expected_version=expected_version
        )
        for name, rows in (("contacts", contact_rows), ("participants", people)):
            if rows is None:
                continue
            relation = getattr(updated, name)
            before = sorted(relation.values_list("pk", flat=True))
            after = sorted(row.pk for row in rows)
            if before != after:
                relation.set(rows)
                audit_record(
                    actor=actor,
                    action=AuditEntry.Action.UPDATE,
                    obj=updated,
                    changes={name: {"before": before, "after": after}},
                )
    return updated  # type: ignore[return-value]  # model_update returns the instance given


def interaction_delete(*, actor: Any, interaction: Interaction) -> Interaction:
    """To the recycle bin. Tasks it completed stay done; its next action's task stays."""
    if not interaction_can_write(actor, interaction):
        raise PermissionDeniedError()
    return object_soft_delete(instance=interaction, actor=actor)  # type: ignore[return-value]  # returns the instance given


def interaction_attachments_add(
    *, actor: Any, interaction: Interaction, files: Sequence[Any]
) -> list[InteractionAttachment]:
    if not interaction_can_write(actor, interaction):
        raise PermissionDeniedError()
    checked = _attachments_check(list(files), already=interaction.attachments.count())
    stored: list[str] = []
    try:
        with transaction.atomic():
            rows = _attachments_save(
                actor=actor, interaction=interaction, checked=checked, stored=stored
            )
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=interaction,
                changes={"attachments": {"before": None, "after": [row.name for row in rows]}},
            )
    except BaseException:
        _storage_remove(stored)
        raise
    return rows


def interaction_attachment_delete(*, actor: Any, attachment: InteractionAttachment) -> None:
    """Delete one attachment for good (a file is not a record of its own in the recycle bin)."""
    interaction = attachment.interaction
    if not interaction_can_write(actor, interaction):
        raise PermissionDeniedError()
    name = attachment.file.name
    with transaction.atomic():
        attachment.delete()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=interaction,
            changes={"attachments": {"before": [attachment.name], "after": None}},
        )
        transaction.on_commit(lambda: _storage_remove([name]))


# --- tasks: complete, snooze, reassign ----------------------------------------------------------


def _locked_open(task: FollowUpTask) -> FollowUpTask:
    current = FollowUpTask.objects.select_for_update().filter(pk=task.pk).first()
    if current is None or not current.is_open:
        raise TaskNotOpenError()
    current.customer = task.customer
    return current


def followup_complete(
    *, actor: Any, task: FollowUpTask, note: str = "", now: dt.datetime | None = None
) -> FollowUpTask:
    """Mark ``task`` done today, with an optional note (a task done without an interaction:
    the offer was sent by post, the customer came by)."""
    if not followup_can_work(actor, task):
        raise PermissionDeniedError()
    now = now or timezone.now()
    text = text_clean("note", note, limit=NOTE_LIMIT)
    with transaction.atomic():
        current = _locked_open(task)
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=current,
            data={
                "status": FollowUpTask.Status.DONE,
                "completed_at": now,
                "completed_on": local_date(now),
                "completed_by": actor,
                "resolution_note": text,
            },
            actor=actor,
        )


def followup_snooze(
    *,
    actor: Any,
    task: FollowUpTask,
    until: dt.date | None,
    reason: str,
    today: dt.date | None = None,
) -> FollowUpTask:
    """Move ``task``'s due date to ``until`` (a later day, within a year), saying why. The
    deadline does not move: compliance still measures the task against it."""
    if not followup_can_work(actor, task):
        raise PermissionDeniedError()
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    text = errors_collect(
        errors, lambda: text_clean("reason", reason, limit=NOTE_LIMIT, required=True)
    )
    if not isinstance(until, dt.date):
        errors["until"] = [str(_("Enter a valid date."))]
    elif until <= today or until > today + dt.timedelta(days=SNOOZE_MAX_DAYS):
        errors["until"] = [str(_("Choose a day after today and within a year."))]
    elif until <= task.due_date:
        errors["until"] = [str(_("Choose a day after the current due date."))]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = _locked_open(task)
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=current, data={"due_date": until, "snooze_reason": text}, actor=actor
        )


def followup_reassign(*, actor: Any, task: FollowUpTask, to_user: Any) -> FollowUpTask:
    """Hand ``task`` to ``to_user``, an active colleague who can see the customer. From then on
    the engine leaves its assignee alone. The new assignee is notified."""
    if not followup_can_reassign(actor, task):
        raise PermissionDeniedError()
    pk = to_user.pk if hasattr(to_user, "pk") else to_user
    target = None
    try:
        target = User.objects.filter(pk=int(pk), is_active=True).first()
    except (TypeError, ValueError):
        target = None
    if (
        target is None
        or not customer_visible_queryset(actor=target).filter(pk=task.customer_id).exists()
    ):
        raise ValidationError(
            {"assignee": [_("Choose an active colleague who can see this customer.")]},
            code="invalid_assignee",
        )
    if target.pk == task.assignee_id:
        raise ValidationError(
            {"assignee": [_("The task is already assigned to this person.")]}, code="unchanged"
        )
    with transaction.atomic():
        current = _locked_open(task)
        updated = model_update(
            instance=current,
            data={"assignee": target, "reassigned_at": timezone.now()},
            actor=actor,
        )
        _notify(
            recipients=[target],
            kind="followup_assigned",
            message=gettext_noop("%(actor)s assigned you a follow-up: %(title)s (%(customer)s)."),
            params=lambda user: {
                "actor": actor.get_full_name(),
                "title": _title_in(user, updated),
                "customer": task.customer.name,
            },
            url=reverse("engagement:task-detail", args=[task.pk]),
            dedupe_key="",
            actor=actor,
        )
    return updated  # type: ignore[return-value]  # model_update returns the instance given


# --- the engine ---------------------------------------------------------------------------------


@dataclass
class GenerationResult:
    policy: int = 0
    plan: int = 0
    care: int = 0
    done_on_creation: int = 0
    cancelled: int = 0
    reassigned: int = 0

    @property
    def created(self) -> int:
        return self.policy + self.plan + self.care


ENGINE_SOURCES = (FollowUpTask.Source.POLICY, FollowUpTask.Source.PLAN, FollowUpTask.Source.CARE)


def followups_generate(*, today: dt.date | None = None) -> GenerationResult:
    """Make the tasks due under the maintenance policies, the communication plans and the care
    calendar for the period that ``today`` is in; cancel open tasks whose customer no longer
    follows the rule (another class, back in the pool, in the history library); give open tasks
    to the customer's owner. Idempotent: running it again the same day (or in two processes at
    once) makes nothing twice. The scheduled job runs it every night."""
    today = today or timezone.localdate()
    calendar = working_calendar(today=today)
    mapping = policies_by_class()
    result = GenerationResult()
    with transaction.atomic():
        result.cancelled = _stale_cancel(mapping=mapping)
        result.reassigned = _assignees_follow_owner()
    for policy in {policy.pk: policy for policy in mapping.values()}.values():
        _policy_generate(
            policy=policy, mapping=mapping, today=today, calendar=calendar, result=result
        )
    _plan_generate(mapping=mapping, today=today, calendar=calendar, result=result)
    _care_generate(mapping=mapping, today=today, calendar=calendar, result=result)
    if result.created or result.cancelled or result.reassigned:
        audit_record(
            actor=None,
            action=AuditEntry.Action.ACTION,
            object_type=object_type_of(FollowUpTask),
            object_id=today.isoformat(),
            object_label=today.isoformat(),
            note=(
                f"followups_generated?policy={result.policy}&plan={result.plan}"
                f"&care={result.care}&cancelled={result.cancelled}"
            ),
        )
    return result


def _engine_customers() -> Any:
    """Customers the engine makes tasks for: owned, live, not in the history library."""
    return Customer.objects.filter(owner__isnull=False, archived_at__isnull=True)


def _due_in(calendar: Any, period: periods.Period, today: dt.date) -> dt.date:
    """A period's task is due on its last working day (never before today)."""
    return max(working_day_on_or_before(calendar, period.end, not_before=period.start), today)


def _fulfilling_interactions(
    *, customer_ids: list[int], kind: str, start: dt.date, end: dt.date
) -> dict[int, list[tuple[str, dt.datetime, int]]]:
    """Per customer, the (channel, time, id) of the interactions from ``start`` to ``end`` that
    fulfil a rule of ``kind``, earliest first."""
    low, high = local_day_bounds(start, end)
    found: dict[int, list[tuple[str, dt.datetime, int]]] = {}
    rows = (
        Interaction.objects.filter(
            customer_id__in=customer_ids,
            kind__in=kinds_fulfilling(kind),
            occurred_at__gte=low,
            occurred_at__lt=high,
        )
        .order_by("occurred_at", "id")
        .values_list("customer_id", "channel", "occurred_at", "id")
    )
    for customer_id, channel, when, pk in rows:
        found.setdefault(customer_id, []).append((channel, when, pk))
    return found


def period_task_new(
    *,
    customer_id: int,
    owner_id: int,
    rule: EffectiveRule,
    period: periods.Period,
    due: dt.date,
    done: tuple[str, dt.datetime, int] | None,
) -> FollowUpTask:
    task = FollowUpTask(
        customer_id=customer_id,
        assignee_id=owner_id,
        source=rule.source,
        kind=rule.kind,
        rule_id=rule.rule_id,
        period_start=period.start,
        period_end=period.end,
        channels=list(rule.channels),
        due_date=due,
        deadline=period.end,
    )
    if done is not None:
        # Already contacted in this period before the task was made: it counts, and on time.
        _channel, when, interaction_id = done
        task.status = FollowUpTask.Status.DONE
        task.completed_at = when
        task.completed_on = local_date(when)
        task.completed_interaction_id = interaction_id
    return task


def _insert(tasks: list[FollowUpTask]) -> int:
    """Insert what is missing; a row another process inserted first is skipped by the unique
    constraints. Returns how many were inserted (counted, as bulk_create cannot tell)."""
    if not tasks:
        return 0
    FollowUpTask.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=500)
    return len(tasks)


def _policy_generate(
    *,
    policy: MaintenancePolicy,
    mapping: dict[tuple[str, str], MaintenancePolicy],
    today: dt.date,
    calendar: Any,
    result: GenerationResult,
) -> None:
    rules = [rule for rule in policy.rules.all() if rule.deleted_at is None]
    if not rules:
        return
    customers = _engine_customers().filter(policy_customer_q(policy, mapping))
    last = 0
    while True:
        batch = list(
            customers.filter(pk__gt=last).order_by("pk").values_list("pk", "owner_id")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1][0]
        ids = [pk for pk, _owner in batch]
        plans = {
            plan.customer_id: plan for plan in CommunicationPlan.objects.filter(customer_id__in=ids)
        }
        for rule in rules:
            period = periods.period_of(rule.unit, rule.interval, today)
            having = set(
                FollowUpTask.objects.filter(
                    source=FollowUpTask.Source.POLICY,
                    rule=rule,
                    period_start=period.start,
                    customer_id__in=ids,
                ).values_list("customer_id", flat=True)
            )
            missing = [(pk, owner) for pk, owner in batch if pk not in having]
            if not missing:
                continue
            contacted = _fulfilling_interactions(
                customer_ids=[pk for pk, _owner in missing],
                kind=rule.kind,
                start=period.start,
                end=today,
            )
            due = _due_in(calendar, period, today)
            tasks = []
            for pk, owner in missing:
                effective = EffectiveRule(
                    source=FollowUpTask.Source.POLICY,
                    rule_id=rule.pk,
                    kind=rule.kind,
                    unit=rule.unit,
                    interval=rule.interval,
                    channels=plan_channels_apply(rule.channels, plans.get(pk)),
                    max_count=rule.max_count,
                    label="",
                )
                done = next(
                    (
                        item
                        for item in contacted.get(pk, [])
                        if not effective.channels or item[0] in effective.channels
                    ),
                    None,
                )
                tasks.append(
                    period_task_new(
                        customer_id=pk,
                        owner_id=owner,
                        rule=effective,
                        period=period,
                        due=due,
                        done=done,
                    )
                )
                result.done_on_creation += done is not None
            result.policy += _insert(tasks)


def _plan_generate(
    *,
    mapping: dict[tuple[str, str], MaintenancePolicy],
    today: dt.date,
    calendar: Any,
    result: GenerationResult,
) -> None:
    """Tasks of the communication plans that ask for contact more often than the policy."""
    from guanxi.engagement.selectors import effective_rules, policy_for_customer

    plans = (
        CommunicationPlan.objects.exclude(frequency="")
        .filter(customer__in=_engine_customers())
        .select_related("customer")
    )
    tasks = []
    for plan in plans.iterator(chunk_size=BATCH):
        customer = plan.customer
        policy = policy_for_customer(customer, mapping)
        extra = [
            rule
            for rule in effective_rules(policy=policy, plan=plan)
            if rule.source == FollowUpTask.Source.PLAN
        ]
        for rule in extra:
            period = rule.period(today)
            if FollowUpTask.objects.filter(
                source=FollowUpTask.Source.PLAN, customer=customer, period_start=period.start
            ).exists():
                continue
            contacted = _fulfilling_interactions(
                customer_ids=[customer.pk], kind=rule.kind, start=period.start, end=today
            )
            done = next(
                (
                    item
                    for item in contacted.get(customer.pk, [])
                    if not rule.channels or item[0] in rule.channels
                ),
                None,
            )
            tasks.append(
                period_task_new(
                    customer_id=customer.pk,
                    owner_id=customer.owner_id,
                    rule=rule,
                    period=period,
                    due=_due_in(calendar, period, today),
                    done=done,
                )
            )
            result.done_on_creation += done is not None
    result.plan += _insert(tasks)


def _care_generate(
    *,
    mapping: dict[tuple[str, str], MaintenancePolicy],
    today: dt.date,
    calendar: Any,
    result: GenerationResult,
) -> None:
    """Greeting tasks (关怀): a contact's birthday, the anniversary of the first contact, the
    festivals chosen in the settings, for the customers whose policy asks for them. A task is
    due on the last working day on or before the occasion and made ``care_lead_days`` before
    that; an occasion that has passed gets none."""
    from guanxi.engagement.selectors import (
        anniversaries_between,
        birthdays_between,
        care_festivals,
    )

    config = settings_get()
    lead = config.care_lead_days
    # A due date moves back over weekends and holidays (the Spring Festival's nine days off and
    # a weekend), so occasions up to two weeks beyond the lead can already be due.
    horizon = today + dt.timedelta(days=lead + 14)
    policies = {policy.pk: policy for policy in mapping.values()}.values()

    def customers_for(flag: str) -> Any:
        condition = Q(pk__in=[])
        for policy in policies:
            if getattr(policy, flag):
                condition |= policy_customer_q(policy, mapping)
        return _engine_customers().filter(condition)

    def due_for(occasion: dt.date) -> dt.date | None:
        due = working_day_on_or_before(calendar, occasion, not_before=today)
        if due - dt.timedelta(days=lead) > today:
            return None  # not yet
        return max(due, today)

    tasks: list[FollowUpTask] = []

    def flush(*, force: bool = False) -> None:
        # In batches: a festival greets every customer of the policies that ask for it.
        if tasks and (force or len(tasks) >= BATCH):
            result.care += _insert(_care_missing(tasks, today=today))
            tasks.clear()

    def care_task(customer: Customer, occasion: dt.date, key: str, **fields: Any) -> None:
        due = due_for(occasion)
        if due is None:
            return
        flush()
        tasks.append(
            FollowUpTask(
                customer_id=customer.pk,
                assignee_id=customer.owner_id,
                source=FollowUpTask.Source.CARE,
                kind=ActivityKind.GREETING,
                occasion_key=key[:100],
                occasion_date=occasion,
                # The greeting's window: a greeting from its first day on fulfils it.
                period_start=min(due - dt.timedelta(days=lead), today),
                period_end=occasion,
                due_date=due,
                deadline=occasion,
                **fields,
            )
        )

    contacts = (
        Contact.objects.filter(customer__in=customers_for("care_birthdays"))
        .select_related("customer")
        .only("pk", "name", "birthday", "birthday_lunar", "customer__id", "customer__owner_id")
    )
    for contact, occasion in birthdays_between(contacts, start=today, end=horizon):
        care_task(
            contact.customer,
            occasion,
            f"birthday:{contact.pk}:{occasion.isoformat()}",
            contact=contact,
            title=contact.name[:200],
        )
    for customer, occasion, years in anniversaries_between(
        customers_for("care_anniversaries").only("pk", "owner_id", "first_contact_date"),
        start=today,
        end=horizon,
    ):
        care_task(customer, occasion, f"anniversary:{years}:{occasion.isoformat()}")
    wanted = set(config.festivals or [])
    festivals = [
        festival
        for festival in care_festivals(start=today, end=horizon)
        if festival.key in wanted and due_for(festival.date) is not None
    ]
    if festivals:
        greeted = customers_for("care_festivals").only("pk", "owner_id")
        for customer in greeted.iterator(chunk_size=BATCH):
            for festival in festivals:
                care_task(customer, festival.date, f"festival:{festival.key}:{festival.date.year}")
    flush(force=True)


def _care_missing(tasks: list[FollowUpTask], *, today: dt.date) -> list[FollowUpTask]:
    """The greeting tasks not made yet (by an earlier run or another process): one query per
    thousand tasks, over the occasions still to come."""
    missing = []
    for start in range(0, len(tasks), BATCH):
        chunk = tasks[start : start + BATCH]
        having = set(
            FollowUpTask.objects.filter(
                source=FollowUpTask.Source.CARE,
                occasion_date__gte=today,
                customer_id__in={task.customer_id for task in chunk},
            ).values_list("customer_id", "occasion_key")
        )
        missing.extend(
            task for task in chunk if (task.customer_id, task.occasion_key) not in having
        )
    return missing


def _stale_cancel(*, mapping: dict[tuple[str, str], MaintenancePolicy]) -> int:
    """Cancel open tasks the engine made that no longer apply: the rule was removed or its policy
    switched off, the customer moved to another class, went back to the pool or into the history
    library, or its plan no longer asks. Next actions stay: someone promised them."""
    now = timezone.now()
    open_tasks = FollowUpTask.objects.filter(status=FollowUpTask.Status.OPEN)
    stale = Q(source__in=ENGINE_SOURCES) & (
        Q(customer__owner__isnull=True) | Q(customer__archived_at__isnull=False)
    )
    stale |= Q(source=FollowUpTask.Source.POLICY) & (
        Q(rule__isnull=True)
        | Q(rule__deleted_at__isnull=False)
        | Q(rule__policy__deleted_at__isnull=False)
        | Q(rule__policy__is_active=False)
    )
    for policy in {policy.pk: policy for policy in mapping.values()}.values():
        following = policy_customer_q(policy, mapping)
        stale |= Q(source=FollowUpTask.Source.POLICY, rule__policy=policy) & ~Q(
            customer__in=Customer.objects.filter(following)
        )
    chosen = {policy.pk for policy in mapping.values()}
    stale |= Q(source=FollowUpTask.Source.POLICY) & ~Q(rule__policy__in=chosen)
    stale |= Q(source=FollowUpTask.Source.PLAN) & ~Q(
        customer__in=CommunicationPlan.objects.exclude(frequency="").values("customer_id")
    )
    ids = list(open_tasks.filter(stale).values_list("pk", flat=True))
    if not ids:
        return 0
    return FollowUpTask.objects.filter(pk__in=ids, status=FollowUpTask.Status.OPEN).update(
        status=FollowUpTask.Status.CANCELLED,
        resolution_note="no_longer_applies",
        updated_at=now,
        version=F("version") + 1,
    )


def _assignees_follow_owner() -> int:
    """Open engine tasks go with the customer: after a transfer or a hand-over, to the new owner
    (unless someone handed the task to a particular person)."""
    owner = Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("owner_id")[:1])
    moved = (
        FollowUpTask.objects.filter(
            status=FollowUpTask.Status.OPEN,
            source__in=ENGINE_SOURCES,
            reassigned_at__isnull=True,
            customer__owner__isnull=False,
        )
        .exclude(assignee_id=F("customer__owner_id"))
        .values_list("pk", flat=True)
    )
    ids = list(moved)
    if not ids:
        return 0
    return FollowUpTask.objects.filter(pk__in=ids).update(
        assignee_id=owner, updated_at=timezone.now(), version=F("version") + 1
    )


# --- notifications and escalation ---------------------------------------------------------------

NOTIFICATION_KINDS = {
    "followup_due": _("Follow-ups due today"),
    "followup_overdue": _("Follow-up overdue"),
    "followup_escalated": _("Follow-up escalated to you"),
    "followup_assigned": _("Follow-up assigned to you"),
}


def _notify(
    *,
    recipients: Sequence[User],
    kind: str,
    message: str,
    params: Any,
    url: str,
    dedupe_key: str,
    actor: Any = None,
    customer_id: int | None = None,
) -> int:
    """notify() per recipient, with ``params(user)`` computed in the recipient's language (a
    task's title is translated when shown). With ``customer_id``, a recipient who may not see
    that customer hears nothing: the message names it (and is e-mailed and posted to robots)."""
    from guanxi.notifications.models import user_language
    from guanxi.notifications.services import notify

    sent = 0
    for user in recipients:
        if user is None or not user.is_active:
            continue
        if customer_id is not None and not _sees_customer(user, customer_id):
            continue
        with translation.override(user_language(user)):
            values = params(user) if callable(params) else params
        sent += len(
            notify(
                recipients=[user],
                kind=kind,
                message=message,
                params=values,
                url=url,
                dedupe_key=dedupe_key,
                actor=actor if actor_is_user(actor) else None,
            )
        )
    return sent


def _sees_customer(user: User, customer_id: int) -> bool:
    return customer_visible_queryset(actor=user).filter(pk=customer_id).exists()


def _title_in(user: User, task: FollowUpTask) -> str:
    """The task's title for a notification: a next action's title is what the rep typed, which
    may hold a phone number or an e-mail address; notifications are e-mailed and posted to group
    robots, so those are masked as in the calendar feed."""
    from guanxi.engagement.feed import text_scrub
    from guanxi.notifications.models import user_language

    with translation.override(user_language(user)):
        return text_scrub(task.display_title)


def followups_notify_due(*, today: dt.date | None = None) -> int:
    """The morning digest: each assignee with tasks due today or overdue gets one notification
    with the counts (once a day: the dedupe key holds the date)."""
    today = today or timezone.localdate()
    counts = tasks_by_assignee_due(today=today)
    users = User.objects.in_bulk(list(counts))
    sent = 0
    for user_id in counts:
        user = users.get(user_id)
        if user is None:
            continue
        numbers = tasks_due_counts_visible(user=user, today=today)
        if not (numbers["due_today"] or numbers["overdue"]):
            continue
        sent += _notify(
            recipients=[user],
            kind="followup_due",
            message=gettext_noop(
                "Today's follow-ups: %(due_today)s due today, %(overdue)s overdue."
            ),
            params={"due_today": numbers["due_today"], "overdue": numbers["overdue"]},
            url=reverse("engagement:today"),
            dedupe_key=f"followup_due:{today.isoformat()}",
        )
    return sent


def escalation_manager(user: User | None, *, cache: dict[int, Any] | None = None) -> User | None:
    """Whom an overdue task of ``user`` goes to: their manager (User.manager), else the sales
    manager of their department or of the nearest department above it."""
    candidates = escalation_managers(user, cache=cache)
    return candidates[0] if candidates else None


def escalation_managers(user: User | None, *, cache: dict[int, Any] | None = None) -> list[User]:
    """The managers an overdue task of ``user`` may go to, in order: their manager
    (User.manager), then the sales manager of their department or of the nearest department
    above it. followups_escalate takes the first who may see the task's customer: User.manager
    can be anyone, and the escalation names the customer."""
    if user is None:
        return []
    cache = {} if cache is None else cache
    if user.pk in cache:
        return cache[user.pk]
    candidates: list[User] = []
    if user.manager_id and user.manager_id != user.pk:
        manager = User.objects.filter(pk=user.manager_id, is_active=True).first()
        if manager is not None:
            candidates.append(manager)
    found = None
    if user.department_id:
        path = user.department.path if user.department else ""
        ids = [int(part) for part in path.split("/") if part.isdigit()] or [user.department_id]
        managers = {
            manager.department_id: manager
            for manager in User.objects.filter(
                department_id__in=ids, role=Role.SALES_MANAGER, is_active=True
            )
            .exclude(pk=user.pk)
            .order_by("-pk")
        }
        found = next((managers[pk] for pk in reversed(ids) if pk in managers), None)
    if found is not None and found not in candidates:
        candidates.append(found)
    cache[user.pk] = candidates
    return candidates


def followups_escalate(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Overdue tasks: the assignee hears the day after the due date (once per due date, so a
    snoozed task that is overdue again is told again); after ``escalate_after_days`` the task
    goes to the assignee's manager (escalation_manager), once. Returns how many tasks were
    escalated."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    delay = settings_get().escalate_after_days
    open_tasks = FollowUpTask.objects.filter(
        status=FollowUpTask.Status.OPEN, customer__deleted_at__isnull=True
    ).select_related("customer", "assignee", "assignee__department", "contact")
    overdue = open_tasks.filter(
        due_date__lt=today,
        due_date__gte=today - dt.timedelta(days=max(delay, 1)),
        assignee__isnull=False,
    ).order_by("due_date", "id")
    for task in overdue.iterator(chunk_size=BATCH):
        _notify(
            recipients=[task.assignee],
            kind="followup_overdue",
            message=gettext_noop("The follow-up “%(title)s” for %(customer)s was due on %(date)s."),
            params=lambda user, task=task: {
                "title": _title_in(user, task),
                "customer": task.customer.name,
                "date": task.due_date.isoformat(),
            },
            url=reverse("engagement:task-detail", args=[task.pk]),
            dedupe_key=f"followup_overdue:{task.pk}:{task.due_date.isoformat()}",
            customer_id=task.customer_id,
        )
    due = open_tasks.filter(
        due_date__lte=today - dt.timedelta(days=delay), escalated_at__isnull=True
    ).order_by("due_date", "id")
    managers: dict[int, Any] = {}
    escalated = 0
    for task in due.iterator(chunk_size=BATCH):
        manager = next(
            (
                candidate
                for candidate in escalation_managers(task.assignee, cache=managers)
                if _sees_customer(candidate, task.customer_id)
            ),
            None,
        )
        with transaction.atomic():
            moved = FollowUpTask.objects.filter(
                pk=task.pk, status=FollowUpTask.Status.OPEN, escalated_at__isnull=True
            ).update(escalated_at=now, escalated_to=manager, version=F("version") + 1)
            if not moved:
                continue
            escalated += 1
            audit_record(
                actor=None,
                action=AuditEntry.Action.UPDATE,
                obj=task,
                changes={
                    "escalated_at": {"before": None, "after": now.isoformat()},
                    "escalated_to": {"before": None, "after": manager.pk if manager else None},
                },
            )
            if manager is not None:
                _notify(
                    recipients=[manager],
                    kind="followup_escalated",
                    message=gettext_noop(
                        "Overdue since %(date)s: the follow-up “%(title)s” for %(customer)s, "
                        "assigned to %(assignee)s."
                    ),
                    params=lambda user, task=task: {
                        "title": _title_in(user, task),
                        "customer": task.customer.name,
                        "assignee": task.assignee.get_full_name() if task.assignee else "",
                        "date": task.due_date.isoformat(),
                    },
                    url=reverse("engagement:task-detail", args=[task.pk]),
                    dedupe_key=f"followup_escalated:{task.pk}",
                    customer_id=task.customer_id,
                )
    return escalated


# --- policies, rules, settings ------------------------------------------------------------------

POLICY_EDITABLE_FIELDS = frozenset(MaintenancePolicy.audit_fields)
RULE_EDITABLE_FIELDS = frozenset(
    {"kind", "interval", "unit", "channels", "max_count", "description"}
)
SETTINGS_EDITABLE_FIELDS = frozenset(EngagementSettings.audit_fields)


def _channels_clean(value: Any, name: str = "channels") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError({name: [_("Send a list of channels.")]})
    cleaned = []
    for item in value:
        if str(item) not in Channel.values:
            raise ValidationError({name: [_("Select a valid choice.")]}, code="invalid_choice")
        if str(item) not in cleaned:
            cleaned.append(str(item))
    return cleaned


def _require_policy_editor(actor: Any) -> None:
    if not policy_can_edit(actor):
        raise PermissionDeniedError()


def policy_create(
    *,
    actor: Any,
    name: str,
    lifecycle: str = "",
    account_class: str = "",
    description: str = "",
    is_active: bool = True,
    care_birthdays: bool = False,
    care_anniversaries: bool = False,
    care_festivals: bool = False,
) -> MaintenancePolicy:
    _require_policy_editor(actor)
    policy = MaintenancePolicy(
        name=(name or "").strip(),
        lifecycle=lifecycle or "",
        account_class=account_class or "",
        description=(description or "").strip(),
        is_active=bool(is_active),
        care_birthdays=bool(care_birthdays),
        care_anniversaries=bool(care_anniversaries),
        care_festivals=bool(care_festivals),
    )
    return model_create(instance=policy, actor=actor)  # type: ignore[return-value]  # returns the instance given


def policy_update(
    *,
    actor: Any,
    policy: MaintenancePolicy,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> MaintenancePolicy:
    """Change a policy; its customers' open tasks of rules it no longer applies to are cancelled
    by the next run of the engine."""
    _require_policy_editor(actor)
    unknown = set(data) - POLICY_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = {
        name: (value.strip() if isinstance(value, str) else value) for name, value in data.items()
    }
    for name in ("lifecycle", "account_class", "description"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=policy, data=changes, actor=actor, expected_version=expected_version
    )


def policy_delete(*, actor: Any, policy: MaintenancePolicy) -> MaintenancePolicy:
    _require_policy_editor(actor)
    return object_soft_delete(instance=policy, actor=actor)  # type: ignore[return-value]  # returns the instance given


def _rule_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "channels":
            cleaned[name] = errors_collect(errors, lambda value=value: _channels_clean(value))
        elif name == "kind":
            cleaned[name] = errors_collect(
                errors, lambda value=value: choice_clean("kind", value, ActivityKind)
            )
        elif name == "unit":
            cleaned[name] = errors_collect(
                errors, lambda value=value: choice_clean("unit", value, PeriodUnit)
            )
        elif name == "description":
            cleaned[name] = errors_collect(
                errors, lambda value=value: text_clean("description", value, limit=200)
            )
        else:
            cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def rule_create(
    *,
    actor: Any,
    policy: MaintenancePolicy,
    kind: str,
    interval: int = 1,
    unit: str = PeriodUnit.MONTH,
    channels: Sequence[str] = (),
    max_count: int | None = None,
    description: str = "",
) -> MaintenanceRule:
    _require_policy_editor(actor)
    values = _rule_values_clean(
        {
            "kind": kind,
            "unit": unit,
            "channels": list(channels or []),
            "description": description,
        }
    )
    rule = MaintenanceRule(policy=policy, interval=interval, max_count=max_count, **values)
    return model_create(instance=rule, actor=actor)  # type: ignore[return-value]  # returns the instance given


def rule_update(
    *,
    actor: Any,
    rule: MaintenanceRule,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> MaintenanceRule:
    """Change a rule. Tasks already made keep their period; the next periods follow the rule as
    it is then."""
    _require_policy_editor(actor)
    unknown = set(data) - RULE_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=rule,
        data=_rule_values_clean(dict(data)),
        actor=actor,
        expected_version=expected_version,
    )


def rule_delete(*, actor: Any, rule: MaintenanceRule) -> MaintenanceRule:
    _require_policy_editor(actor)
    return object_soft_delete(instance=rule, actor=actor)  # type: ignore[return-value]  # returns the instance given


def settings_update(
    *, actor: Any, data: dict[str, Any], expected_version: int | None = None
) -> EngagementSettings:
    from guanxi.core.china.calendar import FestivalKey

    _require_policy_editor(actor)
    unknown = set(data) - SETTINGS_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = dict(data)
    if "festivals" in changes:
        festivals = changes["festivals"] or []
        if not isinstance(festivals, list | tuple) or any(
            str(key) not in FestivalKey.values for key in festivals
        ):
            raise ValidationError({"festivals": [_("Select a valid choice.")]})
        changes["festivals"] = [key for key in FestivalKey.values if key in set(festivals)]
    EngagementSettings.objects.get_or_create(pk=EngagementSettings.SINGLETON_PK)
    current = EngagementSettings.objects.get(pk=EngagementSettings.SINGLETON_PK)
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=current, data=changes, actor=actor, expected_version=expected_version
    )


# --- communication plans ------------------------------------------------------------------------

PLAN_EDITABLE_FIELDS = frozenset(CommunicationPlan.audit_fields)


def communication_plan_save(
    *,
    actor: Any,
    customer: Customer,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> CommunicationPlan:
    """Create or change the customer's communication plan (whoever may edit the customer)."""
    if not plan_can_edit(actor, customer):
        raise PermissionDeniedError()
    unknown = set(data) - PLAN_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if name == "channels":
            changes[name] = errors_collect(errors, lambda value=value: _channels_clean(value))
        elif name == "frequency":
            changes[name] = errors_collect(
                errors,
                lambda value=value: choice_clean(
                    "frequency", value, CommunicationPlan.Frequency, blank=True
                ),
            )
        elif name in ("themes", "notes"):
            changes[name] = errors_collect(
                errors, lambda name=name, value=value: text_clean(name, value, limit=CONTENT_LIMIT)
            )
        else:
            changes[name] = value
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The plan is one row per customer, kept even in the recycle bin: saving brings it back.
        # Locking the customer serialises two first saves (a missing plan row locks nothing);
        # where the database cannot lock (SQLite), the unique customer catches the second.
        Customer.all_objects.select_for_update().filter(pk=customer.pk).first()
        plan = CommunicationPlan.all_objects.select_for_update().filter(customer=customer).first()
        if plan is None:
            plan = CommunicationPlan(customer=customer, **changes)
            try:
                with transaction.atomic():
                    return model_create(instance=plan, actor=actor)  # type: ignore[return-value]  # returns the instance given
            except IntegrityError as error:
                raise ConflictError() from error
        if plan.deleted_at is not None:
            changes["deleted_at"] = None
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=plan, data=changes, actor=actor, expected_version=expected_version
        )


# --- calendar feed ------------------------------------------------------------------------------

FEED_TOKEN_PREFIX = "gxcal_"


def _feed_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def calendar_feed_rotate(*, actor: Any) -> str:
    """A new secret for ``actor``'s calendar feed; the previous one stops working at once.
    Returns the secret, which is shown once and stored only as a hash."""
    if not actor_is_user(actor):
        raise PermissionDeniedError()
    raw = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeedToken.objects.update_or_create(
            user=actor,
            defaults={
                "key_hash": _feed_hash(raw),
                "prefix": raw[: len(FEED_TOKEN_PREFIX) + 4],
                "created_at": timezone.now(),
                "last_used_at": None,
            },
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=actor,
            note="calendar_feed_rotated",
        )
    return raw


def calendar_feed_revoke(*, actor: Any) -> bool:
    if not actor_is_user(actor):
        raise PermissionDeniedError()
    with transaction.atomic():
        deleted, _rows = CalendarFeedToken.objects.filter(user=actor).delete()
        if deleted:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.ACTION,
                obj=actor,
                note="calendar_feed_revoked",
            )
    return bool(deleted)


def calendar_feed_open(*, token: str, now: dt.datetime | None = None) -> User | None:
    """The active user whose feed ``token`` opens, or None (unknown, rotated, revoked, or the user
    was deactivated). Records the use, at most once a minute."""
    if not token or not token.startswith(FEED_TOKEN_PREFIX) or len(token) > 100:
        return None
    now = now or timezone.now()
    row = (
        CalendarFeedToken.objects.select_related("user").filter(key_hash=_feed_hash(token)).first()
    )
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        CalendarFeedToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
