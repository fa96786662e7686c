"""Request facts that the audit trail records without threading the request through services.

Services take an explicit ``actor``; the client IP is the one request detail the audit trail
needs that is not part of any business argument, so the middleware keeps it here.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from typing import Any

request_ip: ContextVar[str | None] = ContextVar("guanxi_request_ip", default=None)


def client_ip(meta: dict) -> str | None:
    """The client's address: the socket's, or behind GUANXI_TRUSTED_PROXY_COUNT reverse proxies
    the one the outermost trusted proxy saw. Anything that is not an IP address (a forged header,
    a unix socket) is None, so it can never break the audit write that records it."""
    from django.conf import settings

    candidate = meta.get("REMOTE_ADDR")
    if getattr(settings, "GUANXI_TRUSTED_PROXY_COUNT", 0):
        forwarded = [
            p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if forwarded:
            candidate = forwarded[-min(settings.GUANXI_TRUSTED_PROXY_COUNT, len(forwarded))]
    try:
        return str(ipaddress.ip_address((candidate or "").strip()))
    except ValueError:
        return None


def request_client_ip(request: Any) -> str | None:
    """``client_ip`` for callers that hand over a request (django-axes' AXES_CLIENT_IP_CALLABLE),
    so the sign-in lockout counts per real client behind a proxy, not per proxy."""
    return client_ip(request.META)
