"""The import pages and endpoints end to end: upload, mapping page with the guesses, dry run with
counts and errors, error report download, commit, undo; the HTMX progress bar; templates; the
REST flow and its refusals."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.customers.models import Customer
from guanxi.transfer.models import ImportJob
from tests.conftest import ApiClient, login_client
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.conftest import body
from tests.transfer.import_helpers import csv_bytes, customer_row, upload, xlsx_bytes

pytestmark = pytest.mark.django_db

ROWS = [customer_row(1), customer_row(2, 手机="12345"), customer_row(3)]


def _file(data: bytes, name: str = "客户.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_upload_map_check_read_errors_commit_and_undo(org):
    client = login_client(org.rep, language="en")
    # the list offers the form and the templates
    page = client.get("/transfer/imports/")
    assert page.status_code == 200
    assert b'data-testid="template-customers-xlsx"' in page.content
    # upload: the mapping page shows the headers with their guesses
    response = client.post(
        "/transfer/imports/new/", {"kind": "customers", "file": _file(csv_bytes(ROWS))}
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/transfer/imports/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    assert '<option value="credit_code" selected>' in content
    assert "测试1号科技有限公司" in content  # the first values
    # the dry run: counts and errors, nothing written
    form = {f"column_{index}": name for index, name in job.mapping.items()}
    form.update(duplicate_policy="skip", error_policy="skip")
    before = customers_db_state()
    response = client.post(f"/transfer/imports/{job.pk}/check/", form)
    assert response.status_code == 302
    assert customers_db_state() == before
    page = client.get(f"/transfer/imports/{job.pk}/").content.decode()
    assert "Dry run: nothing was written" in page
    assert 'data-testid="count-added">2<' in page
    assert 'data-testid="import-commit"' in page
    # the error report
    report = client.get(f"/transfer/imports/{job.pk}/errors/")
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(body(report).decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Value", "Reason"]
    assert rows[1][:3] == ["3", "手机", "12345"]
    # commit
    response = client.post(f"/transfer/imports/{job.pk}/commit/", form)
    assert response.status_code == 302
    assert Customer.objects.count() == 2
    page = client.get(f"/transfer/imports/{job.pk}/").content.decode()
    assert 'data-testid="import-undo"' in page
    # undo
    response = client.post(f"/transfer/imports/{job.pk}/undo/")
    assert response.status_code == 302
    assert Customer.objects.count() == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE


def test_a_bad_mapping_shows_on_the_page_and_runs_nothing(org):
    client = login_client(org.rep, language="en")
    job = upload(org.rep, csv_bytes(ROWS))
    response = client.post(
        f"/transfer/imports/{job.pk}/check/",
        {
            "column_0": "",
            "column_1": "credit_code",
            "duplicate_policy": "skip",
            "error_policy": "all",
        },
    )
    assert response.status_code == 400
    assert b"Map a column to Customer name: it is required." in response.content
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_an_unreadable_upload_is_an_inline_error(org):
    client = login_client(org.rep, language="en")
    response = client.post(
        "/transfer/imports/new/", {"kind": "customers", "file": _file(b"\x00\x01" * 10, "a.csv")}
    )
    assert response.status_code == 400
    assert b"The file is not text in UTF-8, GB18030 or UTF-16" in response.content
    assert not ImportJob.objects.exists()


def test_the_progress_bar_polls_and_the_page_reloads_when_done(org):
    client = login_client(org.rep, language="en")
    job = upload(org.rep, csv_bytes(ROWS))
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=1, total_rows=3)
    page = client.get(f"/transfer/imports/{job.pk}/").content.decode()
    assert f'hx-get="/transfer/imports/{job.pk}/progress/"' in page
    assert f'href="/transfer/imports/{job.pk}/"' in page  # without JavaScript: a link
    fragment = client.get(f"/transfer/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b'value="33"' in fragment.content
    assert b"<html" not in fragment.content
    ImportJob.objects.filter(pk=job.pk).update(status="checked")
    done = client.get(f"/transfer/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert done.status_code == 204
    assert done["HX-Refresh"] == "true"


def test_templates_download(org):
    client = login_client(org.rep)
    for kind in ("customers", "contacts"):
        for format in ("csv", "xlsx"):
            response = client.get(f"/transfer/imports/template/{kind}.{format}")
            assert response.status_code == 200
            assert "attachment" in response["Content-Disposition"]
    assert client.get("/transfer/imports/template/orders.csv").status_code == 404
    english = login_client(org.rep, language="en")
    csv_text = english.get("/transfer/imports/template/customers.csv").content.decode("utf-8-sig")
    assert csv_text.startswith("Customer name*,Short name,")


# --- API ----------------------------------------------------------------------------------------


def _post_file(api: ApiClient, data: bytes, name: str = "客户.csv", **fields: Any) -> Any:
    return api.client.post(
        "/api/v1/imports", {"file": SimpleUploadedFile(name, data), **fields}, headers=api.headers
    )


def test_api_dry_run_then_commit_then_undo(org):
    api = ApiClient(org.rep, language="en")
    before = customers_db_state()
    answer = _post_file(api, xlsx_bytes(ROWS), name="客户.xlsx", error_policy="skip")
    assert answer.status_code == 200, answer.content
    job = answer.json()
    assert (job["status"], job["dry_run"], job["added_count"], job["error_count"]) == (
        "checked",
        True,
        2,
        1,
    )
    assert job["errors"][0]["row"] == 3 and job["errors"][0]["column"] == "手机"
    assert customers_db_state() == before
    assert api.get(f"/api/v1/imports/{job['id']}").json()["status"] == "checked"
    report = api.client.get(job["errors_url"], headers=api.headers)
    assert report.status_code == 200
    assert "12345" in body(report).decode("utf-8-sig")
    committed = api.post(f"/api/v1/imports/{job['id']}/commit")
    assert committed.status_code == 200
    assert committed.json()["status"] == "done"
    assert Customer.objects.count() == 2
    undone = api.post(f"/api/v1/imports/{job['id']}/undo")
    assert undone.status_code == 200
    assert undone.json()["removed"] == 4 and undone.json()["job"]["status"] == "undone"
    assert api.post(f"/api/v1/imports/{job['id']}/undo").json()["code"] == "import_state"
    assert [item["id"] for item in api.get("/api/v1/imports").json()] == [job["id"]]


def test_api_commit_at_once_with_a_mapping(org):
    api = ApiClient(org.rep, language="en")
    data = csv_bytes([["甲有限公司", "x"]], headers=["单位全称", "备注"])
    answer = _post_file(api, data, mapping=json.dumps({"0": "name"}), dry_run="false")
    assert answer.status_code == 200
    assert answer.json()["status"] == "done"
    assert Customer.objects.get().name == "甲有限公司"


def test_api_refuses_a_bad_mapping_and_keeps_nothing(org):
    api = ApiClient(org.rep, language="en")
    before = customers_db_state()
    answer = _post_file(api, csv_bytes(ROWS), mapping=json.dumps({"0": "nonsense"}))
    assert answer.status_code == 422
    assert set(answer.json()) == {"message", "code", "fields"}
    assert "mapping" in answer.json()["fields"]
    assert not ImportJob.objects.exists()
    assert customers_db_state() == before
    assert _post_file(api, csv_bytes(ROWS), mapping="[1").status_code == 422
    assert _post_file(api, csv_bytes(ROWS), kind="orders").status_code == 422
    missing = api.client.post("/api/v1/imports", {}, headers=api.headers)
    assert missing.status_code == 422 and missing.json()["fields"] == {
        "file": ["This field is required."]
    }


def test_api_a_large_file_is_a_job(
    org, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_IMPORT_SYNC_ROWS = 1
    api = ApiClient(org.rep, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _post_file(api, csv_bytes(ROWS))
    assert answer.status_code == 202
    assert api.get(f"/api/v1/imports/{answer.json()['id']}").json()["status"] == "checked"


def test_an_import_whose_process_died_can_be_run_again(org):
    import datetime as dt

    from django.utils import timezone

    client = login_client(org.rep, language="en")
    job = upload(org.rep, csv_bytes(ROWS))
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", dry_run=False, heartbeat_at=timezone.now() - dt.timedelta(hours=2)
    )
    page = client.get(f"/transfer/imports/{job.pk}/").content.decode()
    assert 'data-testid="import-stale"' in page
    assert 'data-testid="import-progress"' not in page  # no bar polling a dead job
    form = {f"column_{index}": name for index, name in job.mapping.items()}
    form.update(duplicate_policy="skip", error_policy="skip")
    assert client.post(f"/transfer/imports/{job.pk}/check/", form).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED


def test_an_unexpected_failure_is_a_failed_import_not_a_500(org, monkeypatch):
    from guanxi.transfer import import_services

    def broken(self, prepared):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_services.CustomerRows, "batch", broken)
    api = ApiClient(org.rep, language="en")
    before = customers_db_state()
    answer = _post_file(api, csv_bytes(ROWS), dry_run="false")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["error"]) == ("failed", "failed")
    assert customers_db_state() == before
    page = login_client(org.rep, language="en").get(f"/transfer/imports/{answer.json()['id']}/")
    assert b"The import failed and nothing was written." in page.content


def test_commit_without_a_body(org):
    api = ApiClient(org.rep, language="en")
    job = _post_file(api, csv_bytes(ROWS), error_policy="skip").json()
    answer = api.client.post(f"/api/v1/imports/{job['id']}/commit", headers=api.headers)
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "done"


def test_commit_with_other_policies_and_a_malformed_body(org):
    api = ApiClient(org.rep, language="en")
    job = _post_file(api, csv_bytes(ROWS), dry_run="false").json()
    assert job["status"] == "rejected"
    bad = api.client.post(
        f"/api/v1/imports/{job['id']}/commit",
        "[1",
        content_type="application/json",
        headers=api.headers,
    )
    assert bad.status_code == 422
    assert api.post(f"/api/v1/imports/{job['id']}/commit", {"mapping": [1]}).status_code == 422
    assert Customer.objects.count() == 0
    answer = api.post(f"/api/v1/imports/{job['id']}/commit", {"error_policy": "skip"})
    assert (answer.json()["status"], answer.json()["added_count"]) == ("done", 2)
