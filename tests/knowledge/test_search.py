"""Searching articles: the same search key as customers (CJK bigrams, pinyin, initials), indexed
by FTS5 on SQLite and a GIN expression index on PostgreSQL. Every test here runs on both
engines; the index tests check the engine they run on."""

from __future__ import annotations

import pytest
from django.db import connection

from guanxi.core.china.search import FTS5_TOKENIZE, key_matches, postgres_vector_sql, search_terms
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article
from guanxi.service.knowledge.search import BODY_SEARCH_CHARS, article_search_document, text_pieces
from guanxi.service.knowledge.selectors import article_list
from tests.conftest import Org
from tests.knowledge.conftest import make_article, make_customer

pytestmark = pytest.mark.django_db


def _found(org: Org, query: str) -> set[int]:
    return set(article_list(actor=org.admin, query=query).values_list("pk", flat=True))


def test_a_two_character_chinese_term_finds_title_body_and_tags(org: Org) -> None:
    # given
    returns = make_article(org.agent, "退货退款处理流程", "先核对订单与签收记录。")
    invoice = make_article(org.agent, "发票重开", "客户要求退货时，原发票作废。")
    tagged = make_article(org.agent, "包装破损的处理", "拍照留证。", tags="退货, 物流")
    other = make_article(org.agent, "安装说明", "按说明书接线。")
    # then
    assert _found(org, "退货") == {returns.pk, invoice.pk, tagged.pk}
    assert _found(org, "签收") == {returns.pk}
    assert _found(org, "物流") == {tagged.pk}
    assert other.pk not in _found(org, "退货")


def test_pinyin_and_initials_of_the_title_and_tags_find_the_article(org: Org) -> None:
    # given
    returns = make_article(org.agent, "退货退款处理流程", "先核对订单。")
    tagged = make_article(org.agent, "包装破损的处理", "拍照留证。", tags="售后")
    make_article(org.agent, "安装说明", "按说明书接线。")
    # then
    assert _found(org, "tuihuo") == {returns.pk}
    assert _found(org, "TuiHuo") == {returns.pk}
    assert _found(org, "thtk") == {returns.pk}
    assert _found(org, "chuli") == {returns.pk, tagged.pk}
    assert _found(org, "shouhou") == {tagged.pk}
    assert _found(org, "sh") >= {tagged.pk}


def test_latin_words_and_numbers_in_the_text_are_found(org: Org) -> None:
    article = make_article(org.agent, "远程连接", "先连上 VPN，再打开端口 8443。")
    assert _found(org, "vpn") == {article.pk}
    assert _found(org, "8443") == {article.pk}


def test_every_term_of_the_query_must_match(org: Org) -> None:
    returns = make_article(org.agent, "退货退款处理流程", "先核对订单。")
    make_article(org.agent, "发票重开", "原发票作废。")
    assert _found(org, "退货 订单") == {returns.pk}
    assert _found(org, "退货 发票") == set()
    assert _found(org, "退货退款") == {returns.pk}


def test_a_query_without_anything_searchable_finds_nothing(org: Org) -> None:
    make_article(org.agent)
    assert _found(org, "！？——") == set()
    assert _found(org, '"*) OR (') == set()


def test_the_key_follows_the_title_tags_and_text_when_edited(org: Org) -> None:
    # given
    article = make_article(org.agent, "退货流程", "核对订单。", tags="售后")
    # when
    services.article_update(
        actor=org.agent,
        article=article,
        data={"title": "换货流程", "tags": "物流", "body": "登记快递单号。"},
    )
    # then
    assert _found(org, "退货") == set()
    assert _found(org, "shouhou") == set()
    assert _found(org, "订单") == set()
    assert _found(org, "换货") == {article.pk}
    assert _found(org, "wuliu") == {article.pk}
    assert _found(org, "快递") == {article.pk}


