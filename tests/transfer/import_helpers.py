"""Builders for the import tests: files in every encoding and as XLSX, valid credit codes, and
the one-call import through the services."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from stdnum.cn import uscc

from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob

HEADERS = [
    "客户名称",
    "统一社会信用代码",
    "省份",
    "城市",
    "区县",
    "行业",
    "客户类型",
    "联系人",
    "手机",
]


def credit_code(number: int, region: str = "440300") -> str:
    """A valid 统一社会信用代码 (check digit computed), distinct per ``number``."""
    base = f"91{region}{number:09d}"
    return base + uscc.calc_check_digit(base)


def customer_row(number: int, **overrides: str) -> list[str]:
    values = {
        "客户名称": f"测试{number}号科技有限公司",
        "统一社会信用代码": credit_code(number),
        "省份": "广东省",
        "城市": "深圳市",
        "区县": "南山区",
        "行业": "I",
        "客户类型": "意向",
        "联系人": f"联系人{number}",
        "手机": f"1380013{number:04d}",
    }
    values.update(overrides)
    return [values[header] for header in HEADERS]


def csv_bytes(
    rows: Sequence[Sequence[str]], *, headers: Sequence[str] = HEADERS, encoding: str = "utf-8"
) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, headers: Sequence[str] = HEADERS) -> bytes:
    handle = io.BytesIO()
    workbook = xlsxwriter.Workbook(handle)
    sheet = workbook.add_worksheet("客户")
    sheet.write_row(0, 0, headers)
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    workbook.close()
    return handle.getvalue()


def upload(
    actor: Any, data: bytes, *, kind: str = "customers", name: str = "customers.csv"
) -> ImportJob:
    return import_services.import_upload(
        actor=actor, kind=kind, file=io.BytesIO(data), file_name=name
    )


def run(
    actor: Any,
    data: bytes,
    *,
    commit: bool = True,
    kind: str = "customers",
    name: str = "customers.csv",
    **configuration: Any,
) -> ImportJob:
    """Upload ``data`` and check it, then commit it unless ``commit`` is False."""
    job = upload(actor, data, kind=kind, name=name)
    job = import_services.import_check(actor=actor, job=job, **configuration)
    if commit and job.status == ImportJob.Status.CHECKED:
        job = import_services.import_commit(actor=actor, job=job)
    return job
