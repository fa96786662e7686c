from __future__ import annotations

from django.urls import path

from guanxi.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_index, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    path("regions/", views.region_options, name="region-options"),
    path("<int:customer_id>/", views.customer_show, name="customer-detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/delete/", views.customer_delete, name="customer-delete"),
    path("<int:customer_id>/contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact-delete"),
]
