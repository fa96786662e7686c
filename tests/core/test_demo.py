"""The demo data set (core/demo): the six named users with the demo password, the customer
archive (customers, contacts, tags, the 华为 search example), idempotent loading and a
deterministic generator."""

from __future__ import annotations

import io
import re

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from guanxi.accounts.models import Department, User
from guanxi.core.china.credit_code import credit_code_clean
from guanxi.core.china.phones import phone_normalize
from guanxi.core.demo.customers import CUSTOM_TAGS, PRESET_TAGS, customer_plans
from guanxi.core.demo.generator import DemoGenerator
from guanxi.core.demo.load import DEMO_USERS, demo_load
from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.selectors import customer_list

PRODUCTION_HASHERS = list(django_settings.PASSWORD_HASHERS)

NAMED = {
    "admin": "administrator",
    "manager": "sales_manager",
    "rep1": "sales_rep",
    "rep2": "sales_rep",
    "agent": "service_agent",
    "analyst": "analyst",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 for the 18 demo accounts costs seconds per load; hashes still verify either way.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *PRODUCTION_HASHERS,
    ]


def _snapshot():
    return (
        sorted(
            User.objects.values_list(
                "username", "full_name", "role", "department_id", "manager_id", "password"
            )
        ),
        sorted(Department.all_objects.values_list("code", "name", "path", "version")),
        sorted(
            Customer.all_objects.values_list(
                "pk", "name", "owner_id", "version", "updated_at", "search_key"
            )
        ),
        sorted(Contact.all_objects.values_list("pk", "customer_id", "name", "phones", "version")),
        sorted(Tag.all_objects.values_list("pk", "name", "color", "version")),
        sorted(Customer.tags.through.objects.values_list("customer_id", "tag_id")),
        AuditEntry.objects.count(),
    )


@pytest.mark.django_db
def test_loads_the_six_named_users_with_the_demo_password(settings):
    # when
    assert demo_load(customers=0) is True
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
    demo_load(extra_staff=0, customers=0)
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
    demo_load(extra_staff=0, customers=0)
    rep = User.objects.get(username="rep1")
    rep.set_password("my-own-password-42")
    rep.save(update_fields=["password"])
    demo_load(extra_staff=0, customers=0)
    assert User.objects.get(username="rep1").check_password("my-own-password-42")


@pytest.mark.django_db
def test_a_missing_piece_is_filled_in_without_touching_the_rest():
    demo_load(extra_staff=3, customers=0)
    staff = User.objects.get(username="staff03")
    staff.delete()
    before = sorted(User.objects.values_list("username", "full_name", "password"))
    assert demo_load(extra_staff=3, customers=0) is True
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
    demo_load(seed=7, customers=0)
    names = list(
        User.objects.filter(username__startswith="staff")
        .order_by("username")
        .values_list("full_name", flat=True)
    )
    generator = DemoGenerator(7)
    expected = [generator.person().name for _ in range(len(names))]
    assert names == expected


@pytest.mark.django_db
def test_demo_customers_fill_the_archive_realistically():
    # when
    demo_load()
    # then
    customers = list(Customer.objects.select_related("owner", "department"))
    assert 250 <= len(customers) <= 350
    contacts = Contact.objects.count()
    assert len(customers) <= contacts <= 3 * len(customers)
    pool = [c for c in customers if c.owner_id is None]
    assert 0.08 * len(customers) <= len(pool) <= 0.25 * len(customers)
    assert all(c.department_id is None for c in pool)
    owned = [c for c in customers if c.owner_id is not None]
    assert all(c.department_id == c.owner.department_id for c in owned)
    assert {c.owner.role for c in owned} == {"sales_rep", "key_account_manager", "sales_manager"}
    assert len({c.owner_id for c in owned}) >= 5
    kinds = [c.kind for c in customers]
    assert kinds.count("company") > 0.75 * len(customers)
    assert 0 < kinds.count("individual") < kinds.count("government") < kinds.count("company")
    assert len({c.province_id for c in customers}) >= 12
    assert len({c.city_id for c in customers}) >= 25
    assert len({c.industry_id for c in customers if c.industry_id}) >= 8
    assert {c.lifecycle for c in customers} == set(Customer.Lifecycle.values)
    assert {c.account_class for c in customers} == set(Customer.AccountClass.values)
    assert len({c.source for c in customers}) == len(Customer.Source.values)
    for customer in customers:
        customer.full_clean()
        assert customer.region_code, customer.name
        if customer.kind == "individual":
            assert customer.credit_code == "" and customer.industry_id is None
        else:
            assert credit_code_clean(customer.credit_code) == customer.credit_code, customer.name
        if customer.kind == "government":
            assert customer.industry.code == "S"
    assert len({c.credit_code for c in customers if c.credit_code}) == len(
        [c for c in customers if c.credit_code]
    )
    for contact in Contact.objects.all():
        contact.full_clean()
        assert contact.phones, contact.name
        for phone in contact.phones:
            assert phone_normalize(phone["number"]) == phone["number"]
        assert not contact.email or contact.email.endswith(".example")
    assert (
        Contact.objects.filter(legal_basis="consent", consent_at__isnull=False).count()
        == Contact.objects.filter(legal_basis="consent").count()
        > 0
    )
    tag_names = {name for name, _color in PRESET_TAGS + CUSTOM_TAGS}
    assert set(Tag.objects.values_list("name", flat=True)) >= tag_names
    tagged = Customer.tags.through.objects.values_list("tag__name", flat=True)
    assert set(tagged) == tag_names
    assert 0.2 * len(customers) < len({*Customer.tags.through.objects.values_list("customer_id")})
    assert len(customers) == len({c.name for c in customers})


@pytest.mark.django_db
def test_the_huawei_example_is_found_as_the_documentation_says():
    # given
    demo_load(extra_staff=0, customers=10)
    rep = User.objects.get(username="rep1")
    huawei = Customer.objects.get(name="华为技术有限公司")
    # then
    assert (huawei.kind, huawei.owner, huawei.department.code) == ("company", rep, "sales-east")
    assert (huawei.province_id, huawei.city_id, huawei.district.name) == (
        "440000",
        "440300",
        "龙岗区",
    )
    phones = [phone["number"] for c in huawei.contacts.all() for phone in c.phones]
    assert "+8613800138000" in phones
    for query in ("华为", "华为技术", "hwjs", "huawei", "8000"):
        assert huawei in customer_list(actor=rep, query=query), query
    assert huawei not in customer_list(actor=User.objects.get(username="rep2"), query="hwjs")


@pytest.mark.django_db
def test_same_seed_gives_the_same_customers():
    demo_load(seed=7, extra_staff=0, customers=40)
    names = sorted(Customer.objects.values_list("name", flat=True))
    assert names == sorted(plan.name for plan in customer_plans(seed=7, count=40))
    assert len(names) == 40


def test_customer_plans_are_deterministic_per_seed():
    first = customer_plans(seed=42, count=60)
    assert first == customer_plans(seed=42, count=60)
    assert [p.name for p in first] != [p.name for p in customer_plans(seed=43, count=60)]
    assert customer_plans(seed=42, count=0) == []
    assert first[-1].name == "华为技术有限公司"


@pytest.mark.django_db
def test_customers_are_only_filed_into_an_empty_archive():
    # given
    demo_load(extra_staff=0, customers=5)
    # even a hard-deleted one (one without tickets, which protect their customer): the rest are
    # left alone
    Customer.objects.filter(tickets__isnull=True).first().delete()
    before = _snapshot()
    # when
    assert demo_load(extra_staff=0, customers=5) is False
    # then
    assert _snapshot() == before


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
