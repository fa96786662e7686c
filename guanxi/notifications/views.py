"""HTML pages: the bell, the notifications page, preferences and robots.

Thin views: fetch through the access helpers, parse a form, call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import form_submit
from guanxi.core.exceptions import ApplicationError
from guanxi.core.pagination import InvalidCursorError
from guanxi.notifications import services
from guanxi.notifications.forms import PreferencesForm, RobotForm
from guanxi.notifications.models import Delivery
from guanxi.notifications.permissions import (
    notification_get_for_user,
    robot_can_write,
    robot_departments_managed,
    robot_get_for_user,
)
from guanxi.notifications.selectors import (
    notification_page,
    notification_preferences,
    notification_unread_count,
    robot_list,
)

PAGE_SIZE = 50
CHANGED = "notifications-changed"  # HX-Trigger event: the bell refreshes its count


# --- bell and list ----------------------------------------------------------------------------


@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The bell's fragment with the unread count (polled by HTMX; the bell is a plain link).

    Signed out (a session that expired while the page was open): 204, which HTMX leaves alone,
    rather than the login page's redirect, whose page HTMX would put where the bell was."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    response = TemplateResponse(
        request,
        "notifications/partials/bell.html",
        {"unread_count": notification_unread_count(actor=request.user)},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
@vary_on_headers("HX-Request")
def notification_index(request: HttpRequest) -> HttpResponse:
    actor = request.user
    show = "all" if request.GET.get("show") == "all" else "unread"
    cursor = request.GET.get("cursor") or None
    cursor_error = None
    try:
        page = notification_page(
            actor=actor, unread=show == "unread", cursor=cursor, limit=PAGE_SIZE
        )
    except InvalidCursorError as error:
        page = notification_page(actor=actor, unread=show == "unread", limit=PAGE_SIZE)
        cursor_error = error.message
    template = "notifications/notification_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "show": show,
            "cursor": cursor,
            "cursor_error": cursor_error,
            "unread_count": notification_unread_count(actor=actor),
        },
    )


def _back_to_list(request: HttpRequest) -> HttpResponse:
    url = reverse("notifications:notification-list")
    return redirect(url + ("?show=all" if request.POST.get("show") == "all" else ""))


@login_required
@require_POST
def notification_mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = notification_get_for_user(request.user, notification_id)
    services.notification_mark_read(actor=request.user, notification=notification)
    if request.htmx:
        notification.recipient = request.user
        response = TemplateResponse(
            request,
            "notifications/notification_list.html#row",
            {"notification": notification, "show": request.POST.get("show", "unread")},
        )
        response["HX-Trigger"] = CHANGED
        return response
    return _back_to_list(request)


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark read and go to the notification's target (a site-relative link only)."""
    notification = notification_get_for_user(request.user, notification_id)
    services.notification_mark_read(actor=request.user, notification=notification)
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return _back_to_list(request)
    return redirect(target)


@login_required
@require_POST
def notifications_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return _back_to_list(request)


# --- preferences ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences_edit(request: HttpRequest) -> HttpResponse:
    actor = request.user
    rows = notification_preferences(user=actor)
    form = PreferencesForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():

        def save() -> None:
            for kind, channels in form.changes():
                services.notification_preference_set(actor=actor, user=actor, kind=kind, **channels)

        saved, _conflict = form_submit(form, save)
        if saved:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("notifications:preference-edit")
    return TemplateResponse(
        request,
        "notifications/preference_form.html",
        {"form": form, "robots_count": robot_list(actor=actor).filter(user=actor).count()},
        status=400 if form.errors else 200,
    )


# --- robots -----------------------------------------------------------------------------------


@login_required
@require_GET
def robot_index(request: HttpRequest) -> HttpResponse:
    actor = request.user
    robots = list(robot_list(actor=actor))
    for robot in robots:
        robot.can_write = robot_can_write(actor, robot)
    return TemplateResponse(
        request,
        "notifications/robot_list.html",
        {"robots": robots, "can_create_department": robot_departments_managed(actor).exists()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def robot_create(request: HttpRequest) -> HttpResponse:
    actor = request.user
    departments = list(robot_departments_managed(actor).order_by("path"))
    form = RobotForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        department_id = form.department_id()
        department = next((d for d in departments if d.pk == department_id), None)
        created: dict[str, Any] = {}

        def create() -> None:
            created["robot"] = services.robot_create(
                actor=actor,
                name=data["name"],
                provider=data["provider"],
                url=data["url"],
                secret=data["secret"],
                user=actor if department is None else None,
                department=department,
                kinds=data.get("kinds") or [],
                is_active=data["is_active"],
            )

        saved, _conflict = form_submit(form, create)
        if saved:
            messages.success(request, _("The robot is saved. Send a test message to check it."))
            return redirect("notifications:robot-edit", created["robot"].pk)
    return TemplateResponse(
        request,
        "notifications/robot_form.html",
        {"form": form, "robot": None},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def robot_edit(request: HttpRequest, robot_id: int) -> HttpResponse:
    actor = request.user
    robot = robot_get_for_user(actor, robot_id, write=request.method == "POST")
    can_write = robot_can_write(actor, robot)
    conflict = None
    if request.method == "POST":
        form = RobotForm(request.POST, robot=robot)
        if form.is_valid():
            data = form.cleaned_data
            saved, conflict = form_submit(
                form,
                lambda: services.robot_update(
                    actor=actor,
                    robot=robot,
                    data={name: data[name] for name in data if name != "version"},
                    expected_version=data.get("version") or robot.version,
                ),
            )
            if saved:
                messages.success(request, _("The robot is saved."))
                return redirect("notifications:robot-edit", robot.pk)
    else:
        form = RobotForm(
            initial={
                "name": robot.name,
                "kinds": robot.kinds,
                "is_active": robot.is_active,
                "version": robot.version,
            },
            robot=robot,
        )
    deliveries = (
        list(Delivery.objects.filter(robot=robot).select_related("notification")[:20])
        if can_write
        else []
    )
    return TemplateResponse(
        request,
        "notifications/robot_form.html",
        {
            "form": form,
            "robot": robot,
            "can_write": can_write,
            "conflict": conflict,
            "deliveries": deliveries,
        },
        status=(409 if conflict else 400) if form.errors else 200,
    )


@login_required
@require_POST
def robot_delete(request: HttpRequest, robot_id: int) -> HttpResponse:
    robot = robot_get_for_user(request.user, robot_id, write=True)
    services.robot_delete(actor=request.user, robot=robot)
    messages.success(request, _("The robot is deleted."))
    return redirect("notifications:robot-list")


@login_required
@require_POST
def robot_test(request: HttpRequest, robot_id: int) -> HttpResponse:
    robot = robot_get_for_user(request.user, robot_id, write=True)
    try:
        services.robot_test_send(actor=request.user, robot=robot)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The robot accepted the test message."))
    return redirect("notifications:robot-edit", robot.pk)
