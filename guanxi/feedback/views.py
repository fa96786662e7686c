"""HTML pages of feedback and satisfaction: the feedback items (list, one item with its respond,
close and hand-on forms, recording feedback heard by staff), the surveys (list, create and edit
with their questions inline, send to a segment with a preview and a confirming second POST, the
links, close, delete), the results of one survey and the analysis across surveys, and the public
page where a customer's contact answers through their link.

Thin views: fetch through feedback.permissions (404 outside the scope, 403 read-only), parse a
form, call one service or selector, render (``page.html#fragment`` for HTMX).
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from guanxi.accounts.forms import apply_errors, form_submit
from guanxi.accounts.roles import Capability
from guanxi.accounts.selectors import user_visible_queryset
from guanxi.core.exceptions import ApplicationError, NotFoundError
from guanxi.core.pagination import InvalidCursorError
from guanxi.core.ratelimit import RateLimitedError, public_page_rate_check
from guanxi.customers.permissions import customer_get_for_user
from guanxi.customers.selectors import contact_personal_data, contact_visible_queryset
from guanxi.feedback import services
from guanxi.feedback.forms import (
    AnalysisForm,
    AssignForm,
    CloseForm,
    FeedbackFilterForm,
    FeedbackItemForm,
    RespondForm,
    SurveyFilterForm,
    SurveyForm,
    SurveySendForm,
)
from guanxi.feedback.models import (
    Dimension,
    FeedbackItem,
    FeedbackStatus,
    QuestionType,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from guanxi.feedback.permissions import (
    feedback_item_can_answer,
    feedback_item_get_for_user,
    feedback_item_require_record,
    survey_can_manage,
    survey_get_for_user,
    survey_require_manage,
)
from guanxi.feedback.selectors import (
    Analysis,
    feedback_item_counts,
    feedback_item_detail,
    feedback_item_page,
    survey_analysis,
    survey_invitation_for_token,
    survey_invitation_stats,
    survey_page,
    survey_question_rows,
    survey_questions,
    survey_response_page,
    survey_send_preview,
)
from guanxi.transfer.formats import csv_write

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


def _colleagues(actor: Any) -> Any:
    """Colleagues ``actor`` may name (managers and administrators: their scope; others:
    themselves)."""
    return user_visible_queryset(actor=actor).filter(is_active=True).order_by("full_name", "pk")


def _status(form: Any) -> int:
    return 409 if form.non_field_errors() else 400


# --- feedback items -----------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
def item_index(request: HttpRequest) -> HttpResponse:
    """The feedback items the user may see: not closed by default; by status, overdue, source
    and owner (their own, unassigned, or a colleague's for managers)."""
    owners = _colleagues(request.user) if request.user.can(Capability.VIEW_TEAM) else []
    form = FeedbackFilterForm(request.GET or None, owners=owners)
    filters = form.filters(request.user)
    page, cursor_error = _page(
        request,
        lambda cursor: feedback_item_page(
            actor=request.user, cursor=cursor, limit=PAGE_SIZE, **filters
        ),
    )
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "now": timezone.now(),
        "counts": feedback_item_counts(actor=request.user),
        "next_query": _next_query(request, page.next_cursor),
        "cursor_error": cursor_error,
    }
    template = "feedback/item_list.html"
    if request.htmx:
        template += "#item-results"
    return TemplateResponse(request, template, context)


def _item_context(request: HttpRequest, item: FeedbackItem, **forms: Any) -> dict[str, Any]:
    item = feedback_item_detail(item=item)
    can_answer = item.status != FeedbackStatus.CLOSED and feedback_item_can_answer(
        request.user, item
    )
    users = []
    if can_answer:
        users = [user for user in _colleagues(request.user) if user.pk != item.owner_id]
    initial = {
        "version": item.version,
        "response": item.response,
        "improvement_action": item.improvement_action,
        "improvement_due": item.improvement_due,
    }
    contact = None
    if item.contact_id and item.contact and item.contact.deleted_at is None:
        contact = {
            "name": item.contact.name,
            **contact_personal_data(actor=request.user, contact=item.contact),
        }
    return {
        "item": item,
        "contact": contact,
        "now": timezone.now(),
        "can_answer": can_answer,
        "respond_form": forms.get("respond_form") or RespondForm(initial=initial, editing=True),
        "close_form": forms.get("close_form") or CloseForm(initial=initial, editing=True),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"version": item.version}, users=users, editing=True),
        "assign_users": users,
        "conflict": forms.get("conflict"),
    }


