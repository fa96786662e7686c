"""Writes for users, departments, roles, API tokens and sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token

from guanxi.accounts import audit_notes
from guanxi.accounts.audit_notes import note
from guanxi.accounts.models import ApiToken, Department, LoginSession, RoleSetting, User
from guanxi.accounts.roles import DEFAULT_DATA_SCOPE, DEFAULT_REVEAL_PERSONAL_DATA, Role
from guanxi.core.audit import audit_record, diff, snapshot
from guanxi.core.exceptions import (
    ApplicationError,
    AuthenticationFailedError,
    PermissionDeniedError,
)
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete


# --- Departments ------------------------------------------------------------------------------
def _department_path(parent: Department | None, pk: int) -> tuple[str, int]:
    if parent is None:
        return f"{pk}/", 0
    return f"{parent.path}{pk}/", parent.depth + 1


def _department_resolve(value: Department | int | None, field: str) -> Department | None:
    """A department given as a row or an id (the API names references by id)."""
    if value is None or isinstance(value, Department):
        return value
    department = Department.all_objects.filter(pk=value).first()
    if department is None:
        raise ValidationError({field: [_("Select an existing department.")]})
    return department


def _department_check_parent_alive(parent: Department | None) -> None:
    if parent is not None and parent.deleted_at is not None:
        raise ValidationError({"parent": [_("The parent department is in the recycle bin.")]})


def department_create(
    *, actor: Any, name: str, code: str, parent: Department | int | None = None
) -> Department:
    parent = _department_resolve(parent, "parent")
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
            parent = Department.all_objects.get(pk=_department_resolve(data["parent"], "parent").pk)
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
    department: Department | int | None = None,
    manager: User | int | None = None,
    phone: str = "",
    language: str = "",
) -> User:
    """Create a user. Without a password the account cannot sign in until an administrator sets
    one (user_password_reset); lists show such accounts as "no password set"."""
    errors: dict[str, list[str]] = {}
    try:
        department, manager = _user_check_references(department=department, manager=manager)
    except ValidationError as error:
        errors.update(error.message_dict)
        department = department if isinstance(department, Department) else None
        manager = manager if isinstance(manager, User) else None
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
    try:
        user.full_clean(exclude=["password", "department", "manager"])
    except ValidationError as error:
        errors.update({k: v for k, v in error.message_dict.items() if k not in errors})
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
    """Change ``data`` (field name -> value; department and manager as rows or ids)."""
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
    department, manager = _user_check_references(
        department=data.get("department"), manager=data.get("manager")
    )
    data = dict(data)
    if "department" in data:
        data["department"] = department
    if "manager" in data:
        data["manager"] = manager
    if manager is not None:
        _check_manager_chain(user=user, manager=manager)
    with transaction.atomic():
        updated = model_update(
            instance=user, data=data, actor=actor, expected_version=expected_version
        )
        if (
            "role" in data
            and data["role"] != user.role
            and RoleSetting.for_role(updated.role).require_otp
        ):
            # Moving someone into a role that requires a second factor must not leave them API
            # tokens that were issued without one (the same rule as switching the role's
            # requirement on).
            _tokens_revoke_without_second_factor(actor=actor, role=updated.role, user=updated)
    return updated


def _user_check_references(
    *, department: Department | int | None, manager: User | int | None
) -> tuple[Department | None, User | None]:
    """Resolve the department and manager (rows or ids) and check that they may be used."""
    errors: dict[str, list[str]] = {}
    try:
        department = _department_resolve(department, "department")
    except ValidationError as error:
        errors.update(error.message_dict)
        department = None
    if department is not None and department.deleted_at is not None:
        errors["department"] = [_("This department is in the recycle bin.")]
    if manager is not None and not isinstance(manager, User):
        manager = User.objects.filter(pk=manager).first()
        if manager is None:
            errors["manager"] = [_("Select an active user.")]
    if manager is not None and not manager.is_active:
        errors["manager"] = [_("Select an active user.")]
    if errors:
        raise ValidationError(errors)
    return department, manager


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


def _user_version_bump(user: User, **fields: Any) -> None:
    """Write ``fields`` and bump the version, so an edit form opened before this write is told
    about the conflict instead of silently overwriting it."""
    User.objects.filter(pk=user.pk).update(version=F("version") + 1, **fields)
    user.refresh_from_db(fields=["version"])


def _user_set_password(
    *, actor: Any, user: User, password: str, keep_session_key: str | None, audit_note: str
) -> User:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": list(error.messages)}) from error
    with transaction.atomic():
        user.set_password(password)
        _user_version_bump(user, password=user.password)
        user_sessions_end(user=user, keep_session_key=keep_session_key)
        audit_record(actor=actor, action=AuditEntry.Action.ACTION, obj=user, note=audit_note)
    return user


def user_password_change(
    *, user: User, current_password: str, new_password: str, session_key: str | None
) -> User:
    """A user changing their own password: the current one must be known. Every other browser
    session of theirs ends; this one (``session_key``) stays."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [_("The current password is wrong.")]})
    return _user_set_password(
        actor=user,
        user=user,
        password=new_password,
        keep_session_key=session_key,
        audit_note=audit_notes.PASSWORD_CHANGED,
    )


