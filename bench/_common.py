"""Shared helpers: Django set-up on a throwaway database, timing, and the results file."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"


def django_setup() -> str:
    """Point Django at a scratch database (a temp SQLite file unless DATABASE_URL is set)."""
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        os.environ["GUANXI_DATA_DIR"] = tempfile.mkdtemp(prefix="guanxi-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    return connection.vendor


def median_ms(function: Callable[[], object], repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def record(title: str, command: str, lines: list[str]) -> None:
    """Replace this benchmark's section in docs/benchmarks.md (or append it)."""
    stamp = dt.datetime.now(dt.UTC).date().isoformat()
    section = [f"## {title}", "", f"`{command}` — {stamp}", "", *lines, ""]
    text = (
        RESULTS.read_text(encoding="utf-8")
        if RESULTS.exists()
        else (
            "# Benchmarks\n\nWritten by the scripts in `bench/`; medians of repeated runs on the "
            "shared 2-core machine, with the raw-SQL figure for the same work from the same run."
            "\n\n"
        )
    )
    marker = f"## {title}"
    if marker in text:
        head, _sep, tail = text.partition(marker)
        rest = tail.split("\n## ", 1)
        text = head + "\n".join(section) + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section)
    RESULTS.write_text(text, encoding="utf-8")
