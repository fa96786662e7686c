"""Writes for notifications: ``notify`` (the one entry point for every app), read marks,
preferences, robots, and the delivery of e-mail and robot messages by jobs.

Public API for other apps::

    from django.utils.translation import gettext_noop
    from guanxi.notifications.services import notify

    notify(
        recipients=[task.owner],
        kind="followup_overdue",  # registered with notification_kind_register in ready()
        message=gettext_noop("Follow-up with %(customer)s was due on %(date)s."),
        params={"customer": customer.name, "date": "2025-03-01"},
        url=reverse("customers:customer-detail", args=[customer.pk]),
        dedupe_key=f"followup-overdue:{task.pk}",
    )
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Department, User
from guanxi.core.audit import audit_record
from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.ratelimit import window_count
from guanxi.core.services import model_update
from guanxi.notifications import crypto, robots
from guanxi.notifications.kinds import (
    notification_kind_get,
    notification_kind_label,
    notification_kind_register,
)
from guanxi.notifications.models import (
    Channel,
    Delivery,
    Notification,
    NotificationPreference,
    RobotEndpoint,
    user_language,
)
from guanxi.notifications.permissions import robot_can_write, robot_department_can_manage

__all__ = [
    "notification_kind_register",
    "notify",
    "notification_mark_read",
    "notifications_mark_all_read",
    "notification_preference_set",
    "robot_create",
    "robot_update",
    "robot_delete",
    "robot_test_send",
    "delivery_send",
    "deliveries_due_enqueue",
]

logger = logging.getLogger(__name__)

MESSAGE_MAX = 2000
PARAMS_MAX = 4000


# --- notify ----------------------------------------------------------------------------------


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    message: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    dedupe_key: str = "",
    actor: User | None = None,
) -> list[Notification]:
    """Notify each of ``recipients`` of one event. Returns the notifications created.

    - ``kind``: a kind registered with ``notification_kind_register`` (ValueError otherwise).
    - ``message``: an English gettext msgid, marked with ``gettext_noop`` by the caller, with
      ``%(name)s`` placeholders; ``params``: their values (JSON: strings and numbers). The row
      stores both and every output renders them in the recipient's language (User.language,
      else LANGUAGE_CODE), so one row serves every language.
    - Personal data: ``params`` are shown in the bell, e-mail and chat groups (robots). Callers
      must never put unmasked personal data (phones, e-mail addresses, ID numbers) in them:
      name the customer or the task, mask anything else (core.china.phones masks).
    - ``url``: a site-relative link to the target ("/customers/12/"), or "".
    - ``dedupe_key``: the same (recipient, dedupe_key) never notifies twice (a database unique
      constraint), so scheduled callers can run again safely; "" means no deduplication.
    - Inactive recipients are skipped. Delivery jobs for the recipient's e-mail and robot
      channels are enqueued when the surrounding transaction commits.
    """
    notification_kind_get(kind)  # a typo in a kind fails loudly in the caller's tests
    params = dict(params or {})
    _params_check(message, params)
    if url and not (url.startswith("/") and not url.startswith("//")):
        raise ValueError("notify: url must be site-relative (start with one '/')")
    created: list[Notification] = []
    seen: set[int] = set()
    for recipient in recipients:
        if recipient is None or recipient.pk in seen or not recipient.is_active:
            continue
        seen.add(recipient.pk)
        channels = preference_channels(recipient, kind)
        with transaction.atomic():
            if (
                dedupe_key
                and Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).exists()
            ):
                continue
            try:
                # The savepoint keeps a concurrent duplicate from breaking the caller's
                # transaction: the constraint decides, the loser skips.
                with transaction.atomic():
                    notification = Notification.objects.create(
                        recipient=recipient,
                        kind=kind,
                        message=message,
                        params=params,
                        url=url,
                        dedupe_key=dedupe_key,
                        actor=actor if getattr(actor, "is_authenticated", False) else None,
                        in_app=channels["in_app"],
                    )
            except IntegrityError:
                if dedupe_key:
                    continue
                raise
            deliveries = _deliveries_create(notification, recipient, kind, channels)
        created.append(notification)
        if deliveries:
            ids = [delivery.pk for delivery in deliveries]
            transaction.on_commit(lambda ids=ids: _deliveries_enqueue(ids))
    return created


def _params_check(message: str, params: dict[str, Any]) -> None:
    if not message or len(message) > MESSAGE_MAX:
        raise ValueError(f"notify: message must be 1..{MESSAGE_MAX} characters")
    for name, value in params.items():
        if not isinstance(name, str) or not isinstance(value, str | int | float | bool | None):
            raise ValueError(f"notify: parameter {name!r} must be a string or a number")
    if len(str(params)) > PARAMS_MAX:
        raise ValueError("notify: parameters too long")
    try:
        message % params if params else None
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"notify: message and params do not match: {error}") from None


def preference_channels(user: User, kind: str) -> dict[str, bool]:
    """The channels ``user`` gets ``kind`` on: their preference, else the kind's defaults."""
    preference = NotificationPreference.objects.filter(user=user, kind=kind).first()
    if preference is not None:
        return {"in_app": preference.in_app, "email": preference.email, "robot": preference.robot}
    registered = notification_kind_get(kind)
    return {"in_app": registered.in_app, "email": registered.email, "robot": registered.robot}


