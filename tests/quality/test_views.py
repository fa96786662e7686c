"""The quality review pages at work: the item beside the sheet, inline field errors, the 409 of a
second review, the queue, the agent's answer, HTMX fragments, the figures, and query counts that
do not grow with the rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers.models import Customer
from guanxi.service.quality import services
from guanxi.service.quality.models import Review, ReviewAssignment, ScoreCriterion
from tests.conftest import login_client
from tests.customers.conftest import make_contact
from tests.quality.conftest import (
    PERIOD_END,
    PERIOD_START,
    db_state,
    full_scores,
    make_interaction,
    make_ticket,
    review_interaction,
    review_ticket,
)

pytestmark = pytest.mark.django_db


def _form(sheet, **overrides):
    data = {f"score_{pk}": points for pk, points in full_scores(sheet).items()}
    data.update(overrides)
    return data


def _review_url(world, ticket):
    return f"/service/quality/reviews/new/?sheet={world.ticket_sheet.pk}&ticket={ticket.pk}"


def test_the_review_form_shows_the_ticket_beside_the_sheet(world):
    ticket = make_ticket(world, assignee=world.org.agent, subject="发票抬头错误")
    response = login_client(world.lead, language="en").get(_review_url(world, ticket))
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.number in page and "发票抬头错误" in page
    assert "客户反映打印机频繁卡纸" in page  # the description
    assert "更换搓纸轮后恢复正常" in page  # the resolution
    assert page.count('data-testid="criterion-row"') == 6
    assert "Score out of 100; passes at 80%" in page


def test_the_review_form_shows_an_interactions_contacts_by_name_only(world, org):
    contact = make_contact(world.customer, "李经理", phones=["13912345678"])
    interaction = make_interaction(world, content="拜访客户，讨论年度续约。")
    interaction.contacts.add(contact)
    url = (
        f"/service/quality/reviews/new/?sheet={world.interaction_sheet.pk}"
        f"&interaction={interaction.pk}"
    )
    page = login_client(org.manager).get(url).content.decode()
    assert "拜访客户，讨论年度续约。" in page and "李经理" in page
    assert "13912345678" not in page and "139****5678" not in page


def test_a_bad_score_is_shown_next_to_its_field_and_nothing_is_saved(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    timely = ScoreCriterion.objects.get(sheet=world.ticket_sheet, name="响应及时")
    client = login_client(world.lead, language="en")
    before = db_state()
    response = client.post(
        _review_url(world, ticket),
        _form(world.ticket_sheet, **{f"score_{timely.pk}": 25, f"score_{timely.pk + 1}": ""}),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors[f"score_{timely.pk}"] == ["Enter a number from 0 to 20."]
    assert form.errors[f"score_{timely.pk + 1}"] == ["Score this criterion."]
    assert "Enter a number from 0 to 20." in response.content.decode()
    assert db_state() == before


def test_a_review_is_saved_and_a_second_one_is_a_409_page(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    lead = login_client(world.lead, language="en")
    response = lead.post(_review_url(world, ticket), _form(world.ticket_sheet, comment="不错"))
    review = Review.objects.get(ticket=ticket)
    assert response.status_code == 302
    assert response["Location"] == f"/service/quality/reviews/{review.pk}/"
    # the form submitted again (a double click, a second tab) changes nothing
    before = db_state()
    again = lead.post(_review_url(world, ticket), _form(world.ticket_sheet))
    assert again.status_code == 409
    assert "already been reviewed with this score sheet" in again.content.decode()
    assert db_state() == before
    # opening the form again leads to the review
    opened = lead.get(_review_url(world, ticket))
    assert opened.status_code == 302 and opened["Location"] == response["Location"]


def test_a_drawn_item_is_reviewed_from_the_queue(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    lead = login_client(world.lead)
    drawn = lead.post(
        "/service/quality/draw/",
        {
            "sheet": world.ticket_sheet.pk,
            "period_start": PERIOD_START.isoformat(),
            "period_end": PERIOD_END.isoformat(),
            "per_agent": 3,
        },
    )
    assert drawn.status_code == 302 and drawn["Location"] == "/service/quality/queue/"
    assignment = ReviewAssignment.objects.get(ticket=ticket)
    queue = lead.get("/service/quality/queue/").content.decode()
    assert ticket.number in queue
    url = f"/service/quality/reviews/new/?assignment={assignment.pk}"
    response = lead.post(url, _form(world.ticket_sheet))
    assert response.status_code == 302 and response["Location"] == "/service/quality/queue/"
    assignment.refresh_from_db()
    assert assignment.status == ReviewAssignment.Status.DONE
    assert 'data-testid="no-assignments"' in lead.get("/service/quality/queue/").content.decode()


def test_a_draw_with_bad_dates_is_shown_on_the_form(world):
    client = login_client(world.lead, language="en")
    before = db_state()
    response = client.post(
        "/service/quality/draw/",
        {
            "sheet": world.ticket_sheet.pk,
            "period_start": PERIOD_END.isoformat(),
            "period_end": PERIOD_START.isoformat(),
            "per_agent": 3,
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["period_start"] == [
        "Choose a period of at most a year, its start before its end."
    ]
    assert db_state() == before


def test_the_agent_acknowledges_or_disputes_on_the_review_page(world, org):
    first = review_ticket(world, make_ticket(world, assignee=org.agent))
    second = review_ticket(world, make_ticket(world, assignee=org.agent), 解决方案=0)
    agent = login_client(org.agent, language="en")
    page = agent.get(f"/service/quality/reviews/{first.pk}/").content.decode()
    assert 'data-testid="respond"' in page
    response = agent.post(
        f"/service/quality/reviews/{first.pk}/acknowledge/", {"version": first.version}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Review.Status.ACKNOWLEDGED
    # a dispute without a reason is refused on the page
    before = db_state()
    empty = agent.post(
        f"/service/quality/reviews/{second.pk}/dispute/", {"version": second.version, "reason": ""}
    )
    assert empty.status_code == 400
    assert empty.context["dispute_form"].errors["reason"] == ["This field is required."]
    assert db_state() == before
    agent.post(
        f"/service/quality/reviews/{second.pk}/dispute/",
        {"version": second.version, "reason": "方案已被客户确认有效"},
    )
    second.refresh_from_db()
    assert second.status == Review.Status.DISPUTED
    # the administrator settles it with corrected scores
    admin = login_client(org.admin)
    form = {f"score_{score.criterion_id}": score.max_points for score in second.scores.all()}
    response = admin.post(
        f"/service/quality/reviews/{second.pk}/resolve/",
        {**form, "version": second.version, "note": "录音核实，方案有效", "rescore": "on"},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == Review.Status.RESOLVED and second.total == 100


def test_a_review_whose_item_left_the_readers_view_shows_no_content(world, org):
    review = review_interaction(world, make_interaction(world, content="机密的续约条件"))
    Customer.objects.filter(pk=world.customer.pk).update(owner=org.other_rep)
    page = login_client(org.rep).get(f"/service/quality/reviews/{review.pk}/").content.decode()
    assert 'data-testid="item-hidden"' in page
    assert "机密的续约条件" not in page
    # the reviewer (a manager of both reps) still reads it
    shown = login_client(org.manager).get(f"/service/quality/reviews/{review.pk}/")
    assert "机密的续约条件" in shown.content.decode()


def test_my_reviews_lists_only_my_own(world, org):
    mine = review_ticket(world, make_ticket(world, assignee=org.agent))
    review_ticket(world, make_ticket(world, assignee=org.handler))
    page = login_client(org.agent).get("/service/quality/mine/").content.decode()
    assert page.count('data-testid="review-row"') == 1
    assert f"/service/quality/reviews/{mine.pk}/" in page


def test_the_review_list_answers_htmx_with_its_fragment(world, org):
    review_ticket(world, make_ticket(world, assignee=org.agent))
    review_ticket(world, make_ticket(world, assignee=org.agent), 服务红线=0)
    client = login_client(world.lead)
    response = client.get("/service/quality/reviews/?passed=no", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and body.count('data-testid="review-row"') == 1
    full = client.get("/service/quality/reviews/?passed=no").content.decode()
    assert "<html" in full and 'hx-get="/service/quality/reviews/"' in full


def test_the_figures_page_shows_the_numbers(world, org):
    review_ticket(world, make_ticket(world, assignee=org.agent))
    review_ticket(world, make_ticket(world, assignee=org.agent), 解决方案=0)  # 75
    client = login_client(org.admin, language="en")
    url = f"/service/quality/figures/?date_from={PERIOD_START}&date_to={PERIOD_END}"
    page = client.get(url).content.decode()
    assert 'data-testid="figures-average">87.5%' in page
    assert 'data-testid="figures-pass-rate">50%' in page
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.content.decode()
    bad = client.get("/service/quality/figures/?date_from=2026-10-31&date_to=2026-10-01")
    assert bad.status_code == 400
    assert "its start before its end" in bad.content.decode()


def test_the_sheet_editor_changes_a_criterion(world, org):
    admin = login_client(org.admin)
    criterion = ScoreCriterion.objects.get(sheet=world.ticket_sheet, name="规范用语")
    page = admin.get(f"/service/quality/sheets/{world.ticket_sheet.pk}/edit/").content.decode()
    assert page.count('data-testid="criterion"') == 6
    response = admin.post(
        f"/service/quality/criteria/{criterion.pk}/edit/",
        {"version": criterion.version, "name": "文明用语", "max_points": 15, "critical": "on"},
    )
    assert response.status_code == 302
    criterion.refresh_from_db()
    assert (criterion.name, criterion.max_points, criterion.critical) == ("文明用语", 15, True)
    # a stale version is a 409 with both values side by side
    stale = admin.post(
        f"/service/quality/criteria/{criterion.pk}/edit/",
        {"version": criterion.version - 1, "name": "用语", "max_points": 15},
    )
    assert stale.status_code == 409 and 'data-testid="conflict"' in stale.content.decode()


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_pages_do_not_grow_with_their_rows(world, org):
    admin = login_client(org.admin)
    review_ticket(world, make_ticket(world, assignee=org.agent))
    make_ticket(world, assignee=org.handler)
    services.quality_sample_draw(
        actor=org.admin,
        sheet=world.ticket_sheet,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        per_agent=5,
        seed=1,
    )
    counts = {
        url: _queries(admin, url)
        for url in ("/service/quality/reviews/", "/service/quality/queue/")
    }
    for _ in range(4):
        review_ticket(world, make_ticket(world, assignee=org.agent))
        make_ticket(world, assignee=org.handler)
    services.quality_sample_draw(
        actor=org.admin,
        sheet=world.ticket_sheet,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        per_agent=5,
        seed=1,
    )
    assert Review.objects.count() == 5 and ReviewAssignment.objects.count() == 5
    for url, few in counts.items():
        assert _queries(admin, url) == few, url
