from __future__ import annotations

from django.urls import path

from guanxi.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login-verify"),
    path("logout/", views.logout_view, name="logout"),
    path("language/", views.language_set, name="language"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password-change"),
    path("profile/tokens/", views.token_add, name="token-create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("profile/sessions/end-others/", views.sessions_end_others, name="session-end-others"),
    path("profile/two-factor/", views.otp_setup, name="otp-setup"),
    path("profile/two-factor/disable/", views.otp_disable, name="otp-disable"),
    path("users/", views.user_index, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<int:user_id>/", views.user_edit, name="user-edit"),
    path("users/<int:user_id>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/reactivate/", views.user_reactivate, name="user-reactivate"),
    path("users/<int:user_id>/password/", views.user_password_reset, name="user-password-reset"),
    path("users/<int:user_id>/otp-reset/", views.user_otp_reset, name="user-otp-reset"),
    path("departments/", views.department_index, name="department-list"),
    path("departments/new/", views.department_create, name="department-create"),
    path("departments/<int:department_id>/", views.department_edit, name="department-edit"),
    path(
        "departments/<int:department_id>/delete/", views.department_delete, name="department-delete"
    ),
    path("roles/", views.role_index, name="role-list"),
]
