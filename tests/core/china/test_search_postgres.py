"""The search key on a real PostgreSQL: a temp table, the GIN expression index, ``::tsquery``."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.core.china.search import key_matches, search_document, search_terms, tsquery_text
from tests.core.china.conftest import CORPUS, HUAWEI, OTHERS, ZENG
from tests.core.china.test_search import FINDS_HUAWEI, FINDS_ZENG, MISSES_HUAWEI, queries

pytestmark = pytest.mark.postgres
fixture_settings = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("query", FINDS_HUAWEI)
def test_postgres_finds_the_company_by_chinese_pinyin_initials_and_phone_tail(pg, query):
    assert HUAWEI in pg.search(query)


@pytest.mark.parametrize("query", MISSES_HUAWEI)
def test_postgres_does_not_find_the_company_by_other_text(pg, query):
    assert HUAWEI not in pg.search(query)


@pytest.mark.parametrize("query", FINDS_ZENG)
def test_postgres_finds_a_contact_by_either_reading_of_the_surname(pg, query):
    assert pg.search(query) == {ZENG}


@pytest.mark.parametrize("query", ["91440300708461136T", "腾讯", "意向"])
def test_postgres_finds_codes_and_words(pg, query):
    assert pg.search(query) == {OTHERS}


@pytest.mark.parametrize("query", ["138 0013 8000", "138001", "0013"])
def test_postgres_finds_a_full_phone_for_its_owner_only(pg, query):
    assert pg.owner_search(query) == {HUAWEI}
    assert pg.search(query) == set()
    assert pg.search("8000") == {HUAWEI}


def test_postgres_uses_the_gin_index_for_a_search(pg):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT id FROM search_records WHERE {pg.vector} @@ %s::tsquery",
            [tsquery_text(search_terms("华为"))],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "search_records_key" in plan, plan


def test_postgres_index_expression_is_immutable(postgresql):
    # An expression index refuses anything that is not IMMUTABLE; check each function used.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT provolatile FROM pg_proc WHERE proname IN "
            "('array_to_tsvector', 'array_remove', 'string_to_array')"
        )
        assert {row[0] for row in cursor.fetchall()} == {"i"}


@fixture_settings
@given(query=queries)
def test_postgres_any_query_gives_a_valid_tsquery_that_agrees_with_the_rule(pg, query):
    terms = search_terms(query)
    if not terms:
        return
    expected = {i for i, key in CORPUS.items() if key_matches(key, terms)}
    assert pg.match(tsquery_text(terms)) == expected


@fixture_settings
@given(terms=st.lists(st.text(), min_size=1, max_size=6))
def test_postgres_arbitrary_terms_never_break_the_tsquery_syntax(pg, terms):
    try:
        text = tsquery_text(terms)
    except ValueError:
        assert not any(term.replace("\x00", "").strip() for term in terms)
        return
    pg.match(text)  # raises on a syntax error


@fixture_settings
@given(
    names=st.lists(st.text(max_size=30), max_size=3),
    person_names=st.lists(st.text(max_size=10), max_size=2),
    phones=st.lists(st.text(max_size=20), max_size=2),
    words=st.lists(st.text(max_size=20), max_size=3),
)
def test_postgres_stores_every_key_token_verbatim(pg, names, person_names, phones, words):
    key = search_document(names=names, person_names=person_names, phones=phones, words=words)
    assert sorted(pg.lexemes(key)) == sorted(key.split())
