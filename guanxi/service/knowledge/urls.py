from __future__ import annotations

from django.urls import path

from guanxi.service.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_index, name="article-list"),
    path("articles/new/", views.article_create, name="article-create"),
    path("articles/<int:article_id>/", views.article_show, name="article-detail"),
    path("articles/<int:article_id>/edit/", views.article_edit, name="article-edit"),
    path("articles/<int:article_id>/status/", views.article_status, name="article-status"),
    path("articles/<int:article_id>/delete/", views.article_delete, name="article-delete"),
    path("categories/", views.category_index, name="category-list"),
    path("categories/<int:category_id>/edit/", views.category_edit, name="category-edit"),
    path(
        "suggest/tickets/<int:ticket_id>/",
        views.ticket_suggestions,
        name="ticket-suggestions",
    ),
    path(
        "tickets/<int:ticket_id>/articles/<int:article_id>/link/",
        views.ticket_article_link,
        name="ticket-article-link",
    ),
    path(
        "tickets/<int:ticket_id>/articles/<int:article_id>/unlink/",
        views.ticket_article_unlink,
        name="ticket-article-unlink",
    ),
]
