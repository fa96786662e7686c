"""The audit trail: what each write records, where the client address comes from, and that the
database itself refuses to change or remove an entry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from guanxi.accounts.services import department_create, department_delete
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_update, object_restore, recycle_bin_purge
from tests.conftest import ApiClient, login_client
from tests.core.conftest import audit_rows

pytestmark = pytest.mark.django_db


def test_create_records_actor_utc_time_and_every_tracked_value(org):
    # given
    started = timezone.now()
    # when
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    # then
    (entry,) = audit_rows(object_type="accounts.department", object_id=str(department.pk))
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor_id == org.admin.pk
    assert entry.actor_label == "admin"
    assert entry.object_label == "华南组"
    assert entry.changes == {
        "name": {"before": None, "after": "华南组"},
        "code": {"before": None, "after": "south"},
        "parent": {"before": None, "after": org.sales.pk},
    }
    assert entry.occurred_at.utcoffset() == dt.timedelta(0)
    assert started <= entry.occurred_at <= timezone.now()


def test_time_is_stored_in_utc_not_local_time(org):
    # given a deployment in Asia/Shanghai (UTC+8)
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    entry = AuditEntry.objects.get(object_type="accounts.department", object_id=str(department.pk))
    # when the raw column is read back without Django's conversion
    with connection.cursor() as cursor:
        cursor.execute("SELECT occurred_at FROM core_auditentry WHERE id = %s", [entry.pk])
        (raw,) = cursor.fetchone()
    # then it holds the UTC wall-clock time, eight hours behind Shanghai
    if isinstance(raw, str):  # SQLite returns text
        raw = dt.datetime.fromisoformat(raw)
    assert raw.replace(tzinfo=None) == entry.occurred_at.astimezone(dt.UTC).replace(tzinfo=None)


def test_update_records_only_changed_fields_with_before_and_after(org):
    # given
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    # when the name changes and the code is sent unchanged
    model_update(instance=department, data={"name": "华南大区", "code": "south"}, actor=org.manager)
    # then one update entry names the changed field only
    (entry,) = audit_rows(action=AuditEntry.Action.UPDATE, object_id=str(department.pk))
    assert entry.actor_id == org.manager.pk
    assert entry.changes == {"name": {"before": "华南组", "after": "华南大区"}}


def test_update_of_a_foreign_key_records_ids(org):
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    model_update(instance=department, data={"parent": org.service}, actor=org.admin)
    (entry,) = audit_rows(action=AuditEntry.Action.UPDATE, object_id=str(department.pk))
    assert entry.changes == {"parent": {"before": org.sales.pk, "after": org.service.pk}}


def test_update_that_changes_nothing_writes_no_entry(org):
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    before = AuditEntry.objects.count()
    model_update(instance=department, data={"name": "华南组"}, actor=org.admin)
    assert AuditEntry.objects.count() == before


def test_soft_delete_and_restore_are_recorded_with_their_actor(org):
    # given
    department = department_create(actor=org.admin, name="华南组", code="south", parent=org.sales)
    # when
    department_delete(actor=org.manager, department=department)
    object_restore(instance=department, actor=org.admin)
    # then
    entries = audit_rows(object_type="accounts.department", object_id=str(department.pk))
    assert [(e.action, e.actor_id) for e in entries] == [
        (AuditEntry.Action.CREATE, org.admin.pk),
        (AuditEntry.Action.DELETE, org.manager.pk),
        (AuditEntry.Action.RESTORE, org.admin.pk),
    ]


def test_purge_is_recorded_by_the_system_with_the_last_values(org, make_deleted_department):
    # given a department deleted 31 days ago
    department = make_deleted_department(org.admin, name="旧部门")
    # when
    recycle_bin_purge(now=timezone.now() + dt.timedelta(days=31))
    # then
    (entry,) = audit_rows(action=AuditEntry.Action.PURGE)
    assert entry.actor_id is None
    assert entry.actor_label == "system"
    assert entry.object_id == str(department.pk)
    assert entry.object_label == "旧部门"
    assert entry.changes["name"] == {"before": "旧部门", "after": None}


def test_client_ip_comes_from_remote_addr_through_the_middleware(org):
    # given
    client = ApiClient(org.admin)
    # when a department is created over the API from 203.0.113.7
    response = client.client.post(
        "/api/v1/departments",
        {"name": "华南组", "code": "south", "parent_id": org.sales.pk},
        content_type="application/json",
        headers=client.headers,
        REMOTE_ADDR="203.0.113.7",
    )
    # then
    assert response.status_code == 201
    entry = AuditEntry.objects.get(
        action=AuditEntry.Action.CREATE, object_id=str(response.json()["id"])
    )
    assert entry.ip_address == "203.0.113.7"
    assert entry.actor_id == org.admin.pk


def test_html_restore_records_the_client_ip(org, make_deleted_department):
    department = make_deleted_department(org.admin)
    response = login_client(org.admin).post(
        f"/recycle-bin/accounts.department/{department.pk}/restore/", REMOTE_ADDR="2001:db8::5"
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.RESTORE, object_id=str(department.pk))
    assert entry.ip_address == "2001:db8::5"


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(org, settings):
    client = login_client(org.admin)
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    department_delete(actor=org.admin, department=department)
    # when a client claims another address without a trusted proxy
    client.post(
        f"/recycle-bin/accounts.department/{department.pk}/restore/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    # then the socket address is recorded
    assert (
        AuditEntry.objects.get(action="restore", object_id=str(department.pk)).ip_address
        == "10.0.0.2"
    )

    # given one trusted reverse proxy that appends the real client address
    settings.GUANXI_TRUSTED_PROXY_COUNT = 1
    department.refresh_from_db()
    department_delete(actor=org.admin, department=department)
    client.post(
        f"/recycle-bin/accounts.department/{department.pk}/restore/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.50",
    )
    latest = AuditEntry.objects.filter(action="restore", object_id=str(department.pk)).order_by(
        "-id"
    )[0]
    assert latest.ip_address == "203.0.113.50"


def test_writes_outside_a_request_have_no_ip(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    assert AuditEntry.objects.get(object_id=str(department.pk), action="create").ip_address is None


# --- append-only, enforced by the database ---------------------------------------------------


@pytest.fixture
def entry(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    return AuditEntry.objects.get(object_id=str(department.pk), action="create")


def _unchanged(entry):
    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert (fresh.note, fresh.actor_label, fresh.changes) == (
        entry.note,
        entry.actor_label,
        entry.changes,
    )


def test_orm_save_of_an_existing_entry_is_refused(entry):
    entry.note = "rewritten"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()
    entry.note = ""
    _unchanged(entry)


def test_orm_queryset_update_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="someone else")
    _unchanged(entry)


def test_orm_delete_of_one_entry_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.get(pk=entry.pk).delete()
    _unchanged(entry)


def test_orm_bulk_delete_is_refused(entry):
    count = AuditEntry.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == count


def test_raw_sql_update_is_refused(entry):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET note = 'rewritten'")
    _unchanged(entry)


def test_raw_sql_delete_is_refused(entry):
    count = AuditEntry.objects.count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.count() == count


def test_new_entries_can_still_be_appended(entry):
    AuditEntry.objects.create(action=AuditEntry.Action.ACTION, object_type="core.test", note="more")
    assert AuditEntry.objects.filter(note="more").exists()


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(postgresql, entry):
    count = AuditEntry.objects.count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE core_auditentry")
    assert AuditEntry.objects.count() == count


@pytest.mark.parametrize("forged", ["unknown", "1.2.3.4.5", "<script>", "::zz"])
def test_a_forged_forwarded_address_is_not_recorded_and_breaks_nothing(org, settings, forged):
    # given two trusted proxies but a request that came through only one, so the left-most
    # (client-written) value is taken
    settings.GUANXI_TRUSTED_PROXY_COUNT = 2
    client = ApiClient(org.admin)
    # when
    response = client.client.post(
        "/api/v1/departments",
        {"name": "华南组", "code": "south", "parent_id": org.sales.pk},
        content_type="application/json",
        headers=client.headers,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"{forged}, 10.0.0.1",
    )
    # then the write succeeded and no address was made up
    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="create", object_id=str(response.json()["id"]))
    assert entry.ip_address is None
