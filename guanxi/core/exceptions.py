"""The one error contract (DESIGN.md, house style 3).

Services raise Django's ValidationError for field errors, or an ApplicationError with a stable
machine-readable code and a translated message. HTML views render them inline; the API turns
them into ``{"message", "code", "fields"}`` with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status_code = 400
    default_code = "invalid"
    default_message = _("The request could not be carried out.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": str(self.message),
            "code": self.code,
            "fields": {name: [str(m) for m in msgs] for name, msgs in self.fields.items()},
        }
        body.update(self.extra)
        return body


class NotFoundError(ApplicationError):
    status_code = 404
    default_code = "not_found"
    default_message = _("Not found.")


class PermissionDeniedError(ApplicationError):
    status_code = 403
    default_code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class ConflictError(ApplicationError):
    """Someone else saved the record since it was read (optimistic locking)."""

    status_code = 409
    default_code = "conflict"
    default_message = _("This record was changed by someone else after you opened it.")


class AuthenticationFailedError(ApplicationError):
    status_code = 401
    default_code = "not_authenticated"
    default_message = _("Authentication is required.")


def validation_error_fields(error: Any) -> dict[str, list[str]]:
    """Flatten a Django ValidationError into ``{field: [messages]}`` ("__all__" for non-field)."""
    if hasattr(error, "error_dict"):
        return {
            name: [str(message) for err in errors for message in err.messages]
            for name, errors in error.error_dict.items()
        }
    return {"__all__": [str(message) for message in error.messages]}


def validation_error_renamed(error: ValidationError, names: Mapping[str, str]) -> ValidationError:
    """``error`` with its field names as the API spells them (a service names ``owner``, the API
    ``owner_id``); errors of fields mapped to the same name are merged. A non-field error passes
    through unchanged."""
    if not hasattr(error, "error_dict"):
        return error
    fields: dict[str, list[Any]] = {}
    for name, errors in error.error_dict.items():
        fields.setdefault(names.get(name, name), []).extend(errors)
    return ValidationError(fields)
