"""The notes feedback services write on audit entries (stable keys; see accounts.audit_notes).
FeedbackConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_NOTE_LABELS = {
    "feedback_escalated": _("Unanswered after 24 hours: escalated to the owner's manager"),
    "survey_sent": _("Survey sent"),
    "survey_links_reissued": _("New survey links made (the previous ones stop working)"),
    "survey_answered": _("Survey answered through its link"),
}
