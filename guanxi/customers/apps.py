from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from guanxi.core.audit import audit_note_labels_register, audit_value_mask_register
        from guanxi.core.audit_display import audit_visible_ids_register
        from guanxi.core.saved_views import saved_view_list_register
        from guanxi.customers.audit_notes import AUDIT_NOTE_LABELS
        from guanxi.customers.forms import CustomerFilterForm
        from guanxi.customers.models import Customer
        from guanxi.customers.selectors import contact_personal_value_mask, customer_visible_ids

        audit_note_labels_register(AUDIT_NOTE_LABELS)
        # The audit trail shows contacts' phones, e-mail and WeChat ID masked, as every other
        # output does: it is for seeing what changed, not a way around masking.
        audit_value_mask_register("customers.contact", contact_personal_value_mask)
        # A change of parent company names the parent only for those who may see it.
        audit_visible_ids_register(Customer, customer_visible_ids)
        # A saved view keeps the list's filters and its sort, never the cursor.
        saved_view_list_register(
            "customers",
            url_name="customers:customer-list",
            params=set(CustomerFilterForm.base_fields),
        )
        # --- merge: a merged customer comes back from the recycle bin only by undoing the merge.
        from guanxi.core.services import object_restore_guard_register
        from guanxi.customers.merge.services import customer_restore_guard

        object_restore_guard_register(Customer, customer_restore_guard)
