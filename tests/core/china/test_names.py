"""Company-name keys for the duplicate check: the issue's examples, the guards against merging two
companies, and properties (idempotent; bracket and width variants equal). No database: the region
names come from the shipped CSV, as the core table is loaded from it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.core.china.names import (
    company_name_key,
    company_name_similarity,
    region_bare_name,
    region_names_from,
    simplified,
)
from guanxi.core.china.regions import region_csv_read

REGIONS = region_names_from((row.name, row.level) for row in region_csv_read())


def key(name: str, **kwargs) -> str:
    return company_name_key(name, regions=REGIONS, **kwargs)


HUAWEI_SPELLINGS = [
    "北京华为技术有限公司",
    "华为技术（北京）有限公司",
    "华为技术(北京)有限公司",
    "華為技術(北京)有限公司",
    "华为技术有限公司",
    "华为技术【北京】有限公司",
    "华为技术有限公司北京分公司",
    "华为技术有限公司（北京分公司）",
    "北京市华为技术有限公司",
    "  华为 技术 有限 公司 ",
    "华为技术股份有限公司",
    "华为技术有限责任公司",
]


@pytest.mark.parametrize("name", HUAWEI_SPELLINGS)
def test_spellings_of_one_company_share_a_key(name):
    assert key(name) == "华为技术"


def test_the_three_spellings_of_the_issue_are_likely_duplicates():
    keys = {
        key(n)
        for n in ("北京华为技术有限公司", "华为技术（北京）有限公司", "华为技术(北京)有限公司")
    }
    assert len(keys) == 1
    (only,) = keys
    assert company_name_similarity(only, key("华为技术有限公司")) == 100


def test_huawei_technologies_and_huawei_device_are_not_the_same_company():
    first, second = key("华为技术有限公司"), key("华为终端有限公司")
    assert first != second
    assert company_name_similarity(first, second) < 90


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("深圳市腾讯计算机系统有限公司", "腾讯计算机系统"),
        ("广东省深圳市南山区腾讯科技有限公司", "腾讯科技"),
        ("腾讯科技（深圳）有限公司", "腾讯科技"),
        ("北京海淀某某科技有限公司", "某某科技"),  # a bare district right after a city
        ("广西壮族自治区某某贸易有限公司", "某某贸易"),
        ("恩施土家族苗族自治州某某有限公司", "某某"),
        ("香港特别行政区某某有限公司", "某某"),
        ("阿里巴巴（中国）网络技术有限公司", "阿里巴巴网络技术"),
        ("华为投资控股（集团）有限公司", "华为投资控股"),
        ("某某律师事务所（特殊普通合伙）", "某某律师事务所"),
        ("某某科技有限公司（筹）", "某某科技"),
        ("华为北京办事处", "华为"),
        ("某某股份有限公司上海营业部", "某某"),
        ("Huawei Technologies Co., Ltd.", "huaweitechnologies"),
        ("ＨＵＡＷＥＩ　Ｔｅｃｈｎｏｌｏｇｉｅｓ　ＣＯ．，ＬＴＤ．", "huaweitechnologies"),
    ],
)
def test_regions_legal_forms_branches_and_widths_come_off(name, expected):
    assert key(name) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("北京银行股份有限公司", "上海银行股份有限公司"),  # a region before a generic word stays
        ("中国东方航空股份有限公司", "海南航空控股股份有限公司"),
        ("中山大学", "大学"),
        ("东区物业有限公司", "西区物业有限公司"),  # two-character districts are words
        ("阿里巴巴网络技术有限公司", "巴巴网络技术有限公司"),  # 阿里 of 阿里地区 stays
    ],
)
def test_different_companies_keep_different_keys(first, second):
    assert key(first) != key(second)


def test_government_bodies_keep_their_region():
    assert key("北京市财政局", keep_regions=True) != key("上海市财政局", keep_regions=True)
    assert key("北京市财政局", keep_regions=True) == "北京市财政局"


def test_a_name_that_is_only_a_legal_form_or_a_region_keeps_its_text():
    assert key("有限公司") == "有限公司"
    assert key("北京市") == "北京市"
    assert key("") == ""


def test_traditional_characters_become_simplified_through_opencc():
    assert simplified("華為技術有限公司") == "华为技术有限公司"
    assert simplified("华为技术") == "华为技术"


@pytest.mark.parametrize(
    ("name", "bare"),
    [
        ("广西壮族自治区", "广西"),
        ("新疆维吾尔自治区", "新疆"),
        ("恩施土家族苗族自治州", "恩施"),
        ("香港特别行政区", "香港"),
        ("海淀区", "海淀"),
        ("北京市", "北京"),
        ("东区", "东区"),  # one character would cut into words
    ],
)
def test_region_bare_names(name, bare):
    assert region_bare_name(name) == bare


def test_similarity_is_a_ratio_not_a_partial_match():
    assert company_name_similarity("华为", "华为技术") < 90
    assert company_name_similarity("华为技术", "华为技术") == 100
    assert company_name_similarity("", "华为") == 0
    # one character in twenty
    assert (
        company_name_similarity("某某信息技术发展咨询服务集团", "某某信息技术发展咨询服务集才")
        >= 90
    )


# --- properties ---------------------------------------------------------------------------------

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
PIECES = st.sampled_from(
    [
        "华为",
        "技术",
        "北京",
        "深圳市",
        "海淀区",
        "有限公司",
        "集团",
        "分公司",
        "科技",
        "银行",
        "中国",
    ]
)
NAMES = st.lists(PIECES | st.text(HAN, min_size=1, max_size=3), min_size=1, max_size=6).map("".join)
ANY_TEXT = st.text(max_size=40)
BRACKETS = [("（", "）"), ("(", ")"), ("【", "】"), ("［", "］"), ("〔", "〕"), ("[", "]")]


@settings(max_examples=300, deadline=None)
@given(st.one_of(NAMES, ANY_TEXT))
def test_the_key_of_a_key_is_the_key(name):
    once = key(name)
    assert key(once) == once
    once_government = key(name, keep_regions=True)
    assert key(once_government, keep_regions=True) == once_government


@settings(max_examples=200, deadline=None)
@given(NAMES, NAMES, st.sampled_from(["北京", "深圳", "上海市", "广东省", "海淀区"]))
def test_bracket_kinds_and_widths_make_no_difference(head, tail, region):
    spellings = {key(f"{head}{left}{region}{right}{tail}有限公司") for left, right in BRACKETS}
    assert len(spellings) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ABCXYZabcxyz0123456789华为技术"), min_size=1, max_size=12))
def test_full_width_and_half_width_make_no_difference(name):
    full = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    assert key(full) == key(name)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_similarity_stays_between_0_and_100_and_is_symmetric(first, second):
    score = company_name_similarity(first, second)
    assert 0 <= score <= 100
    assert score == company_name_similarity(second, first)
