"""The registry of notification kinds.

Each app registers the kinds it sends in its ``AppConfig.ready()``::

    notification_kind_register("followup_escalated", _("Follow-up escalated"), email=True)

A kind's label is shown on the preferences page and as the subject of e-mail and robot
messages; ``email`` / ``robot`` are the defaults for users who have not set a preference (the
in-app bell is on by default for every kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NotificationKind:
    kind: str
    label: Any  # a lazy translation
    in_app: bool = True
    email: bool = False
    robot: bool = False


_KINDS: dict[str, NotificationKind] = {}


def notification_kind_register(
    kind: str, label: Any, *, in_app: bool = True, email: bool = False, robot: bool = False
) -> NotificationKind:
    """Register ``kind`` with its translatable ``label`` (gettext_lazy) and default channels.

    Registering the same kind again replaces it (ready() may run twice in tests)."""
    if not kind or len(kind) > 64 or not kind.replace("_", "").isalnum():
        raise ValueError(f"notification kind {kind!r}: letters, digits and _ up to 64 characters")
    registered = NotificationKind(kind=kind, label=label, in_app=in_app, email=email, robot=robot)
    _KINDS[kind] = registered
    return registered


def notification_kind_get(kind: str) -> NotificationKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ValueError(
            f"notification kind {kind!r} is not registered: call notification_kind_register "
            "in the sending app's AppConfig.ready()"
        ) from None


def notification_kind_label(kind: str) -> str:
    """The kind's label, or the raw kind for rows of a kind no longer registered."""
    registered = _KINDS.get(kind)
    return str(registered.label) if registered else kind


def notification_kinds() -> list[NotificationKind]:
    return sorted(_KINDS.values(), key=lambda item: item.kind)
