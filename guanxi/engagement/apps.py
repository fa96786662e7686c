from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "guanxi.engagement"
    label = "engagement"
    verbose_name = _("Follow-ups")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.customers.merge.relations import merge_relation_register
        from guanxi.customers.timeline import (
            customer_page_section_register,
            timeline_source_register,
        )
        from guanxi.engagement.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.engagement.services import NOTIFICATION_KINDS
        from guanxi.engagement.timeline import (
            card_context,
            interaction_items,
            log_button_context,
            task_items,
        )
        from guanxi.notifications.kinds import notification_kind_register

        audit_note_labels_register(AUDIT_NOTE_LABELS)
        # The interaction log follows a customer merged into another (its tasks do not: the
        # engine makes the survivor's own, and a period's task is unique per customer).
        merge_relation_register("engagement.interactions", "engagement.Interaction")
        # The customer page's timeline: the interaction log and the follow-up tasks, interleaved
        # with the customer's change history and whatever other apps register.
        timeline_source_register("engagement.interactions", interaction_items)
        timeline_source_register("engagement.tasks", task_items)
        customer_page_section_register(
            "engagement.log",
            place="actions",
            template="engagement/partials/customer_log_button.html",
            context=log_button_context,
        )
        customer_page_section_register(
            "engagement.card",
            place="side",
            template="engagement/partials/customer_card.html",
            context=card_context,
        )
        for kind, label in NOTIFICATION_KINDS.items():
            # The digest and the escalation also by e-mail: they are the ones that must be read.
            notification_kind_register(
                kind, label, email=kind in {"followup_due", "followup_escalated"}
            )
