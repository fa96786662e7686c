"""Keyset (cursor) pagination: stable and O(page) at any depth, unlike OFFSET.

The cursor is an opaque, signed token holding the sort values of the last row shown. A tampered
cursor is a clear 400, never a 500 or a wrong page.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from guanxi.core.exceptions import ApplicationError

MAX_LIMIT = 200


class InvalidCursorError(ApplicationError):
    default_code = "invalid_cursor"
    default_message = _("The page cursor is invalid or expired. Start again from the first page.")


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    limit: int


def _encode(values: list[Any]) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":"))
    signed = signing.Signer(salt="guanxi.pagination").sign(raw)
    return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        signed = base64.urlsafe_b64decode(padded.encode()).decode()
        values = json.loads(signing.Signer(salt="guanxi.pagination").unsign(signed))
    except (ValueError, signing.BadSignature, UnicodeDecodeError) as error:
        raise InvalidCursorError() from error
    if not isinstance(values, list) or len(values) != size:
        raise InvalidCursorError()
    decoded = []
    for value in values:
        if isinstance(value, dict) and "t" in value:
            parsed = parse_datetime(str(value["t"]))
            if parsed is None:
                raise InvalidCursorError()
            decoded.append(parsed)
        else:
            decoded.append(value)
    return decoded


def keyset_paginate(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Page through ``queryset`` ordered by ``ordering`` (which must end in a unique field).

    Every field in ``ordering`` uses the same direction; mixing directions is not supported
    because a single row comparison cannot express it portably.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    descending = ordering[0].startswith("-")
    if any(f.startswith("-") != descending for f in ordering):
        raise ValueError("keyset ordering must use one direction")
    names = [f.lstrip("-") for f in ordering]
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = _decode(cursor, len(names))
        # (a, b, c) < (x, y, z) expanded as a disjunction, which every database plans well.
        op = "lt" if descending else "gt"
        condition = Q()
        for i, name in enumerate(names):
            term = Q(**{f"{name}__{op}": values[i]})
            for j in range(i):
                term &= Q(**{names[j]: values[j]})
            condition |= term
        queryset = queryset.filter(condition)
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([_attr(last, name) for name in names])
    return Page(items=rows, next_cursor=next_cursor, limit=limit)


def _attr(obj: Any, dotted: str) -> Any:
    value = obj
    for part in dotted.split("__"):
        value = getattr(value, part)
    return value.pk if hasattr(value, "pk") else value
