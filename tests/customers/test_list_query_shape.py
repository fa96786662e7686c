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
    SEARCH_WALK_SHARE,
    _search_public,
    customer_list,
    customer_page,
)
from tests.conftest import ApiClient
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.django_db

# Shares of the newest customers: 12 of 415 is above the walk share, 1 of 415 below the dense one;
# without the filler, 12 of 14 is above every share.
FILLER = 400
COMMON = 12
assert COMMON / (FILLER + COMMON + 3) > SEARCH_WALK_SHARE > SEARCH_DENSE_SHARE > 1 / FILLER


@pytest.fixture
def numbers(org):
    """Customers with phone tails 1300, 1301 …, one with another tail, one with no phone."""
    for number in range(COMMON):
        customer = make_customer(org.rep, f"尾号客户{number:02d}")
        make_contact(customer, f"联系人{number:02d}", phones=[f"1390000{1300 + number}"])
    other = make_customer(org.rep, "华为技术有限公司")
    make_contact(other, "李四", phones=["13800138000"])
    make_customer(None, "没有电话的客户")


@pytest.fixture
def tails(numbers):
    """The same among customers that match nothing, so that one customer is a rare match."""
    Customer.objects.bulk_create(
        Customer(name=f"填充{number}", search_key=f"tianchong{number}") for number in range(FILLER)
    )


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
@pytest.mark.parametrize("term", ["13", "weihao"])
def test_a_common_term_of_letters_or_digits_is_left_out_of_the_index(org, tails, postgresql, term):
    # given the term begins a token in most of the newest customers
    common = _search_public(Customer.objects.all(), [term])
    # then it is a plain test on the key, not counted as selective, so the planner walks the list
    # order and stops at the first page instead of sorting every match
    assert "@@" not in str(common.query)
    assert ") <> 0" in str(common.query)
    assert set(common.values_list("pk", flat=True)) == _public_matches(term)


@pytest.mark.postgres
def test_a_common_chinese_term_keeps_the_index_for_the_planner_to_weigh(org, tails, postgresql):
    # PostgreSQL's statistics count Chinese bigrams well: its estimate is left alone
    common = _search_public(Customer.objects.all(), ["尾号"])
    assert "@@" in str(common.query)
    assert ") <> 0" in str(common.query)


@pytest.mark.postgres
@pytest.mark.parametrize("term", ["1305", "华为", "huawei"])
def test_a_rare_term_goes_through_the_index(org, tails, postgresql, term):
    rare = _search_public(Customer.objects.all(), [term])
    assert "@@" in str(rare.query)
    assert ") > 0" in str(rare.query)
    assert set(rare.values_list("pk", flat=True)) == _public_matches(term)


@pytest.mark.postgres
def test_an_owner_search_leaves_a_common_private_prefix_out_of_the_index(org, numbers, postgresql):
    # given most customers' numbers begin with 139 (private tokens ·139…), the rep's own
    found = customer_list(actor=org.rep, query="139")
    # then the private form does not go through the index (the public one, matching no tail, does)
    assert "'·139':*" not in str(found.query)
    # and the rep finds their customers by the number's beginning, as before
    assert found.count() == COMMON


@pytest.mark.postgres
def test_the_density_of_every_term_is_read_in_one_query(org, tails, postgresql):
    with CaptureQueriesContext(connection) as captured:
        query = str(_search_public(Customer.objects.all(), ["13", "华为", "weihao"]).query)
    assert len(captured) == 1
    # the rare term alone makes the index condition
    assert "'华为':*" in query
    assert "'13':*" not in query


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


