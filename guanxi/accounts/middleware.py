from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from guanxi.accounts.selectors import user_requires_otp

# Paths a signed-in user who still owes a second factor may reach.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/api/")


class SecondFactorMiddleware:
    """When an administrator requires TOTP for a role, its users can do nothing in the web UI until
    they have set up a device and verified it in this session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not user.is_verified()
            and user_requires_otp(user)
        ):
            allowed = {
                reverse("accounts:otp-setup"),
                reverse("accounts:logout"),
                reverse("accounts:language"),
            }
            if request.path not in allowed:
                return redirect("accounts:otp-setup")
        return self.get_response(request)