def _refuse_self(actor: Any, user: User) -> None:
    # Resetting one's own credentials here would skip the re-authentication the profile page
    # asks for (current password, current code).
    if user.pk == getattr(actor, "pk", None):
        raise ApplicationError(
            _("Change your own password and two-factor sign-in on your profile page."),
            code="cannot_reset_self",
        )


def user_password_reset(*, actor: Any, user: User, password: str) -> User:
    """An administrator sets a new password for ``user`` (forgotten, or never set). All of the
    user's browser sessions end.

    Their API tokens stay valid: they are separate credentials (hashed, listed and revocable one
    by one) that integrations depend on, and a forgotten password says nothing about them. When a
    compromise is suspected the administrator revokes tokens or deactivates the user, both of
    which end every token at once."""
    _refuse_self(actor, user)
    return _user_set_password(
        actor=actor,
        user=user,
        password=password,
        keep_session_key=None,
        audit_note=audit_notes.PASSWORD_RESET,
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
        _user_version_bump(user, is_active=False, deactivated_at=now)
        ended = user_sessions_end(user=user)
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=user,
            changes=diff(before, snapshot(user)),
            note=note(audit_notes.USER_DEACTIVATED, sessions=ended, tokens=revoked),
        )
    return user


def user_reactivate(*, actor: Any, user: User) -> User:
    if user.is_active:
        raise ApplicationError(_("This user is already active."), code="already_active")
    with transaction.atomic():
        before = snapshot(user)
        user.is_active = True
        user.deactivated_at = None
        _user_version_bump(user, is_active=True, deactivated_at=None)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=user,
            changes=diff(before, snapshot(user)),
        )
    return user


def user_otp_reset(*, actor: Any, user: User) -> int:
    """An administrator removes ``user``'s two-factor devices (a lost phone) and ends their
    sessions. If their role requires a second factor, they set up a new one at the next sign-in.
    Returns the number of devices removed."""
    _refuse_self(actor, user)
    devices = list(devices_for_user(user, confirmed=None))
    if not devices:
        raise ApplicationError(_("This user has no two-factor device."), code="otp_not_set_up")
    with transaction.atomic():
        for device in devices:
            device.delete()
        user_sessions_end(user=user)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=user,
            note=audit_notes.SECOND_FACTOR_RESET,
        )
    return len(devices)


# --- Roles ------------------------------------------------------------------------------------
@dataclass
class RoleSettingChange:
    setting: RoleSetting
    tokens_revoked: int = 0


def role_setting_update(
    *,
    actor: Any,
    role: str,
    data_scope: str,
    require_otp: bool,
    reveal_personal_data: bool | None = None,
) -> RoleSettingChange:
    """Save a role's data scope, second-factor requirement and personal-data reveal permission
    (None keeps the current one, so older API clients that do not send it change nothing).
    Switching the requirement on revokes the API tokens of the role's users who have no confirmed
    device: those tokens were obtained with a password alone, which the role no longer accepts."""
    if role not in Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    with transaction.atomic():
        setting, _created = RoleSetting.objects.select_for_update().get_or_create(
            role=role,
            defaults={
                "data_scope": DEFAULT_DATA_SCOPE[role],
                "reveal_personal_data": DEFAULT_REVEAL_PERSONAL_DATA[role],
            },
        )
        before = snapshot(setting)
        setting.data_scope = data_scope
        setting.require_otp = require_otp
        if reveal_personal_data is not None:
            setting.reveal_personal_data = reveal_personal_data
        setting.updated_at = timezone.now()
        setting.full_clean()
        setting.save()
        changes = diff(before, snapshot(setting))
        if changes:
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, obj=setting, changes=changes)
        revoked = 0
        if require_otp and not before["require_otp"]:
            revoked = _tokens_revoke_without_second_factor(actor=actor, role=role)
    return RoleSettingChange(setting=setting, tokens_revoked=revoked)


