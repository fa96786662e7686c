"""HTML pages of quality review: the score sheets (administrators keep them), the review queue
and the draw that fills it, the review form with the item beside the sheet, the reviews (one's
own, given, disputed) with the agent's acknowledgement or dispute and its resolution, and the
figures.

Thin views: fetch through quality.permissions (404 outside the reader's view, 403 not theirs to
act on), parse a form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors, form_submit
from guanxi.core.exceptions import ApplicationError, NotFoundError
from guanxi.core.pagination import InvalidCursorError
from guanxi.engagement.permissions import interaction_get_for_user
from guanxi.service.permissions import ticket_get_for_user
from guanxi.service.quality import services
from guanxi.service.quality.errors import ReviewStateError
from guanxi.service.quality.forms import (
    AcknowledgeForm,
    CriterionForm,
    DisputeForm,
    FiguresForm,
    ResolveForm,
    ReviewFilterForm,
    ReviewForm,
    SampleForm,
    SheetForm,
)
from guanxi.service.quality.models import ItemKind, Review
from guanxi.service.quality.permissions import (
    quality_assignment_get_for_user,
    quality_can_review,
    quality_criterion_get_for_user,
    quality_require_active,
    quality_require_reviewer,
    quality_review_can_resolve,
    quality_review_can_respond,
    quality_review_get_for_user,
    quality_review_require_item,
    quality_sheet_can_edit,
    quality_sheet_get_for_user,
    quality_sheet_require_edit,
)
from guanxi.service.quality.selectors import (
    quality_assignment_page,
    quality_figures,
    quality_item_summary,
    quality_review_detail,
    quality_review_page,
    quality_sheet_criteria,
    quality_sheet_list,
    quality_sheets_for_reviewer,
)
from guanxi.service.quality.services import ScoreLine

PAGE_SIZE = 50


def _page(request: HttpRequest, load: Any) -> tuple[Any, str | None]:
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


def _submit(form: Any, call: Any) -> int:
    """Run the service ``call``; what it refuses lands on ``form``. The response status: 200 when
    it went through, else the error's (400 for field errors)."""
    try:
        call()
    except ValidationError as error:
        apply_errors(form, error)
        return 400
    except ApplicationError as error:
        form.add_error(None, str(error.message))
        return error.status_code
    return 200


def _item_link(kind: str, item_id: int) -> str | None:
    """The item's own page, where the app that owns it has one."""
    name = "service:ticket-detail" if kind == ItemKind.TICKET else "engagement:interaction-detail"
    try:
        return reverse(name, args=[item_id])
    except NoReverseMatch:
        return None


