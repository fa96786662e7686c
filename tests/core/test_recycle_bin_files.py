"""Purging from the recycle bin deletes the stored files of everything the purge deletes (a
ticket's attachments, an interaction's, and those of rows a purge cascades to), only once the
purge commits: a rolled-back purge, or a record kept because it is still referenced, keeps its
files. The audit entry of the purge is written as before."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from guanxi.core.models import AuditEntry
from guanxi.core.services import object_hard_delete, object_soft_delete, recycle_bin_purge
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete
from guanxi.engagement.models import Interaction, InteractionAttachment
from guanxi.engagement.services import interaction_create, interaction_delete
from guanxi.service.models import Ticket, TicketAttachment, TicketCategory
from guanxi.service.services import ticket_create
from guanxi.transfer.models import ImportJob
from tests.customers.conftest import make_contact, make_customer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
PDF = b"%PDF-1.7\n" + b"1" * 64


def png(name: str = "现场照片.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, "image/png")


def pdf(name: str = "纪要.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, "application/pdf")


def later() -> dt.datetime:
    """After the default thirty days in the bin."""
    return timezone.now() + dt.timedelta(days=31)


def stored(names: list[str]) -> list[bool]:
    return [default_storage.exists(name) for name in names]


def ticket_with_files(org: Any, customer: Customer) -> Ticket:
    contact = make_contact(customer, "林晓峰", email="lin@example.com")
    return ticket_create(
        actor=org.agent,
        customer=customer,
        category=TicketCategory.objects.get(code="product_quality"),
        subject="设备异响",
        description="主轴运行时有异响。",
        contact=contact,
        attachments=[png(), pdf("发票.pdf")],
    )


def interaction_with_files(org: Any, customer: Customer) -> Interaction:
    return interaction_create(
        actor=org.rep,
        customer=customer,
        channel="visit",
        content="拜访采购部，介绍新方案。",
        attachments=[pdf(), png()],
        # Two visits in a row are beyond the default policy; these tests are about files.
        allow_over_contact=True,
    )


def file_names(rows: Any) -> list[str]:
    return sorted(row.file.name for row in rows)


def purge_entries(obj: Any) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.PURGE,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
        )
    )


# --- what a purge deletes, its files go with it -------------------------------------------------


def test_purging_a_ticket_deletes_its_attachments_files_once_committed(
    org, django_capture_on_commit_callbacks
):
    # given a ticket with two attachments, in the recycle bin
    ticket = ticket_with_files(org, make_customer(org.rep, "深圳市华南精密机械有限公司"))
    names = file_names(ticket.attachments.all())
    assert len(names) == 2 and stored(names) == [True, True]
    object_soft_delete(instance=ticket, actor=org.admin)
    # when the purge runs
    with django_capture_on_commit_callbacks(execute=True):
        purged = recycle_bin_purge(now=later())
        # then nothing leaves storage before the transaction commits
        assert stored(names) == [True, True]
    # and after it, the rows and their files are gone
    assert purged == 1
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert not TicketAttachment.objects.filter(ticket_id=ticket.pk).exists()
    assert stored(names) == [False, False]
    # and the purge is audited as before
    (entry,) = purge_entries(ticket)
    assert entry.actor is None and entry.changes["subject"] == {"before": "设备异响", "after": None}


def test_purging_an_interaction_deletes_its_attachments_files(
    org, django_capture_on_commit_callbacks
):
    # given an interaction with two attachments moved to the recycle bin, and a live one
    customer = make_customer(org.rep, "华为技术有限公司")
    interaction = interaction_with_files(org, customer)
    kept = interaction_with_files(org, customer)
    names = file_names(interaction.attachments.all())
    kept_names = file_names(kept.attachments.all())
    interaction_delete(actor=org.rep, interaction=interaction)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert recycle_bin_purge(now=later()) == 1
    # then its files are gone; the live interaction keeps its own
    assert not InteractionAttachment.objects.filter(interaction_id=interaction.pk).exists()
    assert stored(names) == [False, False]
    assert stored(kept_names) == [True, True]
    assert file_names(kept.attachments.all()) == kept_names
    assert len(purge_entries(interaction)) == 1


def test_purging_a_customer_deletes_the_files_of_the_interactions_it_takes_along(
    org, django_capture_on_commit_callbacks
):
    # given a customer in the recycle bin whose (live) interaction has attachments: the purge
    # cascades to the interaction and its attachments
    customer = make_customer(org.rep, "腾讯科技有限公司")
    interaction = interaction_with_files(org, customer)
    names = file_names(interaction.attachments.all())
    customer_delete(actor=org.rep, customer=customer)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert recycle_bin_purge(now=later()) == 1
    # then
    assert not Interaction.all_objects.filter(pk=interaction.pk).exists()
    assert stored(names) == [False, False]
    assert len(purge_entries(customer)) == 1


# --- what a purge does not delete keeps its files ----------------------------------------------


def test_a_rolled_back_purge_deletes_no_file(org, django_capture_on_commit_callbacks):
    # given a ticket with attachments in the recycle bin
    ticket = ticket_with_files(org, make_customer(org.rep, "深圳市华南精密机械有限公司"))
    names = file_names(ticket.attachments.all())
    object_soft_delete(instance=ticket, actor=org.admin)
    # when the purge runs in a transaction that is then rolled back
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert recycle_bin_purge(now=later()) == 1
        raise RuntimeError("rolled back")
    # then the ticket, its attachments and their files are all still there
    assert callbacks == []
    assert Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert file_names(TicketAttachment.objects.filter(ticket_id=ticket.pk)) == names
    assert stored(names) == [True, True]
    assert purge_entries(ticket) == []


def test_a_customer_kept_because_still_referenced_keeps_every_file(
    org, django_capture_on_commit_callbacks
):
    # given a customer in the recycle bin with an interaction (which a purge would take along)
    # and a live ticket (which refuses the purge)
    customer = make_customer(org.rep, "阿里巴巴有限公司")
    interaction = interaction_with_files(org, customer)
    ticket = ticket_with_files(org, customer)
    names = file_names(interaction.attachments.all()) + file_names(ticket.attachments.all())
    customer_delete(actor=org.rep, customer=customer)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        purged = recycle_bin_purge(now=later())
    # then the customer stays in the bin, with its interaction, attachments and files
    assert purged == 0 and callbacks == []
    assert Customer.all_objects.filter(pk=customer.pk, deleted_at__isnull=False).exists()
    assert InteractionAttachment.objects.filter(interaction=interaction).count() == 2
    assert stored(names) == [True, True, True, True]
    assert purge_entries(customer) == []


# --- storage trouble ---------------------------------------------------------------------------


def test_a_file_storage_cannot_delete_is_logged_and_the_purge_goes_on(
    org, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    # given a ticket with two attachments in the bin, and a storage that fails on one of them
    ticket = ticket_with_files(org, make_customer(org.rep, "深圳市华南精密机械有限公司"))
    stuck, other = file_names(ticket.attachments.all())
    object_soft_delete(instance=ticket, actor=org.admin)
    delete = FileSystemStorage.delete

    def failing_delete(self: FileSystemStorage, name: str) -> None:
        if name == stuck:
            raise OSError("disk is read-only")
        delete(self, name)

    monkeypatch.setattr(FileSystemStorage, "delete", failing_delete)
    # when
    with (
        caplog.at_level(logging.ERROR, logger="guanxi.core.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        purged = recycle_bin_purge(now=later())
    # then the purge stands, the other file is gone, and the stuck one is in the log
    assert purged == 1 and not Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert stored([stuck, other]) == [True, False]
    assert any(stuck in record.getMessage() for record in caplog.records)
    assert len(purge_entries(ticket)) == 1


# --- the helper with rows the deletion loads ---------------------------------------------------


def test_hard_delete_takes_the_files_of_loaded_rows_too(org, django_capture_on_commit_callbacks):
    # given a user with an import job (a row with rows of its own, so the deletion loads it
    # rather than deleting it by query) holding a file and an error report
    user = UserFactory(username="leaver")
    job = ImportJob(user=user, kind="customers", file_name="客户.csv", file_format="csv")
    job.file.save("客户.csv", ContentFile(b"name\n"), save=False)
    job.error_file.save("errors.csv", ContentFile(b"row,reason\n"), save=False)
    job.save()
    names = sorted([job.file.name, job.error_file.name])
    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        object_hard_delete(instance=user)
        # the files stay until the transaction commits
        assert stored(names) == [True, True]
    # then
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert stored(names) == [False, False]
