"""The search key and query terms, held to the acceptance examples on a real FTS5 table.

The same examples run on PostgreSQL in test_search_postgres.py."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.core.china.search import (
    MAX_TERMS,
    MAX_TOKEN_CHARS,
    fts5_match,
    key_matches,
    search_document,
    search_terms,
    tsquery_text,
)
from tests.core.china.conftest import CORPUS, HUAWEI, OTHERS, ZENG, Fts5Engine

FINDS_HUAWEI = ["华为", "华为技术", "hwjs", "huawei", "8000", "华", "HuaWei", "ＨＷＪＳ", "hua wei"]
MISSES_HUAWEI = ["华为终端", "9999"]
FINDS_ZENG = ["zeng", "ceng", "zxm", "cxm", "曾小明", "小明", "xiaoming"]
# Characters that mean something to FTS5 or tsquery, plus text for them to act on.
SYNTAX = list("华为技术曾小明hwjszengceng0123456789 \"'*-+()^:{}[]!|&<>\\/,._\t\n\x00") + [
    "NEAR",
    "AND",
    "OR",
    "NOT",
    "NEAR(",
    "<->",
    ":*",
    "key:",
]
queries = st.one_of(st.text(), st.lists(st.sampled_from(SYNTAX), max_size=12).map("".join))
han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
# Well-known surnames and given-name characters, with the heteronyms that matter.
names = st.text(
    alphabet=st.sampled_from(list("曾单解华为技术有限公司张伟王芳李娜乐查朴仇区")) | han,
    min_size=1,
    max_size=8,
)
ASCII_PUNCTUATION = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]")


@pytest.mark.parametrize("query", FINDS_HUAWEI)
def test_fts5_finds_the_company_by_chinese_pinyin_initials_and_phone_tail(fts5, query):
    assert HUAWEI in fts5.search(query)


@pytest.mark.parametrize("query", MISSES_HUAWEI)
def test_fts5_does_not_find_the_company_by_other_text(fts5, query):
    assert HUAWEI not in fts5.search(query)


@pytest.mark.parametrize("query", FINDS_ZENG)
def test_fts5_finds_a_contact_by_either_reading_of_the_surname(fts5, query):
    assert fts5.search(query) == {ZENG}


@pytest.mark.parametrize(
    "query",
    ["138 0013 8000", "+86 138-0013-8000", "13800138000", "138001", "0013", "38000"],
)
def test_fts5_finds_a_phone_typed_as_people_write_it_for_its_owner_only(fts5, query):
    # Everyone else has the last four digits (the mask shows them); more would let anybody
    # recover a masked number digit by digit.
    assert fts5.owner_search(query) == {HUAWEI}
    assert fts5.search(query) == set()


@pytest.mark.parametrize("query", ["(0755) 8888 6666", "0755-8888", "75588886666"])
def test_fts5_finds_a_landline_with_or_without_the_area_code_for_its_owner(fts5, query):
    assert fts5.owner_search(query) == {ZENG}
    assert fts5.search(query) == set()


def test_the_phone_tail_is_public(fts5):
    assert fts5.search("6666") == fts5.owner_search("6666") == {ZENG}


def test_a_query_cannot_reach_private_tokens_by_typing_the_mark(fts5):
    from guanxi.core.china.search import PRIVATE_MARK

    for query in (f"{PRIVATE_MARK}138", f"{PRIVATE_MARK}{PRIVATE_MARK}13800138000", "·0013"):
        assert fts5.search(query) == set()
    assert search_terms(f"{PRIVATE_MARK}138") == ["138"]


@pytest.mark.parametrize(
    "query",
    [
        "91440300708461136t",
        "9144030070846",
        "腾讯",
        "txjsj",
        "tengxun",
        "意向",
        "key acc",
        "shan",
        "dtf",
    ],
)
def test_fts5_finds_credit_codes_words_and_other_names(fts5, query):
    assert fts5.search(query) == {OTHERS}


def test_a_single_character_finds_the_last_character_of_a_name(fts5):
    # 司 starts no bigram in 华为技术有限公司; the run's last character is kept for this.
    assert HUAWEI in fts5.search("司")


def test_pinyin_suffixes_start_at_every_character_and_are_capped():
    key = CORPUS[HUAWEI]
    assert key_matches(key, ["jishu"])
    assert key_matches(key, ["weijishuyou"])  # four syllables from the second character
    assert not key_matches(key, ["weijishuyouxian"])  # five: beyond the cap, by design
    assert key_matches(key, ["huaweijishuyouxiangongsi"])  # the whole name from the start


@pytest.mark.parametrize(
    ("name", "spellings"),
    [
        ("曾小明", ["zeng", "zengxiaoming", "zxm", "ceng", "cengxiaoming", "cxm"]),
        ("单田芳", ["shan", "stf", "dan", "dtf"]),
        ("解晓东", ["xie", "xxd", "jie", "jxd"]),
    ],
)
def test_every_reading_of_a_persons_surname_is_in_the_key(name, spellings):
    key = search_document(person_names=[name])
    for spelling in spellings:
        assert key_matches(key, [spelling]), spelling


def test_surname_readings_are_for_people_not_companies():
    key = search_document(names=["单田芳"])
    assert key_matches(key, ["dan"])
    assert not key_matches(key, ["shan"])


def test_the_key_is_sorted_small_and_has_no_redundant_prefix():
    tokens = CORPUS[HUAWEI].split()
    assert tokens == sorted(set(tokens))
    assert len(tokens) < 60
    for index, token in enumerate(tokens[:-1]):
        assert not tokens[index + 1].startswith(token)


def test_search_terms_turn_a_query_into_prefix_terms():
    assert search_terms("华为技术") == ["华为", "为技", "技术"]
    assert search_terms("华") == ["华"]
    assert search_terms("  HWJS ") == ["hwjs"]
    assert search_terms("华为 huawei 8000") == ["华为", "huawei", "8000"]
    assert search_terms("(0755) 8888-6666") == ["075588886666"]
    assert search_terms("") == []
    assert search_terms("！？*()") == []


def test_search_terms_are_capped():
    assert len(search_terms(" ".join(f"w{i}" for i in range(100)))) == MAX_TERMS
    assert len(search_terms("x" * 1000)[0]) == MAX_TOKEN_CHARS


def test_renderers_refuse_an_empty_term_list():
    with pytest.raises(ValueError):
        fts5_match([])
    with pytest.raises(ValueError):
        tsquery_text(["  ", "\x00"])


def test_fts5_match_quotes_every_term():
    assert fts5_match(['a"b', "NEAR", "x*"]) == '"a""b"* AND "NEAR"* AND "x*"*'


def test_tsquery_text_quotes_every_term():
    assert tsquery_text(["it's", "a\\b", "!x"]) == "'it''s':* & 'a\\\\b':* & '!x':*"


@settings(max_examples=300, deadline=None)
@given(query=queries)
def test_any_query_gives_a_valid_fts5_expression_that_agrees_with_the_rule(query):
    engine = _fts5()
    terms = search_terms(query)
    for term in terms:
        assert term and len(term) <= MAX_TOKEN_CHARS
        assert not ASCII_PUNCTUATION.search(term)
    if not terms:
        return
    expected = {i for i, key in CORPUS.items() if key_matches(key, terms)}
    assert engine.match(fts5_match(terms)) == expected


@settings(max_examples=200, deadline=None)
@given(terms=st.lists(st.text(), min_size=1, max_size=6))
def test_arbitrary_terms_never_break_the_fts5_syntax(terms):
    try:
        expression = fts5_match(terms)
    except ValueError:
        assert not any(term.replace("\x00", "").strip() for term in terms)
        return
    try:
        _fts5().match(expression)
    except sqlite3.OperationalError as error:  # pragma: no cover - the assertion explains
        pytest.fail(f"{expression!r}: {error}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.text(max_size=30), max_size=3),
    person_names=st.lists(st.text(max_size=10), max_size=2),
    phones=st.lists(st.text(max_size=20), max_size=2),
    codes=st.lists(st.text(max_size=20), max_size=2),
    words=st.lists(st.text(max_size=20), max_size=3),
)
def test_any_document_is_a_valid_key(names, person_names, phones, codes, words):
    key = search_document(
        names=names, person_names=person_names, phones=phones, codes=codes, words=words
    )
    tokens = key.split(" ") if key else []
    assert tokens == sorted(set(tokens))
    for token in tokens:
        # The ascii tokenizer and string_to_array(key, ' ') keep such tokens whole.
        assert token and len(token) <= MAX_TOKEN_CHARS
        assert not ASCII_PUNCTUATION.search(token)
    engine = _fts5()
    engine.load({100: key})
    try:
        for token in tokens:
            assert 100 in engine.match(fts5_match([token]))
    finally:
        engine.delete([100])


@settings(max_examples=200, deadline=None)
@given(name=names, data=st.data())
def test_any_substring_of_a_chinese_name_finds_it(name, data):
    start = data.draw(st.integers(0, len(name) - 1))
    end = data.draw(st.integers(start + 1, len(name)))
    key = search_document(names=[name])
    terms = search_terms(name[start:end])
    assert key_matches(key, terms)
    engine = _fts5()
    engine.load({100: key})
    try:
        assert 100 in engine.match(fts5_match(terms))
    finally:
        engine.delete([100])


@settings(max_examples=100, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=4, max_size=15), data=st.data())
def test_any_phone_tail_of_four_digits_or_more_finds_it_for_the_owner(digits, data):
    from guanxi.core.china.search import PRIVATE_MARK

    tail = digits[data.draw(st.integers(0, len(digits) - 4)) :]
    key = search_document(phones=[digits])
    assert key_matches(key, [f"{PRIVATE_MARK}{term}" for term in search_terms(tail)])
    # Everyone else: the last four digits, and nothing longer.
    assert key_matches(key, search_terms(digits[-4:]))
    assert not key_matches(key, search_terms(digits[-5:])) or len(digits) < 5


_ENGINE: list[Fts5Engine] = []


def _fts5() -> Fts5Engine:
    """One engine for all hypothesis examples: FTS5 in memory, the CORPUS loaded."""
    if not _ENGINE:
        _ENGINE.append(Fts5Engine())
    return _ENGINE[0]
