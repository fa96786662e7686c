#!/usr/bin/env python3
"""`make test`: the whole suite in three legs.

1. PostgreSQL: the suite against the real server (DATABASE_URL), PostgreSQL-only tests included.
2. Browser: Playwright driving Debian's chromium against a live server.
3. SQLite: the suite on the embedded default database. It runs last, so the output ends with
   pytest's own summary line.

Outside CI a leg whose server or browser is missing is skipped with a one-line reason. Under
CI=true nothing may be skipped: a missing server or browser fails the run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("GUANXI_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guanxi")
CHROMIUM = os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest(
    label: str, args: list[str], env: dict[str, str], *, last: bool = False
) -> tuple[int, str]:
    print(f"\n===== leg: {label} =====", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    summary = ""
    for line in process.stdout:
        sys.stdout.write(line)
        if re.search(r"\b(passed|failed|error|no tests ran)\b", line) and line.startswith("="):
            summary = line.strip("= \n")
    code = process.wait()
    if not last:  # the final leg ends the output with pytest's own summary line
        elapsed = time.monotonic() - started
        print(f"----- leg {label}: exit {code} in {elapsed:.0f}s: {summary}", flush=True)
    return code, summary


def main() -> int:
    base_env = dict(os.environ)
    base_env.pop("DATABASE_URL", None)
    base_env.pop("REDIS_URL", None)
    extra = sys.argv[1:]
    results: list[tuple[str, int, str]] = []

    pg_host, pg_port = "127.0.0.1", 5432
    if reachable(pg_host, pg_port):
        env = dict(base_env, DATABASE_URL=PG_URL)
        code, summary = pytest(
            "postgresql",
            ["-m", "not browser and not sqlite", "-p", "no:cacheprovider", *extra],
            env,
        )
        results.append(("postgresql", code, summary))
    elif CI:
        print("leg postgresql: FAILED: no PostgreSQL at 127.0.0.1:5432 (required under CI)")
        results.append(("postgresql", 1, "server missing"))
    else:
        print("leg postgresql: skipped: no PostgreSQL at 127.0.0.1:5432")

    if Path(CHROMIUM).exists():
        env = dict(base_env, GUANXI_CHROMIUM=CHROMIUM)
        code, summary = pytest("browser", ["-m", "browser", "-p", "no:cacheprovider", *extra], env)
        results.append(("browser", code, summary))
    elif CI:
        print(
            f"leg browser: FAILED: {CHROMIUM} is missing (required under CI; .ci/run installs it)"
        )
        results.append(("browser", 1, "chromium missing"))
    else:
        print(f"leg browser: skipped: {CHROMIUM} is missing (apt-get install chromium)")

    for label, code, summary in results:
        print(f"leg {label}: {'ok' if code == 0 else 'FAILED'} ({summary})")
    code, summary = pytest(
        "sqlite", ["-m", "not browser and not postgres", *extra], base_env, last=True
    )
    results.append(("sqlite", code, summary))
    return 0 if all(code == 0 for _label, code, _summary in results) else 1


if __name__ == "__main__":
    sys.exit(main())
