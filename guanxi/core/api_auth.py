"""Bearer-token authentication and per-token rate limiting for the REST API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from guanxi.accounts.services import token_authenticate

        api_token = token_authenticate(token)
        if api_token is None:
            return None
        request.api_token = api_token  # type: ignore[attr-defined]  # read by TokenRateThrottle
        request.user = api_token.user
        return api_token.user


class TokenRateThrottle(SimpleRateThrottle):
    """A sliding window per API token (per client address before authentication)."""

    scope = "token"

    def __init__(self) -> None:
        super().__init__(rate=settings.GUANXI_API_RATE)

    def get_cache_key(self, request: HttpRequest) -> str:
        api_token = getattr(request, "api_token", None)
        ident = f"t{api_token.pk}" if api_token is not None else f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
