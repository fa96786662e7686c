"""The duplicate check on import, in the importer's data scope: the same phone number or e-mail
address of a filed customer's contact is a likely duplicate (as on the customer form), reported
with what the importer may see of it and nothing more; the policy "update" never reaches a
customer outside the importer's rights, and nothing changes when it is refused."""

from __future__ import annotations

import pytest

from guanxi.customers.models import Contact, Customer
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportChange
from tests.customers.conftest import HUAWEI_CODE, make_contact, make_customer
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.import_helpers import csv_bytes, customer_row, run

pytestmark = pytest.mark.django_db

HEADERS = ["客户名称", "联系人", "手机", "邮箱"]


def _records() -> dict:
    """Every customers row but the audit trail, where the import records itself."""
    state = customers_db_state()
    state.pop("core.AuditEntry")
    return state


def _filed_with_contact(owner, name="华为技术有限公司", **fields):
    customer = make_customer(owner, name, credit_code=HUAWEI_CODE, **fields)
    make_contact(
        customer,
        "任正非",
        phones=[{"number": "13800138000", "label": "mobile"}],
        email="Ren.ZF@huawei.example",
    )
    return customer


# --- phones and e-mail addresses ----------------------------------------------------------------


def test_the_same_phone_or_email_of_a_visible_customer_skips_the_row(org):
    # given a customer of the rep's with a contact
    _filed_with_contact(org.rep)
    rows = [
        ["深圳新桥通信有限公司", "李四", "138 0013 8000", ""],  # the same mobile, written otherwise
        ["广州远景科技有限公司", "王五", "", "ren.zf@HUAWEI.example"],  # the same address, cased
        ["杭州云栖数据有限公司", "赵六", "13900139000", "zhao@yunqi.example"],  # nothing alike
    ]
    # when the rep checks a file of other names with the same phone and e-mail address
    job = run(org.rep, csv_bytes(rows, headers=HEADERS), commit=False, duplicate_policy="skip")
    # then both rows are skipped as likely duplicates, named, and the third would be added
    assert (job.added_count, job.skipped_count, job.error_count) == (1, 2, 0)
    assert job.error_preview == [
        [
            2,
            "手机",
            "+8613800138000",
            f"Skipped: looks like 华为技术有限公司 (Owned by {org.rep.full_name}): Same phone "
            "number.",
        ],
        [
            3,
            "邮箱",
            "ren.zf@HUAWEI.example",
            f"Skipped: looks like 华为技术有限公司 (Owned by {org.rep.full_name}): Same e-mail "
            "address.",
        ],
    ]


def test_a_likely_duplicate_outside_the_scope_is_told_by_its_holder_only(org):
    # given a customer of another rep's, whom the rep may not see
    hidden = _filed_with_contact(org.other_rep, name="保密客户有限公司")
    rows = [["深圳新桥通信有限公司", "李四", "13800138000", "ren.zf@huawei.example"]]
    # when the rep imports a row with that contact's phone and address
    job = run(org.rep, csv_bytes(rows, headers=HEADERS), duplicate_policy="skip")
    # then the row is skipped, and the report says who holds the customer and nothing else
    assert (job.added_count, job.skipped_count) == (0, 1)
    reason = job.error_preview[0][3]
    assert reason == (
        f"Skipped: looks like a customer already filed (Owned by {org.other_rep.full_name}): "
        "Same phone number / Same e-mail address."
    )
    with import_services.import_error_file_open(job=job) as handle:
        report = handle.read().decode("utf-8-sig")
    for secret in (hidden.name, "任正非", "Ren.ZF"):
        assert secret not in report
        assert secret not in str(job.error_preview)


def test_policy_update_does_not_update_a_customer_that_only_looks_alike(org):
    # given a customer whose contact has the row's phone, under another name
    existing = _filed_with_contact(org.rep)
    before = _records()
    rows = [["深圳新桥通信有限公司", "李四", "13800138000", ""]]
    # when the rep imports with the policy "update"
    job = run(org.rep, csv_bytes(rows, headers=HEADERS), duplicate_policy="update")
    # then nothing is updated or added: the row is skipped with what to do instead
    assert (job.added_count, job.updated_count, job.skipped_count) == (0, 0, 1)
    assert "Only the same credit code or name updates a customer" in job.error_preview[0][3]
    assert _records() == before
    assert Customer.objects.get().pk == existing.pk


def test_policy_create_files_a_likely_duplicate_anyway(org):
    _filed_with_contact(org.rep)
    rows = [["深圳新桥通信有限公司", "李四", "13800138000", ""]]
    job = run(org.rep, csv_bytes(rows, headers=HEADERS), duplicate_policy="create")
    assert (job.status, job.added_count, job.skipped_count) == ("done", 1, 0)
    assert Customer.objects.filter(name="深圳新桥通信有限公司").exists()


def test_a_deleted_customers_contact_is_no_duplicate(org):
    from guanxi.core.services import object_soft_delete

    customer = _filed_with_contact(org.rep)
    object_soft_delete(instance=customer, actor=org.rep)
    rows = [["深圳新桥通信有限公司", "李四", "13800138000", ""]]
    job = run(org.rep, csv_bytes(rows, headers=HEADERS), commit=False)
    assert (job.added_count, job.skipped_count) == (1, 0)


