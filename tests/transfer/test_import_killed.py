"""A killed import leaves nothing half-written: ``guanxi import`` runs in its own process, is killed
with SIGKILL while it is writing, and not one customer, contact or audit entry of it is left; the
job stays "running", as nothing could finish it (the page offers to run it again once it has been
silent for an hour, models.STALE_AFTER).

On PostgreSQL it runs against the test database, and its progress (written through a second
connection) says it is writing. On SQLite it runs against a database file of its own (the test
database is in memory, which another process cannot open); SQLite has one writer, so progress is
not written during a commit, and the sign that the import is writing is its write-ahead log
growing with the pages of its open transaction."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.transfer.models import ImportJob
from tests.conftest import skip_or_fail
from tests.transfer.import_helpers import csv_bytes, customer_row

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_import_leaves_nothing(org: Any, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")
    # given a file large enough to be killed half-way through
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([customer_row(n) for n in range(1, 40_001)]))
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "GUANXI_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
    }
    # when `guanxi import` runs in its own process and is killed while writing
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "guanxi.cli", "import", "customers", str(path), "--user", "rep1"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    written = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            job = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, dry_run=False).first()
            written = job.processed_rows if job else 0
            if written >= 3000:
                break
            time.sleep(0.1)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert written >= 3000, "the import never got going"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # then nothing of it is left: its transaction died with it
    time.sleep(0.5)  # the server notices the closed socket and rolls back
    assert Customer.all_objects.count() == 0
    assert Contact.all_objects.count() == 0
    assert not AuditEntry.objects.filter(object_type="transfer.importjob").exists()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.RUNNING
    assert job.added_count == 0 and job.created == {}


@pytest.mark.sqlite
def test_a_killed_import_leaves_nothing_on_sqlite(tmp_path: Path) -> None:
    # given a database file of its own, migrated (regions and industries seeded), and a file
    # large enough to be killed half-way through
    database = tmp_path / "guanxi.sqlite3"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "GUANXI_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "guanxi.settings",
        "GUANXI_IMPORT_WORKERS": "1",
    }
    subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "guanxi.cli", "migrate", "-v0"],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=600,
    )
    path = tmp_path / "customers.csv"
    path.write_bytes(csv_bytes([customer_row(n) for n in range(1, 40_001)]))
    wal = database.with_name(f"{database.name}-wal")
    # when `guanxi import` (as the system) runs and is killed while its transaction is writing
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "guanxi.cli", "import", "customers", str(path)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started_wal = None
    grown = 0
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with sqlite3.connect(database, timeout=5) as reader:
                job = reader.execute(
                    "SELECT status, dry_run FROM transfer_importjob ORDER BY id DESC LIMIT 1"
                ).fetchone()
            size = wal.stat().st_size if wal.exists() else 0
            if job == ("running", 0):
                started_wal = size if started_wal is None else started_wal
                grown = size - started_wal
                if grown >= 4 * 1024 * 1024:
                    break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert grown >= 4 * 1024 * 1024, "the import never got to writing"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # then the next connection finds nothing of it: SQLite ignores the log's uncommitted pages
    with sqlite3.connect(database) as reader:
        counts = [
            reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - ours
            for table in ("customers_customer", "customers_contact", "customers_customer_tags")
        ]
        audit = reader.execute(
            "SELECT COUNT(*) FROM core_auditentry WHERE object_type = 'transfer.importjob'"
        ).fetchone()[0]
        job = reader.execute(
            "SELECT status, added_count, created FROM transfer_importjob"
        ).fetchall()
    assert counts == [0, 0, 0]
    assert audit == 0
    assert job == [("running", 0, "{}")]
