"""Bearer-token authentication and per-token rate limiting for the REST API."""

from __future__ import annotations

import math
import threading
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle

from guanxi.core.ratelimit import window_count


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
    """A request counter per API token (per client address before authentication).

    The window opens at the token's first request and lasts the rate's period. With Redis,
    ``cache.add`` opens it and ``cache.incr`` counts (atomic); without, one upsert on the
    RateWindow table does both. Either way concurrent requests in several gunicorn processes
    cannot lose counts the way a read-modify-write would. The rate is read from
    ``settings.GUANXI_API_RATE`` on every request. One instance serves every request of a
    process across threads, so per-request state lives in a thread-local.
    """

    scope = "token"

    def __init__(self, rate: str | None = None) -> None:
        self._fixed_rate = rate
        self._state = threading.local()
        super().__init__(rate=rate or settings.GUANXI_API_RATE)

    def _current_rate(self) -> tuple[int, int]:
        num_requests, duration = self.parse_rate(self._fixed_rate or settings.GUANXI_API_RATE)
        return int(num_requests or 0), int(duration or 1)

    def get_cache_key(self, request: HttpRequest) -> str:
        api_token = getattr(request, "api_token", None)
        ident = f"t{api_token.pk}" if api_token is not None else f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: HttpRequest) -> bool:
        num_requests, duration = self._current_rate()
        key = self.get_cache_key(request)
        now = self.timer()
        if _cache_is_database():
            count, opened = window_count(key, now=now, duration=duration)
            self._state.retry_after = max(1, math.ceil(opened + duration - now))
            return count <= num_requests
        # Both keys are created together by the first request of a window and expire with it.
        self.cache.add(f"{key}:opened", now, duration)
        self.cache.add(f"{key}:count", 0, duration)
        try:
            count = self.cache.incr(f"{key}:count")
        except ValueError:  # expired between add and incr: this request opens a new window
            self.cache.set(f"{key}:opened", now, duration)
            self.cache.set(f"{key}:count", 1, duration)
            count = 1
        opened = self.cache.get(f"{key}:opened", now)
        self._state.retry_after = max(1, math.ceil(opened + duration - now))
        return count <= num_requests

    def wait(self) -> float:
        """Seconds until the current window closes and the counter starts again."""
        return float(getattr(self._state, "retry_after", 1))


def _cache_is_database() -> bool:
    # Redis counts in memory, three round trips; the database cache would take seventeen
    # queries a request (culling counts, savepoints), so the database gets its own counter.
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return backend.endswith("DatabaseCache")
