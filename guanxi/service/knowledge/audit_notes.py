"""The notes knowledge services write on audit entries (stable keys; see accounts.audit_notes).
KnowledgeConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_NOTE_LABELS = {
    # On the ticket: the article by number only, since not every reader of the ticket may read it.
    "knowledge_article_linked": _("Used knowledge article #%(article)s to solve this ticket"),
    "knowledge_article_unlinked": _(
        "Knowledge article #%(article)s is no longer recorded as used on this ticket"
    ),
}
