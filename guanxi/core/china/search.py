"""The search key (DESIGN.md, Architecture, "search"): one string of tokens per record, computed in
Python, matched by AND-ed prefix terms on FTS5 (SQLite) or a GIN-indexed tsvector (PostgreSQL).

Why a key computed here: neither engine splits Chinese into words, and ``pg_trgm`` cannot index a
two-character query such as 华为. So the key already holds what a user may type:

* CJK character bigrams of names (华为技术 → 华为 为技 技术), so any run of two or more
  characters is found as the AND of its bigrams; single characters are prefixes of bigrams,
  and the last character of each run is kept alone too, so that 司 finds 公司 like any other
  character does;
* full pinyin without tones, as one concatenated token and as suffixes starting at each
  character, capped at four syllables (huaweijishu…, weijishuyou, jishuyouxian …), so ``huawei``
  and ``jishu`` both find 华为技术; the same for initials, capped at eight (hwjsyxgs, wjsyxgs …);
* for a person, every reading of the surname (曾 ceng / zeng, 单 dan / shan, 解 jie / xie), because
  pypinyin picks the common-word reading and people type the surname one;
* a phone's last four digits, so the tail ``8000`` finds 13800138000 for anyone who may see the
  record (the masked number, 138****8000, shows them anyway);
* credit codes and Latin words lower-cased;
* personal data in full, as *private* tokens: phone digits in international and national form
  with every suffix of four digits or more, e-mail addresses and WeChat IDs, each behind
  :data:`PRIVATE_MARK`. A user's query can never contain that mark, so only the search of the
  record's owner, which adds it on purpose (:func:`private_terms`), reaches them. Were full
  numbers searchable by everyone, anybody could recover a masked number digit by digit.

Every query term is a prefix, so a token that is a prefix of another token adds nothing and is
dropped; this keeps keys small.

Matching rules, shared by both engines and by :func:`key_matches` (the reference the tests hold
them to): a record matches when every term is a prefix of at least one token of its key.

SQLite: an FTS5 table with ``tokenize = 'ascii'`` (:data:`FTS5_TOKENIZE`). The ascii tokenizer
splits only on ASCII punctuation and spaces, and key tokens never contain either, so FTS5 stores
the tokens exactly as written here; ``unicode61`` would re-split on its own (older) idea of
Unicode letters and fold diacritics, and the two sides could drift.

PostgreSQL: ``array_to_tsvector(array_remove(string_to_array(key, ' '), ''))``
(:func:`postgres_vector_sql`), not ``to_tsvector('simple', key)``. Both are IMMUTABLE and can back a
GIN expression index, and on this server (PostgreSQL 15, C.UTF-8) both keep 华为 whole. The
difference is that ``to_tsvector`` runs the text-search parser and dictionary over the key: the
parser's idea of a letter for non-ASCII text comes from the database's LC_CTYPE (a managed
service may differ from ours), it drops symbols and re-splits tokens, and the ``simple``
dictionary lowercases by that locale. The query side is cast with ``::tsquery``, which takes
lexemes verbatim, so any such rewrite on the index side would make a term silently miss.
``array_to_tsvector`` bypasses the parser: the stored lexemes are byte for byte the tokens built
here, whatever the locale, and the vector carries no positions, so it is also smaller. (DESIGN.md
names ``to_tsvector('simple', …)``; this is the measured refinement of that row.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat
from pypinyin import Style, lazy_pinyin, pinyin
from pypinyin.converter import DefaultConverter
from pypinyin.core import Pinyin

# Han characters: 〇, CJK Unified Ideographs and extension A, compatibility ideographs, and the
# supplementary planes (extensions B–H) that rare names use.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_HAN_ONLY = re.compile(f"^[{_HAN}]+$")
# Letters and digits of any script; underscores separate like punctuation.
_WORD = re.compile(r"[^\W_]+")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")
_NON_DIGITS = re.compile(r"[^0-9]+")
_NON_WORD = re.compile(r"[\W_]+")
# A phone typed as 138-0013-8000, (0755) 8888 6666 or +86 138 0013 8000 is one number, not three.
_PHONE_PUNCTUATION = re.compile(r"(?<=[0-9])[\s\-.()+]+(?=[0-9])")

SUFFIX_SYLLABLES = 4
"""Pinyin and initials suffixes stop after this many syllables: a user types a few syllables from
the middle of a name (jishu), rarely six."""

SUFFIX_INITIALS = 8
"""Initials suffixes are one letter per syllable, so a longer cap costs almost nothing and lets
``txjsj`` find 腾讯计算机 in the middle of a long company name."""

MIN_PHONE_SUFFIX = 4
"""Shorter phone tails would match almost every record."""

MAX_TOKEN_CHARS = 48
"""Tokens and terms are cut to this length so that no lexeme nears PostgreSQL's 2 KB limit; a cut
term is still a prefix of the cut token, so long input keeps matching."""

MAX_VALUE_CHARS = 200
"""Only this much of each name, phone or word is read: a pasted essay must not make a huge key."""

MAX_TERMS = 16
"""A query has at most this many terms, so a pasted paragraph cannot become a huge AND."""

PRIVATE_MARK = "\u00b7"
"""Marks private tokens (U+00B7 MIDDLE DOT): not a word character, so :func:`search_terms` never
emits it, yet a token character for FTS5's ascii tokenizer (every non-ASCII character is) and
kept verbatim by ``array_to_tsvector``."""

FTS5_TOKENIZE = "ascii"
"""The ``tokenize`` option of the FTS5 table that holds search keys (see the module docstring)."""


def _normalize(text: str) -> str:
    """Full-width to half-width (NFKC) and case folding, so ＨＷ, HW and hw are one token."""
    folded = unicodedata.normalize("NFKC", text[:MAX_VALUE_CHARS]).casefold()
    return unicodedata.normalize("NFKC", folded)


def _runs(text: str) -> Iterator[str]:
    """Runs of Han characters and runs of other letters and digits, in order."""
    spaced = _HAN_RUN.sub(lambda match: f" {match.group(0)} ", text)
    yield from _WORD.findall(spaced)


def _han_tokens(run: str) -> Iterator[str]:
    if len(run) == 1:
        yield run
        return
    for index in range(len(run) - 1):
        yield run[index : index + 2]
    # Bigram prefixes cover every character but the last; this covers the last.
    yield run[-1]


def _text_tokens(text: str) -> set[str]:
    tokens: set[str] = set()
    for run in _runs(_normalize(text)):
        if _HAN_ONLY.match(run):
            tokens.update(_han_tokens(run))
        else:
            tokens.add(run[:MAX_TOKEN_CHARS])
    return tokens


PINYIN_CACHE_WORDS = 200_000
"""Segmented words whose reading :class:`_WordCachedConverter` keeps (a few tens of MB at most)."""


class _WordCachedConverter(DefaultConverter):
    """pypinyin's own converter, with the reading of each segmented word kept after its first
    conversion. pypinyin segments a name into dictionary words first (重庆, 科技, 有限公司), and a
    word's reading does not depend on its neighbours, so the cache returns exactly what pypinyin
    would; it only skips the tone-mark rewriting, about three quarters of the time of a key.
    Words repeat across names (an import of a million companies meets 科技 and 有限 a million
    times). Used only by :func:`_syllables`, whose style, ``errors`` and ``strict`` never vary."""

    def __init__(self) -> None:
        super().__init__()
        self._readings: dict[str, list[list[str]]] = {}

    def convert(self, words, style, heteronym, errors, strict, **kwargs):  # type: ignore[no-untyped-def]  # pypinyin's signature
        readings = self._readings.get(words)
        if readings is None:
            readings = super().convert(words, style, heteronym, errors, strict, **kwargs)
            if len(self._readings) < PINYIN_CACHE_WORDS:
                self._readings[words] = readings
        return list(readings)


_SYLLABLES_PINYIN = Pinyin(_WordCachedConverter())


def _syllables(han: str) -> list[str]:
    """One toneless syllable per character ('' where pypinyin knows none), in word context so
    that 重庆 is chongqing and 银行 yinhang."""
    syllables = _SYLLABLES_PINYIN.lazy_pinyin(
        han, style=Style.NORMAL, errors=lambda chars: [""] * len(chars)
    )
    if len(syllables) != len(han):
        # Not expected for Han-only input; stay aligned with the characters whatever happens.
        syllables = [
            (lazy_pinyin(char, style=Style.NORMAL, errors=lambda chars: [""]) or [""])[0]
            for char in han
        ]
    return [_NON_WORD.sub("", syllable) for syllable in syllables]


def _spellings(syllables: Sequence[str]) -> set[str]:
    """Concatenated full pinyin and initials, plus their suffixes capped at SUFFIX_SYLLABLES."""
    present = [syllable for syllable in syllables if syllable]
    initials = [syllable[0] for syllable in present]
    tokens = {"".join(present), "".join(initials)}
    for start in range(len(present)):
        tokens.add("".join(present[start : start + SUFFIX_SYLLABLES]))
        tokens.add("".join(initials[start : start + SUFFIX_INITIALS]))
    tokens.discard("")
    return {token[:MAX_TOKEN_CHARS] for token in tokens}


def _surname_readings(char: str) -> set[str]:
    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda chars: [])
    return {_NON_WORD.sub("", reading) for reading in (readings[0] if readings else [])} - {""}


@lru_cache(maxsize=100_000)
def _name_tokens(name: str, *, person: bool) -> frozenset[str]:
    # Memoised: people's names and short names repeat (张伟, 华为), and an import computes
    # thousands of keys a second. A pure function of its arguments, so nothing else changes.
    return frozenset(_name_tokens_computed(name, person=person))


def _name_tokens_computed(name: str, *, person: bool) -> set[str]:
    tokens = _text_tokens(name)
    han = "".join(_HAN_RUN.findall(_normalize(name)))
    if not han:
        return tokens
    syllables = _syllables(han)
    tokens |= _spellings(syllables)
    if person and syllables[0]:
        for reading in _surname_readings(han[0]) - {syllables[0]}:
            alternative = [reading, *syllables[1:]]
            present = [syllable for syllable in alternative if syllable]
            tokens.add("".join(present)[:MAX_TOKEN_CHARS])
            tokens.add("".join(syllable[0] for syllable in present)[:MAX_TOKEN_CHARS])
    return tokens


def _digit_suffixes(digits: str) -> Iterator[str]:
    for start in range(len(digits) - MIN_PHONE_SUFFIX + 1):
        yield digits[start:][:MAX_TOKEN_CHARS]


def _phone_tail(phone: str) -> set[str]:
    """The last four digits: all of a phone that everyone who sees the record may search."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", phone[:MAX_VALUE_CHARS]))
    return {digits[-MIN_PHONE_SUFFIX:]} if digits else set()


