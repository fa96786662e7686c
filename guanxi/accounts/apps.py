from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "guanxi.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from guanxi.accounts.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.core.audit import audit_note_labels_register

        audit_note_labels_register(AUDIT_NOTE_LABELS)
