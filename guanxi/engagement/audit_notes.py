"""The notes engagement services write on audit entries (stable keys; see accounts.audit_notes).
EngagementConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_NOTE_LABELS = {
    "followups_generated": _(
        "Follow-up tasks made: %(policy)s by policies, %(plan)s by plans, %(care)s greetings; "
        "%(cancelled)s cancelled"
    ),
    "calendar_feed_rotated": _("Made a new calendar feed link (the old one stops working)"),
    "calendar_feed_revoked": _("Switched the calendar feed off"),
}
