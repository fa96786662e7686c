"""Undo of an import within the window puts back exactly what the import did: the tags it added
come off, the contacts it changed get their values and their search keys back, and the window is
counted from the import's end (the clock passed in, as the services take it)."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.customers.models import Contact, Customer, Tag
from guanxi.customers.services import contact_search_key, customer_search_key
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportChange, ImportJob
from tests.customers.conftest import HUAWEI_CODE, make_contact, make_customer
from tests.transfer.import_helpers import csv_bytes, customer_row, run

pytestmark = pytest.mark.django_db


def test_undo_takes_off_the_tags_an_update_added(org):
    # given a customer with one tag, and a file that updates it with two more
    existing = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    kept, added, also = (Tag.objects.create(name=name) for name in ("老客户", "重点", "华南"))
    existing.tags.add(kept)
    version = Customer.objects.get(pk=existing.pk).version
    headers = ["统一社会信用代码", "客户名称", "标签"]
    rows = [[HUAWEI_CODE, "华为技术有限公司", "老客户、重点、华南"]]
    job = run(org.rep, csv_bytes(rows, headers=headers), duplicate_policy="update")
    # then the import added two tags as a change of the customer (a new version, recorded)
    assert (job.status, job.updated_count) == ("done", 1)
    assert set(existing.tags.values_list("name", flat=True)) == {"老客户", "重点", "华南"}
    assert Customer.objects.get(pk=existing.pk).version == version + 1
    change = ImportChange.objects.get(job=job)
    assert sorted(change.before[import_services.TAGS_ADDED]) == sorted([added.pk, also.pk])
    # when the import is undone
    outcome = import_services.import_undo(actor=org.rep, job=job)
    # then exactly those two come off; the tag it had stays
    assert (outcome.reverted, outcome.kept) == (1, 0)
    assert list(existing.tags.values_list("name", flat=True)) == ["老客户"]


def test_undo_restores_a_contacts_values_and_its_search_keys(org):
    # given a contact, updated by a contacts import with a new phone and e-mail address
    customer = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    contact = make_contact(
        customer, "任正非", phones=[{"number": "13800138000", "label": "mobile"}], title="总裁"
    )
    original = Contact.objects.get(pk=contact.pk)
    customer_key = Customer.objects.get(pk=customer.pk).search_key
    headers = ["统一社会信用代码", "姓名", "职务", "手机", "邮箱"]
    rows = [[HUAWEI_CODE, "任正非", "创始人", "13900139000", "ren@huawei.example"]]
    job = run(org.rep, csv_bytes(rows, headers=headers), kind="contacts", duplicate_policy="update")
    assert (job.status, job.updated_count) == ("done", 1)
    updated = Contact.objects.get(pk=contact.pk)
    assert [phone["number"] for phone in updated.phones] == ["+8613800138000", "+8613900139000"]
    assert updated.search_key != original.search_key
    assert Customer.objects.get(pk=customer.pk).search_key != customer_key
    # when the import is undone
    outcome = import_services.import_undo(actor=org.rep, job=job)
    # then the values are back, and so are the keys the search uses
    assert outcome.reverted == 1
    restored = Contact.objects.get(pk=contact.pk)
    assert (restored.title, restored.email, restored.phones) == (
        original.title,
        original.email,
        original.phones,
    )
    assert restored.search_key == contact_search_key(restored) == original.search_key
    customer.refresh_from_db()
    assert customer.search_key == customer_search_key(customer) == customer_key


def test_undo_keeps_a_contact_changed_since(org):
    from guanxi.customers.services import contact_update

    customer = make_customer(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    contact = make_contact(customer, "任正非", title="总裁")
    headers = ["统一社会信用代码", "姓名", "职务"]
    job = run(
        org.rep,
        csv_bytes([[HUAWEI_CODE, "任正非", "创始人"]], headers=headers),
        kind="contacts",
        duplicate_policy="update",
    )
    contact_update(
        actor=org.rep, contact=Contact.objects.get(pk=contact.pk), data={"title": "董事"}
    )
    outcome = import_services.import_undo(actor=org.rep, job=job)
    assert (outcome.reverted, outcome.kept) == (0, 1)
    assert Contact.objects.get(pk=contact.pk).title == "董事"


def test_undo_window_is_counted_from_the_end_of_the_import(org, settings):
    settings.GUANXI_IMPORT_UNDO_DAYS = 30
    job = run(org.rep, csv_bytes([customer_row(1)]))
    finished = job.finished_at
    # a second past the window it is refused, and the refusal changes nothing
    with pytest.raises(import_services.ImportUndoExpiredError) as caught:
        import_services.import_undo(
            actor=org.rep, job=job, now=finished + dt.timedelta(days=30, seconds=1)
        )
    assert caught.value.code == "import_undo_expired"
    assert str(caught.value.message) == "Imports can be undone for 30 days; this one is older."
    assert Customer.objects.count() == 1
    # on the window's last day it is undone
    outcome = import_services.import_undo(
        actor=org.rep, job=job, now=finished + dt.timedelta(days=29, hours=23)
    )
    assert outcome.removed == 2  # the customer and its contact
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.UNDONE