def _summary(request: HttpRequest, *, ticket: Any = None, interaction: Any = None) -> Any:
    summary = quality_item_summary(actor=request.user, ticket=ticket, interaction=interaction)
    summary.url = _item_link(summary.kind, summary.item_id) if summary.visible else None
    return summary


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Reviewers land on their queue, everyone else on the reviews of their own work."""
    quality_require_active(request.user)
    if quality_can_review(request.user):
        return redirect("quality:queue")
    return redirect("quality:my-reviews")


# --- sheets -------------------------------------------------------------------------------------


@login_required
@require_GET
def sheet_index(request: HttpRequest) -> HttpResponse:
    """Every signed-in user reads the standards they are measured by; administrators keep them."""
    quality_require_active(request.user)
    return TemplateResponse(
        request,
        "quality/sheet_list.html",
        {"sheets": quality_sheet_list(), "can_edit": quality_sheet_can_edit(request.user)},
    )


def _sheet_form_response(
    request: HttpRequest, form: SheetForm, sheet: Any, conflict: Any = None
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "quality/sheet_form.html",
        {"form": form, "sheet": sheet, "conflict": conflict},
        status=status,
    )


@login_required
def sheet_create(request: HttpRequest) -> HttpResponse:
    quality_sheet_require_edit(request.user)
    form = SheetForm(request.POST or None, initial=SheetForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        created: list[Any] = []
        saved, _conflict = form_submit(
            form,
            lambda: created.append(
                services.quality_sheet_create(actor=request.user, **form.service_data())
            ),
        )
        if saved:
            messages.success(request, _("The score sheet is created. Add its criteria."))
            return redirect("quality:sheet-edit", created[0].pk)
    return _sheet_form_response(request, form, None)


@login_required
def sheet_edit(request: HttpRequest, sheet_id: int) -> HttpResponse:
    sheet = quality_sheet_get_for_user(request.user, sheet_id, write=True)
    form = SheetForm(request.POST or None, initial=SheetForm.initial_for(sheet), editing=True)
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.quality_sheet_update(
                actor=request.user,
                sheet=sheet,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The score sheet is saved."))
            return redirect("quality:sheet-list")
    response = _sheet_form_response(request, form, sheet, conflict)
    response.context_data["criteria"] = quality_sheet_criteria(sheet)
    return response


def _criterion_form_response(
    request: HttpRequest, form: CriterionForm, sheet: Any, criterion: Any, conflict: Any = None
) -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "quality/criterion_form.html",
        {"form": form, "sheet": sheet, "criterion": criterion, "conflict": conflict},
        status=status,
    )


@login_required
def criterion_create(request: HttpRequest, sheet_id: int) -> HttpResponse:
    sheet = quality_sheet_get_for_user(request.user, sheet_id, write=True)
    form = CriterionForm(request.POST or None, initial=CriterionForm.initial_for(None))
    if request.method == "POST" and form.is_valid():
        saved, _conflict = form_submit(
            form,
            lambda: services.quality_criterion_create(
                actor=request.user, sheet=sheet, **form.service_data()
            ),
        )
        if saved:
            messages.success(request, _("The criterion is added."))
            return redirect("quality:sheet-edit", sheet.pk)
    return _criterion_form_response(request, form, sheet, None)


@login_required
def criterion_edit(request: HttpRequest, criterion_id: int) -> HttpResponse:
    criterion = quality_criterion_get_for_user(request.user, criterion_id, write=True)
    form = CriterionForm(
        request.POST or None, initial=CriterionForm.initial_for(criterion), editing=True
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        saved, conflict = form_submit(
            form,
            lambda: services.quality_criterion_update(
                actor=request.user,
                criterion=criterion,
                data=form.service_data(),
                expected_version=form.cleaned_data["version"],
            ),
        )
        if saved:
            messages.success(request, _("The criterion is saved."))
            return redirect("quality:sheet-edit", criterion.sheet_id)
    return _criterion_form_response(request, form, criterion.sheet, criterion, conflict)


@login_required
@require_POST
def criterion_delete(request: HttpRequest, criterion_id: int) -> HttpResponse:
    criterion = quality_criterion_get_for_user(request.user, criterion_id, write=True)
    try:
        services.quality_criterion_delete(actor=request.user, criterion=criterion)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The criterion is in the recycle bin."))
    return redirect("quality:sheet-edit", criterion.sheet_id)


# --- the queue and the draw ---------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def queue(request: HttpRequest) -> HttpResponse:
    """待质检: the items drawn for the signed-in reviewer, oldest work first."""
    quality_require_reviewer(request.user)
    page, cursor_error = _page(
        request,
        lambda cursor: quality_assignment_page(actor=request.user, cursor=cursor, limit=PAGE_SIZE),
    )
    template = "quality/assignment_list.html"
    if request.htmx:
        template += "#queue-results"
    return TemplateResponse(
        request,
        template,
        {
            "page": page,
            "next_query": _next_query(request, page.next_cursor),
            "cursor_error": cursor_error,
        },
    )


@login_required
def sample_draw(request: HttpRequest) -> HttpResponse:
    quality_require_reviewer(request.user)
    sheets = quality_sheets_for_reviewer(actor=request.user)
    form = SampleForm(request.POST or None, sheets=sheets, initial=SampleForm.initial_period())
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            result: list[Any] = []
            status = _submit(
                form,
                lambda: result.append(
                    services.quality_sample_draw(
                        actor=request.user,
                        sheet=form.chosen_sheet(),
                        period_start=form.cleaned_data["period_start"],
                        period_end=form.cleaned_data["period_end"],
                        per_agent=form.cleaned_data["per_agent"],
                    )
                ),
            )
            if result:
                messages.success(
                    request,
                    _(
                        "%(count)s items drawn from %(candidates)s not yet reviewed, "
                        "for %(agents)s agents."
                    )
                    % {
                        "count": len(result[0].assignments),
                        "candidates": result[0].candidates,
                        "agents": result[0].agents,
                    },
                )
                return redirect("quality:queue")
    return TemplateResponse(
        request, "quality/sample_form.html", {"form": form, "sheets": sheets}, status=status
    )


@login_required
@require_POST
def assignment_release(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = quality_assignment_get_for_user(request.user, assignment_id, write=True)
    try:
        services.quality_assignment_release(actor=request.user, assignment=assignment)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The item is out of your queue."))
    return redirect("quality:queue")


# --- reviewing ----------------------------------------------------------------------------------


def _review_target(request: HttpRequest) -> tuple[Any, Any, Any, Any]:
    """(sheet, ticket, interaction, assignment) named by the query string: ``assignment``, or
    ``sheet`` with ``ticket`` or ``interaction``. 404 for what the reader cannot see."""
    query = request.GET
    if query.get("assignment"):
        assignment = quality_assignment_get_for_user(request.user, query["assignment"])
        return assignment.sheet, assignment.ticket, assignment.interaction, assignment
    sheet = quality_sheet_get_for_user(request.user, query.get("sheet"))
    if query.get("ticket"):
        return sheet, ticket_get_for_user(request.user, query["ticket"]), None, None
    if query.get("interaction"):
        return sheet, None, interaction_get_for_user(request.user, query["interaction"]), None
    raise NotFoundError()


@login_required
def review_create(request: HttpRequest) -> HttpResponse:
    """Score one item on one sheet, the item's summary beside the sheet."""
    sheet, ticket, interaction, assignment = _review_target(request)
    item = ticket if ticket is not None else interaction
    if item is None:  # the item of the assignment is gone
        raise NotFoundError()
    existing = Review.objects.filter(
        sheet=sheet, **({"ticket": ticket} if ticket is not None else {"interaction": interaction})
    ).first()
    if existing is not None and request.method == "GET":
        messages.info(request, _("This item has already been reviewed with this score sheet."))
        return redirect("quality:review-detail", existing.pk)
    quality_review_require_item(request.user, sheet, item)
    lines = [
        ScoreLine(
            criterion_id=criterion.pk,
            position=criterion.position,
            name=criterion.name,
            max_points=criterion.max_points,
            critical=criterion.critical,
            description=criterion.description,
        )
        for criterion in quality_sheet_criteria(sheet)
    ]
    form = ReviewForm(request.POST or None, lines=lines)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            created: list[Review] = []
            status = _submit(
                form,
                lambda: created.append(
                    services.quality_review_submit(
                        actor=request.user,
                        sheet=sheet,
                        ticket=ticket,
                        interaction=interaction,
                        scores=form.scores(),
                        comments=form.comments(),
                        comment=form.cleaned_data.get("comment", ""),
                    )
                ),
            )
            if created:
                messages.success(
                    request,
                    _("The review is saved: %(total)s of %(max)s points.")
                    % {"total": created[0].total, "max": created[0].max_total},
                )
                if assignment is not None:
                    return redirect("quality:queue")
                return redirect("quality:review-detail", created[0].pk)
    return TemplateResponse(
        request,
        "quality/review_form.html",
        {
            "form": form,
            "sheet": sheet,
            "assignment": assignment,
            "summary": _summary(request, ticket=ticket, interaction=interaction),
            "max_total": sum(line.max_points for line in lines),
            "query": request.GET.urlencode(),
        },
        status=status,
    )


