"""Exports of the customer list and of contacts: data scope, masking, formula safety, the BOM,
the list's filters, search and sort, the audit entry, and the background-job path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Customer, Tag
from guanxi.transfer import services
from guanxi.transfer.models import ExportJob
from guanxi.transfer.tasks import export_job_run_task, exports_purge_task
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import make_contact, make_customer
from tests.transfer.conftest import body, csv_rows, db_state, xlsx_rows, xlsx_sheet

pytestmark = pytest.mark.django_db

FULL_PHONE = "+8613800138000"
MASKED_PHONE = "138****8000"


def _export(client: Any, export: str, query: str = "", **extra: Any) -> Any:
    return client.post("/transfer/exports/new/", {"export": export, "query": query, **extra})


def _names(rows: list[list[Any]]) -> list[Any]:
    return [row[1] for row in rows[1:]]


@pytest.fixture
def records(org: Org) -> dict[str, Any]:
    own = make_customer(org.rep, "华为技术有限公司", lifecycle="closed")
    other = make_customer(org.other_rep, "腾讯科技有限公司", lifecycle="intent")
    pool = make_customer(None, "公海客户有限公司")
    return {
        "own": own,
        "other": other,
        "pool": pool,
        "own_contact": make_contact(
            own, "李四", phones=["13800138000"], email="lisi@example.com", wechat="lisi_wx"
        ),
        "other_contact": make_contact(other, "赵六", phones=["13700137000"]),
        "pool_contact": make_contact(pool, "王五", phones=["13900139000"]),
    }


# --- scope --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", {"华为技术有限公司", "公海客户有限公司"}),
        ("manager", {"华为技术有限公司", "腾讯科技有限公司", "公海客户有限公司"}),
        ("admin", {"华为技术有限公司", "腾讯科技有限公司", "公海客户有限公司"}),
        ("outsider", {"公海客户有限公司"}),
        ("agent", {"公海客户有限公司"}),
    ],
)
def test_an_export_holds_exactly_what_the_list_shows(org, records, who, expected):
    client = login_client(getattr(org, who))
    response = _export(client, "customers:csv")
    assert response.status_code == 200
    rows = csv_rows(body(response))
    assert set(_names(rows)) == expected
    assert response["X-Export-Rows"] == str(len(expected))
    listed = client.get("/customers/").content.decode()
    assert all(name in listed for name in expected)


def test_contacts_export_of_the_list_stays_in_scope(org, records):
    rows = csv_rows(body(_export(login_client(org.rep), "contacts:csv")))
    assert sorted(row[3] for row in rows[1:]) == ["李四", "王五"]


# --- masking ------------------------------------------------------------------------------------


def _contact_files(client: Any, fmt: str) -> bytes:
    return body(_export(client, f"contacts:{fmt}"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcard3", "vcard4"])
def test_the_owner_exports_their_contacts_in_full(org, records, fmt):
    data = _contact_files(login_client(org.rep), fmt)
    text = _text(data, fmt)
    assert FULL_PHONE in text and "lisi@example.com" in text and "lisi_wx" in text
    # the pool customer's contact stays masked even for the rep
    assert "139****9000" in text and "13900139000" not in text


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcard3", "vcard4"])
@pytest.mark.parametrize("who", ["manager", "admin", "analyst"])
def test_everyone_else_exports_contacts_masked(org, records, fmt, who):
    data = _contact_files(login_client(getattr(org, who)), fmt)
    text = _text(data, fmt)
    assert MASKED_PHONE in text
    assert "13800138000" not in text and "lisi@example.com" not in text
    assert "lisi_wx" not in text and "li****" in text
    assert "13700137000" not in text and "13900139000" not in text


def _text(data: bytes, fmt: str) -> str:
    if fmt == "xlsx":
        return "\n".join(str(cell) for row in xlsx_rows(data) for cell in row)
    return data.decode("utf-8-sig")


def test_the_contacts_csv_says_which_rows_are_masked(org, records):
    client = login_client(org.rep)
    client.cookies["guanxi_language"] = "en"
    rows = csv_rows(body(_export(client, "contacts:csv")))
    assert rows[0][-1] == "Masked"
    masked = {row[3]: row[-1] for row in rows[1:]}
    assert masked == {"李四": "no", "王五": "yes"}


# --- formula safety, BOM, headers, values -------------------------------------------------------

RISKY = ("=1+1", "+86 755 8888 9999", "-x", "@x")


def test_no_user_value_becomes_a_formula(org):
    customer = make_customer(
        org.rep,
        "=1+1",
        short_name="-x",
        address="+86 755 8888 9999",
        source_note="@x",
        first_needs='=HYPERLINK("http://evil.example")',
    )
    make_contact(customer, "@张三", title="=SUM(A1:A9)", address="-2+3")
    client = login_client(org.rep)
    # XLSX: every one of them is a text cell, read back with openpyxl
    sheet = xlsx_sheet(body(_export(client, "customers:xlsx")))
    cells = {cell.value: cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value}
    for value in (*RISKY, '=HYPERLINK("http://evil.example")'):
        assert cells[value].data_type == "s", value
    contacts = xlsx_sheet(body(_export(client, "contacts:xlsx")))
    cells = {
        cell.value: cell for row in contacts.iter_rows(min_row=2) for cell in row if cell.value
    }
    for value in ("@张三", "=SUM(A1:A9)", "-2+3", "=1+1"):
        assert cells[value].data_type == "s", value
    # CSV: the OWASP apostrophe
    rows = csv_rows(body(_export(client, "customers:csv")))
    row = rows[1]
    assert row[1] == "'=1+1" and row[2] == "'-x"
    assert "'+86 755 8888 9999" in row and "'@x" in row
    assert '\'=HYPERLINK("http://evil.example")' in row
    contact_row = csv_rows(body(_export(client, "contacts:csv")))[1]
    assert "'@张三" in contact_row and "'=SUM(A1:A9)" in contact_row and "'=1+1" in contact_row


def test_csv_has_a_bom_and_headers_in_the_users_language(org, records):
    client = login_client(org.rep)
    client.cookies["guanxi_language"] = "en"
    english = body(_export(client, "customers:csv"))
    assert english.startswith(b"\xef\xbb\xbf")
    client.cookies["guanxi_language"] = "zh-hans"
    chinese = csv_rows(body(_export(client, "customers:csv")))
    assert chinese[0][:4] == ["ID", "名称", "简称", "类型"]
    assert csv_rows(english)[0][:4] == ["ID", "Name", "Short name", "Kind"]


def test_values_are_human_readable(org):
    tag = Tag.objects.get(name="高意向客户")
    customer = make_customer(
        org.rep,
        "深圳客户",
        lifecycle="strategic",
        account_class="important",
        region_code="440305",
        tags=[tag.pk],
        first_contact_date=dt.date(2026, 3, 10),
    )
    make_contact(customer, "孙七", decision_role="decision_maker", birthday=dt.date(1980, 1, 31))
    client = login_client(org.rep)
    client.cookies["guanxi_language"] = "zh-hans"
    header, row = csv_rows(body(_export(client, "customers:csv")))
    values = dict(zip(header, row, strict=True))
    assert values["生命周期"] == "战略"
    assert values["大客户等级"] == "重要大客户"
    assert (values["省"], values["市"], values["区县"]) == ("广东省", "深圳市", "南山区")
    assert values["负责人"] == org.rep.get_full_name()
    assert values["标签"] == "高意向客户"
    assert values["首次接触日期"] == "2026年3月10日"
    header, row = csv_rows(body(_export(client, "contacts:csv")))
    values = dict(zip(header, row, strict=True))
    assert values["决策角色"] == "决策人"
    assert values["生日"] == "1980年1月31日"
    assert values["客户"] == "深圳客户"
    xlsx = xlsx_rows(body(_export(client, "customers:xlsx")))
    assert xlsx[1][xlsx[0].index("首次接触日期")] == dt.datetime(2026, 3, 10)  # noqa: DTZ001  (Excel dates are naive)


# --- the list's filters, search and sort --------------------------------------------------------


def test_filters_search_and_sort_of_the_list_are_honoured(org, records):
    make_customer(org.rep, "阿里巴巴有限公司", lifecycle="closed")
    client = login_client(org.manager)
    closed = csv_rows(body(_export(client, "customers:csv", "lifecycle=closed&sort=name")))
    assert _names(closed) == sorted(["华为技术有限公司", "阿里巴巴有限公司"])
    reverse = csv_rows(body(_export(client, "customers:csv", "lifecycle=closed&sort=-name")))
    assert _names(reverse) == list(reversed(_names(closed)))
    pool = csv_rows(body(_export(client, "customers:csv", "in_pool=1")))
    assert _names(pool) == ["公海客户有限公司"]
    mine = csv_rows(body(_export(client, "customers:csv", f"owner={org.other_rep.pk}")))
    assert _names(mine) == ["腾讯科技有限公司"]
    # the contacts of the listed customers only
    contacts = csv_rows(body(_export(client, "contacts:csv", "lifecycle=intent")))
    assert [row[3] for row in contacts[1:]] == ["赵六"]


def test_the_search_of_the_list_is_honoured(org, records):
    client = login_client(org.manager)
    search = csv_rows(body(_export(client, "customers:csv", "q=华为")))
    assert _names(search) == ["华为技术有限公司"]
    contacts = csv_rows(body(_export(client, "contacts:csv", "q=huawei")))
    assert [row[3] for row in contacts[1:]] == ["李四"]


def test_an_unparsable_filter_is_ignored_as_on_the_list(org, records):
    client = login_client(org.rep)
    rows = csv_rows(body(_export(client, "customers:csv", "lifecycle=nonsense&owner=abc")))
    assert len(rows) == 3


def test_contacts_of_one_customer(org, records):
    make_contact(records["own"], "钱八", phones=["13600136000"])
    rows = csv_rows(
        body(_export(login_client(org.rep), "contacts:csv", customer=records["own"].pk))
    )
    assert [row[3] for row in rows[1:]] == ["李四", "钱八"]


def test_contacts_of_an_invisible_customer_are_404(org, records):
    before = db_state()
    response = _export(login_client(org.rep), "contacts:csv", customer=records["other"].pk)
    assert response.status_code == 404
    assert db_state() == before


def test_a_bad_choice_changes_nothing(org, records):
    before = db_state()
    for export in ("customers:vcard3", "nothing:csv", "customers:pdf", ""):
        response = _export(login_client(org.rep), export)
        assert response.status_code == 302
        assert response["Location"].startswith("/customers/")
    assert db_state() == before


# --- audit ----------------------------------------------------------------------------------------


def test_every_export_is_audited_with_filters_format_and_rows(org, records):
    _export(login_client(org.rep), "customers:xlsx", "lifecycle=closed&cursor=abc")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.actor == org.rep
    assert entry.object_type == "transfer.exportjob"
    assert entry.changes == {
        "kind": "customers",
        "format": "xlsx",
        "query": "lifecycle=closed",
        "row_count": 1,
    }
    _export(login_client(org.manager), "contacts:vcard4", customer=records["own"].pk)
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).latest("id")
    assert entry.actor == org.manager
    assert entry.changes["query"] == f"customer={records['own'].pk}"
    assert entry.changes["row_count"] == 1
    assert entry.changes["format"] == "vcard4"


def test_the_audit_trail_shows_an_export_readably(org, records):
    _export(login_client(org.rep), "customers:csv", "lifecycle=closed")
    admin = login_client(org.admin)
    admin.cookies["guanxi_language"] = "en"
    page = admin.get("/audit/?action=export").content.decode()
    assert "Exported" in page and "lifecycle=closed" in page and "CSV" in page


# --- the job path -------------------------------------------------------------------------------


def test_a_large_export_becomes_a_job_that_the_owner_downloads(
    org, records, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 1
    client = login_client(org.rep)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _export(client, "customers:xlsx", "sort=name")
    # then the user lands on "My exports", and the job has written the file
    assert response.status_code == 302
    assert response["Location"] == "/transfer/exports/"
    job = ExportJob.objects.get()
    assert (job.user, job.kind, job.format, job.query) == (
        org.rep,
        "customers",
        "xlsx",
        "sort=name",
    )
    assert job.status == ExportJob.Status.DONE
    assert job.row_count == 2
    assert job.language == "zh-hans"  # the default language: the client sent none
    assert job.expires_at - job.finished_at == dt.timedelta(days=settings.GUANXI_EXPORT_KEEP_DAYS)
    assert default_storage.exists(job.file.name)
    client.cookies["guanxi_language"] = "en"
    page = client.get("/transfer/exports/").content.decode()
    assert f"/transfer/exports/{job.pk}/download/" in page and "Name A–Z" in page
    download = client.get(f"/transfer/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert _names(xlsx_rows(body(download))) == ["公海客户有限公司", "华为技术有限公司"]
    assert "attachment" in download["Content-Disposition"]
    # and one audit entry, for the job, with its row count
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor, entry.object_id) == (org.rep, str(job.pk))
    assert entry.changes["row_count"] == 2


def test_nobody_else_downloads_or_sees_a_job(
    org, records, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    with django_capture_on_commit_callbacks(execute=True):
        _export(login_client(org.rep), "contacts:csv")
    job = ExportJob.objects.get()
    for user in (org.admin, org.manager, org.other_rep):
        client = login_client(user)
        assert client.get(f"/transfer/exports/{job.pk}/download/").status_code == 404
        assert (
            f"/transfer/exports/{job.pk}/download/"
            not in client.get("/transfer/exports/").content.decode()
        )
        assert ApiClient(user).get(f"/api/v1/exports/{job.pk}").status_code == 404
        assert ApiClient(user).get(f"/api/v1/exports/{job.pk}/download").status_code == 404


def test_a_job_writes_headers_in_the_language_of_whoever_asked(
    org, records, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    client = login_client(org.rep)
    client.cookies["guanxi_language"] = "zh-hans"
    with django_capture_on_commit_callbacks(execute=True):
        _export(client, "customers:csv")
    job = ExportJob.objects.get()
    assert job.language == "zh-hans"
    assert csv_rows(body(client.get(f"/transfer/exports/{job.pk}/download/")))[0][1] == "名称"


@pytest.mark.django_db(transaction=True)
def test_the_job_runs_on_the_database_worker(org, settings, database_queue):
    # given a queued job, enqueued when the request's transaction committed
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    make_customer(org.rep, "华为技术有限公司")
    response = _export(login_client(org.rep), "customers:csv")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.status == ExportJob.Status.QUEUED
    # when the worker runs what is queued
    call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    # then
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.row_count == 1
    assert AuditEntry.objects.filter(action="export", object_id=str(job.pk)).count() == 1


def test_running_a_job_twice_is_harmless(org, records, settings):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    _export(login_client(org.rep), "customers:csv")
    job = ExportJob.objects.get()
    assert services.export_job_run(job_id=job.pk) == 2
    assert services.export_job_run(job_id=job.pk) is None
    assert services.export_job_run(job_id=999999) is None
    assert AuditEntry.objects.filter(action="export").count() == 1


def test_a_job_for_a_customer_no_longer_visible_fails_cleanly(org, records, settings):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    _export(login_client(org.rep), "contacts:csv", customer=records["own"].pk)
    job = ExportJob.objects.get()
    Customer.objects.filter(pk=records["own"].pk).update(owner=org.other_rep)
    assert services.export_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.error, job.file.name) == ("failed", "not_found", "")
    page = login_client(org.rep, language="en").get("/transfer/exports/").content.decode()
    assert "no longer visible to you" in page
    assert not AuditEntry.objects.filter(action="export").exists()


def test_a_queue_that_refuses_marks_the_job_failed_instead_of_a_500(
    org, records, settings, django_capture_on_commit_callbacks
):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["elsewhere"]}
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _export(login_client(org.rep), "customers:csv")
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.status, job.error) == ("failed", "queue")


def test_too_many_rows_or_pending_jobs_are_refused_and_change_nothing(org, records, settings):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    settings.GUANXI_EXPORT_MAX_ROWS = 1
    client = login_client(org.rep, language="en")
    before = db_state()
    response = _export(client, "customers:csv")
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert "more rows than one export may hold" in client.get("/customers/").content.decode()
    assert db_state() == before
    settings.GUANXI_EXPORT_MAX_ROWS = 100
    settings.GUANXI_EXPORT_PENDING_LIMIT = 1
    _export(client, "customers:csv")
    assert ExportJob.objects.count() == 1
    before = db_state()
    _export(client, "customers:xlsx", "lifecycle=closed")
    assert db_state() == before
    api = ApiClient(org.rep)
    before = db_state()
    response = api.get("/api/v1/customers/export", format="csv")
    assert db_state() == before
    assert response.status_code == 429
    assert response.json()["code"] == "export_pending_limit"


def test_expired_files_are_purged_and_no_longer_downloadable(org, records, settings):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    _export(login_client(org.rep), "customers:csv")
    job = ExportJob.objects.get()
    services.export_job_run(job_id=job.pk)
    job.refresh_from_db()
    name = job.file.name
    # not yet due
    assert exports_purge_task.call() == 0
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert exports_purge_task.call() == 1
    assert exports_purge_task.call() == 0
    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED and not job.file
    assert not default_storage.exists(name)
    client = login_client(org.rep)
    response = client.get(f"/transfer/exports/{job.pk}/download/")
    assert response.status_code == 302
    api = ApiClient(org.rep).get(f"/api/v1/exports/{job.pk}/download")
    assert api.status_code == 409 and api.json()["code"] == "export_not_ready"


def test_the_run_task_takes_the_job_id(org, records, settings, immediate_tasks):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    _export(login_client(org.rep), "customers:csv")
    job = ExportJob.objects.get()
    result = export_job_run_task.enqueue(job.pk)
    assert result.return_value == 2


# --- the API ------------------------------------------------------------------------------------


def test_api_export_downloads_at_once_with_the_list_filters(org, records):
    client = ApiClient(org.manager)
    response = client.get(
        "/api/v1/customers/export", format="xlsx", lifecycle="closed", sort="name"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert _names(xlsx_rows(body(response))) == ["华为技术有限公司"]
    pool = client.get("/api/v1/customers/export", in_pool="true")
    assert _names(csv_rows(body(pool))) == ["公海客户有限公司"]
    owner = client.get("/api/v1/customers/export", owner_id=org.rep.pk)
    assert _names(csv_rows(body(owner))) == ["华为技术有限公司"]
    contacts = client.get("/api/v1/contacts/export", format="vcard3", customer_id=records["own"].pk)
    assert contacts.status_code == 200 and MASKED_PHONE in body(contacts).decode()


def test_api_export_beyond_the_limit_is_a_job(
    org, records, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_EXPORT_SYNC_LIMIT = 1
    client = ApiClient(org.rep)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/api/v1/customers/export", format="csv", sort="name")
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued" and job["query"] == "sort=name"
    shown = client.get(f"/api/v1/exports/{job['id']}").json()
    assert shown["status"] == "done" and shown["row_count"] == 2
    assert shown["download_url"] == f"/api/v1/exports/{job['id']}/download"
    assert [j["id"] for j in client.get("/api/v1/exports").json()] == [job["id"]]
    assert ApiClient(org.manager).get("/api/v1/exports").json() == []
    download = client.get(shown["download_url"])
    assert download.status_code == 200 and len(csv_rows(body(download))) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "nonsense"}, "sort"),
        ({"lifecycle": "nonsense"}, "lifecycle"),
        ({"owner_id": 999999}, "owner_id"),
        ({"value_level": "huge"}, "value_level"),
        ({"format": "pdf"}, "format"),
        ({"tag": "abc"}, "tag"),
    ],
)
def test_api_refuses_a_filter_it_cannot_honour(org, records, params, field):
    client = ApiClient(org.rep)
    before = db_state()
    response = client.get("/api/v1/customers/export", **params)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert db_state() == before


@pytest.mark.parametrize(
    "export", ["customers:csv", "customers:xlsx", "contacts:csv", "contacts:vcard3"]
)
def test_an_export_takes_the_same_number_of_queries_whatever_its_size(org, export):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tag = Tag.objects.get(name="高意向客户")
    client = login_client(org.manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert _export(client, export).status_code == 200
        return len(captured.captured_queries)

    for number in range(2):
        customer = make_customer(org.rep, f"客户{number}", tags=[tag.pk], region_code="440305")
        make_contact(customer, f"联系人{number}", phones=["13800138000"])
    few = queries()
    for number in range(2, 8):
        customer = make_customer(org.other_rep, f"客户{number}", tags=[tag.pk])
        make_contact(customer, f"联系人{number}", phones=["13800138000"])
    assert queries() == few
