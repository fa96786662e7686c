"""The memoised pinyin readings and name tokens of the search key give exactly what pypinyin and
the uncached computation give: a cache must never change a key."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from guanxi.core.china import search
from guanxi.core.demo.generator import DemoGenerator

NAMES = [
    "重庆银行股份有限公司",
    "银行重庆分行",
    "长沙长城长虹科技",
    "曾单解仇朴",
    "华为技术有限公司",
    "蔚来汽车",
    "Ａ股 2026 有限公司",
    "𠀀𠀁 生僻字公司",
]


def _names() -> list[str]:
    generator = DemoGenerator.for_stream(7, "customers")
    return (
        NAMES
        + [generator.company().name for _ in range(300)]
        + [generator.person_name() for _ in range(300)]
    )


def test_cached_readings_equal_pypinyin():
    def errors(chars: str) -> list[str]:
        return [""] * len(chars)

    for name in _names() * 2:  # the second round reads from the cache
        han = "".join(search._HAN_RUN.findall(search._normalize(name)))
        if han:
            cached = search._SYLLABLES_PINYIN.lazy_pinyin(han, style=Style.NORMAL, errors=errors)
            assert cached == lazy_pinyin(han, style=Style.NORMAL, errors=errors), name


def test_memoised_tokens_equal_the_computation():
    for name in _names() * 2:
        for person in (False, True):
            assert search._name_tokens(name, person=person) == search._name_tokens_computed(
                name, person=person
            )
    for phone in ("+8613800138000", "010-1234 5678", "abc", "+44 20 7946 0958"):
        assert search._phone_tokens(phone) == search._phone_tokens_computed(phone)
