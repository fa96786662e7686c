from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "guanxi.service"
    label = "service"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register
        from guanxi.customers.merge.relations import merge_relation_register
        from guanxi.customers.timeline import (
            customer_page_section_register,
            timeline_source_register,
        )
        from guanxi.notifications.kinds import notification_kind_register
        from guanxi.service.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.service.services import NOTIFICATION_KINDS
        from guanxi.service.timeline import (
            new_ticket_button_context,
            open_tickets_card_context,
            ticket_items,
        )

        audit_note_labels_register(AUDIT_NOTE_LABELS)
        timeline_source_register("service.tickets", ticket_items)
        merge_relation_register("service.tickets", "service.Ticket")
        customer_page_section_register(
            "service.new_ticket",
            place="actions",
            template="service/partials/customer_ticket_button.html",
            context=new_ticket_button_context,
        )
        customer_page_section_register(
            "service.open_tickets",
            place="side",
            template="service/partials/customer_tickets_card.html",
            context=open_tickets_card_context,
        )
        for kind, label in NOTIFICATION_KINDS.items():
            # Breaches by e-mail too: they are what a team lead must not miss.
            notification_kind_register(kind, label, email=kind == "ticket_sla_breached")
