"""The notes transfer services write on audit entries (stable keys; see accounts.audit_notes).
TransferConfig.ready() registers their labels with guanxi.core.audit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CONTACTS_VCARD_IMPORTED = "contacts_vcard_imported"
IMPORT_COMMITTED = "import_committed"
IMPORT_UNDONE = "import_undone"

AUDIT_NOTE_LABELS = {
    CONTACTS_VCARD_IMPORTED: _("Imported %(count)s contacts from a vCard file"),
    IMPORT_COMMITTED: _(
        "Imported a file: %(added)s added, %(updated)s updated, %(skipped)s skipped, "
        "%(errors)s rows with errors"
    ),
    IMPORT_UNDONE: _(
        "Undid an import: %(removed)s records removed, %(reverted)s restored, %(kept)s kept as "
        "changed since"
    ),
}
