"""HTML pages of relationship maintenance: 今日待办 and the task list, one task and its actions,
logging an interaction, the interaction log, the communication plan, compliance, the care
calendar, the maintenance policies and the calendar feed.

Thin views: fetch through engagement.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors, form_submit
from guanxi.accounts.models import User
from guanxi.accounts.roles import Capability
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.exceptions import ApplicationError
from guanxi.core.pagination import InvalidCursorError
from guanxi.core.selectors import calendar_years_missing
from guanxi.customers.permissions import customer_get_for_user
from guanxi.engagement import services
from guanxi.engagement.feed import feed_calendar
from guanxi.engagement.forms import (
    TASK_VIEW_LABELS,
    AttachmentForm,
    CareForm,
    CompleteForm,
    ComplianceForm,
    InteractionEditForm,
    InteractionFilterForm,
    InteractionForm,
    PlanForm,
    PolicyForm,
    ReassignForm,
    RuleForm,
    SettingsForm,
    SnoozeForm,
    TaskFilterForm,
)
from guanxi.engagement.models import CalendarFeedToken, FollowUpTask
from guanxi.engagement.permissions import (
    attachment_get_for_user,
    followup_can_reassign,
    followup_can_work,
    followup_get_for_user,
    interaction_can_write,
    interaction_get_for_user,
    interaction_require_log,
    plan_require_edit,
    policy_can_edit,
    policy_get_for_user,
    policy_require_edit,
    rule_get_for_user,
    user_require_active,
)
from guanxi.engagement.selectors import (
    care_calendar,
    compliance_report,
    followup_counts,
    followup_page,
    interaction_detail,
    interaction_page,
    plan_for_customer,
    policy_list,
    settings_get,
)

PAGE_SIZE = 50


def _page(request: HttpRequest, load: Any) -> tuple[Any, str | None]:
    """``load(cursor)``, falling back to the first page (with the reason) for a bad cursor."""
    cursor = request.GET.get("cursor") or None
    try:
        return load(cursor), None
    except InvalidCursorError as error:
        return load(None), str(error.message)


def _next_query(request: HttpRequest, cursor: str | None) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    if cursor:
        query["cursor"] = cursor
        return query.urlencode()
    return ""


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _assignee_choices(actor: Any) -> Any:
    """Colleagues whose tasks ``actor`` may filter by (managers: their scope)."""
    if not actor.can(Capability.VIEW_TEAM):
        return []
    return user_visible_queryset(actor=actor).filter(is_active=True).order_by("full_name", "pk")


# --- tasks --------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def task_index(request: HttpRequest) -> HttpResponse:
    """今日待办 and the task lists: today (overdue and due today), upcoming, all open, escalated,
    done; the user's own by default, a colleague's or everyone's in scope for managers."""
    today = timezone.localdate()
    form = TaskFilterForm(request.GET or None, assignees=_assignee_choices(request.user))
    filters = form.filters(request.user)
    page, cursor_error = _page(
        request,
        lambda cursor: followup_page(
            actor=request.user, cursor=cursor, limit=PAGE_SIZE, today=today, **filters
        ),
    )
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "today": today,
        "views": list(TASK_VIEW_LABELS.items()),
        "counts": followup_counts(actor=request.user, assignee=filters["assignee"], today=today),
        "next_query": _next_query(request, page.next_cursor),
        "cursor_error": cursor_error,
        "base_query": _query_without(request, ("view", "cursor")),
    }
    template = "engagement/task_list.html"
    if request.htmx:
        template += "#task-results"
    return TemplateResponse(request, template, context)


