"""REST endpoints of feedback and satisfaction: /feedback-items (list, record, show, respond,
close, hand on) and /surveys (CRUD, send, close, new links, results, analysis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.core.exceptions import ApplicationError, validation_error_renamed
from guanxi.customers.permissions import contact_get_for_user, customer_get_for_user
from guanxi.feedback import services
from guanxi.feedback.models import (
    FeedbackItem,
    FeedbackSource,
    FeedbackStatus,
    Survey,
    SurveyStatus,
)
from guanxi.feedback.permissions import (
    feedback_item_can_answer,
    feedback_item_get_for_user,
    feedback_item_require_record,
    survey_get_for_user,
    survey_require_manage,
    survey_require_read,
)
from guanxi.feedback.schemas import (
    AnalysisOut,
    AssignIn,
    CloseIn,
    FeedbackItemIn,
    FeedbackItemOut,
    FeedbackItemPage,
    LinksOut,
    RespondIn,
    SendIn,
    SendOut,
    SendPreviewOut,
    SurveyIn,
    SurveyOut,
    SurveyPage,
    SurveyPatchIn,
    VersionIn,
)
from guanxi.feedback.selectors import (
    NOT_CLOSED,
    UNASSIGNED,
    Analysis,
    Figures,
    TicketFigures,
    feedback_item_detail,
    feedback_item_page,
    survey_analysis,
    survey_invitation_stats,
    survey_page,
    survey_questions,
    survey_send_preview,
)

router = Router(tags=["feedback"])

_API_FIELD_NAMES = {"contact": "contact_id", "owner": "owner_id", "ticket": "ticket_id"}
_STATUSES = (*FeedbackStatus.values, NOT_CLOSED)


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


# --- feedback items -----------------------------------------------------------------------------


def _item_out(item: FeedbackItem, actor: Any) -> dict[str, Any]:
    return {
        "id": item.pk,
        "customer_id": item.customer_id,
        "customer_name": item.customer.name,
        "contact_id": item.contact_id,
        "contact_name": item.contact.name if item.contact_id and item.contact else "",
        "source": item.source,
        "ticket_id": item.ticket_id,
        "ticket_number": item.ticket.number if item.ticket_id and item.ticket else None,
        "survey_response_id": item.survey_response_id,
        "survey_id": item.survey_response.survey_id if item.survey_response_id else None,
        "score": item.score,
        "summary": item.summary,
        "comment": item.comment,
        "owner_id": item.owner_id,
        "owner_name": item.owner.get_full_name() if item.owner_id and item.owner else "",
        "status": item.status,
        "respond_by": item.respond_by,
        "overdue": item.status == FeedbackStatus.OPEN and item.respond_by < timezone.now(),
        "responded_at": item.responded_at,
        "responded_by_id": item.responded_by_id,
        "response": item.response,
        "improvement_action": item.improvement_action,
        "improvement_due": item.improvement_due,
        "closed_at": item.closed_at,
        "closed_by_id": item.closed_by_id,
        "escalated_at": item.escalated_at,
        "escalated_to_id": item.escalated_to_id,
        "can_answer": item.status != FeedbackStatus.CLOSED
        and feedback_item_can_answer(actor, item),
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


@router.get("/feedback-items", response=FeedbackItemPage)
def feedback_item_index(
    request: HttpRequest,
    status: str = "",
    overdue: bool = False,
    source: str = "",
    owner_id: int | None = None,
    unassigned: bool = False,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The feedback items you may see, newest first; keyset-paginated. ``status``: open,
    responded, closed or active (not closed); empty: all."""
    errors: dict[str, list[str]] = {}
    if status and status not in _STATUSES:
        errors["status"] = [_("Select a valid choice.")]
    if source and source not in FeedbackSource.values:
        errors["source"] = [_("Select a valid choice.")]
    if errors:
        raise ValidationError(errors)
    page = feedback_item_page(
        actor=request.auth,
        status=status,
        overdue=overdue,
        source=source,
        owner=UNASSIGNED if unassigned else owner_id,
        customer=customer_id,
        ticket=ticket_id,
        cursor=cursor,
        limit=limit,
    )
    return {
        "items": [_item_out(item, request.auth) for item in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/feedback-items", response={201: FeedbackItemOut})
def feedback_item_add(request: HttpRequest, payload: FeedbackItemIn) -> Status[Any]:
    """Record feedback heard from a customer (staff or other): service agents, administrators
    and whoever may edit the customer. It must be answered within 24 hours."""
    customer = customer_get_for_user(request.auth, payload.customer_id)
    feedback_item_require_record(request.auth, customer)
    contact = None
    if payload.contact_id is not None:
        try:
            contact = contact_get_for_user(request.auth, payload.contact_id)
        except ApplicationError as error:
            raise ValidationError({"contact_id": [_("Choose a contact of this customer.")]}) from (
                error
            )
    if payload.source not in (FeedbackSource.STAFF, FeedbackSource.OTHER):
        raise ValidationError({"source": [_("Select a valid choice.")]})
    try:
        item = services.feedback_item_open(
            actor=request.auth,
            customer=customer,
            source=payload.source,
            summary=payload.summary,
            comment=payload.comment,
            contact=contact,
            score=payload.score,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _item_out(feedback_item_detail(item=item), request.auth))


@router.get("/feedback-items/{item_id}", response=FeedbackItemOut)
def feedback_item_show(request: HttpRequest, item_id: int) -> dict[str, Any]:
    item = feedback_item_get_for_user(request.auth, item_id)
    return _item_out(feedback_item_detail(item=item), request.auth)


@router.post("/feedback-items/{item_id}/respond", response=FeedbackItemOut)
def feedback_item_respond(request: HttpRequest, item_id: int, payload: RespondIn) -> Any:
    """Record what we told the customer, and the improvement action with its due date if
    decided (the owner, service agents, administrators and whoever may edit the customer)."""
    item = feedback_item_get_for_user(request.auth, item_id, write=True)
    try:
        updated = services.feedback_item_respond(
            actor=request.auth,
            item=item,
            response=payload.response,
            improvement_action=payload.improvement_action,
            improvement_due=payload.improvement_due,
            version=payload.version,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _item_out(feedback_item_detail(item=updated), request.auth)


@router.post("/feedback-items/{item_id}/close", response=FeedbackItemOut)
def feedback_item_close(request: HttpRequest, item_id: int, payload: CloseIn) -> Any:
    """Close a responded item with its improvement action (given here or with the response)."""
    item = feedback_item_get_for_user(request.auth, item_id, write=True)
    try:
        updated = services.feedback_item_close(
            actor=request.auth,
            item=item,
            version=payload.version,
            improvement_action=payload.improvement_action,
            improvement_due=payload.improvement_due,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _item_out(feedback_item_detail(item=updated), request.auth)


@router.post("/feedback-items/{item_id}/assign", response=FeedbackItemOut)
def feedback_item_assign(request: HttpRequest, item_id: int, payload: AssignIn) -> Any:
    """Hand the item to an active colleague who can see the customer."""
    item = feedback_item_get_for_user(request.auth, item_id, write=True)
    try:
        updated = services.feedback_item_assign(
            actor=request.auth, item=item, owner=payload.owner_id, version=payload.version
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _item_out(feedback_item_detail(item=updated), request.auth)


# --- surveys ------------------------------------------------------------------------------------


def _survey_out(survey: Survey, actor: Any, *, stats: bool = True) -> dict[str, Any]:
    return {
        "id": survey.pk,
        "title": survey.title,
        "kind": survey.kind,
        "intro": survey.intro,
        "status": survey.status,
        "negative_score_max": survey.negative_score_max,
        "negative_nps_max": survey.negative_nps_max,
        "sent_at": survey.sent_at,
        "closed_at": survey.closed_at,
        "questions": [
            {
                "id": question.pk,
                "position": question.position,
                "text": question.text,
                "type": question.type,
                "dimension": question.dimension,
                "choices": list(question.choices or []),
                "required": question.required,
            }
            for question in survey_questions(survey=survey)
        ],
        "stats": survey_invitation_stats(actor=actor, survey=survey) if stats else None,
        "version": survey.version,
        "created_at": survey.created_at,
        "updated_at": survey.updated_at,
    }


def _questions(payload_questions: Any) -> list[dict[str, Any]] | None:
    if payload_questions is None:
        return None
    return [question.dict() for question in payload_questions]


@router.get("/surveys", response=SurveyPage)
def survey_index(
    request: HttpRequest, status: str = "", cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Every survey, newest first, with its invitations and answers counted within your data
    scope."""
    survey_require_read(request.auth)
    if status and status not in SurveyStatus.values:
        raise ValidationError({"status": [_("Select a valid choice.")]})
    page = survey_page(actor=request.auth, status=status, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/surveys", response={201: SurveyOut})
def survey_add(request: HttpRequest, payload: SurveyIn) -> Status[Any]:
    """A draft survey (administrators, analysts, sales managers, service agents)."""
    survey_require_manage(request.auth)
    survey = services.survey_create(
        actor=request.auth,
        title=payload.title,
        kind=payload.kind,
        intro=payload.intro,
        questions=_questions(payload.questions),
        negative_score_max=payload.negative_score_max,
        negative_nps_max=payload.negative_nps_max,
    )
    return Status(201, _survey_out(survey, request.auth))


@router.get("/surveys/analysis", response=AnalysisOut)
def survey_analysis_show(
    request: HttpRequest, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """CSAT and NPS across every survey, and the tickets' satisfaction scores, of the customers
    and tickets in your data scope, answered between two dates (inclusive)."""
    survey_require_read(request.auth)
    analysis = survey_analysis(actor=request.auth, date_from=date_from, date_to=date_to)
    return _analysis_out(analysis)


@router.get("/surveys/{survey_id}", response=SurveyOut)
def survey_show(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    survey = survey_get_for_user(request.auth, survey_id)
    return _survey_out(survey, request.auth)


@router.patch("/surveys/{survey_id}", response=SurveyOut)
def survey_edit(request: HttpRequest, survey_id: int, payload: SurveyPatchIn) -> dict[str, Any]:
    """Change a draft; ``questions`` replaces all of them. A sent survey is 409
    ``survey_not_editable``."""
    survey = survey_get_for_user(request.auth, survey_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    required = {
        name: [_("This field cannot be null.")]
        for name in ("title", "kind", "intro", "negative_score_max", "negative_nps_max")
        if name in data and data[name] is None
    }
    if required:
        raise ValidationError(required)
    if "questions" in data:
        data["questions"] = data["questions"] if data["questions"] is not None else []
    updated = services.survey_update(actor=request.auth, survey=survey, data=data, version=version)
    return _survey_out(updated, request.auth)


@router.delete("/surveys/{survey_id}", response={204: None})
def survey_remove(request: HttpRequest, survey_id: int) -> Status[Any]:
    survey = survey_get_for_user(request.auth, survey_id, write=True)
    services.survey_delete(actor=request.auth, survey=survey)
    return Status(204, None)


@router.post("/surveys/{survey_id}/close", response=SurveyOut)
def survey_close(request: HttpRequest, survey_id: int, payload: VersionIn) -> dict[str, Any]:
    """Close the survey: its links stop working; the answers stay."""
    survey = survey_get_for_user(request.auth, survey_id, write=True)
    closed = services.survey_close(actor=request.auth, survey=survey, version=payload.version)
    return _survey_out(closed, request.auth)


def _segment(actor: Any, payload: SendIn) -> dict[str, Any]:
    """The segment, parsed by the customer list's own filters (strictly: a value they would
    ignore is a 422 here, so a send never reaches more customers than asked)."""
    from guanxi.feedback.selectors import segment_filters
    from guanxi.transfer.selectors import export_filters

    params = {
        "lifecycle": payload.lifecycle,
        "account_class": payload.account_class,
        "industry": payload.industry,
        "region": payload.region,
        "tag": "" if payload.tag is None else str(payload.tag),
    }
    return segment_filters(export_filters(actor=actor, params=params, strict=True))


def _links_out(links: list[services.SurveyLink]) -> list[dict[str, Any]]:
    from guanxi.customers.models import Contact, Customer

    customers = Customer.all_objects.in_bulk({link.invitation.customer_id for link in links})
    contacts = Contact.all_objects.in_bulk({link.invitation.contact_id for link in links})
    return [
        {
            "invitation_id": link.invitation.pk,
            "customer_id": link.invitation.customer_id,
            "customer_name": customers[link.invitation.customer_id].name,
            "contact_id": link.invitation.contact_id,
            "contact_name": contacts[link.invitation.contact_id].name,
            "url": link.url,
            "expires_at": link.invitation.expires_at,
        }
        for link in links
    ]


@router.post("/surveys/{survey_id}/send", response={200: SendPreviewOut, 201: SendOut})
def survey_send(request: HttpRequest, survey_id: int, payload: SendIn) -> Status[Any]:
    """Count (``confirm`` false: 200 with the figures) or send (``confirm`` true: 201) the
    survey to the contacts of the customers your customer list shows with these filters. The
    links not e-mailed are in this answer only."""
    survey = survey_get_for_user(request.auth, survey_id, write=True)
    segment = _segment(request.auth, payload)
    if payload.recipients not in ("primary", "all"):
        raise ValidationError({"recipients": [_("Select a valid choice.")]})
    if not payload.confirm:
        preview = survey_send_preview(
            actor=request.auth,
            survey=survey,
            filters=segment,
            mode=payload.recipients,
            email=payload.email and services.survey_email_available(),
        )
        return Status(200, preview.__dict__)
    result = services.survey_send(
        actor=request.auth,
        survey=survey,
        filters=segment,
        recipients=payload.recipients,
        expires_days=payload.expires_days,
        email=payload.email,
    )
    return Status(
        201,
        {
            "invited": result.invited,
            "by_email": result.by_email,
            "skipped": result.skipped,
            "links": _links_out(result.links),
        },
    )


@router.post("/surveys/{survey_id}/links", response=LinksOut)
def survey_links(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    """New links for the unanswered, unexpired invitations handed out by the sender (not the
    e-mailed ones) to customers in your scope; the previous links of those stop working."""
    survey = survey_get_for_user(request.auth, survey_id, write=True)
    links = services.survey_links_reissue(actor=request.auth, survey=survey)
    return {"links": _links_out(links)}


def _figures_out(row: Figures) -> dict[str, Any]:
    return {
        "key": None if row.key is None else str(row.key),
        "label": row.label,
        "csat_count": row.csat_count,
        "csat_average": row.csat_average,
        "nps_count": row.nps_count,
        "promoters": row.promoters,
        "detractors": row.detractors,
        "nps": row.nps,
    }


def _ticket_out(row: TicketFigures) -> dict[str, Any]:
    return {
        "key": None if row.key is None else str(row.key),
        "label": row.label,
        "count": row.count,
        "average": row.average,
        "low": row.low,
    }


def _analysis_out(analysis: Analysis) -> dict[str, Any]:
    return {
        "responses": analysis.responses,
        "overall": _figures_out(analysis.overall),
        "csat_distribution": [
            {"score": score, "count": count} for score, count in analysis.csat_distribution
        ],
        "nps_distribution": [
            {"score": score, "count": count} for score, count in analysis.nps_distribution
        ],
        "dimensions": [_figures_out(row) for row in analysis.dimensions],
        "regions": [_figures_out(row) for row in analysis.regions],
        "account_classes": [_figures_out(row) for row in analysis.account_classes],
        "months": [{**_figures_out(row), "key": row.label} for row in analysis.months],
        "tickets_by_category": [_ticket_out(row) for row in analysis.tickets_by_category],
        "tickets_by_month": [
            {**_ticket_out(row), "key": row.label} for row in analysis.tickets_by_month
        ],
    }


@router.get("/surveys/{survey_id}/results", response=AnalysisOut)
def survey_results(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    """One survey's CSAT and NPS, overall and per dimension, province, key-account class and
    month, of the customers in your data scope."""
    survey = survey_get_for_user(request.auth, survey_id)
    return _analysis_out(survey_analysis(actor=request.auth, survey=survey))
