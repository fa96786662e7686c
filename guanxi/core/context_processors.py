from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from guanxi.core.navigation import AREAS, SETTINGS_AREAS


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"LANGUAGE_CHOICES": settings.LANGUAGES}
    path = request.path

    def entry(area: Any) -> dict[str, Any]:
        url = (
            reverse(area.url_name, args=[area.slug])
            if area.url_name == "core:area"
            else reverse(area.url_name)
        )
        active = path == url if area.url_name == "core:home" else path.startswith(url)
        return {"area": area, "url": url, "active": active}

    areas = [entry(a) for a in AREAS]
    # An area inside another's URL space (Needs under /customers/) is the one active there.
    for item in areas:
        if item["active"] and any(
            other is not item and other["active"] and other["url"].startswith(item["url"])
            for other in areas
        ):
            item["active"] = False
    return {
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "nav_areas": areas,
        "nav_settings": [entry(a) for a in SETTINGS_AREAS if a.needs is None or user.can(a.needs)],
    }
