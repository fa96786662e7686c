from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from guanxi.core.context import client_ip, request_ip

API_PREFIX = "/api/"


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


def _api_error(status: int) -> tuple[str, str]:
    if status == 404:
        return _("Not found."), "not_found"
    if status == 405:
        return _("This method is not allowed here."), "method_not_allowed"
    if status == 403:
        return _("You do not have permission to do this."), "permission_denied"
    if status >= 500:
        return _("Something went wrong on the server. The error was logged."), "server_error"
    return _("The request could not be carried out."), "invalid"


class ApiErrorContractMiddleware:
    """Errors that never reach an API handler still leave the API as ``{"message", "code",
    "fields"}``: an unknown path (Django's 404 page), a method the path does not take (ninja's
    plain-text 405) and an unhandled exception (the 500 page). Must sit inside LocaleMiddleware
    so the message is in the client's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or (response.status_code >= 500 and settings.DEBUG)  # keep the debug page's traceback
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        message, code = _api_error(response.status_code)
        body = json.dumps({"message": message, "code": code, "fields": {}}, ensure_ascii=False)
        replacement = HttpResponse(
            body, status=response.status_code, content_type="application/json"
        )
        for header in ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "Content-Language"):
            if header in response:
                replacement[header] = response[header]
        return replacement
