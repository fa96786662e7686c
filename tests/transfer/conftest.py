"""Fixtures for the import and export tests: the organisation and the customer builders of the
customers suite, a fingerprint of every table an export or an import can write, and readers for
the files that come back."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from guanxi.transfer.models import ExportJob
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.customers.conftest import _english_messages  # noqa: F401  (fixture)
from tests.customers.conftest import db_state as customers_db_state

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def db_state() -> dict[str, list[dict[str, Any]]]:
    """What the customers app writes (with the audit trail), plus the export jobs."""
    state = customers_db_state()
    state[ExportJob._meta.label] = list(ExportJob.objects.order_by("pk").values())
    return state


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_sheet(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]


def xlsx_rows(data: bytes) -> list[list[Any]]:
    return [list(row) for row in xlsx_sheet(data).iter_rows(values_only=True)]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Jobs run as soon as they are enqueued (on commit: use django_capture_on_commit_callbacks
    with execute=True)."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def database_queue(settings: Any) -> None:
    settings.TASKS = DATABASE_TASKS