def _department_ancestor_ids(department: Department | None) -> list[int]:
    if department is None:
        return []
    return [int(part) for part in department.path.split("/") if part.isdigit()] or [department.pk]


def _deliveries_create(
    notification: Notification, recipient: User, kind: str, channels: dict[str, bool]
) -> list[Delivery]:
    rows: list[Delivery] = []
    if channels["email"] and recipient.email:
        rows.append(Delivery(notification=notification, channel=Channel.EMAIL))
    robot_ids: list[int] = []
    if channels["robot"]:
        robot_ids += RobotEndpoint.objects.filter(user=recipient, is_active=True).values_list(
            "pk", flat=True
        )
    # Team robots follow the department's own choice of kinds, whatever the member's preference:
    # the manager set them up to see the team's events.
    ancestors = _department_ancestor_ids(recipient.department) if recipient.department_id else []
    if ancestors:
        for robot_id, kinds in RobotEndpoint.objects.filter(
            department_id__in=ancestors, is_active=True
        ).values_list("pk", "kinds"):
            if not kinds or kind in kinds:
                robot_ids.append(robot_id)
    for robot_id in dict.fromkeys(robot_ids):
        rows.append(Delivery(notification=notification, channel=Channel.ROBOT, robot_id=robot_id))
    for row in rows:
        row.save(force_insert=True)
    return rows


def _deliveries_enqueue(ids: list[int]) -> None:
    from guanxi.notifications.tasks import delivery_send_task

    for delivery_id in ids:
        try:
            delivery_send_task.enqueue(delivery_id)
        except Exception:  # noqa: BLE001 - the queue being down must not fail the caller; the
            # periodic deliveries-retry job picks the delivery up from the table
            logger.exception("could not enqueue delivery %s", delivery_id)


# --- Read marks ------------------------------------------------------------------------------


def notification_mark_read(
    *, actor: User, notification: Notification, now: dt.datetime | None = None
) -> Notification:
    """Mark one of the actor's notifications read (a no-op when it is already)."""
    if notification.recipient_id != actor.pk:
        raise PermissionDeniedError()
    if notification.read_at is None:
        now = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notifications_mark_all_read(*, actor: User, now: dt.datetime | None = None) -> int:
    """Mark every unread notification of the actor read. Returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


# --- Preferences -----------------------------------------------------------------------------


def notification_preference_set(
    *, actor: User, user: User, kind: str, in_app: bool, email: bool, robot: bool
) -> NotificationPreference:
    """Set ``user``'s channels for ``kind``. Only the user themself changes their preferences."""
    if actor.pk != user.pk:
        raise PermissionDeniedError()
    try:
        notification_kind_get(kind)
    except ValueError:
        raise ValidationError({"kind": _("Unknown notification kind.")}, code="invalid") from None
    with transaction.atomic():
        preference, _created = NotificationPreference.objects.select_for_update().get_or_create(
            user=user, kind=kind, defaults={"in_app": in_app, "email": email, "robot": robot}
        )
        preference.in_app, preference.email, preference.robot = in_app, email, robot
        preference.updated_at = timezone.now()
        preference.full_clean()
        preference.save()
    return preference


# --- Robots ----------------------------------------------------------------------------------


def _robot_kinds_clean(kinds: Iterable[str] | None) -> list[str]:
    cleaned: list[str] = []
    for kind in kinds or ():
        try:
            notification_kind_get(kind)
        except ValueError:
            raise ValidationError(
                {"kinds": _("Unknown notification kind: %(kind)s") % {"kind": kind[:64]}},
                code="invalid",
            ) from None
        if kind not in cleaned:
            cleaned.append(kind)
    return cleaned


