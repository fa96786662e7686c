"""``guanxi import KIND FILE``: the policies, a dry run, the mapping by header or column number,
the error report written to a file, clear errors, and the exit codes scripts rely on (0 all rows,
3 rows with errors, 1 nothing imported, 2 a command line argparse refuses)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guanxi.customers.models import Customer
from guanxi.transfer.models import ImportJob, ImportMapping
from tests.transfer.import_helpers import csv_bytes, customer_row

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _import(*arguments: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``guanxi import`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_file", *arguments, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), f"{err.getvalue()}{error}"
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes([customer_row(1), customer_row(2, 手机="1")], encoding="gb18030"))
    return path


def test_all_or_nothing_with_a_bad_row_imports_nothing_and_exits_1(org, bad_file):
    code, out, err = _import("customers", str(bad_file), "--user", "rep1")
    assert code == 1
    assert "Nothing was imported." in err
    assert "1 row with errors" in out
    assert "3 · 手机 · 1 ·" in out  # row · column · value · reason
    assert Customer.objects.count() == 0


def test_skipping_bad_rows_imports_the_rest_and_exits_3(org, bad_file, tmp_path):
    report = tmp_path / "errors.csv"
    code, out, err = _import(
        "customers", str(bad_file), "--user", "rep1", "--on-error", "skip", "--errors", str(report)
    )
    assert code == 3
    assert "1 row with errors was not imported." in err
    assert Customer.objects.get().owner == org.rep
    rows = list(csv.reader(io.StringIO(report.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Value", "Reason"]
    assert rows[1][:3] == ["3", "手机", "1"]


def test_a_clean_file_exits_0_and_a_dry_run_writes_nothing(org, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([customer_row(1), customer_row(2)]))
    code, out, _err = _import("customers", str(path), "--dry-run")
    assert code == 0
    assert out.startswith("Checked: 2 added")
    assert Customer.objects.count() == 0
    code, out, _err = _import("customers", str(path), "--policy", "update")
    assert (code, Customer.objects.count()) == (0, 2)
    assert out.startswith("Imported: 2 added")
    # again, with the policy "skip": nothing new, and no error
    code, out, _err = _import("customers", str(path))
    assert (code, Customer.objects.count()) == (0, 2)
    assert "0 added, 0 updated, 2 skipped" in out


def test_map_by_header_and_by_column_number(org, tmp_path):
    # given headers no synonym knows
    path = tmp_path / "a.csv"
    path.write_bytes(
        csv_bytes([["甲有限公司", "备注一", "广东省"]], headers=["单位全称", "备注", "所在地"])
    )
    # when the columns are mapped on the command line, one by header and one by number
    code, _out, err = _import(
        "customers", str(path), "--user", "rep1", "--map", "单位全称=name", "--map", "3=province"
    )
    # then they are imported so, and the mapping is remembered for the user's next file
    assert code == 0, err
    customer = Customer.objects.get()
    assert (customer.name, customer.province_id) == ("甲有限公司", "440000")
    assert ImportMapping.objects.get(user=org.rep).mapping == {
        "单位全称": "name",
        "备注": "",
        "所在地": "province",
    }


def test_a_bad_mapping_is_a_clear_error_and_keeps_nothing(org, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([customer_row(1)]))
    code, _out, err = _import("customers", str(path), "--map", "客户名称=")
    assert code == 1
    assert "Map a column to Customer name: it is required." in err
    code, _out, err = _import("customers", str(path), "--map", "不存在的列=name")
    assert code == 1
    assert "name a column of the file by its header or number" in err
    code, _out, err = _import("customers", str(path), "--map", "客户名称=nonsense")
    assert code == 1
    assert "Map each column of the file to one of the listed fields." in err
    assert not ImportJob.objects.exists()
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["customers", "/nonexistent/file.csv"], "There is no file /nonexistent/file.csv."),
        (["customers", "{file}", "--user", "nobody"], "There is no active user 'nobody'."),
        (["customers"], "Name the file to import."),
    ],
)
def test_clear_errors_for_a_missing_file_or_user(org, tmp_path, arguments, message):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([customer_row(1)]))
    code, _out, err = _import(*(argument.format(file=path) for argument in arguments))
    assert (code, message in err) == (1, True), err


def test_a_hostile_file_is_refused_with_exit_1(org, tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04not a workbook")
    code, _out, err = _import("customers", str(path))
    assert code == 1
    assert "not a readable XLSX workbook" in err


def test_fields_lists_the_fields_with_the_required_ones_marked(org):
    code, out, _err = _import("contacts", "--fields")
    assert code == 0
    assert "name *\tContact name" in out.splitlines()
    assert "customer_credit_code\tCustomer's credit code" in out.splitlines()


def test_a_command_line_argparse_refuses_exits_2(tmp_path):
    environment = {
        **os.environ,
        "GUANXI_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    finished = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "guanxi.cli", "import", "orders", "x.csv"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert finished.returncode == 2
    assert b"invalid choice: 'orders'" in finished.stderr