def test_contact_holders_finds_exact_values_only(org):
    customer = _filed_with_contact(org.rep)
    make_contact(customer, "孙七", phones=[{"number": "13800138001", "label": "mobile"}])
    phones, emails = import_services.contact_holders(
        phones={"+8613800138000", "+8613800138009"},
        emails={"ren.zf@huawei.example", "ren@huawei.example"},
    )
    assert phones == {"+8613800138000": {customer.pk}}
    assert emails == {"ren.zf@huawei.example": {customer.pk}}


# --- the policy "update" stays in the importer's rights -----------------------------------------


@pytest.mark.parametrize(
    ("importer", "owner"),
    [
        ("rep", "other_rep"),  # another rep's customer: out of scope
        ("rep", None),  # a pool customer: visible to the rep, writable by managers only
        ("manager", "outsider"),  # a customer of another branch: out of the manager's scope
        ("kam", "rep"),  # in scope for a key-account manager? not theirs to change either way
    ],
)
def test_policy_update_cannot_change_a_customer_outside_the_importers_rights(org, importer, owner):
    # given a customer the importer may not change, with a contact and a tag-free record
    existing = make_customer(
        getattr(org, owner) if owner else None,
        "华为技术有限公司",
        credit_code=HUAWEI_CODE,
        lifecycle="potential",
        address="深圳市龙岗区",
    )
    before = _records()
    row = customer_row(
        1, 统一社会信用代码=HUAWEI_CODE, 客户名称="华为技术有限公司", 客户类型="成交"
    )
    # when the importer commits a row for it with the policy "update", skipping bad rows
    job = run(
        getattr(org, importer),
        csv_bytes([row]),
        duplicate_policy="update",
        error_policy="skip",
    )
    # then the row is an error, and not one value of the customer (or anything else) changed
    assert (job.status, job.updated_count, job.error_count) == ("done", 0, 1)
    assert "you may not change it" in job.error_preview[0][3]
    assert _records() == before
    assert not ImportChange.objects.exists()
    existing.refresh_from_db()
    assert (existing.lifecycle, existing.address) == ("potential", "深圳市龙岗区")


def test_policy_update_by_a_manager_changes_a_reps_customer_in_scope(org):
    existing = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    row = customer_row(
        1, 统一社会信用代码=HUAWEI_CODE, 客户名称="华为技术有限公司", 客户类型="成交"
    )
    job = run(org.manager, csv_bytes([row]), duplicate_policy="update")
    assert (job.status, job.updated_count) == ("done", 1)
    existing.refresh_from_db()
    assert existing.lifecycle == "closed"
    assert existing.owner_id == org.rep.pk  # an update never moves the owner


def test_contacts_policy_update_cannot_reach_another_reps_customer(org):
    customer = make_customer(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    make_contact(customer, "任正非", title="总裁")
    before = _records()
    rows = [[HUAWEI_CODE, "任正非", "创始人"]]
    job = run(
        org.rep,
        csv_bytes(rows, headers=["统一社会信用代码", "姓名", "职务"]),
        kind="contacts",
        duplicate_policy="update",
        error_policy="skip",
    )
    assert (job.updated_count, job.error_count) == (0, 1)
    assert job.error_preview[0][3] == "No customer you can see has this credit code or name."
    assert _records() == before
    assert Contact.objects.get().title == "总裁"


def test_rows_sharing_a_phone_are_counted_alike_by_the_dry_run_and_the_commit(org, monkeypatch):
    # given two rows of one file with the same phone, in different batches
    monkeypatch.setattr(import_services, "BATCH_ROWS", 2)
    rows = [
        ["深圳新桥通信有限公司", "李四", "13800138000", ""],
        ["广州远景科技有限公司", "王五", "13900139000", ""],
        ["杭州云栖数据有限公司", "赵六", "13800138000", ""],
    ]
    data = csv_bytes(rows, headers=HEADERS)
    # when the file is checked, then committed
    checked = run(org.rep, data, commit=False)
    done = run(org.rep, data)
    # then the commit does what the dry run said: a row is no duplicate of the import's own
    assert (checked.added_count, checked.skipped_count) == (3, 0)
    assert (done.status, done.added_count, done.skipped_count) == ("done", 3, 0)


def test_owners_are_assigned_only_within_the_importers_rights(org):
    # a manager names a rep of their own branch, but not one of another branch they cannot see
    headers = ["客户名称", "负责人"]
    rows = [["甲有限公司", "rep2"], ["乙有限公司", "outsider"]]
    job = run(org.manager, csv_bytes(rows, headers=headers), error_policy="skip")
    assert (job.status, job.added_count, job.error_count) == ("done", 1, 1)
    assert job.error_preview[0][1:] == ["负责人", "outsider", "Choose an active user you can see."]
    assert dict(Customer.objects.values_list("name", "owner__username")) == {"甲有限公司": "rep2"}
