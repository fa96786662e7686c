from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "guanxi.service.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.service.knowledge.audit_notes import AUDIT_NOTE_LABELS

        audit_note_labels_register(AUDIT_NOTE_LABELS)
