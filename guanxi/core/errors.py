"""Error pages. The 500 page renders without a request context, because whatever failed may be
the very thing a context processor needs (the database, say)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.template.response import TemplateResponse


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "400.html", {}, status=400).render()


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "403.html", {}, status=403).render()


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return TemplateResponse(request, "404.html", {}, status=404).render()


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponseServerError(loader.get_template("500.html").render({}))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted without a valid CSRF token: usually a page left open past the session, so
    say so in our own 403 page instead of Django's technical one."""
    from django.utils.translation import gettext as _

    message = _(
        "The form has expired or was sent from another site. Reload the page and try again."
    )
    return TemplateResponse(request, "403.html", {"message": message}, status=403).render()