def _query_without(request: HttpRequest, names: tuple[str, ...]) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _task_context(request: HttpRequest, task: FollowUpTask, **forms: Any) -> dict[str, Any]:
    can_reassign = followup_can_reassign(request.user, task)
    users = []
    if can_reassign:
        users = list(
            user_visible_queryset(actor=request.user)
            .filter(is_active=True)
            .exclude(pk=task.assignee_id)
            .order_by("full_name", "pk")
        )
    return {
        "task": task,
        "today": timezone.localdate(),
        "can_work": task.is_open and followup_can_work(request.user, task),
        "can_reassign": task.is_open and can_reassign,
        "complete_form": forms.get("complete_form") or CompleteForm(),
        "snooze_form": forms.get("snooze_form") or SnoozeForm(),
        "reassign_form": forms.get("reassign_form") or ReassignForm(users=users),
        "reassign_users": users,
    }


@login_required
@require_GET
def task_show(request: HttpRequest, task_id: int) -> HttpResponse:
    task = followup_get_for_user(request.user, task_id)
    return TemplateResponse(request, "engagement/task_detail.html", _task_context(request, task))


@login_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = followup_get_for_user(request.user, task_id, write=True)
    form = CompleteForm(request.POST)
    if form.is_valid():
        done, _conflict = form_submit(
            form,
            lambda: services.followup_complete(
                actor=request.user, task=task, note=form.cleaned_data["note"]
            ),
        )
        if done:
            task.refresh_from_db()
            if request.htmx:
                return TemplateResponse(
                    request,
                    "engagement/task_list.html#task-row",
                    {"task": task, "today": timezone.localdate(), "just_done": True},
                )
            messages.success(request, _("Done: %(title)s") % {"title": task.display_title})
            return redirect(_safe_next(request, reverse("engagement:today")))
    task.refresh_from_db()
    return TemplateResponse(
        request,
        "engagement/task_detail.html",
        _task_context(request, task, complete_form=form),
        status=409 if form.non_field_errors() else 400,
    )


@login_required
def task_snooze(request: HttpRequest, task_id: int) -> HttpResponse:
    task = followup_get_for_user(request.user, task_id, write=True)
    form = SnoozeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, _conflict = form_submit(
            form,
            lambda: services.followup_snooze(
                actor=request.user,
                task=task,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
            ),
        )
        if done:
            messages.success(request, _("The task is snoozed."))
            return redirect(_safe_next(request, reverse("engagement:today")))
    status = 200 if request.method != "POST" else (409 if form.non_field_errors() else 400)
    task.refresh_from_db()
    return TemplateResponse(
        request,
        "engagement/task_detail.html",
        _task_context(request, task, snooze_form=form),
        status=status,
    )


@login_required
def task_reassign(request: HttpRequest, task_id: int) -> HttpResponse:
    task = followup_get_for_user(request.user, task_id, reassign=True)
    users = (
        user_visible_queryset(actor=request.user)
        .filter(is_active=True)
        .exclude(pk=task.assignee_id)
        .order_by("full_name", "pk")
    )
    form = ReassignForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        done, _conflict = form_submit(
            form,
            lambda: services.followup_reassign(
                actor=request.user, task=task, to_user=form.cleaned_data["assignee"]
            ),
        )
        if done:
            messages.success(request, _("The task is reassigned."))
            return redirect("engagement:task-detail", task.pk)
    status = 200 if request.method != "POST" else (409 if form.non_field_errors() else 400)
    task.refresh_from_db()
    return TemplateResponse(
        request,
        "engagement/task_detail.html",
        _task_context(request, task, reassign_form=form),
        status=status,
    )


# --- interactions -------------------------------------------------------------------------------


def _participant_choices() -> Any:
    # The organisation chart is not confidential inside the company (accounts.department_list):
    # any active colleague may have been at the meeting.
    return User.objects.filter(is_active=True).order_by("full_name", "username")


