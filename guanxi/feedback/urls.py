from __future__ import annotations

from django.urls import path

from guanxi.feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.item_index, name="item-list"),
    path("items/<int:item_id>/", views.item_show, name="item-detail"),
    path("items/<int:item_id>/respond/", views.item_respond, name="item-respond"),
    path("items/<int:item_id>/close/", views.item_close, name="item-close"),
    path("items/<int:item_id>/assign/", views.item_assign, name="item-assign"),
    path("customers/<int:customer_id>/new/", views.item_create, name="item-create"),
    path("surveys/", views.survey_index, name="survey-list"),
    path("surveys/new/", views.survey_create, name="survey-create"),
    path("surveys/<int:survey_id>/", views.survey_show, name="survey-detail"),
    path("surveys/<int:survey_id>/edit/", views.survey_edit, name="survey-edit"),
    path("surveys/<int:survey_id>/send/", views.survey_send, name="survey-send"),
    path("surveys/<int:survey_id>/links/", views.survey_links, name="survey-links"),
    path("surveys/<int:survey_id>/close/", views.survey_close, name="survey-close"),
    path("surveys/<int:survey_id>/delete/", views.survey_delete, name="survey-delete"),
    path("surveys/<int:survey_id>/results/", views.survey_results, name="survey-results"),
    path("analysis/", views.analysis_show, name="analysis"),
    # Public: a customer's contact answers through their link, without signing in.
    path("s/<str:token>/", views.survey_answer, name="survey-answer"),
]
