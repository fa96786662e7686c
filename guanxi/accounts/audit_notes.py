"""The notes accounts services write on audit entries.

The stored note is a stable key, optionally followed by URL-encoded values
("user_deactivated?sessions=2&tokens=1"), so it stays machine-readable and can be shown in the
reader's language. AccountsConfig.ready() registers these labels with guanxi.core.audit.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
USER_DEACTIVATED = "user_deactivated"
TOKEN_REVOKED = "token_revoked"
TOKEN_REVOKED_SECOND_FACTOR_REQUIRED = "token_revoked_second_factor_required"
SECOND_FACTOR_ADDED = "second_factor_added"
SECOND_FACTOR_REMOVED = "second_factor_removed"
SECOND_FACTOR_RESET = "second_factor_reset"
LOGIN_INVALID_CREDENTIALS = "login_invalid_credentials"
LOGIN_LOCKED_OUT = "login_locked_out"
LOGIN_SECOND_FACTOR_INVALID = "login_second_factor_invalid"

AUDIT_NOTE_LABELS = {
    PASSWORD_CHANGED: _("Password changed"),
    PASSWORD_RESET: _("Password reset by an administrator"),
    USER_DEACTIVATED: _(
        "Deactivated; sessions ended: %(sessions)s; API tokens revoked: %(tokens)s"
    ),
    TOKEN_REVOKED: _("Revoked"),
    TOKEN_REVOKED_SECOND_FACTOR_REQUIRED: _(
        "Revoked: the role now requires two-factor sign-in and the user has no device"
    ),
    SECOND_FACTOR_ADDED: _("Two-factor device added"),
    SECOND_FACTOR_REMOVED: _("Two-factor device removed"),
    SECOND_FACTOR_RESET: _("Two-factor sign-in reset by an administrator"),
    LOGIN_INVALID_CREDENTIALS: _("Wrong username or password"),
    LOGIN_LOCKED_OUT: _("Refused: locked out after too many failed attempts"),
    LOGIN_SECOND_FACTOR_INVALID: _("Wrong two-factor code"),
}


def note(key: str, **values: object) -> str:
    """The stored form of a note: its key, and its values if any."""
    return f"{key}?{urlencode(values)}" if values else key