@login_required
def interaction_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Log a contact with a customer; ``?task=`` opens it from a follow-up task, which it then
    completes."""
    customer = customer_get_for_user(request.user, customer_id)
    interaction_require_log(request.user, customer)
    task = None
    task_id = request.POST.get("task") or request.GET.get("task")
    if task_id:
        found = followup_get_for_user(request.user, task_id)
        if found.customer_id == customer.pk and found.is_open:
            task = found
    initial: dict[str, Any] = {"task": task.pk if task else None}
    if task is not None:
        initial["kind"] = task.kind if task.source != FollowUpTask.Source.NEXT_ACTION else ""
        if task.channels:
            initial["channel"] = task.channels[0]
        if task.contact_id:
            initial["contacts"] = [task.contact_id]
    form = InteractionForm(
        request.POST or None,
        request.FILES or None,
        customer=customer,
        participants=_participant_choices(),
        initial=initial,
    )
    over_contact = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                interaction = services.interaction_create(
                    actor=request.user, customer=customer, complete_task=task, **form.service_data()
                )
            except ValidationError as error:
                apply_errors(form, error, {"task": "__all__"})
            except services.OverContactError as error:
                over_contact = error.extra.get("limits", [])
                form.add_error(None, str(error.message))
                status = 409
            except ApplicationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("The interaction is logged."))
                if interaction.next_action_date:
                    messages.info(
                        request,
                        _("Next action on %(date)s is on your task list.")
                        % {
                            "date": formats.date_format(
                                interaction.next_action_date, "SHORT_DATE_FORMAT"
                            )
                        },
                    )
                return redirect(_safe_next(request, customer_url(customer.pk)))
    return TemplateResponse(
        request,
        "engagement/interaction_form.html",
        {
            "form": form,
            "customer": customer,
            "task": task,
            "over_contact": over_contact,
            "plan": plan_for_customer(customer=customer),
        },
        status=status,
    )


def customer_url(customer_id: int) -> str:
    return reverse("customers:customer-detail", args=[customer_id])


@login_required
@require_GET
@vary_on_headers("HX-Request")
def interaction_index(request: HttpRequest) -> HttpResponse:
    form = InteractionFilterForm(request.GET or None)
    filters = form.filters()
    page, cursor_error = _page(
        request,
        lambda cursor: interaction_page(
            actor=request.user, cursor=cursor, limit=PAGE_SIZE, **filters
        ),
    )
    template = "engagement/interaction_list.html"
    if request.htmx:
        template += "#interaction-results"
    return TemplateResponse(
        request,
        template,
        {
            "form": form,
            "page": page,
            "next_query": _next_query(request, page.next_cursor),
            "cursor_error": cursor_error,
        },
    )


def _interaction_context(
    request: HttpRequest, interaction: Any, attachment_form: Any = None
) -> dict[str, Any]:
    return {
        "interaction": interaction_detail(interaction=interaction),
        "can_write": interaction_can_write(request.user, interaction),
        "attachment_form": attachment_form or AttachmentForm(),
    }


@login_required
@require_GET
def interaction_show(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = interaction_get_for_user(request.user, interaction_id)
    return TemplateResponse(
        request, "engagement/interaction_detail.html", _interaction_context(request, interaction)
    )


@login_required
def interaction_edit(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = interaction_get_for_user(request.user, interaction_id, write=True)
    form = InteractionEditForm(
        request.POST or None,
        customer=interaction.customer,
        initial=InteractionEditForm.initial_for(interaction),
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        changed = set(form.changed_data)
        changes = {name: value for name, value in data.items() if name in changed}
        saved, conflict = form_submit(
            form,
            lambda: services.interaction_update(
                actor=request.user,
                interaction=interaction,
                data=changes,
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The interaction is saved."))
            return redirect("engagement:interaction-detail", interaction.pk)
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "engagement/interaction_edit.html",
        {"form": form, "interaction": interaction, "conflict": conflict},
        status=status,
    )


@login_required
@require_POST
def interaction_delete(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = interaction_get_for_user(request.user, interaction_id, write=True)
    try:
        services.interaction_delete(actor=request.user, interaction=interaction)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("engagement:interaction-detail", interaction.pk)
    messages.success(request, _("The interaction is in the recycle bin."))
    return redirect(customer_url(interaction.customer_id))


@login_required
@require_POST
def attachment_add(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = interaction_get_for_user(request.user, interaction_id, write=True)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.interaction_attachments_add(
                actor=request.user, interaction=interaction, files=form.cleaned_data["attachments"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The files are attached."))
            return redirect("engagement:interaction-detail", interaction.pk)
    return TemplateResponse(
        request,
        "engagement/interaction_detail.html",
        _interaction_context(request, interaction, attachment_form=form),
        status=400,
    )


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = attachment_get_for_user(request.user, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        messages.error(request, _("The file is missing from storage."))
        return redirect("engagement:interaction-detail", attachment.interaction_id)
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    # Sent only to whoever may read the customer: no shared cache may keep it.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def attachment_delete(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = attachment_get_for_user(request.user, attachment_id, write=True)
    services.interaction_attachment_delete(actor=request.user, attachment=attachment)
    messages.success(request, _("The attachment is deleted."))
    return redirect("engagement:interaction-detail", attachment.interaction_id)


# --- communication plan -------------------------------------------------------------------------


@login_required
def plan_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get_for_user(request.user, customer_id, write=True)
    plan_require_edit(request.user, customer)
    plan = plan_for_customer(customer=customer)
    form = PlanForm(
        request.POST or None, initial=PlanForm.initial_for(plan), editing=plan is not None
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.communication_plan_save(
                actor=request.user,
                customer=customer,
                data=form.service_data(),
                expected_version=form.cleaned_data.get("version"),
            ),
        )
        if saved:
            messages.success(request, _("The communication plan is saved."))
            return redirect(customer_url(customer.pk))
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "engagement/plan_form.html",
        {"form": form, "customer": customer, "plan": plan, "conflict": conflict},
        status=status,
    )


# --- compliance and the care calendar -----------------------------------------------------------


@login_required
@require_GET
def compliance_show(request: HttpRequest) -> HttpResponse:
    """Follow-up compliance per person and team in the user's scope (a rep: their own)."""
    today = timezone.localdate()
    form = ComplianceForm(request.GET or None)
    date_from, date_to = form.period(today)
    report = compliance_report(
        actor=request.user, date_from=date_from, date_to=date_to, today=today
    )
    return TemplateResponse(
        request,
        "engagement/compliance.html",
        {"form": form, "report": report, "date_from": date_from, "date_to": date_to},
    )


