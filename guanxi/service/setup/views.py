"""HTML pages of the service desk's set-up (administrators): one page with a tab each for the
ticket categories, the service teams, the routing rules (with the "which rule would apply"
tester and the button that sets up the usual teams and rules) and the SLA policies, and a form
to add or edit each.

Thin views: check access through service.setup.permissions (403 for everyone but
administrators), parse a form, call one service or selector, render. The tabs are links; with
HTMX a tab swaps in without reloading the page (``setup.html#setup-tab``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import form_submit
from guanxi.core.exceptions import ApplicationError
from guanxi.core.selectors import calendar_years_missing
from guanxi.service.models import TicketCategory
from guanxi.service.setup import selectors, services
from guanxi.service.setup.forms import (
    CategoryForm,
    RoutingRuleForm,
    RoutingTesterForm,
    SlaPolicyForm,
    TeamForm,
)
from guanxi.service.setup.permissions import (
    category_get_for_user,
    routing_rule_get_for_user,
    service_team_get_for_user,
    setup_require_view,
    sla_policy_get_for_user,
)

TEMPLATE = "service/setup/setup.html"


def _tab_context(request: HttpRequest, tab: str) -> dict[str, Any]:
    context: dict[str, Any] = {"tab": tab, "counts": selectors.setup_counts()}
    if tab == "categories":
        context["categories"] = selectors.category_list()
    elif tab == "teams":
        context["teams"] = selectors.team_list()
    elif tab == "routing":
        context["rules"] = selectors.routing_rule_list()
        context["tester"] = RoutingTesterForm(actor=request.user)
    else:
        context["policies"] = selectors.sla_policy_list()
        context["calendar_missing"] = calendar_years_missing()
    return context


def _tab(request: HttpRequest, tab: str, **extra: Any) -> HttpResponse:
    setup_require_view(request.user)
    context = {**_tab_context(request, tab), **extra}
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#setup-tab"
    return TemplateResponse(request, template, context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def setup_index(request: HttpRequest) -> HttpResponse:
    return _tab(request, "categories")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def category_index(request: HttpRequest) -> HttpResponse:
    return _tab(request, "categories")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def team_index(request: HttpRequest) -> HttpResponse:
    return _tab(request, "teams")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def routing_rule_index(request: HttpRequest) -> HttpResponse:
    return _tab(request, "routing")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def sla_policy_index(request: HttpRequest) -> HttpResponse:
    return _tab(request, "sla")


def _form_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    conflict: Any = None,
) -> HttpResponse:
    form = context["form"]
    status = 200
    refreshing = "refresh_regions" in request.POST
    if request.method == "POST" and not refreshing:
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        template,
        {**context, "conflict": conflict, "refreshing": refreshing, "form": form},
        status=status,
    )


def _deleted(request: HttpRequest, call: Any, done: str) -> None:
    try:
        call()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, done)


# --- categories ---------------------------------------------------------------------------------


@login_required
def category_create(request: HttpRequest) -> HttpResponse:
    setup_require_view(request.user)
    form = CategoryForm(request.POST or None, initial=CategoryForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.ticket_category_create(actor=request.user, **form.service_data()),
        )
        if saved:
            messages.success(request, _("The category is added."))
            return redirect("service:category-list")
    return _form_page(request, "service/setup/category_form.html", {"form": form, "category": None})


@login_required
def category_edit(request: HttpRequest, category_id: int) -> HttpResponse:
    category = category_get_for_user(request.user, category_id, write=True)
    form = CategoryForm(
        request.POST or None, initial=CategoryForm.initial_for(category), editing=True
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.ticket_category_update(
                actor=request.user,
                category=category,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The category is saved."))
            return redirect("service:category-list")
    return _form_page(
        request,
        "service/setup/category_form.html",
        {"form": form, "category": category},
        conflict,
    )


@login_required
@require_POST
def category_delete(request: HttpRequest, category_id: int) -> HttpResponse:
    category = category_get_for_user(request.user, category_id, write=True)
    _deleted(
        request,
        lambda: services.ticket_category_delete(actor=request.user, category=category),
        _("The category is in the recycle bin."),
    )
    return redirect("service:category-list")


# --- teams --------------------------------------------------------------------------------------


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    setup_require_view(request.user)
    form = TeamForm(request.POST or None, initial=TeamForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.service_team_create(
                actor=request.user,
                department=form.cleaned_data["department"],
                **form.service_data(),
            ),
        )
        if saved:
            messages.success(request, _("The team is added."))
            return redirect("service:team-list")
    return _form_page(request, "service/setup/team_form.html", {"form": form, "team": None})


@login_required
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_detail(service_team_get_for_user(request.user, team_id, write=True))
    form = TeamForm(request.POST or None, initial=TeamForm.initial_for(team), team=team)
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.service_team_update(
                actor=request.user,
                team=team,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The team is saved."))
            return redirect("service:team-list")
    return _form_page(
        request, "service/setup/team_form.html", {"form": form, "team": team}, conflict
    )


@login_required
@require_POST
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    team = service_team_get_for_user(request.user, team_id, write=True)
    _deleted(
        request,
        lambda: services.service_team_delete(actor=request.user, team=team),
        _("The team is in the recycle bin."),
    )
    return redirect("service:team-list")


# --- routing rules ------------------------------------------------------------------------------


def _rule_form_page(
    request: HttpRequest, form: RoutingRuleForm, rule: Any, conflict: Any = None
) -> HttpResponse:
    return _form_page(
        request, "service/setup/routing_rule_form.html", {"form": form, "rule": rule}, conflict
    )


@login_required
def routing_rule_create(request: HttpRequest) -> HttpResponse:
    setup_require_view(request.user)
    form = RoutingRuleForm(request.POST or None, initial=RoutingRuleForm.initial_for(None))
    if "refresh_regions" in request.POST:
        # The no-JavaScript cascade: the same values with the new city and district choices.
        return _rule_form_page(request, RoutingRuleForm(initial=request.POST.dict()), None)
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.routing_rule_create(actor=request.user, **form.service_data()),
        )
        if saved:
            messages.success(request, _("The routing rule is added."))
            return redirect("service:routing-rule-list")
    return _rule_form_page(request, form, None)


@login_required
def routing_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = routing_rule_get_for_user(request.user, rule_id, write=True)
    form = RoutingRuleForm(
        request.POST or None, initial=RoutingRuleForm.initial_for(rule), rule=rule
    )
    if "refresh_regions" in request.POST:
        refreshed = RoutingRuleForm(initial=request.POST.dict(), rule=rule)
        return _rule_form_page(request, refreshed, rule)
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.routing_rule_update(
                actor=request.user,
                rule=rule,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The routing rule is saved."))
            return redirect("service:routing-rule-list")
    return _rule_form_page(request, form, rule, conflict)


@login_required
@require_POST
def routing_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = routing_rule_get_for_user(request.user, rule_id, write=True)
    _deleted(
        request,
        lambda: services.routing_rule_delete(actor=request.user, rule=rule),
        _("The routing rule is in the recycle bin."),
    )
    return redirect("service:routing-rule-list")


@login_required
@require_POST
def defaults_ensure(request: HttpRequest) -> HttpResponse:
    """Set up the usual departments, teams and rules (what exists stays as it is)."""
    setup_require_view(request.user)
    counts = services.service_defaults_ensure(actor=request.user)
    messages.success(
        request,
        _(
            "Set up: %(departments)s new departments, %(teams)s new teams, %(rules)s new "
            "routing rules. Choose each team's lead on the Teams tab."
        )
        % counts,
    )
    return redirect("service:routing-rule-list")


@login_required
@require_GET
@vary_on_headers("HX-Request")
def routing_tester(request: HttpRequest) -> HttpResponse:
    """Which rule and SLA policy a ticket of this category and priority for this customer
    would get, and its deadlines if it were opened now."""
    setup_require_view(request.user)
    form = RoutingTesterForm(request.GET or None, actor=request.user)
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        customer = selectors.tester_customer(actor=request.user, customer_id=data["customer"])
        category = TicketCategory.objects.filter(pk=data["category"]).first()
        if customer is None:
            form.add_error("customer", _("Choose a customer you can see."))
        elif category is None:
            form.add_error("category", _("Choose a category from the list."))
        else:
            preview = selectors.routing_preview(
                category=category, priority=data["priority"], customer=customer
            )
    extra = {"tester": form, "preview": preview}
    if request.htmx and not request.htmx.history_restore_request:
        return TemplateResponse(request, TEMPLATE + "#tester-result", extra)
    context = {**_tab_context(request, "routing"), **extra}
    return TemplateResponse(request, TEMPLATE, context)


# --- SLA policies -------------------------------------------------------------------------------


@login_required
def sla_policy_create(request: HttpRequest) -> HttpResponse:
    setup_require_view(request.user)
    form = SlaPolicyForm(request.POST or None, initial=SlaPolicyForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.sla_policy_create(actor=request.user, **form.service_data()),
        )
        if saved:
            messages.success(request, _("The SLA policy is added."))
            return redirect("service:sla-policy-list")
    return _form_page(request, "service/setup/sla_policy_form.html", {"form": form, "policy": None})


@login_required
def sla_policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = sla_policy_get_for_user(request.user, policy_id, write=True)
    form = SlaPolicyForm(
        request.POST or None, initial=SlaPolicyForm.initial_for(policy), editing=True
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.sla_policy_update(
                actor=request.user,
                policy=policy,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The SLA policy is saved."))
            return redirect("service:sla-policy-list")
    return _form_page(
        request, "service/setup/sla_policy_form.html", {"form": form, "policy": policy}, conflict
    )


@login_required
@require_POST
def sla_policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = sla_policy_get_for_user(request.user, policy_id, write=True)
    _deleted(
        request,
        lambda: services.sla_policy_delete(actor=request.user, policy=policy),
        _("The SLA policy is in the recycle bin."),
    )
    return redirect("service:sla-policy-list")
