"""Ticket numbers stay unique when many tickets are opened at the same moment: 50 threads, each
with its own database connection, on SQLite (a shared database file) and on PostgreSQL."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connection

from guanxi.service.models import Ticket
from tests.conftest import skip_or_fail
from tests.service.ticket_race import race, race_setup

ROOT = Path(__file__).resolve().parents[2]
COUNT = 50


def _check(numbers: list[str]) -> None:
    assert len(numbers) == COUNT
    assert len(set(numbers)) == COUNT
    # one day's sequence, without gaps: the counter gave out 1…50
    assert sorted(int(number[-4:]) for number in numbers) == list(range(1, COUNT + 1))


@pytest.mark.sqlite
def test_fifty_tickets_opened_at_once_on_sqlite_get_fifty_numbers(tmp_path):
    database = tmp_path / "race.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "tests.service.ticket_race", f"sqlite:///{database}", str(COUNT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _check(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_tickets_opened_at_once_on_postgresql_get_fifty_numbers():
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")
    # the transactional test database was flushed: the seeded categories go back first
    seed = importlib.import_module("guanxi.service.migrations.0002_default_categories_and_policies")
    seed.seed(django_apps)
    race_setup()
    numbers = race(COUNT)
    _check(numbers)
    assert Ticket.objects.count() == COUNT
