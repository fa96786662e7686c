"""The notes quality review services write on audit entries (stable keys; see
accounts.audit_notes). QualityConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_NOTE_LABELS = {
    "quality_sample_drawn": _("Drew %(count)s items for quality review (%(start)s to %(end)s)"),
    "quality_review_rescored": _("Scores corrected when settling a dispute"),
}
