"""Bearer-token authentication and per-token rate limiting for the REST API."""

from __future__ import annotations

import math
import threading
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
    """A sliding window per API token (per client address before authentication).

    The rate is read from ``settings.GUANXI_API_RATE`` on every request, so changing the setting
    takes effect without rebuilding the API. One instance serves every request of a process, and
    gunicorn runs several threads, so the per-request state lives in a thread-local.
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
        history = [stamp for stamp in self.cache.get(key, []) if stamp > now - duration]
        state = self._state
        state.history, state.now, state.num_requests, state.duration = (
            history,
            now,
            num_requests,
            duration,
        )
        if len(history) >= num_requests:
            return False
        history.insert(0, now)
        self.cache.set(key, history, duration)
        return True

    def wait(self) -> float:
        """Seconds until the window has room again: when enough of the oldest requests expire."""
        state = self._state
        history: list[float] = getattr(state, "history", [])
        num_requests: int = getattr(state, "num_requests", 0)
        duration: int = getattr(state, "duration", 1)
        if not history:
            return float(duration)
        # history is newest first; a slot frees when the request at position num_requests - 1
        # (counting from the newest) leaves the window.
        oldest_that_blocks = history[min(max(num_requests, 1), len(history)) - 1]
        return max(1.0, math.ceil(duration - (state.now - oldest_that_blocks)))
