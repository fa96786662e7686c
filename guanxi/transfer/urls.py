from __future__ import annotations

from django.urls import path

from guanxi.transfer import views

app_name = "transfer"

urlpatterns = [
    path("exports/", views.export_index, name="export-list"),
    path("exports/new/", views.export_create, name="export-create"),
    path("exports/<int:job_id>/download/", views.export_download, name="export-download"),
    path(
        "customers/<int:customer_id>/contacts/vcard/",
        views.contacts_vcard_import,
        name="contacts-vcard-import",
    ),
]
