from __future__ import annotations

from django.urls import path

from guanxi.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_index, name="notification-list"),
    path("bell/", views.notification_bell, name="notification-bell"),
    path("read-all/", views.notifications_mark_all_read, name="notification-read-all"),
    path("<int:notification_id>/read/", views.notification_mark_read, name="notification-read"),
    path("<int:notification_id>/open/", views.notification_open, name="notification-open"),
    path("preferences/", views.notification_preferences_edit, name="preference-edit"),
    path("robots/", views.robot_index, name="robot-list"),
    path("robots/new/", views.robot_create, name="robot-create"),
    path("robots/<int:robot_id>/", views.robot_edit, name="robot-edit"),
    path("robots/<int:robot_id>/delete/", views.robot_delete, name="robot-delete"),
    path("robots/<int:robot_id>/test/", views.robot_test, name="robot-test"),
]
