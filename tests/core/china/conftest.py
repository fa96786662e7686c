"""Search engines for the China tests: an in-memory FTS5 table and a PostgreSQL temp table with
the GIN expression index, both fed the same keys and queried through the module's renderers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import pytest
from django.db import connection, transaction

from guanxi.core.china.search import (
    FTS5_TOKENIZE,
    fts5_match,
    fts5_match_any,
    postgres_vector_sql,
    private_terms,
    search_document,
    search_terms,
    tsquery_text,
    tsquery_text_any,
)

# Ids are stable so tests can name what a query must find.
HUAWEI = 1
ZENG = 2
OTHERS = 3
CORPUS = {
    HUAWEI: search_document(names=["华为技术有限公司", "华为"], phones=["13800138000"]),
    ZENG: search_document(person_names=["曾小明"], phones=["+8675588886666"]),
    OTHERS: search_document(
        names=["深圳市腾讯计算机系统有限公司"],
        person_names=["单田芳"],
        phones=["+442079460958"],
        codes=["91440300708461136T"],
        words=["高意向客户", "Key Account"],
    ),
}


class Fts5Engine:
    def __init__(self) -> None:
        self.connection = sqlite3.connect(":memory:")
        self.connection.execute(
            f"CREATE VIRTUAL TABLE records USING fts5(key, tokenize = '{FTS5_TOKENIZE}')"
        )
        self.load(CORPUS)

    def load(self, documents: dict[int, str]) -> None:
        self.connection.executemany(
            "INSERT OR REPLACE INTO records (rowid, key) VALUES (?, ?)", documents.items()
        )

    def delete(self, ids: Iterable[int]) -> None:
        self.connection.executemany("DELETE FROM records WHERE rowid = ?", [(i,) for i in ids])

    def match(self, expression: str) -> set[int]:
        rows = self.connection.execute(
            "SELECT rowid FROM records WHERE records MATCH ?", (expression,)
        )
        return {row[0] for row in rows}

    def search(self, query: str) -> set[int]:
        terms = search_terms(query)
        return self.match(fts5_match(terms)) if terms else set()

    def owner_search(self, query: str) -> set[int]:
        """The search of a record's owner: public and private tokens."""
        terms = search_terms(query)
        return self.match(fts5_match_any(private_terms(terms))) if terms else set()


class PostgresEngine:
    """A temp table with the GIN expression index, queried through the same expression."""

    def __init__(self) -> None:
        vector = postgres_vector_sql("key")
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE search_records (id integer PRIMARY KEY, key text)")
            cursor.execute(
                f"CREATE INDEX search_records_key ON search_records USING gin (({vector}))"
            )
        self.vector = vector
        self.load(CORPUS)

    def load(self, documents: dict[int, str]) -> None:
        with connection.cursor() as cursor:
            for record_id, key in documents.items():
                cursor.execute(
                    "INSERT INTO search_records (id, key) VALUES (%s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET key = excluded.key",
                    [record_id, key],
                )

    def delete(self, ids: Iterable[int]) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_records WHERE id = ANY(%s)", [list(ids)])

    def match(self, tsquery: str) -> set[int]:
        # A savepoint per query: a bad expression must fail this query, not poison the test.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM search_records WHERE {self.vector} @@ %s::tsquery", [tsquery]
            )
            return {row[0] for row in cursor.fetchall()}

    def search(self, query: str) -> set[int]:
        terms = search_terms(query)
        return self.match(tsquery_text(terms)) if terms else set()

    def owner_search(self, query: str) -> set[int]:
        terms = search_terms(query)
        return self.match(tsquery_text_any(private_terms(terms))) if terms else set()

    def lexemes(self, key: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT tsvector_to_array({postgres_vector_sql('%s')})", [key])
            return list(cursor.fetchone()[0])


@pytest.fixture
def fts5() -> Any:
    engine = Fts5Engine()
    yield engine
    engine.connection.close()


@pytest.fixture
def pg(postgresql: None) -> PostgresEngine:
    return PostgresEngine()


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    """These tests read validation messages in English; the catalogue test covers zh-Hans."""
    from django.utils import translation

    with translation.override("en"):
        yield
