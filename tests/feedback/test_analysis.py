"""The satisfaction figures, computed from known answers: CSAT average and distribution, NPS,
per dimension, province, key-account class and month, the tickets' scores per category, and
every figure within the viewer's data scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from guanxi.feedback.selectors import survey_analysis
from tests.conftest import Org
from tests.feedback.conftest import (
    make_contact,
    make_customer,
    make_survey,
    make_ticket,
    send,
    token_of,
)

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"text": "总体满意度", "type": "score", "dimension": "overall"},
    {"text": "价格满意度", "type": "score", "dimension": "price"},
    {"text": "推荐意愿", "type": "nps", "dimension": "overall"},
    {"text": "建议", "type": "text", "dimension": "other", "required": False},
]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def answered(org: Org):
    """Three customers answer (overall, price, NPS):
    北京 strategic (rep) 5, 3, 10 in September; 北京 no class (rep) 4, 2, 9 in September;
    上海 important (other rep) 1, 1, 3 in October (the last moment of the 31st, local time)."""
    from guanxi.feedback import services

    rows = [
        ("北京甲有限公司", org.rep, "110000", "strategic", (5, 3, 10), "2026-09-10 10:00"),
        ("北京乙有限公司", org.rep, "110000", "none", (4, 2, 9), "2026-09-20 10:00"),
        ("上海丙有限公司", org.other_rep, "310000", "important", (1, 1, 3), "2026-10-31 23:30"),
    ]
    customers = []
    for name, owner, region, klass, _scores, _when in rows:
        customer = make_customer(owner, name, region_code=region, account_class=klass)
        make_contact(customer, "联系人", phones=["13800138000"])
        customers.append(customer)
    with freeze_time("2026-09-01 09:00:00+08:00"):
        survey = make_survey(org.analyst, "custom", questions=QUESTIONS)
        result = send(org.analyst, survey, expires_days=90)
    tokens = {link.invitation.customer_id: token_of(link.url) for link in result.links}
    questions = list(survey.questions.order_by("position"))
    for customer, (_n, _o, _r, _k, scores, when) in zip(customers, rows, strict=True):
        values = {str(q.pk): str(score) for q, score in zip(questions, scores, strict=False)}
        with freeze_time(f"{when}:00+08:00"):
            services.survey_response_submit(token=tokens[customer.pk], answers=values)
    return survey, customers


def test_overall_csat_distribution_and_nps(org: Org, answered) -> None:
    survey, _customers = answered
    analysis = survey_analysis(actor=org.analyst, survey=survey)
    assert analysis.responses == 3
    # CSAT: 5, 3, 4, 2, 1, 1
    assert analysis.overall.csat_count == 6
    assert analysis.overall.csat_average == 2.67
    assert analysis.csat_distribution == [(1, 2), (2, 1), (3, 1), (4, 1), (5, 1)]
    # NPS: 10 and 9 promote, 3 detracts: (2 - 1) / 3
    assert (analysis.overall.promoters, analysis.overall.detractors) == (2, 1)
    assert analysis.overall.nps == 33
    assert [count for _score, count in analysis.nps_distribution] == [
        0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1,
    ]  # fmt: skip


def test_per_dimension_province_class_and_month(org: Org, answered) -> None:
    survey, _customers = answered
    analysis = survey_analysis(actor=org.admin, survey=survey)
    assert [(row.key, row.csat_average, row.nps) for row in analysis.dimensions] == [
        ("overall", 3.33, 33),
        ("price", 2.0, None),
    ]
    assert [(row.label, row.csat_average, row.nps) for row in analysis.regions] == [
        ("北京市", 3.5, 100),
        ("上海市", 1.0, -100),
    ]
    assert [(row.key, row.csat_average) for row in analysis.account_classes] == [
        ("important", 1.0),
        ("none", 3.0),
        ("strategic", 4.0),
    ]
    # the last evening of October (Beijing time) counts for October, not November
    assert [(row.label, row.csat_average, row.nps) for row in analysis.months] == [
        ("2026-09", 3.5, 100),
        ("2026-10", 1.0, -100),
    ]


def test_figures_count_only_customers_in_the_viewers_scope(org: Org, answered) -> None:
    survey, _customers = answered
    mine = survey_analysis(actor=org.rep, survey=survey)
    assert mine.responses == 2
    assert (mine.overall.csat_count, mine.overall.csat_average, mine.overall.nps) == (4, 3.5, 100)
    assert [row.label for row in mine.regions] == ["北京市"]
    nothing = survey_analysis(actor=org.outsider, survey=survey)
    assert (nothing.responses, nothing.overall.csat_average, nothing.overall.nps) == (0, None, None)


def test_a_period_narrows_the_answers(org: Org, answered) -> None:
    october = survey_analysis(
        actor=org.admin, date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 10, 31)
    )
    assert (october.responses, october.overall.csat_average) == (1, 1.0)
    with pytest.raises(ValidationError):
        survey_analysis(actor=org.admin, date_to=dt.date(9999, 12, 31))


def test_ticket_scores_per_category_and_month_of_visible_tickets(org: Org, answered) -> None:
    _survey, (beijing, _second, shanghai) = answered
    confirmed = dt.datetime(2026, 9, 15, 10, 0, tzinfo=SHANGHAI)
    make_ticket(beijing, satisfaction=2, confirmed_at=confirmed)
    make_ticket(beijing, satisfaction=4, confirmed_at=confirmed)
    make_ticket(
        shanghai,
        satisfaction=1,
        category_code="logistics",
        category_name="物流延迟",
        confirmed_at=confirmed + dt.timedelta(days=30),
    )
    make_ticket(beijing, satisfaction=None)  # not scored: left out
    everything = survey_analysis(actor=org.admin)
    assert [(r.label, r.count, r.average, r.low) for r in everything.tickets_by_category] == [
        ("产品质量", 2, 3.0, 1),
        ("物流延迟", 1, 1.0, 1),
    ]
    assert [(r.label, r.count, r.average) for r in everything.tickets_by_month] == [
        ("2026-09", 2, 3.0),
        ("2026-10", 1, 1.0),
    ]
    mine = survey_analysis(actor=org.rep)
    assert [(r.label, r.count) for r in mine.tickets_by_category] == [("产品质量", 2)]
