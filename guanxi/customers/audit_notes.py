"""The notes customer services write on audit entries (stable keys; see accounts.audit_notes).
CustomersConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PERSONAL_DATA_REVEALED = "personal_data_revealed"
PERSONAL_DATA_REVEALED_FOR_EDIT = "personal_data_revealed_for_edit"

AUDIT_NOTE_LABELS = {
    PERSONAL_DATA_REVEALED: _("Revealed the contact's phones, e-mail and WeChat ID"),
    PERSONAL_DATA_REVEALED_FOR_EDIT: _(
        "Revealed the contact's phones, e-mail and WeChat ID to edit the contact"
    ),
    "customer_claimed": _("Claimed from the pool"),
    "customer_released": _("Released to the pool"),
    "customer_recycled": _("Returned to the pool by the recycle rules"),
    "customer_transferred": _("Transferred to another owner"),
    "customer_handed_over": _("Handed over with all of the previous owner's customers"),
}
