from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.models import User
from guanxi.core import services
from guanxi.core.audit_display import audit_change_rows
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from guanxi.core.navigation import AREAS, area_by_slug
from guanxi.core.pagination import InvalidCursorError, keyset_paginate
from guanxi.core.permissions import (
    audit_require_access,
    recycle_item_get_for_user,
    saved_view_get_for_user,
)
from guanxi.core.saved_views import saved_view_list_get
from guanxi.core.selectors import audit_list, recycle_bin_list
from guanxi.core.services import object_restore


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request,
        "core/home.html",
        {
            "areas": [a for a in AREAS if a.slug != "home"],
            "recycle_count": len(recycle_bin_list(actor=request.user, limit=100)),
        },
    )


@login_required
def area(request: HttpRequest, slug: str) -> HttpResponse:
    found = area_by_slug(slug)
    if found is None or found.built:
        raise Http404()
    return TemplateResponse(request, "core/area_placeholder.html", {"area": found})


@login_required
def recycle_list(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request, "core/recycle_list.html", {"items": recycle_bin_list(actor=request.user)}
    )


@login_required
@require_POST
def recycle_restore(request: HttpRequest, object_type: str, object_id: int) -> HttpResponse:
    instance = recycle_item_get_for_user(request.user, object_type, object_id)
    try:
        object_restore(instance=instance, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Restored: %(label)s") % {"label": instance.recycle_label()})
    return redirect("core:recycle-list")


@login_required
@require_GET
def audit_index(request: HttpRequest) -> HttpResponse:
    audit_require_access(request.user)
    filters = {
        "object_type": request.GET.get("object_type", "").strip(),
        "object_id": request.GET.get("object_id", "").strip(),
        "action": request.GET.get("action", "").strip(),
    }
    actor_id = request.GET.get("actor", "").strip()
    entries = audit_list(
        actor=request.user, actor_id=int(actor_id) if actor_id.isdigit() else None, **filters
    ).select_related("actor")
    error = None
    try:
        page = keyset_paginate(
            entries, ordering=("-occurred_at", "-id"), cursor=request.GET.get("cursor"), limit=50
        )
    except InvalidCursorError as exc:
        page = keyset_paginate(entries, ordering=("-occurred_at", "-id"), limit=50)
        error = exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    template = "core/audit_list.html#rows" if request.htmx else "core/audit_list.html"
    rows = audit_change_rows(page.items, viewer=request.user)
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "entries": [(entry, rows[entry.pk]) for entry in page.items],
            "filters": filters,
            "actor_filter": actor_id,
            "actions": AuditEntry.Action.choices,
            "next_query": query.urlencode() if page.next_cursor else "",
            "cursor_error": error,
            "actors": User.objects.order_by("username").only("id", "username", "full_name"),
        },
    )


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability for load balancers; reveals nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)


def _list_url(list_name: str, query: str = "") -> str:
    url = reverse(saved_view_list_get(list_name).url_name)
    return f"{url}?{query}" if query else url


@login_required
@require_POST
def saved_view_create(request: HttpRequest, list_name: str) -> HttpResponse:
    """Save the list's current filters under a name; back to the list showing that view."""
    try:
        saved_view_list_get(list_name)
    except ValidationError as error:
        raise Http404() from error
    query = request.POST.get("query", "")
    try:
        view = services.saved_view_create(
            actor=request.user,
            list_name=list_name,
            name=request.POST.get("name", ""),
            query=query,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_list_url(list_name, query))
    messages.success(request, _("View saved: %(name)s") % {"name": view.name})
    return redirect(_list_url(list_name, view.query))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved_view_get_for_user(request.user, view_id)
    services.saved_view_delete(actor=request.user, view=view)
    messages.success(request, _("View deleted: %(name)s") % {"name": view.name})
    return redirect(_list_url(view.list_name))