def _robot_secret_clean(provider: str, secret: str) -> str:
    secret = (secret or "").strip()
    if len(secret) > 200 or any(ch.isspace() for ch in secret):
        raise ValidationError({"secret": _("Enter the secret exactly as shown.")}, code="invalid")
    if secret and provider == robots.WECOM:
        raise ValidationError(
            {"secret": _("WeCom group robots are not signed; leave the secret empty.")},
            code="invalid",
        )
    return secret


def _robot_owner_check(actor: User, user: User | None, department: Department | None) -> None:
    if (user is None) == (department is None):
        raise ValidationError(_("A robot belongs to one user or one department."), code="owner")
    if user is not None and user.pk != actor.pk:
        raise PermissionDeniedError()
    if department is not None and not robot_department_can_manage(actor, department):
        raise PermissionDeniedError()


def robot_create(
    *,
    actor: User,
    name: str,
    provider: str,
    url: str,
    secret: str = "",
    user: User | None = None,
    department: Department | None = None,
    kinds: Iterable[str] | None = None,
    is_active: bool = True,
) -> RobotEndpoint:
    """A robot owned by ``user`` (the actor themself) or ``department`` (its manager or an
    administrator). The URL and the secret are encrypted before they reach the database."""
    _robot_owner_check(actor, user, department)
    errors: dict[str, list[Any]] = {}
    try:
        url = robots.robot_url_validate(provider, url)
    except ValidationError as error:
        errors["url"] = error.messages
    try:
        secret = _robot_secret_clean(provider, secret)
    except ValidationError as error:
        errors.update(error.message_dict)
    cleaned_kinds: list[str] = []
    if department is not None:  # a personal robot follows its owner's preferences
        try:
            cleaned_kinds = _robot_kinds_clean(kinds)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    robot = RobotEndpoint(
        name=(name or "").strip(),
        provider=provider,
        user=user,
        department=department,
        url_encrypted=crypto.encrypt(url),
        url_masked=robots.robot_url_mask(url),
        secret_encrypted=crypto.encrypt(secret),
        secret_masked=robots.secret_mask(secret),
        kinds=cleaned_kinds,
        is_active=is_active,
        created_by=actor,
    )
    robot.full_clean()
    with transaction.atomic():
        robot.save(force_insert=True)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=robot,
            changes={
                name: {"before": None, "after": value}
                for name, value in _robot_audit_values(robot).items()
            },
        )
    return robot


def _robot_audit_values(robot: RobotEndpoint) -> dict[str, Any]:
    return {name: getattr(robot, name) for name in RobotEndpoint.audit_fields}


def robot_update(
    *,
    actor: User,
    robot: RobotEndpoint,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> RobotEndpoint:
    """Change a robot. ``data`` may hold name, url, secret, kinds, is_active; an empty or
    missing url / secret keeps the stored one (the page never shows them to edit), and
    ``clear_secret=True`` removes the secret."""
    if not robot_can_write(actor, robot):
        raise PermissionDeniedError()
    changes: dict[str, Any] = {}
    errors: dict[str, list[Any]] = {}
    if "name" in data:
        changes["name"] = (data["name"] or "").strip()
    if "is_active" in data:
        changes["is_active"] = bool(data["is_active"])
    if "kinds" in data and robot.department_id is not None:
        try:
            changes["kinds"] = _robot_kinds_clean(data["kinds"])
        except ValidationError as error:
            errors.update(error.message_dict)
    if data.get("url"):
        try:
            url = robots.robot_url_validate(robot.provider, data["url"])
            changes["url_encrypted"] = crypto.encrypt(url)
            changes["url_masked"] = robots.robot_url_mask(url)
        except ValidationError as error:
            errors["url"] = error.messages
    if data.get("secret"):
        try:
            secret = _robot_secret_clean(robot.provider, data["secret"])
            changes["secret_encrypted"] = crypto.encrypt(secret)
            changes["secret_masked"] = robots.secret_mask(secret)
        except ValidationError as error:
            errors.update(error.message_dict)
    elif data.get("clear_secret"):
        changes["secret_encrypted"] = ""
        changes["secret_masked"] = ""
    if errors:
        raise ValidationError(errors)
    if not changes:
        return robot
    return model_update(
        instance=robot, data=changes, actor=actor, expected_version=expected_version
    )


def robot_delete(*, actor: User, robot: RobotEndpoint) -> None:
    """Delete a robot and its pending deliveries (a webhook is a credential: nothing to keep)."""
    if not robot_can_write(actor, robot):
        raise PermissionDeniedError()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditEntry.Action.PURGE,
            obj=robot,
            changes={
                name: {"before": value, "after": None}
                for name, value in _robot_audit_values(robot).items()
            },
        )
        RobotEndpoint.objects.filter(pk=robot.pk).delete()


