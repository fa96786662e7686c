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


# Room in a multipart body, besides its files, for the boundaries, each part's headers and the
# form's other fields (the per-endpoint checks in engagement and transfer allow the same).
UPLOAD_OVERHEAD = 64 * 1024


def upload_max_bytes() -> int:
    """The largest request body any page or endpoint may take: the largest single file we accept
    (an import, a vCard) or a full set of attachments in one request (an interaction's or a
    ticket's), plus the form's overhead. Read at call time, so the settings in force apply."""
    attachments = settings.GUANXI_ATTACHMENT_MAX_BYTES * max(
        settings.GUANXI_ATTACHMENTS_PER_INTERACTION, settings.GUANXI_ATTACHMENTS_PER_TICKET
    )
    largest = max(settings.GUANXI_IMPORT_MAX_BYTES, settings.GUANXI_VCARD_MAX_BYTES, attachments)
    return largest + UPLOAD_OVERHEAD


def _refusal(request: HttpRequest, error: Any, status: int) -> HttpResponse:
    """``error`` (an ApplicationError) as the one error contract: JSON under /api/, our error page
    otherwise."""
    from django.template.response import TemplateResponse

    if request.path.startswith(API_PREFIX):
        body = json.dumps(error.as_dict(), ensure_ascii=False)
        return HttpResponse(body, status=status, content_type="application/json")
    return TemplateResponse(request, "400.html", {"error": error}, status=status).render()


class UploadSizeGuardMiddleware:
    """Refuse a body whose declared size (``Content-Length``) is more than any upload may be,
    with a translated 413, before anything reads it. It sits ahead of NulByteGuardMiddleware,
    which parses every form body (``request.POST``): without it a multipart request would be
    received whole, to memory and temporary files, before any view or permission check could
    refuse it. An endpoint's own, smaller limit is checked by its view, on a body read by then.
    Without a Content-Length (chunked) Django reads no body at all, so the declared size is the
    whole story."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # as Django reads it: no body
        limit = upload_max_bytes()
        if declared <= limit:
            return self.get_response(request)
        from guanxi.core.exceptions import ApplicationError

        error = ApplicationError(
            _("The upload is too large: one request may carry at most %(limit)s MB.")
            % {"limit": max(1, round((limit - UPLOAD_OVERHEAD) / 1024 / 1024))},
            code="upload_too_large",
        )
        return _refusal(request, error, 413)


class NulByteGuardMiddleware:
    """A NUL byte in a parameter or body is never meaningful text: PostgreSQL refuses it (a
    500 halfway through a request) and SQLite stores it silently. Refuse the request up front,
    before anything is written, with the same translated 400 everywhere. It reads the whole body
    (``request.POST`` parses a multipart upload), so UploadSizeGuardMiddleware must come first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._has_nul(request):
            return self.get_response(request)
        from guanxi.core.exceptions import ApplicationError

        error = ApplicationError(
            _("The request contains a NUL character, which is not allowed in text.")
        )
        return _refusal(request, error, 400)

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
