"""Fixed-window request counters shared by every process: the API's rate limit, the robots'
allowance and the public pages that answer without a login (ticket confirmation, survey links).

One upsert on core's RateWindow table counts a hit and returns the window's count, so concurrent
requests in several processes cannot lose counts the way a read-modify-write would.
"""

from __future__ import annotations

import time

from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import RateWindow


class RateLimitedError(ApplicationError):
    status_code = 429
    default_code = "rate_limited"
    default_message = _("Too many requests. Please wait a minute and try again.")


def window_count(key: str, *, now: float, duration: int) -> tuple[int, float]:
    """Count one hit in ``key``'s window and return (count, when the window opened). One
    statement: a window older than ``duration`` starts again at this hit. Every SET expression
    of the upsert reads the row as it was, on SQLite and PostgreSQL alike."""
    quote = connection.ops.quote_name
    table, key_, opened_, count_ = (
        quote(name) for name in (RateWindow._meta.db_table, "key", "opened", "count")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_}, {opened_}, {count_}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({key_}) DO UPDATE SET "
            f"{count_} = CASE WHEN {table}.{opened_} <= %s THEN 1 "
            f"ELSE {table}.{count_} + 1 END, "
            f"{opened_} = CASE WHEN {table}.{opened_} <= %s THEN %s ELSE {table}.{opened_} END "
            f"RETURNING {count_}, {opened_}",
            [key, now, now - duration, now - duration, now],
        )
        count, opened = cursor.fetchone()
    return int(count), float(opened)


# No limit counts over more than a day; a window older than its duration restarts at the next
# hit anyway, so rows older than this are only clutter (one per client address of a public page).
RATE_WINDOW_KEEP_SECONDS = 2 * 86400


def rate_windows_purge(*, now: float | None = None) -> int:
    """Delete the counters no window can still use. Returns how many went."""
    cutoff = (now if now is not None else time.time()) - RATE_WINDOW_KEEP_SECONDS
    deleted, _by_model = RateWindow.objects.filter(opened__lt=cutoff).delete()
    return deleted


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR as the server saw it; behind a proxy, the deployment sets it from the proxy's
    # header (docs/operations.md), never from a header a client could forge here.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def public_page_rate_check(
    request: HttpRequest, *, scope: str, limit: int = 30, duration: int = 60
) -> None:
    """Refuse (429) a client address that opened more than ``limit`` pages of ``scope`` in the
    last window: a public link must not become a way to guess other links."""
    count, _opened = window_count(
        f"public:{scope}:{client_address(request)}", now=time.time(), duration=duration
    )
    if count > limit:
        raise RateLimitedError()
