"""Company names reduced to a comparable key, for the duplicate check (客户查重, 撞单).

People file one company under many spellings: 北京华为技术有限公司, 华为技术（北京）有限公司,
華為技術(北京)有限公司, 华为技术有限公司北京分公司. :func:`company_name_key` reduces all of them to
the core name ``华为技术``:

1. NFKC (full-width letters, digits and brackets to half-width), case folding, traditional to
   simplified characters (OpenCC's ``t2s``);
2. every kind of bracket — （）()【】〔〕［］｛｝《》「」 — read as one; a bracketed region,
   legal form or branch (``(北京)``, ``(集团)``, ``(深圳分公司)``) is dropped, and so is a
   bracketed note at the very end (``(筹)``, ``(原某某公司)``); other bracketed text stays,
   without the brackets;
3. spaces and punctuation dropped;
4. a branch marker at the end (分公司, 办事处, 营业部, 代表处) dropped with the branch's own name,
   which is everything after the company's legal form, or a region;
5. legal-form suffixes dropped from the end: 股份有限公司, 有限责任公司, 有限公司, 集团, 公司 …,
   and their English counterparts (Co., Ltd., Inc., …);
6. region prefixes dropped from the start, using the names in the region table (provinces and
   cities with or without 省 / 市 / 自治区 …; districts and counties with their suffix, or without
   it right after another region).

What the key must not do is make two different companies equal. Two rules guard against it:

* a region prefix stays when what would remain is only generic words (:data:`GENERIC_WORDS`):
  北京银行 and 上海银行 are two banks, 东方航空 and 海南航空 two airlines, 中山大学 is no 大学;
* a name that would reduce to nothing (有限公司) keeps its cleaned text.

Government bodies are named by their region (北京市财政局, 上海市财政局), so their keys keep it
(``keep_regions=True``). The key is computed when a customer is saved (services) and compared
exactly through an index; similarity between keys is :func:`company_name_similarity` (rapidfuzz).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

MAX_NAME_CHARS = 200
"""Only this much of a name is read (Customer.name holds 200 characters)."""

# After NFKC the ASCII brackets stand for their full-width forms; these survive NFKC.
_BRACKETS = str.maketrans(
    {
        "[": "(",
        "]": ")",
        "{": "(",
        "}": ")",
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "〖": "(",
        "〗": ")",
        "《": "(",
        "》": ")",
        "〈": "(",
        "〉": ")",
        "「": "(",
        "」": ")",
        "『": "(",
        "』": ")",
        "〘": "(",
        "〙": ")",
    }
)
_INNER_GROUP = re.compile(r"\(([^()]*)\)")
_TRAILING_GROUP = re.compile(r"\([^()]*\)\s*$")
_NOT_WORD = re.compile(r"[\W_]+")

# Longest first, so that 股份有限公司 goes as one and not as 有限公司 leaving 股份.
LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份公司",
    "特殊普通合伙",
    "有限合伙企业",
    "普通合伙企业",
    "有限公司",
    "股份公司",
    "有限合伙",
    "普通合伙",
    "合伙企业",
    "总公司",
    "集团",
    "公司",
)
# Trailing English words of a legal form, as separate words (before spaces are dropped).
LATIN_LEGAL_WORDS = frozenset(
    {
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "srl",
        "bv",
        "nv",
        "pte",
        "pty",
        "kk",
        "group",
        "holdings",
    }
)
BRANCH_MARKERS = ("分公司", "办事处", "营业部", "代表处")

# Words that do not tell one company from another; a region in front of them is part of the name.
GENERIC_WORDS = (
    "人民政府",
    "房地产",
    "研究院",
    "研究所",
    "委员会",
    "科技",
    "技术",
    "信息",
    "网络",
    "软件",
    "电子",
    "电气",
    "电器",
    "通信",
    "通讯",
    "数据",
    "智能",
    "系统",
    "工程",
    "建设",
    "建筑",
    "建工",
    "设计",
    "咨询",
    "管理",
    "服务",
    "发展",
    "投资",
    "控股",
    "实业",
    "贸易",
    "商贸",
    "国际",
    "物流",
    "运输",
    "航空",
    "航运",
    "港务",
    "银行",
    "保险",
    "证券",
    "信托",
    "基金",
    "金融",
    "资产",
    "财务",
    "地产",
    "置业",
    "物业",
    "能源",
    "电力",
    "石油",
    "石化",
    "化工",
    "医药",
    "制药",
    "医疗",
    "生物",
    "健康",
    "食品",
    "农业",
    "汽车",
    "机械",
    "设备",
    "制造",
    "材料",
    "钢铁",
    "纺织",
    "服装",
    "传媒",
    "文化",
    "广告",
    "教育",
    "培训",
    "旅游",
    "酒店",
    "餐饮",
    "百货",
    "商场",
    "超市",
    "大学",
    "学院",
    "学校",
    "医院",
    "中心",
    "政府",
    "工业",
    "商业",
    "集团",
    "公司",
    "有限",
    "股份",
    "责任",
    "中国",
)

# Suffixes that turn a region's bare name into its full one; longest first.
_ETHNIC_GROUPS = (
    "柯尔克孜",
    "乌孜别克",
    "俄罗斯",
    "维吾尔",
    "哈萨克",
    "达斡尔",
    "鄂温克",
    "鄂伦春",
    "塔吉克",
    "塔塔尔",
    "土家",
    "蒙古",
    "布依",
    "朝鲜",
    "哈尼",
    "傈僳",
    "拉祜",
    "东乡",
    "纳西",
    "景颇",
    "仫佬",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "德昂",
    "保安",
    "裕固",
    "独龙",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "高山",
    "汉",
    "回",
    "藏",
    "苗",
    "彝",
    "壮",
    "满",
    "侗",
    "瑶",
    "白",
    "傣",
    "黎",
    "佤",
    "畲",
    "水",
    "土",
    "羌",
    "怒",
    "京",
)
# 维吾尔 alone goes without 族: 新疆维吾尔自治区.
_AUTONOMOUS = re.compile(
    "(?:(?:" + "|".join(_ETHNIC_GROUPS) + ")族|维吾尔)*(?:各族)?自治(?:区|州|县|旗)$"
)
_REGION_SUFFIXES = ("特别行政区", "地区", "林区", "新区", "省", "市", "区", "县", "盟", "旗")
MIN_BARE_REGION_CHARS = 2
"""A bare region name shorter than this (东 of 东区) would cut into ordinary words."""


@dataclass(frozen=True)
class RegionNames:
    """The region names the key strips.

    ``major``: provinces and cities, full, and bare for provinces and 市 (北京市, 北京; 广西壮族
    自治区, 广西), stripped anywhere at the start. ``minor_full``: districts and counties with their
    suffix (海淀区), stripped at the start too. ``minor_bare``: the bare names of those and of
    prefectures (海淀, 阿里 of 阿里地区), stripped only right after another region, where nothing
    else can be meant. The unions are computed once, here."""

    major: frozenset[str] = frozenset()
    minor_full: frozenset[str] = frozenset()
    minor_bare: frozenset[str] = frozenset()
    leading: frozenset[str] = field(init=False, compare=False)
    leading_after_region: frozenset[str] = field(init=False, compare=False)
    anywhere: frozenset[str] = field(init=False, compare=False)
    longest: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        leading = self.major | self.minor_full
        after = leading | self.minor_bare
        # In brackets and at the end of a branch name, 中国 says where as much as 北京 does.
        anywhere = after | {"中国"}
        object.__setattr__(self, "leading", leading)
        object.__setattr__(self, "leading_after_region", after)
        object.__setattr__(self, "anywhere", anywhere)
        object.__setattr__(self, "longest", max(len(name) for name in anywhere))


def region_bare_name(name: str) -> str:
    """``name`` without its administrative suffix: 广西壮族自治区 → 广西, 海淀区 → 海淀, 恩施土家族
    苗族自治州 → 恩施, 香港特别行政区 → 香港; unchanged when nothing is left worth keeping."""
    bare = _AUTONOMOUS.sub("", name)
    if bare == name:
        for suffix in _REGION_SUFFIXES:
            if name.endswith(suffix):
                bare = name[: -len(suffix)]
                break
    return bare if len(bare) >= MIN_BARE_REGION_CHARS else name


def region_names_from(rows: Iterable[tuple[str, str]]) -> RegionNames:
    """RegionNames from ``(name, level)`` pairs, level being ``province``, ``city`` or
    ``district`` (the core Region table's). Names are normalised as names are (simplified,
    half-width), so they compare with what the key sees."""
    major: set[str] = set()
    minor_full: set[str] = set()
    minor_bare: set[str] = set()
    for raw, level in rows:
        name = _clean(raw)
        if not name:
            continue
        bare = region_bare_name(name)
        if level == "district":
            # 东区, 城区: a two-character district with its suffix is still a common word.
            if len(name) > MIN_BARE_REGION_CHARS:
                minor_full.add(name)
            if bare != name:
                minor_bare.add(bare)
            continue
        major.add(name)
        if level == "province" or name.endswith("市"):
            major.add(bare)
        elif bare != name:
            # A prefecture's bare name is a word more often than a place people write in front
            # of a company (阿里 of 阿里地区 in 阿里巴巴): only after another region, like a county.
            minor_bare.add(bare)
    minor_bare -= major
    return RegionNames(
        major=frozenset(major), minor_full=frozenset(minor_full), minor_bare=frozenset(minor_bare)
    )


_region_lock = threading.Lock()
_region_cache: RegionNames | None = None


def region_names() -> RegionNames:
    """The names of every region in the core table (active or retired: old names stay in company
    names), loaded once per process."""
    global _region_cache
    cached = _region_cache
    if cached is not None:
        return cached
    from guanxi.core.models import Region

    with _region_lock:
        if _region_cache is not None:
            return _region_cache
        loaded = region_names_from(Region.objects.values_list("name", "level"))
        # An empty table (a database being set up or flushed) is not worth remembering.
        if loaded.major:
            _region_cache = loaded
        return loaded


def region_names_cache_clear() -> None:
    """Forget the loaded names (after the region table changed)."""
    global _region_cache
    with _region_lock:
        _region_cache = None


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]  # opencc ships no type information
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional characters to simplified ones (華為 → 华为); simplified text is unchanged."""
    return _converter().convert(text) if text else text


