from __future__ import annotations

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.forms import form_submit
from guanxi.accounts.models import User
from guanxi.core import services
from guanxi.core.audit_display import audit_change_rows
from guanxi.core.china.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    DayKind,
    chinese_calendar_version,
    chinese_calendar_years,
)
from guanxi.core.exceptions import ApplicationError
from guanxi.core.forms import CalendarDayForm, CalendarSeedForm, CalendarYearForm
from guanxi.core.models import AuditEntry
from guanxi.core.navigation import AREAS, area_by_slug
from guanxi.core.pagination import InvalidCursorError, keyset_paginate
from guanxi.core.permissions import (
    audit_require_access,
    calendar_can_edit,
    calendar_day_get_for_user,
    calendar_require_edit,
    recycle_item_get_for_user,
    saved_view_get_for_user,
)
from guanxi.core.saved_views import saved_view_list_get
from guanxi.core.selectors import (
    audit_list,
    calendar_day_list,
    calendar_month_grid,
    calendar_year_get,
    calendar_year_list,
    calendar_years_missing,
    recycle_bin_list,
)
from guanxi.core.services import object_restore


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request,
        "core/home.html",
        {
            "areas": [a for a in AREAS if a.slug != "home"],
            "recycle_count": len(recycle_bin_list(actor=request.user, limit=100)),
            # Only administrators can enter a year, so only they are told it is missing here.
            "calendar_missing": (
                calendar_years_missing() if calendar_can_edit(request.user) else []
            ),
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


# --- calendar ------------------------------------------------------------------------------------
# The holiday table's administrator pages: the years, one year as a month grid and a list, and a
# day's edit form. Everything here is for administrators only (403 for anyone else).


def _calendar_year_or_404(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404()
    return year


@login_required
@require_GET
def calendar_index(request: HttpRequest) -> HttpResponse:
    calendar_require_edit(request.user)
    chosen = request.GET.get("open", "").strip()
    if chosen.isdigit() and FIRST_YEAR <= int(chosen) <= LAST_YEAR:
        return redirect("core:calendar-year", year=int(chosen))
    today = timezone.localdate()
    return TemplateResponse(
        request,
        "core/calendar_index.html",
        {
            "years": calendar_year_list(today=today),
            "missing": calendar_years_missing(today=today),
            "seed_form": CalendarSeedForm(years=chinese_calendar_years()),
            "package_years": chinese_calendar_years(),
            "package_version": chinese_calendar_version(),
            "today": today,
        },
    )


def _calendar_year_page(
    request: HttpRequest,
    year: int,
    *,
    form: CalendarDayForm | None = None,
    year_form: CalendarYearForm | None = None,
    status: int = 200,
) -> HttpResponse:
    chosen = request.GET.get("date", "")
    if form is None:
        initial: dict[str, object] = {"kind": DayKind.HOLIDAY}
        with contextlib.suppress(ValidationError):  # no date or a bad one: an empty form
            initial["date"] = services.calendar_date_parse(chosen)
        form = CalendarDayForm(initial=initial)
    if request.htmx and request.method == "GET":
        # A click on a date of the grid: just the add form, filled in with that date.
        return TemplateResponse(
            request, "core/calendar_year.html#day-form", {"form": form, "year": year}
        )
    status_row = calendar_year_get(year=year)
    if year_form is None:
        year_form = CalendarYearForm(
            initial={
                "complete": status_row.complete,
                "note": status_row.row.note if status_row.row else "",
            }
        )
    days = list(calendar_day_list(year=year))
    return TemplateResponse(
        request,
        "core/calendar_year.html",
        {
            "year": year,
            "status": status_row,
            "days": days,
            "months": calendar_month_grid(year=year, days=days),
            "weekdays": [WEEKDAYS_ABBR[number] for number in range(7)],
            "form": form,
            "year_form": year_form,
            "missing": calendar_years_missing(),
            "in_package": year in chinese_calendar_years(),
            "previous_year": year - 1 if year > FIRST_YEAR else None,
            "next_year": year + 1 if year < LAST_YEAR else None,
        },
        status=status,
    )


@login_required
def calendar_year(request: HttpRequest, year: int) -> HttpResponse:
    """One year: the month grid, the list of its days, the form to add one (POST) and the
    year's completeness."""
    calendar_require_edit(request.user)
    _calendar_year_or_404(year)
    if request.method != "POST":
        return _calendar_year_page(request, year)
    form = CalendarDayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        saved, _conflict = form_submit(
            form,
            lambda: services.calendar_day_create(
                actor=request.user,
                date=data["date"],
                kind=data["kind"],
                holiday=data["holiday"],
                note=data["note"],
            ),
        )
        if saved:
            messages.success(request, _("%(date)s was added.") % {"date": data["date"]})
            return redirect("core:calendar-year", year=data["date"].year)
    return _calendar_year_page(request, year, form=form, status=400)


@login_required
@require_POST
def calendar_year_update(request: HttpRequest, year: int) -> HttpResponse:
    calendar_require_edit(request.user)
    _calendar_year_or_404(year)
    form = CalendarYearForm(request.POST)
    if form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.calendar_year_update(
                actor=request.user,
                year=year,
                complete=form.cleaned_data["complete"],
                note=form.cleaned_data["note"],
            ),
        )
        if saved:
            messages.success(
                request,
                _("%(year)s is marked complete.") % {"year": year}
                if form.cleaned_data["complete"]
                else _("%(year)s is marked not complete.") % {"year": year},
            )
            return redirect("core:calendar-year", year=year)
    return _calendar_year_page(request, year, year_form=form, status=400)


@login_required
def calendar_day_edit(request: HttpRequest, day: str) -> HttpResponse:
    row = calendar_day_get_for_user(request.user, day, write=True)
    form = CalendarDayForm(
        request.POST or None,
        initial={"date": row.date, "kind": row.kind, "holiday": row.holiday, "note": row.note},
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in ("kind", "holiday", "note")}
        saved, _conflict = form_submit(
            form, lambda: services.calendar_day_update(actor=request.user, day=row, data=data)
        )
        if saved:
            messages.success(request, _("%(date)s was saved.") % {"date": row.date})
            return redirect("core:calendar-year", year=row.date.year)
    template = (
        "core/calendar_day_form.html#day-edit"
        if request.htmx and request.method == "GET"
        else "core/calendar_day_form.html"
    )
    return TemplateResponse(
        request, template, {"form": form, "day": row}, status=400 if form.errors else 200
    )


@login_required
@require_POST
def calendar_day_delete(request: HttpRequest, day: str) -> HttpResponse:
    row = calendar_day_get_for_user(request.user, day, write=True)
    services.calendar_day_delete(actor=request.user, day=row)
    messages.success(
        request, _("%(date)s is an ordinary day again.") % {"date": row.date.isoformat()}
    )
    return redirect("core:calendar-year", year=row.date.year)


@login_required
@require_POST
def calendar_seed(request: HttpRequest) -> HttpResponse:
    """Re-seed one year or every year the chinese-calendar package covers."""
    calendar_require_edit(request.user)
    form = CalendarSeedForm(request.POST, years=chinese_calendar_years())
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for e in form.errors.values() for m in e))
        return redirect("core:calendar-index")
    year = form.cleaned_data["year"]
    try:
        result = services.calendar_seed(
            actor=request.user,
            years=[year] if year else None,
            overwrite_edited=form.cleaned_data["overwrite_edited"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("core:calendar-index")
    messages.success(
        request,
        _(
            "Seeded from chinese-calendar: %(created)s days added, %(updated)s changed, "
            "%(removed)s removed, %(kept)s kept as an administrator edited them."
        )
        % {
            "created": result.created,
            "updated": result.updated,
            "removed": result.removed,
            "kept": result.kept,
        },
    )
    if year:
        return redirect("core:calendar-year", year=year)
    return redirect("core:calendar-index")
