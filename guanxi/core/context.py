"""Request facts that the audit trail records without threading the request through services.

Services take an explicit ``actor``; the client IP is the one request detail the audit trail
needs that is not part of any business argument, so the middleware keeps it here.
"""

from __future__ import annotations

from contextvars import ContextVar

request_ip: ContextVar[str | None] = ContextVar("guanxi_request_ip", default=None)


def client_ip(meta: dict) -> str | None:
    # Behind a reverse proxy the operator sets GUANXI_TRUSTED_PROXY_COUNT, otherwise the socket
    # address is the only honest answer.
    from django.conf import settings

    if getattr(settings, "GUANXI_TRUSTED_PROXY_COUNT", 0):
        forwarded = [p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            return forwarded[-min(settings.GUANXI_TRUSTED_PROXY_COUNT, len(forwarded))]
    return meta.get("REMOTE_ADDR")
