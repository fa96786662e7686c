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
    path("imports/", views.import_index, name="import-list"),
    path("imports/new/", views.import_create, name="import-create"),
    path(
        "imports/template/<str:kind>.<str:format>",
        views.import_template,
        name="import-template",
    ),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import-progress"),
    path("imports/<int:job_id>/check/", views.import_check, name="import-check"),
    path("imports/<int:job_id>/commit/", views.import_commit, name="import-commit"),
    path("imports/<int:job_id>/undo/", views.import_undo, name="import-undo"),
    path("imports/<int:job_id>/errors/", views.import_errors, name="import-errors"),
]
