from __future__ import annotations

from django.urls import path

from guanxi.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_index, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    path("regions/", views.region_options, name="region-options"),
    path("bulk/", views.customers_bulk, name="customer-bulk"),
    path("lookup/", views.customer_lookup, name="customer-lookup"),
    path("hand-over/", views.customers_hand_over, name="customer-hand-over"),
    path("pool-policy/", views.pool_policy_edit, name="pool-policy"),
    path("<int:customer_id>/", views.customer_show, name="customer-detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/delete/", views.customer_delete, name="customer-delete"),
    path("<int:customer_id>/claim/", views.customer_claim, name="customer-claim"),
    path("<int:customer_id>/release/", views.customer_release, name="customer-release"),
    path("<int:customer_id>/transfer/", views.customer_transfer, name="customer-transfer"),
    path("<int:customer_id>/contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:contact_id>/reveal/", views.contact_reveal, name="contact-reveal"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact-delete"),
]
