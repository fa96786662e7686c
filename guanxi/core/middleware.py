from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from guanxi.core.context import client_ip, request_ip


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_ip.set(client_ip(request.META))
        try:
            return self.get_response(request)
        finally:
            request_ip.reset(token)


class ApplicationErrorMiddleware:
    """HTML views let NotFoundError / PermissionDeniedError escape from the access helpers; this
    turns them into the same 404 / 403 pages Django shows, and any other ApplicationError that a
    view did not render inline into a 400 page with its translated message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.template.response import TemplateResponse

        from guanxi.core.exceptions import ApplicationError, NotFoundError, PermissionDeniedError

        if not isinstance(exception, ApplicationError):
            return None
        if isinstance(exception, NotFoundError):
            template, status = "404.html", 404
        elif isinstance(exception, PermissionDeniedError):
            template, status = "403.html", 403
        else:
            template, status = "400.html", exception.status_code
        response = TemplateResponse(request, template, {"error": exception}, status=status)
        return response.render()
