from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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


class NulByteGuardMiddleware:
    """A NUL byte in a parameter or body is never meaningful text: PostgreSQL refuses it (a
    500 halfway through a request) and SQLite stores it silently. Refuse the request up front,
    before anything is written, with the same translated 400 everywhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._has_nul(request):
            return self.get_response(request)
        from django.template.response import TemplateResponse

        from guanxi.core.exceptions import ApplicationError

        error = ApplicationError(
            _("The request contains a NUL character, which is not allowed in text.")
        )
        if request.path.startswith(API_PREFIX):
            body = json.dumps(error.as_dict(), ensure_ascii=False)
            return HttpResponse(body, status=400, content_type="application/json")
        return TemplateResponse(request, "400.html", {"error": error}, status=400).render()

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        def in_values(data: Any) -> bool:
            return any("\x00" in value for _key, values in data.lists() for value in values)

        if "\x00" in request.path or in_values(request.GET):
            return True
        if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
            return False
        if request.content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
            # Decoded form fields; uploaded files may hold any bytes and are not text.
            return in_values(request.POST)
        body = request.body
        # In JSON a NUL arrives escaped as \u0000; in other raw bodies as the byte itself.
        return b"\x00" in body or b"\\u0000" in body.lower()