@login_required
@require_GET
def care_show(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = CareForm(request.GET or None)
    days = (form.cleaned_data.get("days") if form.is_valid() else None) or 30
    end = today + dt.timedelta(days=days - 1)
    return TemplateResponse(
        request,
        "engagement/care_calendar.html",
        {
            "form": form,
            "days": days,
            "start": today,
            "end": end,
            "items": care_calendar(actor=request.user, start=today, end=end),
            "missing_years": calendar_years_missing(today=today),
            "settings": settings_get(),
        },
    )


# --- policies and settings ----------------------------------------------------------------------


@login_required
@require_GET
def policy_index(request: HttpRequest) -> HttpResponse:
    """Every signed-in user reads the policies (so everyone knows the rules); administrators
    change them."""
    user_require_active(request.user)
    return TemplateResponse(
        request,
        "engagement/policy_list.html",
        {
            "policies": policy_list(),
            "settings": settings_get(),
            "can_edit": policy_can_edit(request.user),
        },
    )


def _policy_form_response(
    request: HttpRequest, form: PolicyForm, policy: Any, conflict: Any = None
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "engagement/policy_form.html",
        {"form": form, "policy": policy, "conflict": conflict},
        status=status,
    )


@login_required
def policy_create(request: HttpRequest) -> HttpResponse:
    policy_require_edit(request.user)
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        created: list[Any] = []
        saved, _conflict = form_submit(
            form,
            lambda: created.append(
                services.policy_create(actor=request.user, **form.service_data())
            ),
        )
        if saved:
            messages.success(request, _("The policy is created. Add its rules."))
            return redirect("engagement:policy-edit", created[0].pk)
    return _policy_form_response(request, form, None)


@login_required
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = policy_get_for_user(request.user, policy_id, write=True)
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy), editing=True)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        saved, conflict = form_submit(
            form,
            lambda: services.policy_update(
                actor=request.user,
                policy=policy,
                data=data,
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The policy is saved."))
            return redirect("engagement:policy-list")
    return _policy_form_response(request, form, policy, conflict)


@login_required
@require_POST
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = policy_get_for_user(request.user, policy_id, write=True)
    try:
        services.policy_delete(actor=request.user, policy=policy)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The policy is in the recycle bin."))
    return redirect("engagement:policy-list")


def _rule_form_response(
    request: HttpRequest, form: RuleForm, policy: Any, rule: Any, conflict: Any = None
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "engagement/rule_form.html",
        {"form": form, "policy": policy, "rule": rule, "conflict": conflict},
        status=status,
    )


@login_required
def rule_create(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = policy_get_for_user(request.user, policy_id, write=True)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.rule_create(actor=request.user, policy=policy, **form.service_data()),
        )
        if saved:
            messages.success(request, _("The rule is added."))
            return redirect("engagement:policy-list")
    return _rule_form_response(request, form, policy, None)


@login_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get_for_user(request.user, rule_id, write=True)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule), editing=True)
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.rule_update(
                actor=request.user,
                rule=rule,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The rule is saved."))
            return redirect("engagement:policy-list")
    return _rule_form_response(request, form, rule.policy, rule, conflict)


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = rule_get_for_user(request.user, rule_id, write=True)
    try:
        services.rule_delete(actor=request.user, rule=rule)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The rule is in the recycle bin."))
    return redirect("engagement:policy-list")


@login_required
def settings_edit(request: HttpRequest) -> HttpResponse:
    policy_require_edit(request.user)
    current = settings_get()
    form = SettingsForm(
        request.POST or None,
        initial={
            "version": current.version,
            "escalate_after_days": current.escalate_after_days,
            "care_lead_days": current.care_lead_days,
            "festivals": list(current.festivals or []),
        },
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.settings_update(
                actor=request.user,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The follow-up settings are saved."))
            return redirect("engagement:policy-list")
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "engagement/settings_form.html",
        {"form": form, "conflict": conflict},
        status=status,
    )


@login_required
@require_POST
def generate_now(request: HttpRequest) -> HttpResponse:
    """Administrators: run the engine now instead of waiting for the night's job."""
    policy_require_edit(request.user)
    result = services.followups_generate()
    messages.success(
        request,
        _("Follow-up tasks made: %(policy)s by policies, %(plan)s by plans, %(care)s greetings.")
        % {"policy": result.policy, "plan": result.plan, "care": result.care},
    )
    return redirect("engagement:policy-list")


# --- calendar feed ------------------------------------------------------------------------------


def _feed_context(request: HttpRequest, raw: str | None = None) -> dict[str, Any]:
    token = CalendarFeedToken.objects.filter(user=request.user).first()
    return {
        "token": token,
        "feed_url": (
            request.build_absolute_uri(reverse("engagement:feed-ics", args=[raw])) if raw else ""
        ),
    }


@login_required
@require_GET
def feed_show(request: HttpRequest) -> HttpResponse:
    user_require_active(request.user)
    return TemplateResponse(request, "engagement/feed.html", _feed_context(request))


@login_required
@require_POST
@never_cache
def feed_rotate(request: HttpRequest) -> HttpResponse:
    raw = services.calendar_feed_rotate(actor=request.user)
    return TemplateResponse(request, "engagement/feed.html", _feed_context(request, raw))


@login_required
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    services.calendar_feed_revoke(actor=request.user)
    messages.success(request, _("The calendar feed is switched off."))
    return redirect("engagement:feed")


@require_GET
@never_cache
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed of a user's open follow-ups, opened by its secret (calendar apps
    cannot sign in). An unknown, rotated or revoked secret is a plain 404."""
    user = services.calendar_feed_open(token=token)
    if user is None:
        return HttpResponse(status=404, content_type="text/plain; charset=utf-8")
    body = feed_calendar(user=user, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="guanxi-followups.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
