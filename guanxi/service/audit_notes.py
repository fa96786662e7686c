"""The notes service-desk services write on audit entries (stable keys; see accounts.audit_notes).
ServiceConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AUDIT_NOTE_LABELS = {
    "confirmation_link_renewed": _(
        "Made a new confirmation link for the customer (the earlier one stops working)"
    ),
}
