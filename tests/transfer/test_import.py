"""CSV / XLSX import of customers and contacts: encodings, XLSX, header synonyms and remembered
mappings, the dry run that writes nothing, both error policies, the three duplicate policies,
the error report, undo, and keys computed exactly as the services compute them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import customer_name_key
from guanxi.customers.services import contact_search_key, customer_search_key
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportChange, ImportJob, ImportMapping
from tests.customers.conftest import HUAWEI_CODE, make_contact, make_customer
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.import_helpers import (
    HEADERS,
    credit_code,
    csv_bytes,
    customer_row,
    run,
    upload,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


def _error_rows(job: ImportJob) -> list[list[str]]:
    with import_services.import_error_file_open(job=job) as handle:
        data = handle.read()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_csv_in_each_encoding_imports_the_same_customers(org, encoding, detected):
    # given the same two rows saved in each encoding Excel and WPS write
    data = csv_bytes(
        [customer_row(1), customer_row(2, 客户名称="華為技術（深圳）有限公司")], encoding=encoding
    )
    # when the rep imports the file
    job = run(org.rep, data)
    # then the encoding was detected and both customers were filed, Chinese intact
    assert job.encoding == detected
    assert job.status == ImportJob.Status.DONE, job.error_preview
    assert job.added_count == 2
    assert sorted(Customer.objects.values_list("name", flat=True)) == sorted(
        ["测试1号科技有限公司", "華為技術（深圳）有限公司"]
    )


def test_a_utf8_file_with_a_late_non_ascii_row_is_not_read_as_gb18030(org):
    # given a file whose first megabyte is ASCII and whose last row is Chinese
    rows = [[f"Company {n} Limited", "Guangdong", "Shenzhen"] for n in range(1, 40000)]
    rows.append(["最后一家有限公司", "广东", "深圳"])
    data = csv_bytes(rows, headers=["name", "province", "city"])
    assert len(data) > 1024 * 1024
    # when it is uploaded
    job = upload(org.admin, data)
    # then the whole file decides: UTF-8
    assert job.encoding == "utf-8"


def test_xlsx_with_number_and_date_cells(org):
    # given a workbook where the phone is a number cell and the first contact a date cell
    import datetime as dt

    headers = [*HEADERS, "首次接触日期"]
    row: list[Any] = customer_row(1)
    row[HEADERS.index("手机")] = 13800130001
    handle = io.BytesIO()
    import xlsxwriter

    workbook = xlsxwriter.Workbook(handle)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, headers)
    sheet.write_row(1, 0, row)
    sheet.write_datetime(
        1, len(HEADERS), dt.date(2026, 3, 31), workbook.add_format({"num_format": "yyyy-mm-dd"})
    )
    workbook.close()
    # when it is imported
    job = run(org.rep, handle.getvalue(), name="customers.xlsx")
    # then the number is a phone again and the date a date
    assert job.file_format == "xlsx"
    assert job.status == ImportJob.Status.DONE, job.error_preview
    customer = Customer.objects.get()
    assert customer.first_contact_date == dt.date(2026, 3, 31)
    assert Contact.objects.get().phones == [{"number": "+8613800130001", "label": "mobile"}]


def test_xlsx_rows_stream_like_csv(org):
    data = xlsx_bytes([customer_row(n) for n in range(1, 6)])
    job = run(org.rep, data, name="a.xlsx")
    assert job.added_count == 5
    assert job.total_rows == 5


# --- mapping ------------------------------------------------------------------------------------


def test_chinese_and_english_headers_map_themselves(org):
    # given headers in both languages, marks and notes included
    headers = [
        "公司名称*",
        "Credit code",
        "省",
        "city",
        "区/县",
        "所属行业",
        "客户阶段",
        "姓名",
        "联系电话（必填）",
        "备注",
    ]
    job = upload(
        org.rep, csv_bytes([["甲公司", "", "北京市", "", "", "", "", "", "", "x"]], headers=headers)
    )
    # then each is guessed, and the unknown one is left out
    assert job.mapping == {
        "0": "name",
        "1": "credit_code",
        "2": "province",
        "3": "city",
        "4": "district",
        "5": "industry",
        "6": "lifecycle",
        "7": "contact_name",
        "8": "contact_phone",
    }


def test_a_mapping_is_remembered_for_the_next_file(org):
    # given a file with a header no synonym knows, mapped by the user
    headers = ["单位全称", "备注"]
    first = upload(org.rep, csv_bytes([["甲有限公司", ""]], headers=headers))
    assert first.mapping == {}
    import_services.import_check(actor=org.rep, job=first, mapping={"0": "name"})
    # when the next file with that header arrives
    second = upload(org.rep, csv_bytes([["乙有限公司", ""]], headers=headers))
    # then it maps itself; another user's file does not
    assert second.mapping == {"0": "name"}
    assert ImportMapping.objects.get(user=org.rep, kind="customers").mapping == {
        "单位全称": "name",
        "备注": "",
    }
    assert upload(org.manager, csv_bytes([["丙有限公司", ""]], headers=headers)).mapping == {}


def test_a_column_left_out_stays_out_next_time(org):
    # given a file whose 备注 column the synonyms would not map, and whose 电话 they would
    headers = ["客户名称", "电话", "备注"]
    first = upload(org.rep, csv_bytes([["甲有限公司", "13800138000", "x"]], headers=headers))
    assert first.mapping == {"0": "name", "1": "contact_phone"}
    # when the user leaves 电话 out (it is a switchboard, not the contact's)
    import_services.import_check(actor=org.rep, job=first, mapping={"0": "name"})
    # then the next file with that header does not map it again
    second = upload(org.rep, csv_bytes([["乙有限公司", "13800138001", "y"]], headers=headers))
    assert second.mapping == {"0": "name"}


def test_a_mapping_without_the_name_is_refused(org):
    job = upload(org.rep, csv_bytes([["甲有限公司"]], headers=["单位全称"]))
    with pytest.raises(import_services.ValidationError) as caught:
        import_services.import_check(actor=org.rep, job=job)
    assert "Map a column to Customer name: it is required." in caught.value.message_dict["mapping"]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_a_field_mapped_twice_is_refused(org):
    job = upload(org.rep, csv_bytes([customer_row(1)]))
    with pytest.raises(import_services.ValidationError) as caught:
        import_services.import_check(actor=org.rep, job=job, mapping={"0": "name", "1": "name"})
    assert (
        "Customer name is mapped to more than one column." in caught.value.message_dict["mapping"]
    )


# --- dry run and commit policies ----------------------------------------------------------------


def test_the_dry_run_writes_nothing(org):
    # given an existing customer and a file that would add, skip and fail rows
    make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    rows = [
        customer_row(1),
        customer_row(2, 统一社会信用代码=HUAWEI_CODE),
        customer_row(3, 统一社会信用代码="123"),
    ]
    before = customers_db_state()
    # when the file is checked
    job = run(org.rep, csv_bytes(rows), commit=False)
    # then the counts say what would happen, and not one row changed
    assert (job.status, job.added_count, job.skipped_count, job.error_count) == ("checked", 1, 1, 1)
    assert customers_db_state() == before


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(org):
    rows = [customer_row(1), customer_row(2, 手机="12345"), customer_row(3)]
    before = customers_db_state()
    job = run(org.rep, csv_bytes(rows), error_policy="all")
    assert job.status == ImportJob.Status.REJECTED
    assert job.error_count == 1
    assert job.created == {}
    assert customers_db_state() == before
    assert job.error_preview[0][:3] == [3, "手机", "12345"]


def test_skip_bad_rows_writes_the_good_ones(org):
    rows = [customer_row(1), customer_row(2, 手机="12345", 省份="火星"), customer_row(3)]
    job = run(org.rep, csv_bytes(rows), error_policy="skip")
    assert job.status == ImportJob.Status.DONE
    assert (job.added_count, job.error_count) == (2, 1)
    assert sorted(Customer.objects.values_list("name", flat=True)) == [
        "测试1号科技有限公司",
        "测试3号科技有限公司",
    ]
    # one audit entry for the whole import, none per row
    entries = AuditEntry.objects.filter(object_type="transfer.importjob")
    assert entries.count() == 1
    assert entries.get().note == "import_committed?added=2&updated=0&skipped=0&errors=1"
    assert not AuditEntry.objects.filter(object_type="customers.customer").exists()


def test_a_rejected_import_can_be_committed_again_skipping_bad_rows(org):
    job = run(org.rep, csv_bytes([customer_row(1), customer_row(2, 行业="ZZ")]))
    assert job.status == ImportJob.Status.REJECTED
    job = import_services.import_commit(actor=org.rep, job=job, error_policy="skip")
    assert (job.status, job.added_count) == ("done", 1)


def test_rows_are_filed_as_the_services_file_them(org):
    # given one row with everything
    headers = [*HEADERS, "简称", "来源", "大客户等级", "标签", "网站", "邮箱", "职务"]
    row = [
        *customer_row(7),
        "测试七",
        "展会报名",
        "重要",
        "高意向客户、技术型客户",
        "www.example.com",
        "li@example.com",
        "采购经理",
    ]
    job = run(org.rep, csv_bytes([row], headers=headers))
    assert job.status == ImportJob.Status.DONE, job.error_preview
    customer = Customer.objects.get()
    contact = Contact.objects.get()
    # then every derived field equals what the services compute
    assert customer.search_key == customer_search_key(customer)
    assert customer.name_key == customer_name_key(name=customer.name, kind=customer.kind)
    assert contact.search_key == contact_search_key(contact)
    assert (customer.province_id, customer.city_id, customer.district_id) == (
        "440000",
        "440300",
        "440305",
    )
    assert customer.industry.code == "I"
    assert (customer.lifecycle, customer.source, customer.account_class) == (
        "intent",
        "trade_show",
        "important",
    )
    assert customer.website == "https://www.example.com"
    assert customer.owner == org.rep and customer.department == org.rep.department
    assert customer.protected_until is not None and customer.created_by == org.rep
    assert sorted(customer.tags.values_list("name", flat=True)) == ["技术型客户", "高意向客户"]
    assert contact.title == "采购经理" and contact.email == "li@example.com"


def test_regions_by_name_without_suffix_by_code_and_in_a_municipality(org):
    headers = ["客户名称", "省份", "城市", "区县", "地区代码"]
    rows = [
        ["甲有限公司", "广东", "深圳", "南山", ""],
        ["乙有限公司", "北京", "", "海淀区", ""],
        ["丙有限公司", "", "", "", "440305"],
        ["丁有限公司", "广东省", "杭州市", "", ""],
    ]
    job = run(org.admin, csv_bytes(rows, headers=headers), error_policy="skip")
    places = dict(Customer.objects.values_list("name", "district_id"))
    assert places == {"甲有限公司": "440305", "乙有限公司": "110108", "丙有限公司": "440305"}
    assert job.error_preview[0][:2] == [5, "城市"]


def test_a_rep_cannot_file_for_someone_else_but_a_manager_can(org):
    headers = ["客户名称", "负责人"]
    rows = [["甲有限公司", "rep2"], ["乙有限公司", "公海"]]
    rejected = run(org.rep, csv_bytes(rows, headers=headers))
    assert rejected.error_count == 2
    done = run(org.manager, csv_bytes(rows, headers=headers))
    assert done.status == "done"
    owners = dict(Customer.objects.values_list("name", "owner__username"))
    assert owners == {"甲有限公司": "rep2", "乙有限公司": None}


# --- duplicates ---------------------------------------------------------------------------------


def test_duplicate_policy_skip(org):
    existing = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    rows = [
        customer_row(1, 统一社会信用代码=HUAWEI_CODE, 客户名称="华为"),
        customer_row(2, 统一社会信用代码="", 客户名称="北京华为技术有限公司"),
        customer_row(3),
        customer_row(4, 统一社会信用代码=credit_code(3)),
    ]
    job = run(org.rep, csv_bytes(rows), duplicate_policy="skip")
    assert (job.added_count, job.skipped_count, job.error_count) == (1, 3, 0)
    reasons = [entry[3] for entry in job.error_preview]
    assert reasons == [
        f"Skipped: already filed as 华为技术有限公司 (Owned by {org.rep.full_name}).",
        f"Skipped: already filed as 华为技术有限公司 (Owned by {org.rep.full_name}).",
        "Skipped: the same customer as row 4.",
    ]
    assert Customer.objects.exclude(pk=existing.pk).count() == 1


def test_a_match_outside_the_scope_is_named_by_its_owner_only(org):
    make_customer(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    job = run(org.rep, csv_bytes([customer_row(1, 统一社会信用代码=HUAWEI_CODE)]), commit=False)
    assert (
        job.error_preview[0][3] == f"Skipped: already filed (Owned by {org.other_rep.full_name})."
    )


def test_duplicate_policy_update_records_the_overwritten_values(org):
    existing = make_customer(
        org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE, lifecycle="potential"
    )
    version = existing.version
    rows = [
        customer_row(1, 统一社会信用代码=HUAWEI_CODE, 客户名称="华为技术有限公司", 客户类型="成交")
    ]
    job = run(org.rep, csv_bytes(rows), duplicate_policy="update")
    assert (job.added_count, job.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert existing.lifecycle == "closed"
    assert existing.district_id == "440305"
    assert existing.version == version + 1
    assert existing.search_key == customer_search_key(existing)
    change = ImportChange.objects.get(job=job)
    assert change.before["lifecycle"] == "potential"
    assert change.version_after == existing.version
    assert Contact.objects.filter(customer=existing, name="联系人1").exists()


def test_update_of_a_customer_the_importer_may_not_change_is_an_error(org):
    make_customer(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    job = run(
        org.rep,
        csv_bytes([customer_row(1, 统一社会信用代码=HUAWEI_CODE)]),
        duplicate_policy="update",
        error_policy="skip",
    )
    assert job.error_count == 1
    assert job.error_preview[0][3] == (
        f"This customer is already filed (Owned by {org.other_rep.full_name}) and you may not "
        "change it."
    )


def test_duplicate_policy_create_files_name_twins_but_never_a_credit_code_twice(org):
    make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    rows = [
        customer_row(1, 统一社会信用代码="", 客户名称="华为技术有限公司"),
        customer_row(2, 统一社会信用代码=HUAWEI_CODE),
        customer_row(3),
        customer_row(4, 统一社会信用代码=credit_code(3)),
    ]
    job = run(org.rep, csv_bytes(rows), duplicate_policy="create", error_policy="skip")
    assert (job.added_count, job.error_count) == (2, 2)
    assert Customer.objects.filter(name="华为技术有限公司").count() == 2
    assert [entry[0] for entry in job.error_preview] == [3, 5]


# --- the error report ---------------------------------------------------------------------------


def test_the_error_report_names_row_column_value_and_reason(org):
    rows = [
        customer_row(1),
        customer_row(2, 统一社会信用代码="91440300MA5XXXXX", 手机="abc"),
        customer_row(3, 客户名称="=HYPERLINK(1)"),
    ]
    job = run(org.rep, csv_bytes(rows), commit=False)
    report = _error_rows(job)
    assert report[0] == ["Row", "Column", "Value", "Reason"]
    assert report[1][:3] == ["3", "统一社会信用代码", "91440300MA5XXXXX"]
    assert report[1][3].startswith("A unified social credit code has 18 characters")
    assert report[2][:3] == ["3", "手机", "abc"]
    assert report[2][3].startswith("Enter a valid phone number")
    # a formula in a cell is written so no spreadsheet runs it
    assert job.added_count == 2
    assert all(not cell.startswith("=") for row in report for cell in row)


# --- undo ---------------------------------------------------------------------------------------


def test_undo_removes_what_the_import_created_and_restores_what_it_overwrote(org):
    existing = make_customer(
        org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE, lifecycle="potential"
    )
    rows = [
        customer_row(1, 统一社会信用代码=HUAWEI_CODE, 客户类型="成交"),
        customer_row(2),
        customer_row(3),
    ]
    job = run(org.rep, csv_bytes(rows), duplicate_policy="update")
    assert (job.added_count, job.updated_count) == (2, 1)
    # someone edits one of the new customers afterwards
    edited = Customer.objects.get(name="测试3号科技有限公司")
    from guanxi.customers.services import customer_update

    customer_update(actor=org.rep, customer=edited, data={"short_name": "测三"})
    # when the import is undone
    outcome = import_services.import_undo(actor=org.rep, job=job)
    # then the untouched new customer and its contact go to the recycle bin, the edited one
    # stays (its contact, untouched, goes), and the update is reverted
    assert (outcome.removed, outcome.reverted, outcome.kept) == (4, 1, 1)
    assert set(Customer.objects.values_list("name", flat=True)) == {
        "华为技术有限公司",
        "测试3号科技有限公司",
    }
    existing.refresh_from_db()
    assert existing.lifecycle == "potential"
    assert existing.district_id is None
    assert existing.search_key == customer_search_key(existing)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE
    with pytest.raises(import_services.ImportStateError):
        import_services.import_undo(actor=org.rep, job=job)
    assert AuditEntry.objects.filter(note__startswith="import_undone?removed=4").count() == 1


def test_undo_is_refused_after_the_window(org, settings):
    job = run(org.rep, csv_bytes([customer_row(1)]))
    import datetime as dt

    ImportJob.objects.filter(pk=job.pk).update(finished_at=job.finished_at - dt.timedelta(days=31))
    job.refresh_from_db()
    with pytest.raises(import_services.ImportUndoExpiredError):
        import_services.import_undo(actor=org.rep, job=job)
    assert Customer.objects.count() == 1


# --- contacts -----------------------------------------------------------------------------------


def test_contacts_by_credit_code_and_by_name(org):
    huawei = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    other = make_customer(org.rep, "腾讯科技有限公司")
    hidden = make_customer(org.other_rep, "别人的客户有限公司")
    make_contact(huawei, "张三")
    headers = ["统一社会信用代码", "客户名称", "联系人", "手机", "办公电话", "邮箱", "角色", "生日"]
    rows = [
        [
            HUAWEI_CODE,
            "",
            "李四",
            "13800138000",
            "0755-28780808",
            "li@example.com",
            "决策人",
            "1980-01-31",
        ],
        ["", "腾讯科技有限公司", "王五", "", "", "", "", ""],
        ["", "别人的客户有限公司", "赵六", "", "", "", "", ""],
        [HUAWEI_CODE, "", "张三", "", "", "", "", ""],
        ["", "不存在有限公司", "钱七", "", "", "", "", ""],
    ]
    job = run(org.rep, csv_bytes(rows, headers=headers), kind="contacts", error_policy="skip")
    assert (job.added_count, job.skipped_count, job.error_count) == (2, 1, 2), job.error_preview
    li = Contact.objects.get(name="李四")
    assert li.customer == huawei and li.decision_role == "decision_maker"
    assert li.phones == [
        {"number": "+8613800138000", "label": "mobile"},
        {"number": "+8675528780808", "label": "work"},
    ]
    assert li.search_key == contact_search_key(li)
    huawei.refresh_from_db()
    assert huawei.search_key == customer_search_key(huawei)
    assert Contact.objects.get(name="王五").customer == other
    assert not Contact.objects.filter(customer=hidden).exists()


def test_contacts_need_their_customer_column(org):
    job = upload(org.rep, csv_bytes([["李四"]], headers=["联系人"]), kind="contacts")
    with pytest.raises(import_services.ValidationError):
        import_services.import_check(actor=org.rep, job=job)


# --- jobs and the command line ------------------------------------------------------------------


def test_a_large_file_runs_as_a_job_enqueued_on_commit(
    org, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    settings.GUANXI_IMPORT_SYNC_ROWS = 2
    job = upload(org.rep, csv_bytes([customer_row(n) for n in range(1, 6)]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_services.import_check(actor=org.rep, job=job)
    assert job.status == ImportJob.Status.QUEUED
    assert len(callbacks) == 1
    callbacks[0]()
    job.refresh_from_db()
    assert (job.status, job.added_count, job.processed_rows) == ("checked", 5, 5)
    # a duplicated task finds nothing to do
    assert import_services.import_job_run(job_id=job.pk) is None


def test_the_kinds_are_a_registry(org):
    assert set(import_services.IMPORT_KINDS) == {"customers", "contacts"}
    with pytest.raises(import_services.ValidationError):
        upload(org.rep, csv_bytes([customer_row(1)]), kind="orders")


def test_templates_mark_required_columns(org):
    template = import_services.import_template(kind="customers", format="csv")
    header = template.data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[0] == "Customer name*"
    assert "Unified social credit code" in header
    workbook = import_services.import_template(kind="contacts", format="xlsx")
    import openpyxl

    sheets = openpyxl.load_workbook(io.BytesIO(workbook.data)).worksheets
    assert [cell.value for cell in sheets[0][1]][2] == "Contact name*"
    assert sheets[1].max_row == len(import_services.IMPORT_KINDS["contacts"].fields) + 1
    # and a template, filled in, maps itself
    job = upload(org.rep, template.data.replace(b"\r\n", b"\r\n", 1) + "甲有限公司\r\n".encode())
    assert job.mapping["0"] == "name"


def test_large_files_are_prepared_by_worker_processes_with_the_same_outcome(org, settings):
    # given a file with good, bad and duplicate rows, prepared by two forked workers
    settings.GUANXI_IMPORT_WORKERS = 2
    settings.GUANXI_IMPORT_PARALLEL_ROWS = 1
    settings.GUANXI_IMPORT_SYNC_ROWS = 10_000
    import guanxi.transfer.import_services as module

    rows = [customer_row(n) for n in range(1, 2501)]
    rows[10] = customer_row(11, 手机="12345")
    rows[2000] = customer_row(1)
    original = module.BATCH_ROWS
    module.BATCH_ROWS = 500
    try:
        job = run(org.rep, csv_bytes(rows), error_policy="skip")
    finally:
        module.BATCH_ROWS = original
    # then the outcome is the sequential one, messages in the reader's language
    assert (job.status, job.added_count, job.skipped_count, job.error_count) == ("done", 2498, 1, 1)
    assert job.error_preview[0][:3] == [12, "手机", "12345"]
    assert job.error_preview[0][3].startswith("Enter a valid phone number")
    sample = Customer.objects.order_by("?")[:20]
    for customer in sample:
        assert customer.search_key == customer_search_key(customer)
    for contact in Contact.objects.order_by("?")[:20]:
        assert contact.search_key == contact_search_key(contact)
