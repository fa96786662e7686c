from __future__ import annotations

from django.urls import include, path

from guanxi.service import views

app_name = "service"

urlpatterns = [
    path("", views.ticket_index, name="ticket-list"),
    path("tickets/new/", views.ticket_create, name="ticket-create"),
    path("tickets/<int:ticket_id>/", views.ticket_show, name="ticket-detail"),
    path("tickets/<int:ticket_id>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<int:ticket_id>/start/", views.ticket_start, name="ticket-start"),
    path("tickets/<int:ticket_id>/wait/", views.ticket_wait, name="ticket-wait"),
    path("tickets/<int:ticket_id>/resume/", views.ticket_resume, name="ticket-resume"),
    path("tickets/<int:ticket_id>/resolve/", views.ticket_resolve, name="ticket-resolve"),
    path("tickets/<int:ticket_id>/link/", views.ticket_link_renew, name="ticket-link-renew"),
    path("tickets/<int:ticket_id>/close/", views.ticket_close, name="ticket-close"),
    path("tickets/<int:ticket_id>/reopen/", views.ticket_reopen, name="ticket-reopen"),
    path("tickets/<int:ticket_id>/comments/", views.ticket_comment, name="ticket-comment"),
    path(
        "tickets/<int:ticket_id>/attachments/",
        views.ticket_attachments_add,
        name="ticket-attachments-add",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.ticket_attachment_download,
        name="attachment-download",
    ),
    path("figures/", views.ticket_figures, name="figures"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("setup/", include("guanxi.service.setup.urls")),
]
