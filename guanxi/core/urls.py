from __future__ import annotations

from django.urls import path

from guanxi.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("areas/<slug:slug>/", views.area, name="area"),
    path("recycle-bin/", views.recycle_list, name="recycle-list"),
    path(
        "recycle-bin/<str:object_type>/<int:object_id>/restore/",
        views.recycle_restore,
        name="recycle-restore",
    ),
    path("audit/", views.audit_index, name="audit-list"),
    path("saved-views/<slug:list_name>/", views.saved_view_create, name="saved-view-create"),
    path("saved-views/<int:view_id>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("healthz", views.health, name="health"),
    # --- calendar
    path("settings/calendar/", views.calendar_index, name="calendar-index"),
    path("settings/calendar/seed/", views.calendar_seed, name="calendar-seed"),
    path("settings/calendar/<int:year>/", views.calendar_year, name="calendar-year"),
    path(
        "settings/calendar/<int:year>/complete/",
        views.calendar_year_update,
        name="calendar-year-update",
    ),
    path("settings/calendar/days/<str:day>/", views.calendar_day_edit, name="calendar-day-edit"),
    path(
        "settings/calendar/days/<str:day>/delete/",
        views.calendar_day_delete,
        name="calendar-day-delete",
    ),
]
