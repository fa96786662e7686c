from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "guanxi.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.customers.merge.relations import merge_relation_register
        from guanxi.customers.timeline import customer_page_section_register
        from guanxi.feedback.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.feedback.services import NOTIFICATION_KINDS
        from guanxi.feedback.timeline import card_context
        from guanxi.notifications.kinds import notification_kind_register

        audit_note_labels_register(AUDIT_NOTE_LABELS)
        # A customer's feedback, invitations and answers follow it when it is merged.
        merge_relation_register("feedback.items", "feedback.FeedbackItem")
        merge_relation_register("feedback.invitations", "feedback.SurveyInvitation")
        merge_relation_register("feedback.responses", "feedback.SurveyResponse")
        # The customer page: its feedback still to answer or close, and "Record feedback".
        customer_page_section_register(
            "feedback.card",
            place="side",
            template="feedback/partials/customer_card.html",
            context=card_context,
        )
        for kind, label in NOTIFICATION_KINDS.items():
            # A complaint waits 24 hours at most: these go by e-mail too.
            notification_kind_register(kind, label, email=True)