def _confirmed_device_exists(user_ref: Any) -> Any:
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return Exists(TOTPDevice.objects.filter(user=user_ref, confirmed=True)) | Exists(
        StaticDevice.objects.filter(user=user_ref, confirmed=True)
    )


def _tokens_revoke_without_second_factor(*, actor: Any, role: str, user: User | None = None) -> int:
    candidates = ApiToken.objects.select_for_update().filter(
        user__role=role, revoked_at__isnull=True
    )
    if user is not None:
        candidates = candidates.filter(user=user)
    tokens = list(candidates.exclude(_confirmed_device_exists(OuterRef("user"))))
    now = timezone.now()
    ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    for token in tokens:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=token,
            note=audit_notes.TOKEN_REVOKED_SECOND_FACTOR_REQUIRED,
        )
    return len(tokens)


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
    if user.pk == getattr(actor, "pk", None) and second_factor_setup_missing(user):
        # A user minting their own token: without the device their role demands, that would be
        # a long-lived credential obtained with a password alone. (An operator's `guanxi token`
        # has actor None: a deliberate act by someone with shell access, and audited.)
        raise PermissionDeniedError(_otp_setup_required_message(), code="otp_setup_required")
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
        audit_record(
            actor=actor, action=AuditEntry.Action.UPDATE, obj=token, note=audit_notes.TOKEN_REVOKED
        )
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


def sessions_cleanup() -> int:
    """Drop expired sessions and the login records that pointed at them. Idempotent."""
    with transaction.atomic():
        Session.objects.filter(expire_date__lt=timezone.now()).delete()
        live = Session.objects.values("session_key")
        removed, _detail = LoginSession.objects.exclude(session_key__in=live).delete()
    return removed


def session_end(*, user: User, session_key: str) -> None:
    """Forget a session that is being signed out of, and note the sign-out."""
    with transaction.atomic():
        LoginSession.objects.filter(session_key=session_key).delete()
        audit_record(actor=user, action=AuditEntry.Action.LOGOUT, obj=user)


# --- Signing in -------------------------------------------------------------------------------
class LockedOutError(ApplicationError):
    status_code = 429
    default_code = "locked_out"


def login_lockout_seconds() -> int:
    """How long a lockout lasts (django-axes counts the cool-off from the last failure)."""
    return max(1, round(settings.AXES_COOLOFF_TIME * 3600))


def login_lockout_message() -> str:
    return _("Too many failed sign-in attempts. Try again in %(minutes)s minutes.") % {
        "minutes": max(1, round(settings.AXES_COOLOFF_TIME * 60))
    }


def _login_failure_record(*, username: str, audit_note: str, user: User | None = None) -> None:
    if user is None:
        user = User.objects.filter(username=username).first()
    if user is not None:
        audit_record(actor=None, action=AuditEntry.Action.LOGIN_FAILED, obj=user, note=audit_note)
    else:
        audit_record(
            actor=None,
            action=AuditEntry.Action.LOGIN_FAILED,
            object_type=User._meta.label_lower,
            object_label=username[:150],
            note=audit_note,
        )


def login_authenticate(*, request: HttpRequest, username: str, password: str) -> User:
    """Check a username and password for the sign-in page and the token endpoint alike.

    django-axes counts the failures and locks out; every failure is also on the audit trail."""
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        _login_failure_record(username=username, audit_note=audit_notes.LOGIN_LOCKED_OUT)
        raise LockedOutError(login_lockout_message())
    if user is None:
        _login_failure_record(username=username, audit_note=audit_notes.LOGIN_INVALID_CREDENTIALS)
        raise AuthenticationFailedError(
            _("Wrong username or password, or the account is deactivated."),
            code="invalid_credentials",
        )
    return user