def robot_test_send(*, actor: User, robot: RobotEndpoint, now: float | None = None) -> None:
    """Send a test message to ``robot`` now, in the actor's language. Raises ApplicationError
    (code ``robot_failed`` or ``robot_rate_limited``) with the provider's answer."""
    if not robot_can_write(actor, robot):
        raise PermissionDeniedError()
    now = now if now is not None else timezone.now().timestamp()
    retry_at = robot_rate_take(robot=robot, now=now)
    if retry_at is not None:
        raise ApplicationError(
            _("This robot has reached its limit of messages per minute. Try again shortly."),
            code="robot_rate_limited",
        )
    with override(user_language(actor)):
        message = robots.RobotMessage(
            title=gettext("Guanxi test message"),
            text=gettext("%(name)s connected this robot to Guanxi.") % {"name": str(actor)},
            language=user_language(actor),
        )
    try:
        _robot_send(robot=robot, message=message, now=now)
    except robots.RobotSendError as error:
        raise ApplicationError(
            _("The robot did not accept the message: %(error)s") % {"error": str(error)},
            code="robot_failed",
        ) from None


# --- Robot rate limit ------------------------------------------------------------------------

RATE_WINDOW_SECONDS = 60


def robot_rate_windows(robot: RobotEndpoint) -> list[tuple[int, int]]:
    """(window seconds, messages allowed) for ``robot``: the provider's published limits,
    the per-minute one overridable with GUANXI_ROBOT_RATE_PER_MINUTE."""
    overrides = getattr(settings, "GUANXI_ROBOT_RATE_PER_MINUTE", {}) or {}
    windows = [
        (
            RATE_WINDOW_SECONDS,
            int(overrides.get(robot.provider, robots.PROVIDER_RATE_PER_MINUTE[robot.provider])),
        )
    ]
    if robot.provider in robots.PROVIDER_RATE_PER_SECOND:
        windows.append((1, robots.PROVIDER_RATE_PER_SECOND[robot.provider]))
    return windows


def robot_rate_take(*, robot: RobotEndpoint, now: float) -> float | None:
    """Take one message from the robot's allowance. Returns None when it may send, else the
    epoch second when the full window reopens.

    One upsert per window on core's RateWindow table, shared by every worker process and
    machine (the pattern of the API's rate limit, core.api_auth): a window older than its
    duration restarts at 1. Refused messages still count, which only matters within the
    window that refused them.
    """
    for duration, limit in robot_rate_windows(robot):
        count, opened = window_count(
            f"notifications:robot:{robot.pk}:{duration}", now=now, duration=duration
        )
        if count > limit:
            return opened + duration
    return None


# --- Delivery --------------------------------------------------------------------------------


def delivery_backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: base, 2×base, 4×base … capped at an hour."""
    base = settings.GUANXI_NOTIFY_RETRY_BASE_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


LEASE = dt.timedelta(minutes=5)


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Attempt one delivery. Returns its status afterwards.

    Idempotent and safe to run twice at once: the attempt is claimed by one conditional
    UPDATE (status open and due), which also leases it for LEASE so a crashed worker's
    delivery comes back. Failures retry with exponential backoff up to
    GUANXI_NOTIFY_MAX_ATTEMPTS; a robot over its per-minute limit is deferred to the next
    window without using an attempt.
    """
    now = now or timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        next_attempt_at__lte=now,
    ).update(status=Delivery.Status.SENDING, next_attempt_at=now + LEASE)
    delivery = (
        Delivery.objects.select_related("notification__recipient", "robot")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "missing"
    if not claimed:
        return delivery.status
    notification = delivery.notification
    recipient = notification.recipient
    try:
        if not recipient.is_active:
            raise robots.RobotSendError("the recipient is deactivated", retry=False)
        if delivery.channel == Channel.EMAIL:
            _email_send(notification)
        elif delivery.channel == Channel.ROBOT:
            robot = delivery.robot
            if robot is None or not robot.is_active:
                raise robots.RobotSendError("the robot is switched off", retry=False)
            retry_at = robot_rate_take(robot=robot, now=now.timestamp())
            if retry_at is not None:
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Delivery.Status.PENDING,
                    next_attempt_at=dt.datetime.fromtimestamp(retry_at, tz=dt.UTC),
                    last_error="rate limited: deferred to the next minute",
                )
                return Delivery.Status.PENDING
            _robot_send(
                robot=robot, message=_robot_message(notification, robot), now=now.timestamp()
            )
        else:
            raise robots.RobotSendError(f"unknown channel {delivery.channel}", retry=False)
    except (robots.RobotSendError, OSError, crypto.DecryptionError, ValidationError) as error:
        return _delivery_failed(delivery, error, now)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT,
        attempts=F("attempts") + 1,
        sent_at=now,
        last_error="",
    )
    return Delivery.Status.SENT


