"""Writes for users, departments, roles, API tokens and sessions."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken, Department, LoginSession, RoleSetting, User
from guanxi.accounts.roles import DEFAULT_DATA_SCOPE, Role
from guanxi.core.audit import audit_record, diff, snapshot
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete


# --- Departments ------------------------------------------------------------------------------
def _department_path(parent: Department | None, pk: int) -> tuple[str, int]:
    if parent is None:
        return f"{pk}/", 0
    return f"{parent.path}{pk}/", parent.depth + 1


def _department_check_parent_alive(parent: Department | None) -> None:
    if parent is not None and parent.deleted_at is not None:
        raise ValidationError({"parent": [_("The parent department is in the recycle bin.")]})


def department_create(
    *, actor: Any, name: str, code: str, parent: Department | None = None
) -> Department:
    _department_check_parent_alive(parent)
    with transaction.atomic():
        department = model_create(
            instance=Department(name=name, code=code, parent=parent), actor=actor
        )
        department.path, department.depth = _department_path(parent, department.pk)
        Department.all_objects.filter(pk=department.pk).update(
            path=department.path, depth=department.depth
        )
    return department


def department_update(
    *, actor: Any, department: Department, data: dict[str, Any], expected_version: int | None = None
) -> Department:
    if not data:
        return department  # nothing to save, so nothing can conflict either
    if expected_version is None:
        expected_version = department.version
    with transaction.atomic():
        # Decide on the rows as they are now, locked: the caller's copies may be stale, and a
        # stale path would re-root the wrong subtree.
        current = Department.all_objects.select_for_update().get(pk=department.pk)
        if "parent" in data and data["parent"] is not None:
            parent = Department.all_objects.get(pk=data["parent"].pk)
            if parent.pk == current.pk or parent.path.startswith(current.path):
                message = _("A department cannot be placed under itself or its own sub-department.")
                raise ValidationError({"parent": [message]})
            _department_check_parent_alive(parent)
            data = {**data, "parent": parent}
        old_path = current.path
        updated = model_update(
            instance=current, data=data, actor=actor, expected_version=expected_version
        )
        new_path, new_depth = _department_path(updated.parent, updated.pk)
        if new_path != old_path:
            # Re-root the whole subtree; paths are short and trees are small.
            for node in Department.all_objects.filter(
                path__startswith=old_path
            ).select_for_update():
                node.path = new_path + node.path[len(old_path) :]
                node.depth = node.path.count("/") - 1
                Department.all_objects.filter(pk=node.pk).update(path=node.path, depth=node.depth)
            updated.path, updated.depth = new_path, new_depth
    return updated


def department_delete(*, actor: Any, department: Department) -> Department:
    if department.members.filter(is_active=True).exists():
        raise ApplicationError(
            _("Move the active members of this department elsewhere before deleting it."),
            code="department_has_members",
        )
    if Department.objects.filter(parent=department).exists():
        raise ApplicationError(
            _("Delete or move the sub-departments first."), code="department_has_children"
        )
    return object_soft_delete(instance=department, actor=actor)


# --- Users ------------------------------------------------------------------------------------
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    full_name: str = "",
    email: str = "",
    role: str = Role.SALES_REP,
    department: Department | None = None,
    manager: User | None = None,
    phone: str = "",
    language: str = "",
) -> User:
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        role=role,
        department=department,
        manager=manager,
        phone=phone,
        language=language,
        is_staff=False,
    )
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        _user_check_references(department=department, manager=manager)
    except ValidationError as error:
        errors.update(error.message_dict)
    if "username" not in errors and User.objects.filter(username__iexact=username).exists():
        # Sign-in matches the username exactly, so "Li.Wei" and "li.wei" would be two accounts
        # that people cannot tell apart.
        errors["username"] = [_("A user with that username already exists.")]
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=user,
            changes={k: {"before": None, "after": v} for k, v in snapshot(user).items()},
        )
    return user


USER_EDITABLE_FIELDS = ("full_name", "email", "role", "department", "manager", "phone", "language")


def user_update(
    *, actor: Any, user: User, data: dict[str, Any], expected_version: int | None = None
) -> User:
    if not data:
        return user  # nothing to save, so nothing can conflict either
    unknown = set(data) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            _("These fields cannot be changed here: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))}
        )
    if user.pk == getattr(actor, "pk", None) and data.get("role", user.role) != user.role:
        raise ValidationError({"role": [_("You cannot change your own role.")]})
    _user_check_references(department=data.get("department"), manager=data.get("manager"))
    if data.get("manager") is not None:
        _check_manager_chain(user=user, manager=data["manager"])
    return model_update(instance=user, data=data, actor=actor, expected_version=expected_version)


def _user_check_references(*, department: Department | None, manager: User | None) -> None:
    errors: dict[str, list[str]] = {}
    if department is not None and department.deleted_at is not None:
        errors["department"] = [_("This department is in the recycle bin.")]
    if manager is not None and not manager.is_active:
        errors["manager"] = [_("Select an active user.")]
    if errors:
        raise ValidationError(errors)


def _check_manager_chain(*, user: User, manager: User) -> None:
    """Refuse a manager that is the user or reports to the user, directly or further down."""
    seen: set[int] = set()
    current: User | None = manager
    while current is not None and current.pk not in seen:
        if current.pk == user.pk:
            raise ValidationError(
                {
                    "manager": [
                        _("A user cannot be their own manager, directly or through their reports.")
                    ]
                }
            )
        seen.add(current.pk)
        current = User.objects.filter(pk=current.manager_id).first() if current.manager_id else None


def user_set_password(
    *, actor: Any, user: User, password: str, keep_session_key: str | None = None
) -> User:
    """Set a new password. Every browser session of ``user`` ends except ``keep_session_key``
    (the session of someone changing their own password)."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": list(error.messages)}) from error
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        user_sessions_end(user=user, keep_session_key=keep_session_key)
        audit_record(
            actor=actor, action=AuditEntry.Action.ACTION, obj=user, note="password changed"
        )
    return user


