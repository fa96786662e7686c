from __future__ import annotations

from django.urls import path

from guanxi.service.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.index, name="index"),
    path("sheets/", views.sheet_index, name="sheet-list"),
    path("sheets/new/", views.sheet_create, name="sheet-create"),
    path("sheets/<int:sheet_id>/edit/", views.sheet_edit, name="sheet-edit"),
    path("sheets/<int:sheet_id>/criteria/new/", views.criterion_create, name="criterion-create"),
    path("criteria/<int:criterion_id>/edit/", views.criterion_edit, name="criterion-edit"),
    path("criteria/<int:criterion_id>/delete/", views.criterion_delete, name="criterion-delete"),
    path("queue/", views.queue, name="queue"),
    path("draw/", views.sample_draw, name="sample-draw"),
    path(
        "assignments/<int:assignment_id>/release/",
        views.assignment_release,
        name="assignment-release",
    ),
    path("reviews/", views.review_index, name="review-list"),
    path("reviews/new/", views.review_create, name="review-create"),
    path("reviews/<int:review_id>/", views.review_show, name="review-detail"),
    path(
        "reviews/<int:review_id>/acknowledge/",
        views.review_acknowledge,
        name="review-acknowledge",
    ),
    path("reviews/<int:review_id>/dispute/", views.review_dispute, name="review-dispute"),
    path("reviews/<int:review_id>/resolve/", views.review_resolve, name="review-resolve"),
    path("mine/", views.review_mine, name="my-reviews"),
    path("figures/", views.figures_show, name="figures"),
]
