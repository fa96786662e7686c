"""Included by guanxi/service/urls.py under setup/: the names live in the "service" namespace."""

from __future__ import annotations

from django.urls import path

from guanxi.service.setup import views

urlpatterns = [
    path("", views.setup_index, name="setup"),
    path("categories/", views.category_index, name="category-list"),
    path("categories/new/", views.category_create, name="category-create"),
    path("categories/<int:category_id>/edit/", views.category_edit, name="category-edit"),
    path("categories/<int:category_id>/delete/", views.category_delete, name="category-delete"),
    path("teams/", views.team_index, name="team-list"),
    path("teams/new/", views.team_create, name="team-create"),
    path("teams/<int:team_id>/edit/", views.team_edit, name="team-edit"),
    path("teams/<int:team_id>/delete/", views.team_delete, name="team-delete"),
    path("routing/", views.routing_rule_index, name="routing-rule-list"),
    path("routing/new/", views.routing_rule_create, name="routing-rule-create"),
    path("routing/<int:rule_id>/edit/", views.routing_rule_edit, name="routing-rule-edit"),
    path("routing/<int:rule_id>/delete/", views.routing_rule_delete, name="routing-rule-delete"),
    path("routing/test/", views.routing_tester, name="routing-tester"),
    path("routing/defaults/", views.defaults_ensure, name="setup-defaults"),
    path("sla/", views.sla_policy_index, name="sla-policy-list"),
    path("sla/new/", views.sla_policy_create, name="sla-policy-create"),
    path("sla/<int:policy_id>/edit/", views.sla_policy_edit, name="sla-policy-edit"),
    path("sla/<int:policy_id>/delete/", views.sla_policy_delete, name="sla-policy-delete"),
]