def _clean(text: str) -> str:
    """Width, case and script folded; brackets, spaces and punctuation dropped."""
    folded = unicodedata.normalize("NFKC", (text or "")[:MAX_NAME_CHARS]).casefold()
    return _NOT_WORD.sub("", simplified(unicodedata.normalize("NFKC", folded)))


def _fold(text: str) -> str:
    """Width, case and script folded, brackets unified; punctuation still there."""
    folded = unicodedata.normalize("NFKC", (text or "")[:MAX_NAME_CHARS]).casefold()
    return simplified(unicodedata.normalize("NFKC", folded)).translate(_BRACKETS)


def _is_generic(text: str) -> bool:
    """Whether ``text`` is made of generic words only (or is too short to be a name)."""
    rest = text
    for word in GENERIC_WORDS:
        rest = rest.replace(word, "")
    return len(rest) == 0 or len(text) < MIN_BARE_REGION_CHARS


def _strip_latin_legal(text: str) -> str:
    words = _NOT_WORD.sub(" ", text).split()
    while len(words) > 1 and words[-1] in LATIN_LEGAL_WORDS:
        words.pop()
    return " ".join(words)


# What is left of a legal form when its end is taken for one (有限 of 有限公司): not a name.
_LEGAL_FRAGMENTS = frozenset({"有限", "股份", "有限责任", "股份有限", "责任"})


