"""service_defaults_ensure: the usual departments, teams and routing rules, made once; whatever
exists (or was deliberately put in the recycle bin) is left alone."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import Department
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_create, department_delete
from guanxi.service.models import RoutingRule, ServiceTeam
from guanxi.service.setup import services
from tests.conftest import Org
from tests.factories import UserFactory
from tests.service.setup.conftest import category, db_state

pytestmark = pytest.mark.django_db


def _routes() -> dict[str, str]:
    return {
        rule.category.code: rule.team.department.code
        for rule in RoutingRule.objects.select_related("category", "team__department")
    }


def test_the_usual_set_up_is_made_once(org: Org):
    # given the organisation's 客服中心 (code "service") with an agent and a handler
    # when
    counts = services.service_defaults_ensure(actor=org.admin)
    # then three departments are new, under the one root; 客服中心 is reused
    assert counts == {"departments": 3, "teams": 4, "rules": 4}
    made = {d.code: d for d in Department.objects.filter(code__in=["tech", "supply", "finance"])}
    assert {d.name for d in made.values()} == {"技术部", "供应链部", "财务部"}
    assert all(d.parent == org.hq for d in made.values())
    service_team = ServiceTeam.objects.get(department=org.service)
    assert set(service_team.members.all()) == {org.agent, org.handler}
    assert service_team.lead is None
    assert _routes() == {
        "product_quality": "tech",
        "logistics_delay": "supply",
        "billing_dispute": "finance",
        "after_sales": "service",
    }
    # and a second run changes nothing at all, not even the audit trail
    before = db_state()
    assert services.service_defaults_ensure(actor=org.admin) == {
        "departments": 0,
        "teams": 0,
        "rules": 0,
    }
    assert db_state() == before


def test_existing_departments_teams_and_rules_are_kept(org: Org):
    # given 技术部 already exists (by name, another code) with a handler and a rep in it, and
    # 产品质量 already routed to 客服中心's team
    tech = department_create(actor=org.admin, name="技术部", code="rnd", parent=org.hq)
    engineer = UserFactory(username="engineer", role=Role.DEPARTMENT_HANDLER, department=tech)
    UserFactory(username="seller", role=Role.SALES_REP, department=tech)
    UserFactory(username="gone", role=Role.DEPARTMENT_HANDLER, department=tech, is_active=False)
    team = services.service_team_create(actor=org.admin, department=org.service, lead=org.agent)
    services.routing_rule_create(actor=org.admin, category=category("product_quality"), team=team)
    # when
    counts = services.service_defaults_ensure(actor=org.admin)
    # then
    assert counts == {"departments": 2, "teams": 3, "rules": 3}
    tech_team = ServiceTeam.objects.get(department=tech)
    assert list(tech_team.members.all()) == [engineer]
    team.refresh_from_db()
    assert (team.lead, team.members.count()) == (org.agent, 0)  # left as it was
    assert _routes()["product_quality"] == "service"
    assert not Department.objects.filter(code="tech").exists()


def test_a_department_in_the_recycle_bin_stays_there(org: Org):
    finance = department_create(actor=org.admin, name="财务部", code="finance", parent=org.hq)
    department_delete(actor=org.admin, department=finance)
    counts = services.service_defaults_ensure(actor=org.admin)
    assert counts == {"departments": 2, "teams": 3, "rules": 3}
    assert "billing_dispute" not in _routes()
    assert Department.all_objects.filter(code="finance").count() == 1


def test_without_a_single_root_the_departments_are_top_level(org: Org):
    department_create(actor=org.admin, name="子公司", code="subsidiary")
    services.service_defaults_ensure(actor=None)  # the demo loader runs it as the system
    assert Department.objects.get(code="tech").parent is None


def test_a_deleted_category_gets_no_rule(org: Org):
    spare = category("logistics_delay")
    services.ticket_category_delete(actor=org.admin, category=spare)
    counts = services.service_defaults_ensure(actor=org.admin)
    assert counts["rules"] == 3
    assert "logistics_delay" not in _routes()
