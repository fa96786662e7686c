from __future__ import annotations

from django.urls import path

from guanxi.customers import history_views, verification_views, views
from guanxi.customers.merge import views as merge_views

app_name = "customers"

urlpatterns = [
    path("", views.customer_index, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    path("regions/", views.region_options, name="region-options"),
    path("bulk/", views.customers_bulk, name="customer-bulk"),
    path("lookup/", views.customer_lookup, name="customer-lookup"),
    path("hand-over/", views.customers_hand_over, name="customer-hand-over"),
    path("duplicates/", views.customer_duplicates_scan, name="customer-duplicates"),
    path("pool-policy/", views.pool_policy_edit, name="pool-policy"),
    # --- history library
    path("history/reasons/", history_views.churn_breakdown_show, name="churn-breakdown"),
    path("churn-reasons/", history_views.churn_reason_index, name="churn-reason-list"),
    path(
        "churn-reasons/<int:reason_id>/edit/",
        history_views.churn_reason_edit,
        name="churn-reason-edit",
    ),
    path("<int:customer_id>/archive/", history_views.customer_archive, name="customer-archive"),
    path("<int:customer_id>/restore/", history_views.customer_restore, name="customer-restore"),
    # --- verification
    path(
        "verification/",
        verification_views.verification_task_index,
        name="verification-task-list",
    ),
    path(
        "verification/report/",
        verification_views.verification_report_show,
        name="verification-report",
    ),
    path(
        "verification/generate/",
        verification_views.verification_tasks_generate,
        name="verification-task-generate",
    ),
    path(
        "verification/<int:task_id>/",
        verification_views.verification_task_show,
        name="verification-task-detail",
    ),
    path(
        "verification/<int:task_id>/verify/",
        verification_views.verification_task_verify,
        name="verification-task-verify",
    ),
    # --- needs (C2)
    path("needs/", views.need_index, name="need-list"),
    path("needs/categories/", views.need_category_index, name="need-category-list"),
    path(
        "needs/categories/<int:category_id>/edit/",
        views.need_category_edit,
        name="need-category-edit",
    ),
    path("needs/<int:need_id>/", views.need_show, name="need-detail"),
    path("needs/<int:need_id>/edit/", views.need_edit, name="need-edit"),
    path("needs/<int:need_id>/close/", views.need_close, name="need-close"),
    path("needs/<int:need_id>/reopen/", views.need_reopen, name="need-reopen"),
    path("needs/<int:need_id>/delete/", views.need_delete, name="need-delete"),
    path("needs/<int:need_id>/notes/", views.need_note_create, name="need-note-create"),
    path("<int:customer_id>/needs/new/", views.need_create, name="need-create"),
    path("<int:customer_id>/", views.customer_show, name="customer-detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/delete/", views.customer_delete, name="customer-delete"),
    path("<int:customer_id>/claim/", views.customer_claim, name="customer-claim"),
    path("<int:customer_id>/release/", views.customer_release, name="customer-release"),
    path("<int:customer_id>/transfer/", views.customer_transfer, name="customer-transfer"),
    # --- merge
    path("<int:customer_id>/merge/", merge_views.customer_merge, name="customer-merge"),
    path(
        "merges/<int:merge_id>/undo/",
        merge_views.customer_merge_undo,
        name="customer-merge-undo",
    ),
    path("<int:customer_id>/contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:contact_id>/reveal/", views.contact_reveal, name="contact-reveal"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact-delete"),
]
