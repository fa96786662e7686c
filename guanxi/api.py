"""The REST API: one NinjaAPI under /api/v1 assembling each app's router.

Every error leaves as ``{"message", "code", "fields"}`` with a 4xx status (DESIGN.md, house
style 3); the messages are translated with the request's language.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from guanxi.core.api_auth import TokenAuth, TokenRateThrottle
from guanxi.core.exceptions import ApplicationError, validation_error_fields

api = NinjaAPI(
    title="Guanxi API",
    version="1",
    description="REST API of Guanxi (关系) CRM. Authenticate with `Authorization: Bearer <token>`; "
    "get a token from `POST /api/v1/auth/token`.",
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
    docs_url="/docs",
)


def error_response(
    request: HttpRequest,
    status: int,
    message: str,
    code: str,
    fields: dict | None = None,
    **extra: object,
) -> HttpResponse:
    body = {"message": message, "code": code, "fields": fields or {}}
    body.update(extra)
    return api.create_response(request, body, status=status)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status_code)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        request, 422, _("Some fields are not valid."), "invalid", validation_error_fields(exc)
    )


_SOURCES = frozenset({"body", "query", "path", "form", "file", "header", "cookie"})


def schema_error_field(location: tuple | list) -> str:
    """The field a client knows from ninja's location of an error. ninja puts where the value
    came from first (``body``, ``query``, ``file`` for a multipart file, ...) and, for a JSON
    body, the handler's parameter holding it next (``("body", "payload", "name")``); only those
    leading parts go: a field may well be named ``body`` or ``query`` itself (a comment's body,
    a saved view's query). Nothing left means the request as a whole."""
    parts = list(location)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)
    return ".".join(str(part) for part in parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        name = schema_error_field(error.get("loc", ()))
        fields.setdefault(name, []).append(_schema_message(error))
    return error_response(request, 422, _("Some fields are not valid."), "invalid", fields)


def _schema_message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return _("This field is required.")
    if kind in {"int_parsing", "int_type"}:
        return _("Enter a whole number.")
    if kind in {"string_type"}:
        return _("Enter text.")
    if kind in {"bool_parsing", "bool_type"}:
        return _("Enter true or false.")
    if kind == "string_too_long":
        return _("Ensure this value has at most %(max)s characters.") % {
            "max": error.get("ctx", {}).get("max_length", "?")
        }
    if kind in {"datetime_parsing", "datetime_from_date_parsing", "datetime_type"}:
        return _("Enter a valid date and time.")
    if kind in {"json_invalid", "model_attributes_type", "dict_type"}:
        return _("The request body is not valid JSON of the expected shape.")
    if kind in {"enum", "literal_error"}:
        return _("Select a valid choice.")
    return _("Enter a valid value.")


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, _("Authentication is required: send a valid API token."), "not_authenticated"
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return error_response(request, 429, _("Too many requests. Wait and try again."), "rate_limited")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, _("Not found."), "not_found")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(
        request, 403, _("You do not have permission to do this."), "permission_denied"
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja raises HttpError with an English text; the one a client meets is a body that is not
    # JSON, which gets a translated message and a code of its own.
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(
            request, 400, _("The request body is not valid JSON."), "invalid_json"
        )
    return error_response(request, exc.status_code, str(exc), "http_error")


def _register_routers() -> None:
    from guanxi.accounts.api import auth_router
    from guanxi.accounts.api import router as accounts_router
    from guanxi.core.api import router as core_router
    from guanxi.customers.api import router as customers_router
    from guanxi.customers.merge.api import router as customer_merges_router
    from guanxi.engagement.api import router as engagement_router
    from guanxi.feedback.api import router as feedback_router
    from guanxi.notifications.api import router as notifications_router
    from guanxi.service.api import router as service_router
    from guanxi.service.knowledge.api import router as knowledge_router
    from guanxi.service.quality.api import router as quality_router
    from guanxi.service.setup.api import router as service_setup_router
    from guanxi.transfer.api import router as transfer_router

    api.add_router("/auth", auth_router)
    api.add_router("/", accounts_router)
    api.add_router("/", core_router)
    # Before the customers router: its /customers/{customer_id} would take /customers/export.
    api.add_router("/", transfer_router)
    api.add_router("/", customer_merges_router)
    api.add_router("/", customers_router)
    api.add_router("/", engagement_router)
    api.add_router("/", notifications_router)
    api.add_router("/", service_router)
    api.add_router("/", service_setup_router)
    api.add_router("/", knowledge_router)
    api.add_router("/", quality_router)
    api.add_router("/", feedback_router)


_register_routers()
