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
    # --- merge: the other customer's name travels in the note (?name=…), cut to fit it.
    "customer_merged": _("Merged the duplicate “%(name)s” into this customer"),
    "customer_merged_into": _("Merged into “%(name)s” as its duplicate"),
    "customer_merge_undone": _("Undid the merge of “%(name)s”; it is a customer of its own again"),
    "customer_merge_undone_from": _("Restored by undoing its merge into “%(name)s”"),
    "customer_merge_moved": _("Moved to “%(name)s” by a merge of duplicates"),
    "customer_merge_moved_back": _("Moved back to “%(name)s” by undoing a merge"),
}

# --- history library
AUDIT_NOTE_LABELS["customer_archived"] = _("Moved to the history library")
AUDIT_NOTE_LABELS["customer_restored_from_history"] = _("Restored from the history library")
# --- verification
AUDIT_NOTE_LABELS["customer_verified"] = _("Contact data verified for %(quarter)s")
AUDIT_NOTE_LABELS["verification_tasks_created"] = _(
    "Verification tasks created for %(quarter)s: %(count)s"
)