@lru_cache(maxsize=10_000)
def _phone_tokens(phone: str) -> frozenset[str]:
    """Digits as dialled abroad (8613800138000) and at home (13800138000, 01012345678), with
    their tails, so a user can type the number any of the ways people write it. Memoised: a
    contact's phones go into its own key and its customer's, parsed once."""
    return frozenset(_phone_tokens_computed(phone))


def _phone_tokens_computed(phone: str) -> set[str]:
    text = unicodedata.normalize("NFKC", phone[:MAX_VALUE_CHARS])
    forms = {_NON_DIGITS.sub("", text)}
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        forms.add(_NON_DIGITS.sub("", phonenumbers.format_number(number, PhoneNumberFormat.E164)))
        forms.add(
            _NON_DIGITS.sub("", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        )
    tokens: set[str] = set()
    for digits in forms:
        if len(digits) < MIN_PHONE_SUFFIX:
            if digits:
                tokens.add(digits)
            continue
        tokens.update(_digit_suffixes(digits))
    return tokens


def _code_tokens(code: str) -> set[str]:
    compact = _NON_WORD.sub("", _normalize(code))
    return {compact[:MAX_TOKEN_CHARS]} if compact else set()


def _without_redundant_prefixes(tokens: Iterable[str]) -> list[str]:
    """Sorted tokens minus those that are a prefix of another: every term is a prefix query, so
    such a token can never be the only one a term matches. In sorted order any token that extends
    ``t`` comes right after ``t``."""
    ordered = sorted(set(tokens))
    return [
        token
        for index, token in enumerate(ordered)
        if index + 1 == len(ordered) or not ordered[index + 1].startswith(token)
    ]


def search_document(
    *,
    names: Sequence[str] = (),
    person_names: Sequence[str] = (),
    phones: Sequence[str] = (),
    codes: Sequence[str] = (),
    words: Sequence[str] = (),
    private_words: Sequence[str] = (),
) -> str:
    """The search key: space-separated tokens, sorted, no token a prefix of another.

    ``names`` are organisation names (bigrams, pinyin, initials); ``person_names`` add the other
    readings of the surname; ``phones`` any format, E.164 preferred (the last four digits are
    public, the rest private); ``codes`` credit codes and other identifiers; ``words`` free text
    such as tag names (bigrams and words, no pinyin); ``private_words`` personal data such as
    e-mail addresses and WeChat IDs, found only by the owner's search.
    """
    tokens: set[str] = set()
    private: set[str] = set()
    for name in names:
        tokens |= _name_tokens(name, person=False)
    for name in person_names:
        tokens |= _name_tokens(name, person=True)
    for phone in phones:
        tokens |= _phone_tail(phone)
        private |= _phone_tokens(phone)
    for code in codes:
        tokens |= _code_tokens(code)
    for word in words:
        tokens |= _text_tokens(word)
    for word in private_words:
        private |= _text_tokens(word)
    tokens |= {f"{PRIVATE_MARK}{token}"[:MAX_TOKEN_CHARS] for token in private}
    return " ".join(_without_redundant_prefixes(tokens))


def private_terms(terms: Sequence[str]) -> list[list[str]]:
    """The owner's form of a query: each term may match a public token or, with the mark, a
    private one (an OR per term, the terms AND-ed). Han terms have no private form."""
    return [
        [term] if _HAN_ONLY.match(term) else [term, f"{PRIVATE_MARK}{term}"[:MAX_TOKEN_CHARS]]
        for term in terms
    ]


def has_private_form(terms: Sequence[str]) -> bool:
    """Whether the owner's search could find more than everyone's: some term is not Han."""
    return any(not _HAN_ONLY.match(term) for term in terms)


def search_terms(query: str) -> list[str]:
    """The AND-ed prefix terms of a user's query; empty when the query has nothing searchable.

    Chinese runs become bigrams (one character stays one term), letters one lower-case term
    (pinyin, initials or a Latin word: the key holds all three), digits one term, with the
    punctuation inside a typed phone number ignored. Never raises.
    """
    text = _PHONE_PUNCTUATION.sub("", _normalize(query or ""))
    terms: list[str] = []
    for run in _runs(text):
        if _HAN_ONLY.match(run):
            pieces = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        else:
            pieces = [run[:MAX_TOKEN_CHARS]]
        for piece in pieces:
            if piece not in terms:
                terms.append(piece)
    return terms[:MAX_TERMS]


def key_matches(key: str, terms: Sequence[str]) -> bool:
    """The matching rule both engines implement: each term is a prefix of some token."""
    tokens = key.split()
    return all(any(token.startswith(term) for token in tokens) for term in terms)


def _renderable(terms: Sequence[str]) -> list[str]:
    # NUL ends a string in SQLite's FTS5 parser and PostgreSQL refuses it in text.
    cleaned = [term.replace("\x00", "")[:MAX_TOKEN_CHARS] for term in terms]
    cleaned = [term for term in cleaned if term.strip()]
    if not cleaned:
        raise ValueError("no search terms: the caller decides what an empty query means")
    return cleaned


def fts5_match_any(alternatives: Sequence[Sequence[str]]) -> str:
    """Like :func:`fts5_match`, for :func:`private_terms`: each group OR-ed, the groups AND-ed."""
    groups = (
        "("
        + " OR ".join(f'"{term.replace(chr(34), chr(34) * 2)}"*' for term in _renderable(g))
        + ")"
        for g in alternatives
    )
    return " AND ".join(groups)


def tsquery_text_any(alternatives: Sequence[Sequence[str]]) -> str:
    """Like :func:`tsquery_text`, for :func:`private_terms`."""
    groups = (
        "("
        + " | ".join(
            "'" + term.replace("\\", "\\\\").replace("'", "''") + "':*" for term in _renderable(g)
        )
        + ")"
        for g in alternatives
    )
    return " & ".join(groups)


def fts5_match(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: every term a double-quoted string with a prefix star, AND-ed.

    Inside double quotes FTS5 reads NEAR, AND, ``*``, ``-``, ``^``, ``:`` and parentheses as
    text, and a double quote is written twice, so no term can change the query's structure.
    Raises ValueError for no terms: an empty MATCH is a syntax error, and whether an empty query
    lists everything or nothing is the caller's decision.
    """
    return " AND ".join(f'"{term.replace(chr(34), chr(34) * 2)}"*' for term in _renderable(terms))


def tsquery_text(terms: Sequence[str]) -> str:
    """Text for ``%s::tsquery``: every term a quoted lexeme with ``:*`` (prefix), AND-ed with &.

    In tsquery input a quoted lexeme is taken verbatim once its quote and backslash are doubled,
    so operators such as ``!``, ``|``, ``<->`` or ``:`` inside a term stay text. Pass the result
    as a bind parameter, never by string formatting. Raises ValueError for no terms.
    """
    quoted = (
        "'" + term.replace("\\", "\\\\").replace("'", "''") + "':*" for term in _renderable(terms)
    )
    return " & ".join(quoted)


def postgres_vector_sql(column: str) -> str:
    """The indexed expression over a key column; use the same text in the GIN index and the query
    (``WHERE <this> @@ %s::tsquery``) so the planner can use the index."""
    return f"array_to_tsvector(array_remove(string_to_array({column}, ' '), ''))"
