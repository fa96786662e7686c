from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "guanxi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.core.audit_notes import AUDIT_NOTE_LABELS

        audit_note_labels_register(AUDIT_NOTE_LABELS)
