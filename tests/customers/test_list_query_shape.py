"""The shape of the list and search queries that keeps them fast at a million customers
(bench/customers_list_search.py measures the speed; these hold the behaviour and the shape)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.core.china.search import key_matches, search_terms
from guanxi.customers.models import Customer
from guanxi.customers.selectors import (
    SEARCH_DENSE_SHARE,
    SEARCH_DENSITY_PROBE_ROWS,
    _search_public,
    customer_list,
    customer_page,
)
from tests.conftest import ApiClient
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.django_db

# Enough customers whose phone tail begins with 13 for the term to count as dense.
DENSE = int(SEARCH_DENSITY_PROBE_ROWS * SEARCH_DENSE_SHARE) + 2


@pytest.fixture
def tails(org):
    """Customers with phone tails 1300, 1301 …, one with another tail, one with no phone."""
    for number in range(DENSE):
        customer = make_customer(org.rep, f"尾号客户{number:02d}")
        make_contact(customer, f"联系人{number:02d}", phones=[f"1390000{1300 + number}"])
    other = make_customer(org.rep, "华为技术有限公司")
    make_contact(other, "李四", phones=["13800138000"])
    make_customer(None, "没有电话的客户")


def _public_matches(query: str) -> set[int]:
    terms = search_terms(query)
    keys = Customer.objects.values_list("pk", "search_key")
    return {pk for pk, key in keys if key_matches(key, terms)}


def _page_sql(**kwargs) -> str:
    with CaptureQueriesContext(connection) as captured:
        customer_page(**kwargs)
    (sql,) = [
        q["sql"] for q in captured.captured_queries if 'FROM "customers_customer"' in q["sql"]
    ]
    return sql


@pytest.mark.parametrize("query", ["13", "130", "1305", "8000", "华为", "hwjs", "9999", "尾号"])
def test_search_finds_what_the_matching_rule_finds_dense_or_rare(org, tails, query):
    # given customers none of whom the administrator owns (so only public tokens count)
    # when they search, then the rows are exactly those the reference rule matches
    found = set(customer_list(actor=org.admin, query=query).values_list("pk", flat=True))
    assert found == _public_matches(query)


@pytest.mark.postgres
def test_a_dense_digit_term_is_left_out_of_the_index_condition(org, tails, postgresql):
    # given "13" begins the phone tail of more than the dense share of the newest customers
    dense = _search_public(Customer.objects.all(), ["13"])
    rare = _search_public(Customer.objects.all(), ["1305"])
    # then the dense one is a plain test on the key, which lets the planner walk the list order,
    # and the rare one goes through the GIN index
    assert "@@" not in str(dense.query)
    assert "strpos" in str(dense.query)
    assert "@@" in str(rare.query)
    assert set(dense.values_list("pk", flat=True)) == _public_matches("13")


@pytest.mark.postgres
def test_letters_and_chinese_terms_always_go_through_the_index(org, tails, postgresql):
    with CaptureQueriesContext(connection) as captured:
        query = _search_public(Customer.objects.all(), ["尾号", "weihao"]).query
    # no density probe for them: the planner's statistics count their tokens
    assert len(captured) == 0
    assert "@@" in str(query)


def test_the_api_list_joins_only_the_industry(org, tails):
    client = ApiClient(org.admin)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/customers").status_code == 200
    (page,) = [
        q["sql"] for q in captured.captured_queries if 'FROM "customers_customer"' in q["sql"]
    ]
    # every joined table multiplies the planner's work; the output names regions by code
    assert 'JOIN "customers_industry"' in page
    assert 'JOIN "core_region"' not in page
    assert 'JOIN "accounts_user"' not in page


def test_the_list_page_still_joins_what_it_shows(org, tails):
    sql = _page_sql(actor=org.admin)
    for table in ("customers_industry", "core_region", "accounts_user"):
        assert f'JOIN "{table}"' in sql


def test_no_related_names_joins_nothing(org, tails):
    # select_related() without names would follow every foreign key instead
    assert " JOIN " not in _page_sql(actor=org.admin, related=())


@pytest.mark.postgres
def test_postgres_knows_how_owner_lifecycle_and_class_occur_together(postgresql):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.stxkind, array_agg(a.attname ORDER BY a.attname) "
            "FROM pg_statistic_ext s JOIN pg_attribute a "
            "ON a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys) "
            "WHERE s.stxname = 'customer_owner_lifecycle_class' GROUP BY s.stxkind"
        )
        rows = cursor.fetchall()
    assert rows == [(["m"], ["account_class", "lifecycle", "owner_id"])]
