from __future__ import annotations

from django.urls import include, path

from guanxi.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("accounts/", include("guanxi.accounts.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("transfer/", include("guanxi.transfer.urls")),
    path("engagement/", include("guanxi.engagement.urls")),
    path("notifications/", include("guanxi.notifications.urls")),
    path("service/knowledge/", include("guanxi.service.knowledge.urls")),
    path("service/quality/", include("guanxi.service.quality.urls")),
    path("service/", include("guanxi.service.urls")),
    path("feedback/", include("guanxi.feedback.urls")),
    path("", include("guanxi.core.urls")),
]

handler400 = "guanxi.core.errors.bad_request"
handler403 = "guanxi.core.errors.permission_denied"
handler404 = "guanxi.core.errors.page_not_found"
handler500 = "guanxi.core.errors.server_error"
