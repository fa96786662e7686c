"""Keyset pagination (core/pagination.py): every row exactly once and in order, ties on the first
key broken by the unique tail, and a cursor that is not ours is a clean InvalidCursorError."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid

import pytest
from django.core import signing
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.accounts.models import Department
from guanxi.core import pagination
from guanxi.core.models import AuditEntry
from guanxi.core.pagination import MAX_LIMIT, InvalidCursorError, keyset_paginate

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


def _audit(offsets: list[int]) -> list[AuditEntry]:
    return AuditEntry.objects.bulk_create(
        AuditEntry(
            occurred_at=BASE + dt.timedelta(seconds=s), action="action", object_type="core.page"
        )
        for s in offsets
    )


def _walk(queryset, ordering, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = keyset_paginate(queryset, ordering=ordering, cursor=cursor, limit=limit)
        assert len(page.items) <= limit
        seen.extend(row.pk for row in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
        assert pages < 10_000


def test_walks_every_row_once_newest_first_with_ties():
    # given 25 rows where groups of five share a timestamp
    rows = _audit([i // 5 for i in range(25)])
    # when
    seen, pages = _walk(AuditEntry.objects.all(), ("-occurred_at", "-id"), limit=4)
    # then
    assert seen == [r.pk for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=True)]
    assert pages == 7


def test_walks_ascending_too():
    rows = _audit([3, 1, 1, 2, 2, 2, 0])
    seen, _pages = _walk(AuditEntry.objects.all(), ("occurred_at", "id"), limit=2)
    assert seen == [r.pk for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk))]


def test_last_full_page_has_no_next_cursor():
    _audit(range(6))
    first = keyset_paginate(AuditEntry.objects.all(), ordering=("-occurred_at", "-id"), limit=3)
    second = keyset_paginate(
        AuditEntry.objects.all(),
        ordering=("-occurred_at", "-id"),
        cursor=first.next_cursor,
        limit=3,
    )
    assert first.next_cursor and len(second.items) == 3 and second.next_cursor is None


def test_filters_of_the_queryset_are_kept_across_pages():
    _audit(range(10))
    AuditEntry.objects.bulk_create(
        AuditEntry(occurred_at=BASE, action="export", object_type="core.other") for _ in range(5)
    )
    seen, _pages = _walk(
        AuditEntry.objects.filter(object_type="core.page"), ("-occurred_at", "-id"), 3
    )
    assert len(seen) == 10
    assert set(AuditEntry.objects.filter(pk__in=seen).values_list("object_type", flat=True)) == {
        "core.page"
    }


def test_rows_added_after_the_first_page_do_not_shift_later_pages():
    # the point of keyset over OFFSET: a new row at the top does not repeat or skip a row
    rows = _audit(range(6))
    first = keyset_paginate(AuditEntry.objects.all(), ordering=("-occurred_at", "-id"), limit=3)
    _audit([100])  # newer than everything
    second = keyset_paginate(
        AuditEntry.objects.all(),
        ordering=("-occurred_at", "-id"),
        cursor=first.next_cursor,
        limit=3,
    )
    assert [r.pk for r in first.items] + [r.pk for r in second.items] == [
        r.pk for r in reversed(rows)
    ]


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=30),
    limit=st.integers(min_value=1, max_value=8),
    descending=st.booleans(),
)
def test_property_any_data_any_limit_every_row_once_in_order(offsets, limit, descending):
    with transaction.atomic():
        rows = _audit(offsets)
        ordering = ("-occurred_at", "-id") if descending else ("occurred_at", "id")
        seen, pages = _walk(AuditEntry.objects.all(), ordering, limit)
        expected = sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=descending)
        assert seen == [r.pk for r in expected]
        assert pages == max(1, -(-len(rows) // limit))
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("asked", "clamped"), [(0, 1), (-3, 1), (1, 1), (50, 50), (MAX_LIMIT + 1, MAX_LIMIT), ("x", 50)]
)
def test_limit_is_clamped(asked, clamped):
    assert (
        keyset_paginate(AuditEntry.objects.all(), ordering=("-id",), limit=asked).limit == clamped
    )


def test_mixed_directions_are_refused():
    with pytest.raises(ValueError, match="one direction"):
        keyset_paginate(AuditEntry.objects.all(), ordering=("-occurred_at", "id"))


def test_ordering_must_end_in_a_unique_field():
    with pytest.raises(ValueError, match="unique"):
        keyset_paginate(AuditEntry.objects.all(), ordering=("occurred_at",))
    # a unique field other than the primary key is fine
    keyset_paginate(Department.objects.all(), ordering=("code",))


def _signed(payload: str) -> str:
    signed = signing.Signer(salt="guanxi.pagination").sign(payload)
    return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "☃",
        base64.urlsafe_b64encode(
            b'{"s":"core.auditentry:-occurred_at,-id","v":[1,2]}'
        ).decode(),  # unsigned
        _signed("not json"),
        _signed("[1, 2]"),  # an old-style list without scope
        _signed('{"s":"accounts.user:username,id","v":["a",1]}'),  # another list's cursor
        _signed('{"s":"core.auditentry:-occurred_at,-id","v":[1]}'),  # wrong size
        _signed('{"s":"core.auditentry:-occurred_at,-id","v":["yesterday",1]}'),  # wrong type
        _signed('{"s":"core.auditentry:-occurred_at,-id","v":[{"t":"nonsense"},1]}'),
        _signed('{"s":"core.auditentry:-occurred_at,-id","v":[{"q":"1"},1]}'),
        _signed('{"s":"core.auditentry:-occurred_at,-id","v":[[1],1]}'),
        _signed(
            '{"s":"core.auditentry:-occurred_at,-id","v":[{"t":"2026-01-01T00:00:00+00:00"},"x"]}'
        ),
    ],
)
def test_a_cursor_that_is_not_ours_is_invalid(cursor):
    _audit(range(3))
    with pytest.raises(InvalidCursorError) as raised:
        keyset_paginate(AuditEntry.objects.all(), ordering=("-occurred_at", "-id"), cursor=cursor)
    assert raised.value.code == "invalid_cursor"
    assert raised.value.status_code == 400


def test_a_cursor_is_tied_to_its_secret_key(settings):
    _audit(range(3))
    cursor = keyset_paginate(
        AuditEntry.objects.all(), ordering=("-occurred_at", "-id"), limit=1
    ).next_cursor
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(InvalidCursorError):
        keyset_paginate(AuditEntry.objects.all(), ordering=("-occurred_at", "-id"), cursor=cursor)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        decimal.Decimal("12.340"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "文本",
        7,
    ],
)
def test_cursor_values_round_trip_with_their_types(value):
    scope = "core.auditentry:-occurred_at,-id"
    (decoded,) = pagination._decode(pagination._encode(scope, [value]), scope, 1)
    assert decoded == value and type(decoded) is type(value)


def test_datetime_cursor_keeps_microseconds_so_no_row_is_skipped():
    # given rows one microsecond apart
    rows = AuditEntry.objects.bulk_create(
        AuditEntry(
            occurred_at=BASE + dt.timedelta(microseconds=i), action="action", object_type="core.us"
        )
        for i in range(5)
    )
    seen, _pages = _walk(AuditEntry.objects.all(), ("-occurred_at", "-id"), limit=1)
    assert seen == [r.pk for r in reversed(rows)]
    assert timezone.is_aware(rows[0].occurred_at)
