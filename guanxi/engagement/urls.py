from __future__ import annotations

from django.urls import path

from guanxi.engagement import views

app_name = "engagement"

urlpatterns = [
    path("", views.task_index, name="today"),
    path("tasks/", views.task_index, name="task-list"),
    path("tasks/<int:task_id>/", views.task_show, name="task-detail"),
    path("tasks/<int:task_id>/complete/", views.task_complete, name="task-complete"),
    path("tasks/<int:task_id>/snooze/", views.task_snooze, name="task-snooze"),
    path("tasks/<int:task_id>/reassign/", views.task_reassign, name="task-reassign"),
    path("interactions/", views.interaction_index, name="interaction-list"),
    path("customers/<int:customer_id>/log/", views.interaction_create, name="interaction-create"),
    path("customers/<int:customer_id>/plan/", views.plan_edit, name="plan-edit"),
    path("interactions/<int:interaction_id>/", views.interaction_show, name="interaction-detail"),
    path(
        "interactions/<int:interaction_id>/edit/", views.interaction_edit, name="interaction-edit"
    ),
    path(
        "interactions/<int:interaction_id>/delete/",
        views.interaction_delete,
        name="interaction-delete",
    ),
    path(
        "interactions/<int:interaction_id>/attachments/",
        views.attachment_add,
        name="attachment-add",
    ),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment-download"),
    path(
        "attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="attachment-delete",
    ),
    path("compliance/", views.compliance_show, name="compliance"),
    path("care/", views.care_show, name="care-calendar"),
    path("policies/", views.policy_index, name="policy-list"),
    path("policies/new/", views.policy_create, name="policy-create"),
    path("policies/<int:policy_id>/edit/", views.policy_edit, name="policy-edit"),
    path("policies/<int:policy_id>/delete/", views.policy_delete, name="policy-delete"),
    path("policies/<int:policy_id>/rules/new/", views.rule_create, name="rule-create"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    path("settings/", views.settings_edit, name="settings"),
    path("generate/", views.generate_now, name="generate"),
    path("feed/", views.feed_show, name="feed"),
    path("feed/rotate/", views.feed_rotate, name="feed-rotate"),
    path("feed/revoke/", views.feed_revoke, name="feed-revoke"),
    path("feed/<str:token>.ics", views.feed_ics, name="feed-ics"),
]