@pytest.mark.postgres
def test_a_reader_with_a_wider_scope_walks_for_rarer_terms(org, postgresql):
    from guanxi.customers.selectors import _search_walk_share

    # given a term that begins a token in about 1 % of the newest customers
    Customer.objects.bulk_create(
        Customer(name=f"填充{number}", search_key=f"tianchong{number}") for number in range(400)
    )
    Customer.objects.bulk_create(
        Customer(name=f"深圳{number}", search_key=f"shenzhen{number}") for number in range(4)
    )
    # then an administrator (all rows in scope) walks the list order, a rep (own and pool) uses
    # the index, and a term in 0.2 % (too few rows of the probe to trust) uses it for everyone
    walked = _search_public(
        Customer.objects.all(), ["shenzhen"], walk_share=_search_walk_share(org.admin)
    )
    indexed = _search_public(
        Customer.objects.all(), ["shenzhen"], walk_share=_search_walk_share(org.rep)
    )
    assert "@@" not in str(walked.query) and "@@" in str(indexed.query)
    Customer.objects.filter(search_key__in=["shenzhen1", "shenzhen2", "shenzhen3"]).delete()
    rare = _search_public(
        Customer.objects.all(), ["shenzhen"], walk_share=_search_walk_share(org.admin)
    )
    assert "@@" in str(rare.query)


@pytest.fixture
def pool_and_own(org):
    """The rep's own 华为 customer with a phone, a pool one with another, another rep's."""
    own = make_customer(org.rep, "华为技术有限公司")
    make_contact(own, "李四", phones=["13800138000"])
    pool = make_customer(None, "华为终端有限公司")
    make_contact(pool, "王五", phones=["13900139000"])
    theirs = make_customer(org.other_rep, "华为云计算有限公司")
    make_contact(theirs, "赵六", phones=["13700137000"])
    return own, pool, theirs


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("华为", {"own", "pool"}),  # public, in both parts of the rep's scope
        ("huawei", {"own", "pool"}),
        ("8000", {"own"}),  # a public phone tail
        ("9000", {"pool"}),
        ("1380013", {"own"}),  # the beginning of a full number: the owner's private form
        ("1390013", set()),  # the pool's full numbers are nobody's to search
        ("1370013", set()),  # nor another rep's
        ("7000", set()),  # outside the scope whatever the form
    ],
)
def test_a_rep_searching_own_and_pool_finds_the_same_rows_as_the_rule(
    org, pool_and_own, query, found
):
    # given the rep's scope (own and pool), searched as (pool AND public) OR (own AND any form)
    own, pool, _theirs = pool_and_own
    names = {own.pk: "own", pool.pk: "pool"}
    # then the rows are exactly those the rule gives, on either database
    result = customer_list(actor=org.rep, query=query)
    assert {names.get(pk, pk) for pk in result.values_list("pk", flat=True)} == found


@pytest.mark.postgres
def test_the_pool_has_its_own_search_index_with_the_search_modules_expression(postgresql):
    from guanxi.core.china.search import postgres_vector_sql

    # given an index built from postgres_vector_sql on the pool's rows, as PostgreSQL normalises it
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX pool_reference ON customers_customer "
            f"USING gin (({postgres_vector_sql('search_key')})) "
            "WHERE owner_id IS NULL AND deleted_at IS NULL"
        )
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
            "('pool_reference', 'customer_pool_search_key_gin')"
        )
        rows = dict(cursor.fetchall())
    # then the migration's index is the same, so that the rep's pool part can use it
    expected = rows["pool_reference"].replace("pool_reference", "customer_pool_search_key_gin")
    assert rows["customer_pool_search_key_gin"] == expected


@pytest.mark.postgres
def test_a_reps_search_of_the_pool_can_use_the_pools_index(org, tails, pool_and_own, postgresql):
    # given a pool of some thousands, a term of letters, whose forms differ between the pool's
    # part (public) and the rep's own part (public or private), and statistics that know it all
    Customer.objects.bulk_create(
        Customer(name=f"公海{number}", search_key=f"gonghai{number}") for number in range(5000)
    )
    customers = customer_list(actor=org.rep, query="huawei").order_by()
    sql, params = customers.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
        # In a table of a few thousand rows a bitmap of the owner's B-tree indexes is as cheap
        # as any plan, so those go for this test (its transaction is rolled back): what is left
        # to choose from is the two search indexes, and the question is which one the pool's
        # part reads.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_customer' "
            "AND indexdef LIKE '%%owner_id%%' AND indexdef NOT LIKE '%%USING gin%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_pool_search_key_gin" in plan, plan