def _review_list(request: HttpRequest, view: str) -> HttpResponse:
    quality_require_active(request.user)
    form = ReviewFilterForm(request.GET or None)
    filters = form.filters()
    page, cursor_error = _page(
        request,
        lambda cursor: quality_review_page(
            actor=request.user, view=view, cursor=cursor, limit=PAGE_SIZE, **filters
        ),
    )
    template = "quality/review_list.html"
    if request.htmx:
        template += "#review-results"
    return TemplateResponse(
        request,
        template,
        {
            "form": form,
            "view": view,
            "page": page,
            "next_query": _next_query(request, page.next_cursor),
            "cursor_error": cursor_error,
            "is_reviewer": quality_can_review(request.user),
        },
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def review_index(request: HttpRequest) -> HttpResponse:
    """The reviews the signed-in user may open: ``view=given`` the ones they gave,
    ``view=disputed`` those awaiting a decision."""
    view = request.GET.get("view", "all")
    if view not in ("all", "given", "disputed"):
        view = "all"
    return _review_list(request, view)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def review_mine(request: HttpRequest) -> HttpResponse:
    """The reviews of the signed-in user's own work."""
    return _review_list(request, "mine")


def _review_context(request: HttpRequest, review: Review, **forms: Any) -> dict[str, Any]:
    detail = quality_review_detail(review=review)
    return {
        "review": detail,
        "summary": _summary(request, ticket=detail.ticket, interaction=detail.interaction),
        "can_respond": quality_review_can_respond(request.user, detail),
        "can_resolve": (
            detail.status == Review.Status.DISPUTED
            and quality_review_can_resolve(request.user, detail)
        ),
        "acknowledge_form": AcknowledgeForm(initial={"version": detail.version}),
        "dispute_form": forms.get("dispute_form")
        or DisputeForm(initial={"version": detail.version}),
    }


@login_required
@require_GET
def review_show(request: HttpRequest, review_id: int) -> HttpResponse:
    review = quality_review_get_for_user(request.user, review_id)
    return TemplateResponse(request, "quality/review_detail.html", _review_context(request, review))


@login_required
@require_POST
def review_acknowledge(request: HttpRequest, review_id: int) -> HttpResponse:
    review = quality_review_get_for_user(request.user, review_id, respond=True)
    form = AcknowledgeForm(request.POST)
    version = form.cleaned_data["version"] if form.is_valid() else None
    try:
        services.quality_review_acknowledge(
            actor=request.user, review=review, expected_version=version
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("You acknowledged the review."))
    return redirect("quality:review-detail", review.pk)


@login_required
@require_POST
def review_dispute(request: HttpRequest, review_id: int) -> HttpResponse:
    review = quality_review_get_for_user(request.user, review_id, respond=True)
    form = DisputeForm(request.POST)
    status = 400
    if form.is_valid():
        status = _submit(
            form,
            lambda: services.quality_review_dispute(
                actor=request.user,
                review=review,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            ),
        )
        if status == 200:
            messages.success(request, _("Your dispute is sent for a second look."))
            return redirect("quality:review-detail", review.pk)
    return TemplateResponse(
        request,
        "quality/review_detail.html",
        _review_context(request, review, dispute_form=form),
        status=status,
    )


@login_required
def review_resolve(request: HttpRequest, review_id: int) -> HttpResponse:
    """Settle a dispute: a note, and corrected scores if need be."""
    review = quality_review_get_for_user(request.user, review_id, resolve=True)
    detail = quality_review_detail(review=review)
    if detail.status != Review.Status.DISPUTED:
        raise ReviewStateError(_("Only a disputed review is settled."))
    rows = list(detail.scores.all())
    lines = [
        ScoreLine(
            criterion_id=row.criterion_id,
            position=row.position,
            name=row.name,
            max_points=row.max_points,
            critical=row.critical,
        )
        for row in rows
    ]
    initial: dict[str, Any] = {"version": detail.version}
    for row in rows:
        initial[f"score_{row.criterion_id}"] = row.points
        initial[f"comment_{row.criterion_id}"] = row.comment
    form = ResolveForm(request.POST or None, lines=lines, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            rescore = form.cleaned_data.get("rescore")
            status = _submit(
                form,
                lambda: services.quality_review_resolve(
                    actor=request.user,
                    review=detail,
                    note=form.cleaned_data["note"],
                    scores=form.scores() if rescore else None,
                    comments=form.comments() if rescore else None,
                    expected_version=form.cleaned_data["version"],
                ),
            )
            if status == 200:
                messages.success(request, _("The dispute is settled."))
                return redirect("quality:review-detail", review.pk)
    return TemplateResponse(
        request,
        "quality/review_resolve.html",
        {
            "form": form,
            "review": detail,
            "summary": _summary(request, ticket=detail.ticket, interaction=detail.interaction),
        },
        status=status,
    )


# --- figures ------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def figures_show(request: HttpRequest) -> HttpResponse:
    """Average score and pass rate per agent, team and criterion, in the reader's scope."""
    quality_require_active(request.user)
    today = timezone.localdate()
    form = FiguresForm(request.GET or None)
    period_start, period_end = form.period(today)
    status = 200
    try:
        figures = quality_figures(
            actor=request.user,
            period_start=period_start,
            period_end=period_end,
            kind=form.kind_value(),
        )
    except ValidationError as error:
        form.is_valid()
        apply_errors(form, error)
        status = 400
        period_start, period_end = today.replace(day=1), today
        figures = quality_figures(
            actor=request.user, period_start=period_start, period_end=period_end
        )
    template = "quality/figures.html"
    if request.htmx:
        template += "#figures-results"
    return TemplateResponse(
        request,
        template,
        {
            "form": form,
            "figures": figures,
            "period_start": period_start,
            "period_end": period_end,
        },
        status=status,
    )
