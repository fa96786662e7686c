"""The search indexes themselves: FTS5 table and triggers on SQLite, GIN index on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from guanxi.core.china.search import FTS5_TOKENIZE, postgres_vector_sql
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _fts_rowids(table: str, match: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s", [match])
        return {row[0] for row in cursor.fetchall()}


# FTS5 exists on SQLite only (PostgreSQL has its own test below): the `sqlite` marker keeps these
# out of the PostgreSQL leg instead of skipping them there.
@pytest.mark.sqlite
def test_fts5_tables_use_the_search_modules_tokenizer():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN "
            "('customers_customer_fts', 'customers_contact_fts')"
        )
        rows = dict(cursor.fetchall())
    assert set(rows) == {"customers_customer_fts", "customers_contact_fts"}
    for sql in rows.values():
        assert f"tokenize = '{FTS5_TOKENIZE}'" in sql


@pytest.mark.sqlite
def test_fts5_follows_inserts_updates_and_deletes(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    assert _fts_rowids("customers_customer", '"huawei"*') == {customer.pk}
    make_contact(customer, "李四", phones=["13800138000"])
    assert _fts_rowids("customers_customer", '"8000"*') == {customer.pk}
    Customer.all_objects.filter(pk=customer.pk).update(search_key="other")
    assert _fts_rowids("customers_customer", '"huawei"*') == set()
    Customer.all_objects.filter(pk=customer.pk).delete()
    assert _fts_rowids("customers_customer", '"other"*') == set()


@pytest.mark.postgres
def test_postgres_gin_indexes_use_the_search_modules_expression(postgresql):
    # given an index built from postgres_vector_sql itself, as PostgreSQL normalises it
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_contact"):
            cursor.execute(
                f"CREATE INDEX {table}_reference ON {table} "
                f"USING gin (({postgres_vector_sql('search_key')}))"
            )
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'customers_%'"
        )
        rows = dict(cursor.fetchall())
    # then the migration's indexes are the same expression (so selectors' queries can use them)
    for table, name in (
        ("customers_customer", "customer_search_key_gin"),
        ("customers_contact", "contact_search_key_gin"),
    ):
        assert "USING gin" in rows[name]
        expected = rows[f"{table}_reference"].replace(f"{table}_reference", name)
        assert rows[name] == expected


@pytest.mark.postgres
def test_postgres_search_can_use_the_gin_index(org, postgresql):
    make_customer(org.rep, "华为技术有限公司")
    customers = customer_list(actor=org.admin, query="华为").order_by()
    sql, params = customers.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_search_key_gin" in plan, plan
