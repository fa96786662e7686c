from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "guanxi.service.quality"
    label = "quality"
    verbose_name = _("Quality review")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.notifications.kinds import notification_kind_register
        from guanxi.service.quality.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.service.quality.services import NOTIFICATION_KINDS

        audit_note_labels_register(AUDIT_NOTE_LABELS)
        for kind, label in NOTIFICATION_KINDS.items():
            notification_kind_register(kind, label)
