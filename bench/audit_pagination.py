"""Deep pages of the audit trail: is keyset pagination through the ORM as fast as the raw SQL it
should compile to, and how much faster than OFFSET at depth?

    .venv/bin/python bench/audit_pagination.py --rows 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guanxi_bench \\
        .venv/bin/python bench/audit_pagination.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import django_setup, median_ms, record  # noqa: E402 - path set up just above


def load_rows(rows: int, vendor: str) -> None:
    from django.db import connection

    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM core_auditentry")
        if cursor.fetchone()[0] >= rows:
            return
    # Store datetimes exactly as the ORM would on this database, or comparisons mean nothing.
    adapt = connection.ops.adapt_datetimefield_value
    values = [
        (
            str(adapt(base + dt.timedelta(seconds=i // 3))),
            f"user{i % 50}",
            "update",
            "accounts.user",
            str(i),
            f"对象{i}",
            "{}",
            "",
        )
        for i in range(rows)
    ]
    columns = (
        "occurred_at, actor_label, action, object_type, object_id, object_label, changes, note"
    )
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            buffer = io.StringIO("".join("\t".join(v) + "\n" for v in values))
            with cursor.cursor.copy(f"COPY core_auditentry ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            cursor.executemany(
                f"INSERT INTO core_auditentry ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                values,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=50)
    args = parser.parse_args()
    vendor = django_setup()

    from django.db import connection

    from guanxi.core.models import AuditEntry
    from guanxi.core.pagination import keyset_paginate

    load_rows(args.rows, vendor)
    depth = int(args.rows * 0.75)
    anchor = AuditEntry.objects.order_by("-occurred_at", "-id")[depth]
    # The public way to get a cursor that points just past the anchor row: a one-row page that
    # starts at the anchor.
    from django.db.models import Q

    at_or_after = AuditEntry.objects.filter(
        Q(occurred_at__lt=anchor.occurred_at) | Q(occurred_at=anchor.occurred_at, id__lte=anchor.id)
    )
    cursor_token = keyset_paginate(
        at_or_after, ordering=("-occurred_at", "-id"), limit=1
    ).next_cursor

    def orm_keyset() -> object:
        return keyset_paginate(
            AuditEntry.objects.all(),
            ordering=("-occurred_at", "-id"),
            cursor=cursor_token,
            limit=args.page,
        ).items

    keyset_sql = (
        "SELECT * FROM core_auditentry WHERE occurred_at <= %s AND (occurred_at < %s OR id < %s) "
        "ORDER BY occurred_at DESC, id DESC LIMIT %s"
    )

    when = connection.ops.adapt_datetimefield_value(anchor.occurred_at)

    def raw_keyset() -> list:
        with connection.cursor() as cursor:
            cursor.execute(keyset_sql, [when, when, anchor.id, args.page + 1])
            return cursor.fetchall()

    # Same work: the ORM page and the raw page must be the same rows.
    orm_ids = [row.id for row in orm_keyset()]
    raw_ids = [row[0] for row in raw_keyset()][: args.page]
    assert orm_ids == raw_ids, "ORM and raw keyset pages differ"

    def raw_offset() -> object:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM core_auditentry "
                "ORDER BY occurred_at DESC, id DESC LIMIT %s OFFSET %s",
                [args.page, depth],
            )
            return cursor.fetchall()

    orm = median_ms(orm_keyset)
    raw = median_ms(raw_keyset)
    offset = median_ms(raw_offset, repeat=5)
    lines = [
        f"{vendor}, {args.rows:,} audit entries, one page of {args.page} at depth {depth:,}:",
        "",
        "| query | median ms | ratio to raw keyset |",
        "|---|---|---|",
        f"| keyset_paginate (ORM) | {orm:.2f} | {orm / raw:.2f}× |",
        f"| keyset, raw SQL | {raw:.2f} | 1.00× |",
        f"| OFFSET, raw SQL | {offset:.2f} | {offset / raw:.1f}× |",
    ]
    print("\n".join(lines))
    command = (
        "DATABASE_URL=… " if os.environ.get("DATABASE_URL") else ""
    ) + f".venv/bin/python bench/audit_pagination.py --rows {args.rows}"
    record(f"Audit trail pagination ({vendor})", command, lines)


if __name__ == "__main__":
    main()
