"""Score sheets: the seeded ones, creating and changing sheets and criteria (administrators
only), and the data migration's reverse."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import PermissionDeniedError
from guanxi.service.quality import services
from guanxi.service.quality.models import ScoreCriterion, ScoreSheet
from tests.quality.conftest import db_state, make_ticket, review_ticket

pytestmark = pytest.mark.django_db

SEED = importlib.import_module("guanxi.service.quality.migrations.0002_default_sheets")


def test_the_seeded_sheets_are_worth_100_points_with_one_critical_line(world):
    for sheet in (world.ticket_sheet, world.interaction_sheet):
        criteria = list(ScoreCriterion.objects.filter(sheet=sheet).order_by("position"))
        assert sum(c.max_points for c in criteria) == 100
        assert [c.name for c in criteria if c.critical] == [criteria[-1].name]
        assert sheet.pass_percent == 80 and sheet.active
    names = list(
        ScoreCriterion.objects.filter(sheet=world.ticket_sheet)
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == ["响应及时", "问题理解", "解决方案", "沟通态度", "规范用语", "服务红线"]


def test_the_migration_reverse_keeps_a_sheet_in_use_and_the_seed_is_idempotent(world):
    review_ticket(world, make_ticket(world, assignee=world.org.agent))
    SEED.unseed(apps, None)
    assert list(ScoreSheet.objects.values_list("applies_to", flat=True)) == ["ticket"]
    SEED.seed(apps, None)
    SEED.seed(apps, None)
    assert sorted(ScoreSheet.objects.values_list("applies_to", flat=True)) == [
        "interaction",
        "ticket",
    ]


def test_an_administrator_creates_a_sheet_with_its_criteria(world):
    sheet = services.quality_sheet_create(
        actor=world.org.admin,
        name="投诉工单专项",
        applies_to="ticket",
        pass_percent=90,
        criteria=[
            {"name": "安抚情绪", "max_points": 30},
            {"name": "升级及时", "max_points": 20, "critical": True, "description": "两小时内"},
        ],
    )
    rows = list(
        ScoreCriterion.objects.filter(sheet=sheet)
        .order_by("position")
        .values_list("position", "name", "max_points", "critical")
    )
    assert rows == [(1, "安抚情绪", 30, False), (2, "升级及时", 20, True)]
    added = services.quality_criterion_create(
        actor=world.org.admin, sheet=sheet, name="结案回访", max_points=10
    )
    assert added.position == 3


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"pass_percent": 0}, "pass_percent"),
        ({"pass_percent": 101}, "pass_percent"),
        ({"applies_to": "orders"}, "applies_to"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_sheet_values_are_field_errors(world, values, field):
    data = {"name": "新表", "applies_to": "ticket", **values}
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_sheet_create(actor=world.org.admin, **data)
    assert field in caught.value.message_dict
    assert db_state() == before


@pytest.mark.parametrize("points", [0, 101, None])
def test_a_criterion_needs_1_to_100_points(world, points):
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_criterion_create(
            actor=world.org.admin, sheet=world.ticket_sheet, name="新标准", max_points=points
        )
    assert list(caught.value.message_dict) == ["max_points"]
    assert db_state() == before


def test_what_a_sheet_scores_is_fixed(world):
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_sheet_update(
            actor=world.org.admin, sheet=world.ticket_sheet, data={"applies_to": "interaction"}
        )
    assert list(caught.value.message_dict) == ["applies_to"]
    assert db_state() == before


@pytest.mark.parametrize(
    "role",
    [
        "sales_manager",
        "sales_rep",
        "key_account_manager",
        "service_agent",
        "department_handler",
        "analyst",
    ],
)
def test_only_administrators_keep_the_sheets(world, role):
    actor = world.org.by_role()[role]
    criterion = ScoreCriterion.objects.filter(sheet=world.ticket_sheet).first()
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        services.quality_sheet_create(actor=actor, name="表", applies_to="ticket")
    with pytest.raises(PermissionDeniedError):
        services.quality_sheet_update(actor=actor, sheet=world.ticket_sheet, data={"name": "改"})
    with pytest.raises(PermissionDeniedError):
        services.quality_criterion_create(
            actor=actor, sheet=world.ticket_sheet, name="新", max_points=5
        )
    with pytest.raises(PermissionDeniedError):
        services.quality_criterion_update(actor=actor, criterion=criterion, data={"name": "改"})
    with pytest.raises(PermissionDeniedError):
        services.quality_criterion_delete(actor=actor, criterion=criterion)
    with pytest.raises(PermissionDeniedError):
        services.quality_sheet_update(
            actor=world.lead, sheet=world.ticket_sheet, data={"active": False}
        )
    assert db_state() == before
