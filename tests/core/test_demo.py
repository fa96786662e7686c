"""The demo data set (core/demo): the six named users with the demo password, idempotent loading
and a deterministic generator."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from guanxi.accounts.models import Department, User
from guanxi.core.demo.generator import DemoGenerator
from guanxi.core.demo.load import DEMO_USERS, demo_load
from guanxi.core.models import AuditEntry

NAMED = {
    "admin": "administrator",
    "manager": "sales_manager",
    "rep1": "sales_rep",
    "rep2": "sales_rep",
    "agent": "service_agent",
    "analyst": "analyst",
}


def _snapshot():
    return (
        sorted(
            User.objects.values_list(
                "username", "full_name", "role", "department_id", "manager_id", "password"
            )
        ),
        sorted(Department.all_objects.values_list("code", "name", "path", "version")),
        AuditEntry.objects.count(),
    )


@pytest.mark.django_db
def test_loads_the_six_named_users_with_the_demo_password(settings):
    # when
    assert demo_load() is True
    # then
    assert {u.username: u.role for u in User.objects.filter(username__in=NAMED)} == NAMED
    for username in NAMED:
        assert User.objects.get(username=username).check_password(settings.GUANXI_DEMO_PASSWORD), (
            username
        )
    assert settings.GUANXI_DEMO_PASSWORD == "guanxi-demo"
    assert User.objects.get(username="rep1").manager.username == "manager"
    assert User.objects.get(username="rep1").department.code == "sales-east"
    assert User.objects.get(username="manager").department.code == "sales"


@pytest.mark.django_db
def test_demo_password_can_be_set(settings):
    settings.GUANXI_DEMO_PASSWORD = "another-demo-pass"
    demo_load(extra_staff=0)
    assert User.objects.get(username="rep1").check_password("another-demo-pass")
    assert not User.objects.get(username="rep1").check_password("guanxi-demo")


@pytest.mark.django_db
def test_second_run_changes_nothing():
    # given
    demo_load()
    before = _snapshot()
    # when
    assert demo_load() is False
    # then
    assert _snapshot() == before


@pytest.mark.django_db
def test_second_run_keeps_a_changed_password(settings):
    demo_load(extra_staff=0)
    rep = User.objects.get(username="rep1")
    rep.set_password("my-own-password-42")
    rep.save(update_fields=["password"])
    demo_load(extra_staff=0)
    assert User.objects.get(username="rep1").check_password("my-own-password-42")


@pytest.mark.django_db
def test_a_missing_piece_is_filled_in_without_touching_the_rest():
    demo_load(extra_staff=3)
    staff = User.objects.get(username="staff03")
    staff.delete()
    before = sorted(User.objects.values_list("username", "full_name", "password"))
    assert demo_load(extra_staff=3) is True
    after = sorted(User.objects.values_list("username", "full_name", "password"))
    assert set(after) - set(before) == {next(u for u in after if u[0] == "staff03")}
    assert User.objects.get(username="staff03").full_name == staff.full_name  # same generated name


@pytest.mark.django_db
def test_demo_load_command_reports_both_outcomes():
    first, second = io.StringIO(), io.StringIO()
    call_command("demo_load", stdout=first)
    call_command("demo_load", stdout=second)
    assert "demo data loaded" in first.getvalue()
    assert "nothing changed" in second.getvalue()


@pytest.mark.django_db
def test_same_seed_gives_the_same_staff_names():
    demo_load(seed=7)
    names = list(
        User.objects.filter(username__startswith="staff")
        .order_by("username")
        .values_list("full_name", flat=True)
    )
    generator = DemoGenerator(7)
    expected = [generator.person().name for _ in range(len(names))]
    assert names == expected


def test_generator_is_deterministic_per_seed():
    first, again, other = DemoGenerator(42), DemoGenerator(42), DemoGenerator(43)
    people = [first.person() for _ in range(50)]
    assert people == [again.person() for _ in range(50)]
    assert people != [other.person() for _ in range(50)]
    companies = list(DemoGenerator(42).companies(50))
    assert companies == list(DemoGenerator(42).companies(50))


def test_generated_people_and_companies_look_real():
    generator = DemoGenerator(1)
    for person in generator.people(200):
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", person.name), person.name
        assert re.fullmatch(r"1[3-9]\d{9}", person.phone), person.phone
    for company in generator.companies(200):
        assert re.search(r"[\u4e00-\u9fff]", company.name)
        assert company.kind in {"company", "government"}
        assert company.city and company.province and company.industry
        if company.kind == "company":
            assert company.name.endswith("公司"), company.name


def test_named_demo_users_match_the_documented_list():
    assert [u.username for u in DEMO_USERS] == [
        "admin",
        "manager",
        "rep1",
        "rep2",
        "agent",
        "analyst",
    ]