def user_password_change(
    *, user: User, current_password: str, new_password: str, session_key: str | None
) -> User:
    """A user changing their own password: the current one must be known."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [_("The current password is wrong.")]})
    return user_set_password(
        actor=user, user=user, password=new_password, keep_session_key=session_key
    )


def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End ``user``'s browser sessions, all of them or all but ``keep_session_key``."""
    sessions = LoginSession.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    keys = list(sessions.values_list("session_key", flat=True))
    with transaction.atomic():
        Session.objects.filter(session_key__in=keys).delete()
        sessions.filter(session_key__in=keys).delete()
    return len(keys)


def user_deactivate(*, actor: Any, user: User) -> User:
    """Deactivate ``user``: every browser session and API token stops working at once."""
    if user.pk == getattr(actor, "pk", None):
        raise ApplicationError(_("You cannot deactivate yourself."), code="cannot_deactivate_self")
    if not user.is_active:
        raise ApplicationError(_("This user is already deactivated."), code="already_inactive")
    with transaction.atomic():
        before = snapshot(user)
        now = timezone.now()
        user.is_active = False
        user.deactivated_at = now
        user.save(update_fields=["is_active", "deactivated_at"])
        ended = user_sessions_end(user=user)
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=user,
            changes=diff(before, snapshot(user)),
            note=f"deactivated; sessions ended: {ended}; tokens revoked: {revoked}",
        )
    return user


def user_reactivate(*, actor: Any, user: User) -> User:
    if user.is_active:
        raise ApplicationError(_("This user is already active."), code="already_active")
    with transaction.atomic():
        before = snapshot(user)
        user.is_active = True
        user.deactivated_at = None
        user.save(update_fields=["is_active", "deactivated_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=user,
            changes=diff(before, snapshot(user)),
        )
    return user


# --- Roles ------------------------------------------------------------------------------------
def role_setting_update(
    *, actor: Any, role: str, data_scope: str, require_otp: bool
) -> RoleSetting:
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    with transaction.atomic():
        setting, _created = RoleSetting.objects.select_for_update().get_or_create(
            role=role, defaults={"data_scope": DEFAULT_DATA_SCOPE[role]}
        )
        before = snapshot(setting)
        setting.data_scope = data_scope
        setting.require_otp = require_otp
        setting.updated_at = timezone.now()
        setting.full_clean()
        setting.save()
        changes = diff(before, snapshot(setting))
        if changes:
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=setting, changes=changes)
    return setting


# --- API tokens -------------------------------------------------------------------------------
def token_hash(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, actor: Any, user: User, name: str, expires_at: Any = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user``. Returns the row and the raw token, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(
            {"name": [_("Give the token a name, so you can recognise it later.")]}
        )
    if len(name) > 100:
        raise ValidationError({"name": [_("Ensure this value has at most 100 characters.")]})
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        if expires_at <= timezone.now():
            raise ValidationError({"expires_at": [_("The expiry must be in the future.")]})
    if not user.is_active:
        raise ApplicationError(_("This user is deactivated."), code="user_inactive")
    raw = settings.GUANXI_API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[:10], key_hash=token_hash(raw), expires_at=expires_at
        )
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, obj=token, object_label=str(token)
        )
    return token, raw


def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    if token.revoked_at is not None:
        raise ApplicationError(_("This token is already revoked."), code="already_revoked")
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=token, note="revoked")
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    if not raw or not raw.startswith(settings.GUANXI_API_TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw)).first()
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch last_used at most once a minute: a busy integration should not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Sessions ---------------------------------------------------------------------------------
def session_record(
    *, user: User, session_key: str, ip_address: str | None, user_agent: str
) -> LoginSession:
    session, _created = LoginSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip_address": ip_address, "user_agent": user_agent[:300]},
    )
    audit_record(actor=user, action=AuditEntry.Action.LOGIN, obj=user)
    return session


def session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose key was cycled (after a password change), so it stays listed."""
    if old_key and new_key and old_key != new_key:
        LoginSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_end(*, user: User, session_key: str) -> None:
    """Forget a session that is being signed out of, and note the sign-out."""
    with transaction.atomic():
        LoginSession.objects.filter(session_key=session_key).delete()
        audit_record(actor=user, action=AuditEntry.Action.LOGOUT, obj=user)


# --- Second factor (TOTP) ---------------------------------------------------------------------
def otp_device_start(*, user: User) -> Any:
    """An unconfirmed TOTP device for ``user`` to scan; reuses the pending one if any."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def otp_device_confirm(*, user: User, token: str) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise ApplicationError(
            _("Start the set-up again: no pending device."), code="otp_no_pending"
        )
    if not device.verify_token(token):
        raise ValidationError(
            {"otp_token": [_("The code is wrong or expired. Check the time on your phone.")]}
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(
            actor=user, action=AuditEntry.Action.ACTION, obj=user, note="two-factor device added"
        )
    return device


def otp_device_remove(*, actor: Any, user: User) -> int:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if RoleSetting.for_role(user.role).require_otp:
        raise ApplicationError(
            _("Your role requires two-factor sign-in, so it cannot be switched off."),
            code="otp_required_by_role",
        )
    with transaction.atomic():
        removed, _detail = TOTPDevice.objects.filter(user=user).delete()
        if removed:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.ACTION,
                obj=user,
                note="two-factor device removed",
            )
    return removed


def user_language_set(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Select a valid choice.")]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user