@login_required
@require_GET
def item_show(request: HttpRequest, item_id: int) -> HttpResponse:
    item = feedback_item_get_for_user(request.user, item_id)
    return TemplateResponse(request, "feedback/item_detail.html", _item_context(request, item))


@login_required
@require_POST
def item_respond(request: HttpRequest, item_id: int) -> HttpResponse:
    item = feedback_item_get_for_user(request.user, item_id, write=True)
    form = RespondForm(request.POST, editing=True)
    conflict = None
    if form.is_valid():
        data = form.cleaned_data
        done, conflict = form_submit(
            form,
            lambda: services.feedback_item_respond(
                actor=request.user,
                item=item,
                response=data["response"],
                improvement_action=data["improvement_action"],
                improvement_due=data["improvement_due"],
                version=data["version"],
            ),
        )
        if done:
            messages.success(request, _("Your response is recorded."))
            return redirect("feedback:item-detail", item.pk)
    return TemplateResponse(
        request,
        "feedback/item_detail.html",
        _item_context(request, item, respond_form=form, conflict=conflict),
        status=_status(form),
    )


@login_required
@require_POST
def item_close(request: HttpRequest, item_id: int) -> HttpResponse:
    item = feedback_item_get_for_user(request.user, item_id, write=True)
    form = CloseForm(request.POST, editing=True)
    conflict = None
    if form.is_valid():
        data = form.cleaned_data
        # Empty fields keep what was recorded with the response.
        action = data["improvement_action"] or None
        done, conflict = form_submit(
            form,
            lambda: services.feedback_item_close(
                actor=request.user,
                item=item,
                version=data["version"],
                improvement_action=action,
                improvement_due=data["improvement_due"] if action else None,
            ),
        )
        if done:
            messages.success(request, _("The feedback item is closed."))
            return redirect("feedback:item-detail", item.pk)
    return TemplateResponse(
        request,
        "feedback/item_detail.html",
        _item_context(request, item, close_form=form, conflict=conflict),
        status=_status(form),
    )