def test_only_the_start_of_a_long_text_is_indexed(org: Org) -> None:
    # given a text whose first BODY_SEARCH_CHARS characters are filler, then two words
    filler = "。".join(["按流程办理"] * (BODY_SEARCH_CHARS // 6 + 1))
    early = make_article(org.agent, "早", "保修期限。" + filler)
    late = make_article(org.agent, "晚", filler + "保修期限。")
    # then
    assert _found(org, "保修") == {early.pk}
    assert late.pk in _found(org, "流程")


def test_search_agrees_with_the_reference_matching_rule(org: Org) -> None:
    # given
    articles = [
        make_article(org.agent, "退货退款处理流程", "核对订单，签收后七天内可退。"),
        make_article(org.agent, "物流延迟的答复口径", "先查物流轨迹，再联系承运商。", tags="物流"),
        make_article(org.agent, "发票重开", "作废原发票后重新开具增值税发票。"),
        make_article(org.agent, "设备无法开机", "检查电源适配器，长按电源键十秒。", tags="故障"),
    ]
    keys = {article.pk: Article.objects.get(pk=article.pk).search_key for article in articles}
    # then every engine answers what key_matches says, for each query
    for query in ("退货", "物流", "wuliu", "fp", "发票 作废", "电源键", "dian", "七天", "zzz"):
        expected = {pk for pk, key in keys.items() if key_matches(key, search_terms(query))}
        assert _found(org, query) == expected, query


def test_search_stays_inside_what_the_reader_may_read(org: Org) -> None:
    # given a customer note about the rep's customer
    customer = make_customer(org.rep, "华为技术有限公司")
    note = make_article(
        org.admin, "华为退货习惯", "只在工作日收货。", kind="customer_note", customers=[customer.pk]
    )
    draft = make_article(org.handler, "退货草稿", "未完成。", status="draft")
    # then
    assert set(article_list(actor=org.rep, query="退货").values_list("pk", flat=True)) == {note.pk}
    assert set(article_list(actor=org.outsider, query="退货")) == set()
    # the handler's department scope does not reach the rep's customer; their draft is theirs
    assert set(article_list(actor=org.handler, query="退货").values_list("pk", flat=True)) == {
        draft.pk
    }


def test_soft_deleted_articles_are_not_found(org: Org) -> None:
    article = make_article(org.agent, "退货流程")
    services.article_delete(actor=org.agent, article=article)
    assert _found(org, "退货") == set()


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_search_goes_through_the_engines_index(org: Org) -> None:
    # given
    make_article(org.agent, "退货流程")
    articles = article_list(actor=org.admin, query="退货").order_by()
    sql, params = articles.query.sql_with_params()
    # when
    plan = _plan(sql, list(params))
    # then
    if connection.vendor == "postgresql":
        assert "article_search_key_gin" in plan, plan
    else:
        assert "knowledge_article_fts" in plan and "VIRTUAL TABLE" in plan, plan


def test_the_index_is_built_like_the_search_module_says(org: Org) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An index built from postgres_vector_sql itself, as PostgreSQL normalises it.
            cursor.execute(
                "CREATE INDEX knowledge_reference ON knowledge_article "
                f"USING gin (({postgres_vector_sql('search_key')}))"
            )
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'knowledge_article'"
            )
            rows = dict(cursor.fetchall())
            expected = rows["knowledge_reference"].replace(
                "knowledge_reference", "article_search_key_gin"
            )
            assert rows["article_search_key_gin"] == expected
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'knowledge_article_fts'")
            (sql,) = cursor.fetchone()
            assert f"tokenize = '{FTS5_TOKENIZE}'" in sql


def test_the_sqlite_index_follows_inserts_updates_and_deletes(org: Org) -> None:
    # given
    article = make_article(org.agent, "退货流程")

    def indexed(term: str) -> bool:
        return article.pk in set(
            article_list(actor=org.admin, query=term).values_list("pk", flat=True)
        )

    assert indexed("退货")
    # when the key is rewritten underneath (as a migration or an import would)
    Article.all_objects.filter(pk=article.pk).update(search_key="fapiao")
    # then
    assert not indexed("退货")
    assert indexed("fapiao")
    # and a deleted row leaves the index (SQLite: the trigger; PostgreSQL: the row itself)
    Article.all_objects.filter(pk=article.pk).delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rowid FROM knowledge_article_fts WHERE knowledge_article_fts MATCH %s",
                ['"fapiao"*'],
            )
            assert cursor.fetchall() == []
    assert not indexed("fapiao")


# --- pure helpers -------------------------------------------------------------------------------


def test_text_pieces_cut_at_breaks_and_keep_every_bigram() -> None:
    text = "第一段说明。" * 50 + "\n" + "长" * 450
    pieces = text_pieces(text, limit=10_000)
    assert all(len(piece) <= 200 for piece in pieces)
    run = [piece for piece in pieces if set(piece) == {"长"}]
    sentences = [piece for piece in pieces if piece not in run]
    # no cut inside a sentence
    assert all(piece.endswith(("。", "\n")) for piece in sentences)
    assert "".join(sentences) == "第一段说明。" * 50 + "\n"
    # the run without a break is cut with one character of overlap: 长长 spans every cut
    assert len(run) == 3
    assert sum(len(piece) for piece in run) - (len(run) - 1) == 450
    assert text_pieces("", limit=100) == []
    assert text_pieces("   \n ", limit=100) == []


def test_text_pieces_never_split_a_latin_word_at_a_break() -> None:
    words = " ".join(["configuration"] * 40)
    pieces = text_pieces(words, limit=10_000)
    assert all(len(piece) <= 200 for piece in pieces)
    assert {word for piece in pieces for word in piece.split()} == {"configuration"}


def test_the_document_reads_only_the_start_of_the_text() -> None:
    key = article_search_document(
        title="标题", tags=[], body="甲乙" + "。" * BODY_SEARCH_CHARS + "丙丁"
    )
    assert key_matches(key, ["甲乙"])
    assert not key_matches(key, ["丙丁"])