def _delivery_failed(delivery: Delivery, error: Exception, now: dt.datetime) -> str:
    attempts = delivery.attempts + 1
    message = _error_text(error)
    retry = getattr(error, "retry", True) and not isinstance(
        error, crypto.DecryptionError | ValidationError
    )
    if retry and attempts < settings.GUANXI_NOTIFY_MAX_ATTEMPTS:
        wait = delivery_backoff(attempts)
        if getattr(error, "rate_limited", False):
            wait = max(wait, dt.timedelta(seconds=RATE_WINDOW_SECONDS))
        status, next_at = Delivery.Status.PENDING, now + wait
    else:
        status, next_at = Delivery.Status.FAILED, now
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, attempts=attempts, next_attempt_at=next_at, last_error=message[:500]
    )
    logger.warning("delivery %s attempt %s failed: %s", delivery.pk, attempts, message)
    return status


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "the webhook address is no longer allowed"
    if isinstance(error, crypto.DecryptionError):
        return "the stored webhook does not decrypt with the configured keys"
    return str(error) or error.__class__.__name__


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url else ""


def _email_send(notification: Notification) -> None:
    recipient = notification.recipient
    if not recipient.email:
        raise robots.RobotSendError("the recipient has no e-mail address", retry=False)
    language = user_language(recipient)
    with override(language):
        text = notification.text(language)
        subject = gettext("[Guanxi] %(kind)s: %(text)s") % {
            "kind": notification_kind_label(notification.kind),
            "text": text,
        }
        lines = [text, ""]
        if notification.url:
            lines += [gettext("Open: %(url)s") % {"url": _absolute(notification.url)}, ""]
        lines.append(
            gettext("Choose which notifications you get by e-mail: %(url)s")
            % {"url": _absolute("/notifications/preferences/")}
        )
        body = "\n".join(lines)
    subject = " ".join(subject.split())[:150]  # no newlines in a header
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    ).send(fail_silently=False)


def _robot_message(notification: Notification, robot: RobotEndpoint) -> robots.RobotMessage:
    recipient = notification.recipient
    language = user_language(recipient)
    with override(language):
        text = notification.text(language)
        if robot.department_id is not None:
            # A team group sees whom the notification is for.
            text = gettext("For %(name)s: %(text)s") % {"name": str(recipient), "text": text}
        return robots.RobotMessage(
            title=notification_kind_label(notification.kind),
            text=text,
            url=_absolute(notification.url),
            link_label=gettext("Open in Guanxi"),
            language=language,
        )


def _robot_send(*, robot: RobotEndpoint, message: robots.RobotMessage, now: float) -> None:
    url = robots.robot_url_validate(robot.provider, crypto.decrypt(robot.url_encrypted))
    request = robots.robot_request_build(
        provider=robot.provider,
        url=url,
        secret=crypto.decrypt(robot.secret_encrypted),
        message=message,
        now=now,
    )
    robots.robot_post(provider=robot.provider, request=request)


def deliveries_due_enqueue(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Enqueue a send job for every open delivery that is due (retries, deferred robot
    messages, leases of crashed workers, and enqueues lost while the queue was down).
    Returns how many were enqueued; the claim in delivery_send makes double enqueues harmless."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.SENDING),
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    _deliveries_enqueue(ids)
    return len(ids)


def robots_reencrypt() -> int:
    """Encrypt every robot's URL and secret again with the current key (after a rotation).
    All or nothing: a row that no configured key decrypts stops the run and changes nothing."""
    count = 0
    with transaction.atomic():
        for robot in RobotEndpoint.objects.select_for_update().order_by("pk"):
            RobotEndpoint.objects.filter(pk=robot.pk).update(
                url_encrypted=crypto.reencrypt(robot.url_encrypted),
                secret_encrypted=crypto.reencrypt(robot.secret_encrypted),
            )
            count += 1
    return count