def _strip_legal(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            rest = text[: -len(suffix)]
            if text.endswith(suffix) and rest and rest not in _LEGAL_FRAGMENTS:
                text = rest
                changed = True
                break
    return text


def _leading_region(text: str, names: frozenset[str], longest: int) -> str:
    """The longest name of ``names`` that ``text`` starts with, or ''."""
    for length in range(min(longest, len(text)), MIN_BARE_REGION_CHARS - 1, -1):
        if text[:length] in names:
            return text[:length]
    return ""


def _trailing_region(text: str, regions: RegionNames) -> str:
    for length in range(min(regions.longest, len(text)), MIN_BARE_REGION_CHARS - 1, -1):
        if text[-length:] in regions.anywhere:
            return text[-length:]
    return ""


def _strip_regions(text: str, regions: RegionNames) -> str:
    """Region prefixes off the start, as long as a name that is not generic remains."""
    names = regions.leading
    while True:
        prefix = _leading_region(text, names, regions.longest)
        if not prefix or _is_generic(text[len(prefix) :]):
            return text
        text = text[len(prefix) :]
        names = regions.leading_after_region


def _strip_branch(text: str, regions: RegionNames) -> str:
    """华为技术有限公司北京分公司 → 华为技术有限公司; 华为北京办事处 → 华为."""
    for marker in BRANCH_MARKERS:
        if not text.endswith(marker) or len(text) == len(marker):
            continue
        head = text[: -len(marker)]
        # The branch's own name follows the company's legal form, when the name has one.
        ends = [
            head.rfind(suffix) + len(suffix) for suffix in LEGAL_SUFFIXES if head.rfind(suffix) > 0
        ]
        if ends:
            return head[: max(ends)]
        while True:
            region = _trailing_region(head, regions)
            if not region or len(region) == len(head):
                return head
            head = head[: -len(region)]
    return text


def _removable(content: str, regions: RegionNames) -> bool:
    """Whether a bracketed text says only where, or what kind of entity: (北京), (集团),
    (深圳分公司), (有限合伙), (中国)."""
    text = _NOT_WORD.sub("", content)
    for marker in BRANCH_MARKERS:
        if text.endswith(marker):
            text = text[: -len(marker)]
            break
    while text:
        region = _leading_region(text, regions.anywhere, regions.longest)
        legal = next((suffix for suffix in LEGAL_SUFFIXES if text.startswith(suffix)), "")
        if not region and not legal:
            return False
        text = text[len(region or legal) :]
    return True


def _brackets(text: str, regions: RegionNames) -> str:
    # A bracketed note at the very end is about the record, not the name: (筹), (原某某公司).
    text = _TRAILING_GROUP.sub("", text) if not text.lstrip().startswith("(") else text
    while True:
        replaced = _INNER_GROUP.sub(
            lambda match: "" if _removable(match.group(1), regions) else f" {match.group(1)} ",
            text,
        )
        if replaced == text:
            return replaced.replace("(", " ").replace(")", " ")
        text = replaced


def _key_once(name: str, regions: RegionNames, *, keep_regions: bool) -> str:
    folded = _fold(name)
    cleaned = _NOT_WORD.sub("", folded)
    text = _brackets(folded, regions)
    text = _NOT_WORD.sub("", _strip_latin_legal(text))
    previous = None
    while text != previous:
        previous = text
        text = _strip_branch(text, regions)
        text = _strip_legal(text)
        if not keep_regions:
            text = _strip_regions(text, regions)
    # A name that is nothing but a legal form or a region keeps its cleaned text.
    return text or cleaned


def company_name_key(
    name: str, *, regions: RegionNames | None = None, keep_regions: bool = False
) -> str:
    """The normalised core of a company name (see the module docstring); '' for a blank name.

    Idempotent: the key of a key is the key itself. ``regions``: the region names to strip
    (default: the core table's, cached); ``keep_regions`` for government bodies, whose region is
    part of who they are."""
    regions = region_names() if regions is None else regions
    key = _key_once(name, regions, keep_regions=keep_regions)
    # Each pass can only shorten the key; a second one settles what the first exposed.
    for _attempt in range(4):
        again = _key_once(key, regions, keep_regions=keep_regions)
        if again == key:
            break
        key = again
    return key


def company_name_similarity(first_key: str, second_key: str) -> int:
    """How alike two keys are, 0–100: rapidfuzz's normalised Indel similarity (``fuzz.ratio``),
    which counts the characters the two share in order (华为技术 and 华为终端 share only 华为:
    50). Not ``partial_ratio`` or ``WRatio``: those score 华为 against 华为技术 as 100."""
    if not first_key or not second_key:
        return 0
    if first_key == second_key:
        return 100
    return int(fuzz.ratio(first_key, second_key))
