"""The notes transfer services write on audit entries (stable keys; see accounts.audit_notes).
TransferConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CONTACTS_VCARD_IMPORTED = "contacts_vcard_imported"

AUDIT_NOTE_LABELS = {
    CONTACTS_VCARD_IMPORTED: _("Imported %(count)s contacts from a vCard file"),
}
