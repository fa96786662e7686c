"""The project's URLs plus two views that fail, to see the 500 page and the API's 500 body."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from guanxi.urls import handler400, handler403, handler404, handler500
from guanxi.urls import urlpatterns as project_urls


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internal detail")


urlpatterns = [
    path("boom/", explode),
    path("api/v1/boom", explode),
    *project_urls,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