@login_required
@require_POST
def item_assign(request: HttpRequest, item_id: int) -> HttpResponse:
    item = feedback_item_get_for_user(request.user, item_id, write=True)
    users = [user for user in _colleagues(request.user) if user.pk != item.owner_id]
    form = AssignForm(request.POST, users=users, editing=True)
    conflict = None
    if form.is_valid():
        data = form.cleaned_data
        done, conflict = form_submit(
            form,
            lambda: services.feedback_item_assign(
                actor=request.user, item=item, owner=data["owner"], version=data["version"]
            ),
        )
        if done:
            messages.success(request, _("The feedback item has a new owner."))
            return redirect("feedback:item-detail", item.pk)
    return TemplateResponse(
        request,
        "feedback/item_detail.html",
        _item_context(request, item, assign_form=form, conflict=conflict),
        status=_status(form),
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Record feedback heard from a customer on a call or a visit."""
    customer = customer_get_for_user(request.user, customer_id)
    feedback_item_require_record(request.user, customer)
    contacts = (
        contact_visible_queryset(actor=request.user)
        .filter(customer=customer)
        .order_by("name", "pk")
    )
    form = FeedbackItemForm(request.POST or None, contacts=contacts)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            contact = contacts.filter(pk=data["contact"]).first() if data["contact"] else None
            try:
                item = services.feedback_item_open(
                    actor=request.user,
                    customer=customer,
                    source=data["source"],
                    summary=data["summary"],
                    comment=data["comment"],
                    contact=contact,
                    score=data["score"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            except ApplicationError as error:
                form.add_error(None, str(error.message))
                status = error.status_code
            else:
                messages.success(request, _("The feedback is recorded; answer it within 24 hours."))
                return redirect("feedback:item-detail", item.pk)
    return TemplateResponse(
        request,
        "feedback/item_form.html",
        {"form": form, "customer": customer},
        status=status,
    )


# --- surveys ------------------------------------------------------------------------------------


@login_required
@require_GET
def survey_index(request: HttpRequest) -> HttpResponse:
    form = SurveyFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    page, cursor_error = _page(
        request,
        lambda cursor: survey_page(
            actor=request.user, cursor=cursor, limit=PAGE_SIZE, status=status
        ),
    )
    return TemplateResponse(
        request,
        "feedback/survey_list.html",
        {
            "form": form,
            "page": page,
            "can_manage": survey_can_manage(request.user),
            "next_query": _next_query(request, page.next_cursor),
            "cursor_error": cursor_error,
        },
    )


def _survey_form_context(form: SurveyForm, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "question_types": QuestionType.choices,
        "dimensions": Dimension.choices,
        "kinds": SurveyKind.choices,
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def survey_create(request: HttpRequest) -> HttpResponse:
    """A new survey; ``?kind=`` starts it with that kind's usual questions."""
    survey_require_manage(request.user)
    kind = request.GET.get("kind") or SurveyKind.CSAT
    if kind not in SurveyKind.values:
        kind = SurveyKind.CSAT
    form = SurveyForm(
        request.POST or None,
        questions=services.survey_default_questions(kind),
        initial={"kind": kind, "negative_score_max": 2, "negative_nps_max": 6},
    )
    status = 200
    if request.method == "POST" and not form.wants_rows():
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                survey = services.survey_create(
                    actor=request.user,
                    title=data["title"],
                    kind=data["kind"],
                    intro=data["intro"],
                    questions=form.questions(),
                    negative_score_max=data["negative_score_max"],
                    negative_nps_max=data["negative_nps_max"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            except ApplicationError as error:
                form.add_error(None, str(error.message))
            else:
                messages.success(request, _("The survey is saved as a draft."))
                return redirect("feedback:survey-detail", survey.pk)
    return TemplateResponse(
        request,
        "feedback/survey_form.html",
        _survey_form_context(form, survey=None, current_kind=kind),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = survey_get_for_user(request.user, survey_id, write=True)
    if survey.status != SurveyStatus.DRAFT:
        raise services.SurveyNotEditableError()
    questions = survey_question_rows(survey=survey)
    form = SurveyForm(
        request.POST or None,
        questions=questions,
        initial={
            "version": survey.version,
            "title": survey.title,
            "kind": survey.kind,
            "intro": survey.intro,
            "negative_score_max": survey.negative_score_max,
            "negative_nps_max": survey.negative_nps_max,
        },
        editing=True,
    )
    status = 200
    conflict = None
    if request.method == "POST" and not form.wants_rows():
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            done, conflict = form_submit(
                form,
                lambda: services.survey_update(
                    actor=request.user,
                    survey=survey,
                    data={
                        "title": data["title"],
                        "kind": data["kind"],
                        "intro": data["intro"],
                        "negative_score_max": data["negative_score_max"],
                        "negative_nps_max": data["negative_nps_max"],
                        "questions": form.questions(),
                    },
                    version=data["version"],
                ),
            )
            if done:
                messages.success(request, _("The survey is saved."))
                return redirect("feedback:survey-detail", survey.pk)
            # The questions' errors are the form's own, not someone else's save.
            status = 409 if conflict is not None else 400
    return TemplateResponse(
        request,
        "feedback/survey_form.html",
        _survey_form_context(form, survey=survey, conflict=conflict, current_kind=survey.kind),
        status=status,
    )


@login_required
@require_GET
def survey_show(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = survey_get_for_user(request.user, survey_id)
    return TemplateResponse(
        request,
        "feedback/survey_detail.html",
        {
            "survey": survey,
            "questions": survey_questions(survey=survey),
            "stats": survey_invitation_stats(actor=request.user, survey=survey),
            "can_manage": survey_can_manage(request.user),
        },
    )


@login_required
@require_POST
def survey_close(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = survey_get_for_user(request.user, survey_id, write=True)
    try:
        version = int(request.POST.get("version") or 0)
    except ValueError:
        version = 0
    try:
        services.survey_close(actor=request.user, survey=survey, version=version)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The survey is closed: its links no longer work."))
    return redirect("feedback:survey-detail", survey.pk)


@login_required
@require_POST
def survey_delete(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = survey_get_for_user(request.user, survey_id, write=True)
    services.survey_delete(actor=request.user, survey=survey)
    messages.success(request, _("The survey is in the recycle bin."))
    return redirect("feedback:survey-list")


def _links_csv(links: list[services.SurveyLink], actor: Any, survey: Survey) -> HttpResponse:
    """The links as a CSV file (UTF-8 with BOM, formula-safe): customer, contact, the contact's
    e-mail and phone as the sender may see them (masked unless theirs), link, expiry."""
    headers = [
        _("Customer"),
        _("Contact"),
        _("E-mail"),
        _("Phone"),
        _("Link"),
        _("Expires at"),
    ]
    rows = []
    for link in links:
        invitation = link.invitation
        contact = invitation.contact
        contact.customer = invitation.customer
        personal = contact_personal_data(actor=actor, contact=contact)
        phones = ", ".join(phone["number"] for phone in personal["phones"])
        rows.append(
            [
                invitation.customer.name,
                contact.name,
                personal["email"],
                phones,
                link.url,
                timezone.localtime(invitation.expires_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    buffer = io.BytesIO()
    csv_write(buffer, headers, rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, f"survey-{survey.pk}-links.csv"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _links_loaded(links: list[services.SurveyLink]) -> list[services.SurveyLink]:
    """The invitations of ``links`` with their customer and contact, in two queries."""
    from guanxi.customers.models import Contact, Customer

    customers = Customer.all_objects.in_bulk({link.invitation.customer_id for link in links})
    contacts = Contact.all_objects.in_bulk({link.invitation.contact_id for link in links})
    for link in links:
        link.invitation.customer = customers[link.invitation.customer_id]
        link.invitation.contact = contacts[link.invitation.contact_id]
    return links


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def survey_send(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Choose the segment; the first POST shows how many contacts it reaches, the second
    (``confirm``) sends and shows the links once (or returns them as CSV with ``output=csv``)."""
    survey = survey_get_for_user(request.user, survey_id, write=True)
    owners = _colleagues(request.user)
    form = SurveySendForm(
        request.POST or None,
        owners=owners,
        initial={"recipients": "primary", "expires_days": 14, "email": True},
    )
    context: dict[str, Any] = {
        "survey": survey,
        "form": form,
        "email_available": services.survey_email_available(),
    }
    if request.method != "POST":
        return TemplateResponse(request, "feedback/survey_send.html", context)
    if not form.is_valid():
        return TemplateResponse(request, "feedback/survey_send.html", context, status=400)
    data = form.cleaned_data
    segment = form.segment()
    if not data.get("confirm"):
        context["preview"] = survey_send_preview(
            actor=request.user,
            survey=survey,
            filters=segment,
            mode=data["recipients"],
            email=data["email"] and services.survey_email_available(),
        )
        return TemplateResponse(request, "feedback/survey_send.html", context)
    try:
        result = services.survey_send(
            actor=request.user,
            survey=survey,
            filters=segment,
            recipients=data["recipients"],
            expires_days=data["expires_days"],
            email=data["email"],
        )
    except ValidationError as error:
        apply_errors(form, error)
        return TemplateResponse(request, "feedback/survey_send.html", context, status=400)
    except ApplicationError as error:
        form.add_error(None, str(error.message))
        return TemplateResponse(
            request, "feedback/survey_send.html", context, status=error.status_code
        )
    links = _links_loaded(result.links)
    if request.POST.get("output") == "csv" and links:
        return _links_csv(links, request.user, survey)
    context.update({"result": result, "links": links})
    return TemplateResponse(request, "feedback/survey_sent.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def survey_links(request: HttpRequest, survey_id: int) -> HttpResponse:
    """New links for the invitations handed out by the sender (CSV). Asks first: the previous
    links of those invitations stop working."""
    survey = survey_get_for_user(request.user, survey_id, write=True)
    if request.method == "POST" and request.POST.get("confirm"):
        try:
            links = services.survey_links_reissue(actor=request.user, survey=survey)
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("feedback:survey-detail", survey.pk)
        return _links_csv(_links_loaded(links), request.user, survey)
    return TemplateResponse(
        request,
        "feedback/survey_links.html",
        {"survey": survey, "stats": survey_invitation_stats(actor=request.user, survey=survey)},
    )


# --- results ------------------------------------------------------------------------------------


def _charts(analysis: Analysis) -> dict[str, Any]:
    """The figures as charts.js reads them (categories and series), next to the tables."""
    answers = _("Answers")
    return {
        "csat": {
            "categories": [str(score) for score, _count in analysis.csat_distribution],
            "series": [{"name": answers, "data": [n for _s, n in analysis.csat_distribution]}],
        },
        "nps": {
            "categories": [str(score) for score, _count in analysis.nps_distribution],
            "series": [{"name": answers, "data": [n for _s, n in analysis.nps_distribution]}],
        },
        "months": {
            "categories": [row.label for row in analysis.months],
            "series": [
                {
                    "name": _("CSAT average"),
                    "data": [row.csat_average for row in analysis.months],
                }
            ],
        },
        "months_nps": {
            "categories": [row.label for row in analysis.months],
            "series": [{"name": _("NPS"), "data": [row.nps for row in analysis.months]}],
        },
        "dimensions": {
            "categories": [row.label for row in analysis.dimensions],
            "series": [
                {
                    "name": _("CSAT average"),
                    "data": [row.csat_average for row in analysis.dimensions],
                }
            ],
        },
    }


@login_required
@require_GET
def survey_results(request: HttpRequest, survey_id: int) -> HttpResponse:
    """One survey's figures and answers, of the customers the reader may see."""
    survey = survey_get_for_user(request.user, survey_id)
    analysis = survey_analysis(actor=request.user, survey=survey)
    page, cursor_error = _page(
        request,
        lambda cursor: survey_response_page(
            actor=request.user, survey=survey, cursor=cursor, limit=PAGE_SIZE
        ),
    )
    return TemplateResponse(
        request,
        "feedback/survey_results.html",
        {
            "survey": survey,
            "analysis": analysis,
            "charts": _charts(analysis),
            "page": page,
            "cursor_error": cursor_error,
            "next_query": _next_query(request, page.next_cursor),
        },
    )


@login_required
@require_GET
def analysis_show(request: HttpRequest) -> HttpResponse:
    """Satisfaction across surveys and tickets in a period, within the reader's scope."""
    form = AnalysisForm(request.GET or None)
    date_from, date_to = form.period()
    analysis = survey_analysis(actor=request.user, date_from=date_from, date_to=date_to)
    return TemplateResponse(
        request,
        "feedback/analysis.html",
        {"form": form, "analysis": analysis, "charts": _charts(analysis)},
        status=400 if form.errors else 200,
    )


# --- the public answer page ---------------------------------------------------------------------


def _unavailable(request: HttpRequest, status: int = 404) -> HttpResponse:
    return TemplateResponse(request, "feedback/public_unavailable.html", {}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page a contact opens from their invitation: no login; this survey's questions and
    their company's name, nothing else. Answered once; an unknown or expired link gets the same
    page as any other, so it tells nothing about whether it ever existed."""
    try:
        public_page_rate_check(request, scope="survey")
    except RateLimitedError as error:
        return TemplateResponse(
            request, "feedback/public_message.html", {"message": error.message}, status=429
        )
    invitation = survey_invitation_for_token(token=token)
    if invitation is None:
        return _unavailable(request)
    if invitation.answered_at is not None:
        return TemplateResponse(
            request,
            "feedback/public_message.html",
            {"message": services.SurveyAlreadyAnsweredError.default_message, "answered": True},
            status=409 if request.method == "POST" else 200,
        )
    questions = survey_questions(survey=invitation.survey)
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {
            str(question.pk): str(request.POST.get(f"q{question.pk}", ""))[:5000]
            for question in questions
        }
        try:
            services.survey_response_submit(
                token=token, answers=values, language=translation.get_language() or ""
            )
        except ValidationError as error:
            errors = error.message_dict
        except services.SurveyAlreadyAnsweredError as error:
            return TemplateResponse(
                request,
                "feedback/public_message.html",
                {"message": error.message, "answered": True},
                status=409,
            )
        except NotFoundError:
            return _unavailable(request)
        else:
            return TemplateResponse(
                request, "feedback/public_message.html", {"thanks": True}, status=200
            )
    rows = []
    for question in questions:
        scale = question.scale
        rows.append(
            {
                "question": question,
                "name": f"q{question.pk}",
                "value": values.get(str(question.pk), ""),
                "errors": errors.get(f"q{question.pk}", []),
                "scores": [str(n) for n in range(scale[0], scale[1] + 1)] if scale else [],
            }
        )
    return TemplateResponse(
        request,
        "feedback/public_answer.html",
        {
            "survey": invitation.survey,
            "customer_name": invitation.customer.name,
            "rows": rows,
            "has_errors": bool(errors),
        },
        status=400 if errors else 200,
    )
