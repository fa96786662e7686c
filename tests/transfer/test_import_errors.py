"""The one error contract on imports: whatever the file or the request, the answer is a refusal or
a per-row error in the reader's language, never a 500, and nothing is written. Huge cells, XLSX
formulas, encodings that are no text, header-only files, a purged upload, the API's check and
template endpoints with bad input."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.customers.models import Customer
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob
from tests.conftest import ApiClient, login_client
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.conftest import body
from tests.transfer.import_helpers import HEADERS, csv_bytes, customer_row, run, upload

pytestmark = pytest.mark.django_db


def test_a_huge_cell_is_an_error_and_is_cut_in_the_report(org):
    # given a name of 100,000 characters (under csv's own field limit)
    rows = [customer_row(1, 客户名称="长" * 100_000), customer_row(2)]
    # when the file is checked
    job = run(org.rep, csv_bytes(rows), commit=False)
    # then the row is an error whose value is cut, in the preview and in the report
    assert (job.status, job.added_count, job.error_count) == ("checked", 1, 1)
    row, column, value, reason = job.error_preview[0]
    assert (row, column) == (2, "客户名称")
    assert value == "长" * import_services.REPORT_VALUE_CHARS + "…"
    assert reason == "At most 200 characters; this has 100000."
    with import_services.import_error_file_open(job=job) as handle:
        assert len(handle.read()) < 2_000


def test_a_cell_beyond_the_csv_field_limit_is_refused_or_fails_the_run_cleanly(org):
    # among the first rows (read at upload): refused, nothing kept
    with pytest.raises(import_services.ImportError_) as caught:
        upload(org.rep, csv_bytes([customer_row(1, 客户名称="长" * 200_000)]))
    assert caught.value.code == "import_unreadable"
    assert str(caught.value.message) == (
        "Row 2 cannot be read: a quote is left open or a cell is far too long."
    )
    assert not ImportJob.objects.exists()
    # further down (met while running): the run fails, nothing written
    rows = [customer_row(n) for n in range(1, 10)] + [customer_row(10, 客户名称="长" * 200_000)]
    job = run(org.rep, csv_bytes(rows), error_policy="skip")
    assert (job.status, job.error) == ("failed", "import_unreadable")
    assert Customer.objects.count() == 0


def test_xlsx_formulas_import_as_the_values_they_show(org):
    # given a workbook whose name and phone cells are formulas with their computed values
    handle = io.BytesIO()
    workbook = xlsxwriter.Workbook(handle)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    sheet.write_row(1, 0, customer_row(1))
    sheet.write_formula(1, 0, '=CONCATENATE("甲","有限公司")', None, "甲有限公司")
    sheet.write_formula(1, 8, "=13800130000+1", None, 13800130001)
    workbook.close()
    # when it is imported
    job = run(org.rep, handle.getvalue(), name="a.xlsx")
    # then the values are imported, never the formulas
    assert job.status == "done", job.error_preview
    customer = Customer.objects.get()
    assert customer.name == "甲有限公司"
    assert customer.contacts.get().phones[0]["number"] == "+8613800130001"


def test_an_xlsx_formula_without_a_computed_value_is_an_empty_cell(org):
    # given a workbook written by a program that stores formulas without their values
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(customer_row(1))
    sheet["A2"] = '=CONCATENATE("甲","有限公司")'
    handle = io.BytesIO()
    workbook.save(handle)
    # when it is checked
    job = run(org.rep, handle.getvalue(), name="a.xlsx", commit=False)
    # then the row is an error on its name, as an empty cell is: no 500, no formula text
    assert (job.status, job.error_count) == ("checked", 1)
    assert job.error_preview[0][1:] == ["客户名称", "", "This field is required."]


@pytest.mark.parametrize(
    "data",
    [
        "客户名称,手机\r\n甲有限公司,13800138000\r\n".encode("utf-16-le"),  # no byte-order mark
        b"\xff\xfe\x00\x00" + "客户名称".encode("utf-32-le"),  # UTF-32: NULs in every character
    ],
    ids=["utf-16-without-bom", "utf-32"],
)
def test_text_in_an_encoding_we_do_not_read_is_refused(org, data):
    before = customers_db_state()
    with pytest.raises(import_services.ImportError_) as caught:
        upload(org.rep, data)
    assert caught.value.code == "import_encoding"
    assert "UTF-8, GB18030 or UTF-16" in str(caught.value.message)
    assert customers_db_state() == before
    assert not ImportJob.objects.exists()


def test_a_file_with_only_its_header_checks_to_nothing(org):
    job = run(org.rep, csv_bytes([]), commit=False)
    assert (job.status, job.added_count, job.error_count) == ("checked", 0, 0)


def test_a_purged_upload_fails_with_a_reason_not_a_traceback(org):
    from django.core.files.storage import default_storage

    job = upload(org.rep, csv_bytes([customer_row(1)]))
    default_storage.delete(job.file.name)
    job = import_services.import_check(actor=org.rep, job=job)
    assert (job.status, job.error) == ("failed", "import_gone")
    assert "no longer kept" in job.error_preview[0][3]


def test_the_upload_page_shows_a_refusal_inline_in_the_readers_language(org):
    client = login_client(org.rep)  # zh-hans, the default
    answer = client.post(
        "/transfer/imports/new/",
        {"kind": "customers", "file": SimpleUploadedFile("a.csv", b"\x00\x01binary\x00")},
    )
    assert answer.status_code == 400
    assert "UTF-8" in answer.content.decode()
    assert "The file is not text" not in answer.content.decode()
    assert not ImportJob.objects.exists()


# --- the API's check and template endpoints -----------------------------------------------------


def _uploaded(api: ApiClient, data: bytes, **fields: Any) -> dict[str, Any]:
    answer = api.client.post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("a.csv", data), **fields},
        headers=api.headers,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_api_check_again_with_another_mapping(org):
    api = ApiClient(org.rep, language="en")
    data = csv_bytes([["甲有限公司", "甲"]], headers=["单位全称", "叫法"])
    job = _uploaded(api, data, mapping='{"0": "name"}')
    assert (job["status"], job["mapping"]) == ("checked", {"0": "name"})
    answer = api.post(
        f"/api/v1/imports/{job['id']}/check", {"mapping": {"0": "name", "1": "short_name"}}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["mapping"] == {"0": "name", "1": "short_name"}
    assert (answer.json()["status"], answer.json()["added_count"]) == ("checked", 1)
    assert Customer.objects.count() == 0
    bad = api.post(f"/api/v1/imports/{job['id']}/check", {"mapping": {"0": "nonsense"}})
    assert bad.status_code == 422
    assert set(bad.json()) == {"message", "code", "fields"}
    assert bad.json()["fields"]["mapping"] == [
        "Map each column of the file to one of the listed fields.",
        "Map a column to Customer name: it is required.",
    ]
    policies = api.post(f"/api/v1/imports/{job['id']}/check", {"duplicate_policy": "maybe"})
    assert policies.status_code == 422
    assert policies.json()["fields"] == {"duplicate_policy": ["Select a valid choice."]}


def test_api_check_of_a_finished_import_is_a_conflict(org):
    api = ApiClient(org.rep, language="en")
    job = _uploaded(api, csv_bytes([customer_row(1)]), dry_run="false")
    assert job["status"] == "done"
    answer = api.post(f"/api/v1/imports/{job['id']}/check")
    assert answer.status_code == 409
    assert answer.json()["code"] == "import_state"
    assert Customer.objects.count() == 1


def test_api_templates(org):
    api = ApiClient(org.rep, language="en")
    answer = api.client.get("/api/v1/imports/templates/contacts?format=csv", headers=api.headers)
    assert answer.status_code == 200
    header = body(answer).decode("utf-8-sig").splitlines()[0]
    assert "Contact name*" in header
    xlsx = api.client.get("/api/v1/imports/templates/customers", headers=api.headers)
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    notes = openpyxl.load_workbook(io.BytesIO(body(xlsx))).worksheets[1]
    assert notes["A2"].value == "Customer name*" and notes["B2"].value == "yes"
    for path in (
        "/api/v1/imports/templates/orders",
        "/api/v1/imports/templates/customers?format=pdf",
    ):
        bad = api.client.get(path, headers=api.headers)
        assert bad.status_code == 422, path
        assert set(bad.json()) == {"message", "code", "fields"}


def test_the_contacts_template_says_which_customer_column_is_needed(org):
    columns = {
        header: help for header, _required, help in import_services.template_columns("contacts")
    }
    assert columns["Customer's credit code"].startswith("Required unless Customer name is given.")
    assert columns["Customer name"].startswith("Required unless Customer's credit code is given.")
