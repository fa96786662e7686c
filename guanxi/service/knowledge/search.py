"""The knowledge base's use of the shared search key (core.china.search): what goes into an
article's key, and which terms of a ticket's text look for articles. Pure functions; the
services store the key, the selectors query it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from guanxi.core.china.search import MAX_TERMS, MAX_VALUE_CHARS, search_document, search_terms

BODY_SEARCH_CHARS = 3000
"""How much of an article's text goes into its key: the first page or so says what an article
is about, and a 20,000-character text would make a key of tens of thousands of bigrams."""

SUGGESTION_TEXT_CHARS = 1000
"""How much of a ticket's description is read for suggestions."""

SUGGESTION_TERMS = 24
"""At most this many terms of a ticket look for articles (the subject's first)."""

# A piece of text ends after whitespace or punctuation (Chinese and Latin), so that cutting a long
# text into pieces splits neither a word nor, where it can be helped, a run of characters.
_BREAK = re.compile(r"(?<=[\s。！？!?；;，,、．.：:）)】」』])")
_HAN_ONLY = re.compile(r"^[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+$")
_DIGITS = re.compile(r"^[0-9]+$")


def text_pieces(text: str, *, limit: int, size: int = MAX_VALUE_CHARS) -> list[str]:
    """The first ``limit`` characters of ``text`` in pieces of at most ``size`` characters (the
    search module reads no more of one value). A run longer than a piece without a break in it
    is cut with one character of overlap, so the bigram across the cut is still made."""
    pieces: list[str] = []
    current = ""
    for segment in _BREAK.split((text or "")[:limit]):
        while len(segment) > size:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(segment[:size])
            segment = segment[size - 1 :]
        if len(current) + len(segment) > size:
            pieces.append(current)
            current = ""
        current += segment
    if current.strip():
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def article_search_document(*, title: str, tags: Iterable[str], body: str) -> str:
    """The search key of an article: the title and tags with pinyin and initials (what people
    type to find an article by name: ``tuihuo``, ``thlc``), the start of the text as bigrams and
    words."""
    return search_document(names=[title, *tags], words=text_pieces(body, limit=BODY_SEARCH_CHARS))


def _useful(term: str) -> bool:
    """A term that says something about a ticket: two Chinese characters or more (one character
    begins half the key), three letters (not "is", "a"), four digits (a model number, not "2")."""
    if _HAN_ONLY.match(term):
        return len(term) >= 2
    if _DIGITS.match(term):
        return len(term) >= 4
    return len(term) >= 3


def suggestion_terms(texts: Sequence[str]) -> list[str]:
    """Distinct useful terms of ``texts`` in order (a ticket's subject, then its description),
    at most :data:`SUGGESTION_TERMS`."""
    terms: list[str] = []
    for text in texts:
        # Pieces short enough that search_terms, which stops at MAX_TERMS terms, keeps them all.
        for piece in text_pieces(text, limit=SUGGESTION_TEXT_CHARS, size=MAX_TERMS + 1):
            for term in search_terms(piece):
                if term in terms or not _useful(term):
                    continue
                terms.append(term)
                if len(terms) == SUGGESTION_TERMS:
                    return terms
    return terms