def _otp_setup_required_message() -> str:
    return _("Your role requires two-factor sign-in: set it up in the web interface first.")


def second_factor_device_exists(user: User) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def second_factor_setup_missing(user: User) -> bool:
    """The user's role requires a second factor and they have not set one up."""
    return user.role_setting.require_otp and not second_factor_device_exists(user)


def second_factor_check(*, user: User, code: str | None) -> Any:
    """The second-factor rules of every sign-in, after the password was accepted.

    Returns the device that matched ``code``, or None when the user has no device and their role
    does not require one. Raises AuthenticationFailedError with code ``otp_setup_required`` (the
    role requires a device and there is none), ``otp_required`` (a device exists and no code was
    given) or ``otp_invalid`` (the code is wrong, expired or already used). The sign-in page
    answers the first two by asking for a code or confining the session to the set-up page; the
    token endpoint refuses."""
    if not second_factor_device_exists(user):
        if user.role_setting.require_otp:
            raise AuthenticationFailedError(
                _otp_setup_required_message(), code="otp_setup_required"
            )
        return None
    if not code:
        raise AuthenticationFailedError(
            _("This account uses two-factor sign-in: send the current code as 'otp'."),
            code="otp_required",
            fields={"otp": [_("This field is required.")]},
        )
    device = match_token(user, code)
    if device is None:
        _login_failure_record(
            username=user.username,
            user=user,
            audit_note=audit_notes.LOGIN_SECOND_FACTOR_INVALID,
        )
        raise AuthenticationFailedError(
            _("The two-factor code is wrong or expired."), code="otp_invalid"
        )
    return device


# --- Second factor (TOTP) ---------------------------------------------------------------------
def _reauthenticated(user: User, secret: str | None) -> bool:
    """``secret`` is the user's current password or a current code of a confirmed device."""
    if not secret:
        return False
    if user.check_password(secret):
        return True
    return secret.isdigit() and match_token(user, secret) is not None


def _reauthentication_error() -> ValidationError:
    return ValidationError(
        {
            "current_password": [
                _("Enter your current password or a current code from your authenticator app.")
            ]
        }
    )


def otp_device_pending(*, user: User) -> Any:
    """The unconfirmed TOTP device ``user`` is setting up, if any."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def otp_device_start(*, user: User) -> Any:
    """An unconfirmed TOTP device for ``user`` to scan; reuses the pending one if any. Called on
    an explicit request only, so merely opening the set-up page writes nothing."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = otp_device_pending(user=user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def otp_device_confirm(*, user: User, token: str, current_password: str | None = None) -> Any:
    """Confirm the pending device with a code from it. When it replaces a confirmed device, the
    user proves again who they are (current password or a code from the current device)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = otp_device_pending(user=user)
    if device is None:
        raise ApplicationError(
            _("Start the set-up again: no pending device."), code="otp_no_pending"
        )
    if second_factor_device_exists(user) and not _reauthenticated(user, current_password):
        raise _reauthentication_error()
    if not device.verify_token(token):
        raise ValidationError(
            {"otp_token": [_("The code is wrong or expired. Check the time on your phone.")]}
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(
            actor=user,
            action=AuditEntry.Action.ACTION,
            obj=user,
            note=audit_notes.SECOND_FACTOR_ADDED,
        )
    return device


def otp_device_remove(*, user: User, current_password: str | None) -> int:
    """A user switching their own second factor off, after proving again who they are."""
    if user.role_setting.require_otp:
        raise ApplicationError(
            _("Your role requires two-factor sign-in, so it cannot be switched off."),
            code="otp_required_by_role",
        )
    devices = list(devices_for_user(user, confirmed=None))
    if not devices:
        return 0
    if not _reauthenticated(user, current_password):
        raise _reauthentication_error()
    with transaction.atomic():
        for device in devices:
            device.delete()
        audit_record(
            actor=user,
            action=AuditEntry.Action.ACTION,
            obj=user,
            note=audit_notes.SECOND_FACTOR_REMOVED,
        )
    return len(devices)


def user_language_set(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Select a valid choice.")]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    return user
