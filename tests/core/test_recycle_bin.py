"""The recycle bin: who sees what, restore over HTML and the API (denied paths change nothing), and
the purge after GUANXI_RECYCLE_DAYS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.accounts.models import Department
from guanxi.accounts.services import department_create, department_delete
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from guanxi.core.selectors import recycle_bin_list
from guanxi.core.services import object_restore, object_soft_delete, recycle_bin_purge
from tests.conftest import ApiClient, login_client
from tests.core.conftest import ROLES

pytestmark = pytest.mark.django_db


def _state(department):
    row = Department.all_objects.get(pk=department.pk)
    return row.deleted_at, row.deleted_by_id, row.version


# --- listing ---------------------------------------------------------------------------------


def test_deleted_records_leave_the_default_manager_and_enter_the_bin(org, make_deleted_department):
    department = make_deleted_department(org.admin, name="已删部门")
    assert not Department.objects.filter(pk=department.pk).exists()
    assert Department.all_objects.filter(pk=department.pk, deleted_at__isnull=False).exists()
    assert [item.instance.pk for item in recycle_bin_list(actor=org.admin)] == [department.pk]


def test_administrator_sees_everything_others_only_what_they_deleted(org, make_deleted_department):
    # given one department deleted by the admin and one by the manager
    by_admin = make_deleted_department(org.admin, name="管理员删的")
    by_manager = make_deleted_department(org.manager, name="经理删的")
    # then
    assert {i.instance.pk for i in recycle_bin_list(actor=org.admin)} == {
        by_admin.pk,
        by_manager.pk,
    }
    assert {i.instance.pk for i in recycle_bin_list(actor=org.manager)} == {by_manager.pk}
    for user in (org.rep, org.analyst, org.agent, org.kam, org.handler):
        assert recycle_bin_list(actor=user) == []


def test_bin_lists_newest_first_with_the_purge_date(org, make_deleted_department, settings):
    settings.GUANXI_RECYCLE_DAYS = 7
    older = make_deleted_department(org.admin)
    newer = make_deleted_department(org.admin)
    items = recycle_bin_list(actor=org.admin)
    assert [i.instance.pk for i in items] == [newer.pk, older.pk]
    assert items[0].purge_at == items[0].instance.deleted_at + dt.timedelta(days=7)
    assert items[0].object_type == "accounts.department"


def test_html_list_shows_own_deletions_and_hides_others(org, make_deleted_department):
    make_deleted_department(org.admin, name="管理员删的")
    make_deleted_department(org.manager, name="经理删的")
    admin_page = login_client(org.admin).get("/recycle-bin/").content.decode()
    manager_page = login_client(org.manager).get("/recycle-bin/").content.decode()
    rep_page = login_client(org.rep).get("/recycle-bin/").content.decode()
    assert "管理员删的" in admin_page and "经理删的" in admin_page
    assert "经理删的" in manager_page and "管理员删的" not in manager_page
    assert "管理员删的" not in rep_page and "经理删的" not in rep_page


def test_html_list_needs_a_login(client):
    response = client.get("/recycle-bin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_api_list_follows_the_same_rule(org, make_deleted_department):
    by_admin = make_deleted_department(org.admin)
    by_manager = make_deleted_department(org.manager)
    admin_ids = {i["id"] for i in ApiClient(org.admin).get("/api/v1/recycle-bin").json()}
    manager_ids = {i["id"] for i in ApiClient(org.manager).get("/api/v1/recycle-bin").json()}
    assert admin_ids == {by_admin.pk, by_manager.pk}
    assert manager_ids == {by_manager.pk}
    assert ApiClient(org.rep).get("/api/v1/recycle-bin").json() == []
    assert ApiClient(None).get("/api/v1/recycle-bin").status_code == 401


# --- restore ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_html_restore_of_an_admins_deletion_is_for_administrators_only(
    org, make_deleted_department, role
):
    # given
    department = make_deleted_department(org.admin)
    before = _state(department)
    user = org.by_role()[role]
    # when
    response = login_client(user).post(f"/recycle-bin/accounts.department/{department.pk}/restore/")
    # then
    if role == "administrator":
        assert response.status_code == 302
        assert Department.objects.filter(pk=department.pk).exists()
        assert (
            AuditEntry.objects.filter(action="restore", object_id=str(department.pk)).count() == 1
        )
    else:
        assert response.status_code == 404
        assert _state(department) == before
        assert not AuditEntry.objects.filter(action="restore").exists()


@pytest.mark.parametrize("role", ROLES)
def test_api_restore_of_an_admins_deletion_is_for_administrators_only(
    org, make_deleted_department, role
):
    department = make_deleted_department(org.admin)
    before = _state(department)
    response = ApiClient(org.by_role()[role]).post(
        f"/api/v1/recycle-bin/accounts.department/{department.pk}/restore"
    )
    if role == "administrator":
        assert response.status_code == 200
        assert response.json() == {
            "object_type": "accounts.department",
            "id": department.pk,
            "label": department.name,
        }
        assert _state(department)[0] is None
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert _state(department) == before
        assert not AuditEntry.objects.filter(action="restore").exists()


def test_anonymous_restore_changes_nothing(org, make_deleted_department, client):
    department = make_deleted_department(org.admin)
    before = _state(department)
    html = client.post(f"/recycle-bin/accounts.department/{department.pk}/restore/")
    api = client.post(f"/api/v1/recycle-bin/accounts.department/{department.pk}/restore")
    assert html.status_code == 302 and html["Location"].startswith("/accounts/login/")
    assert api.status_code == 401
    assert _state(department) == before


def test_a_user_restores_what_they_deleted_themself(org, make_deleted_department):
    department = make_deleted_department(org.manager)
    response = ApiClient(org.manager).post(
        f"/api/v1/recycle-bin/accounts.department/{department.pk}/restore"
    )
    assert response.status_code == 200
    assert Department.objects.filter(pk=department.pk).exists()


def test_html_restore_needs_post(org, make_deleted_department):
    department = make_deleted_department(org.admin)
    before = _state(department)
    response = login_client(org.admin).get(
        f"/recycle-bin/accounts.department/{department.pk}/restore/"
    )
    assert response.status_code == 405
    assert _state(department) == before


@pytest.mark.parametrize(
    "path",
    [
        "accounts.department/{live}",  # not deleted
        "accounts.department/999999",  # no such row
        "accounts.user/{user}",  # not a recyclable model
        "core.auditentry/1",  # not a recyclable model
        "nosuch.model/1",
        "accounts/1",
    ],
)
def test_restore_of_anything_not_in_the_bin_is_404(org, path):
    live = department_create(actor=org.admin, name="活的", code="alive", parent=org.hq)
    url = "/api/v1/recycle-bin/" + path.format(live=live.pk, user=org.rep.pk) + "/restore"
    client = ApiClient(org.admin)
    count = AuditEntry.objects.count()
    response = client.post(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert AuditEntry.objects.count() == count


def test_restore_under_a_deleted_parent_is_refused_until_the_parent_is_back(
    org, make_deleted_department
):
    # given a parent and its child, both in the bin (child first, as the service requires)
    parent = department_create(actor=org.admin, name="上级", code="upper", parent=org.hq)
    child = department_create(actor=org.admin, name="下级", code="lower", parent=parent)
    department_delete(actor=org.admin, department=child)
    department_delete(actor=org.admin, department=parent)
    before = _state(child)
    # when the child is restored first
    response = ApiClient(org.admin).post(
        f"/api/v1/recycle-bin/accounts.department/{child.pk}/restore"
    )
    # then it is refused with a reason and nothing changed
    assert response.status_code == 400
    assert response.json()["code"] == "owner_deleted"
    assert "上级" in response.json()["message"]
    assert _state(child) == before
    # and after the parent is back the child can follow
    assert (
        ApiClient(org.admin)
        .post(f"/api/v1/recycle-bin/accounts.department/{parent.pk}/restore")
        .status_code
        == 200
    )
    assert (
        ApiClient(org.admin)
        .post(f"/api/v1/recycle-bin/accounts.department/{child.pk}/restore")
        .status_code
        == 200
    )


def test_html_restore_refusal_is_shown_as_a_message(org):
    parent = department_create(actor=org.admin, name="上级", code="upper", parent=org.hq)
    child = department_create(actor=org.admin, name="下级", code="lower", parent=parent)
    department_delete(actor=org.admin, department=child)
    department_delete(actor=org.admin, department=parent)
    response = login_client(org.admin).post(
        f"/recycle-bin/accounts.department/{child.pk}/restore/", follow=True
    )
    assert response.status_code == 200
    assert "上级" in response.content.decode()
    assert Department.all_objects.get(pk=child.pk).deleted_at is not None


def test_double_delete_and_double_restore_are_refused(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    object_soft_delete(instance=department, actor=org.admin)
    with pytest.raises(ApplicationError) as deleted_twice:
        object_soft_delete(instance=department, actor=org.admin)
    assert deleted_twice.value.code == "already_deleted"
    object_restore(instance=department, actor=org.admin)
    with pytest.raises(ApplicationError) as restored_twice:
        object_restore(instance=department, actor=org.admin)
    assert restored_twice.value.code == "not_deleted"
    assert AuditEntry.objects.filter(object_id=str(department.pk), action="delete").count() == 1
    assert AuditEntry.objects.filter(object_id=str(department.pk), action="restore").count() == 1


def test_stale_copy_cannot_delete_a_second_time(org):
    # given two copies of one department, the first already deleted through the other
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    stale = Department.objects.get(pk=department.pk)
    object_soft_delete(instance=department, actor=org.admin)
    # when the stale copy (which still looks alive) is deleted
    with pytest.raises(ApplicationError):
        object_soft_delete(instance=stale, actor=org.manager)
    # then the first deletion stands and is the only one recorded
    assert Department.all_objects.get(pk=department.pk).deleted_by_id == org.admin.pk
    assert AuditEntry.objects.filter(object_id=str(department.pk), action="delete").count() == 1


# --- purge -----------------------------------------------------------------------------------


def test_purge_removes_only_what_outlived_the_default_thirty_days(org, make_deleted_department):
    # given two deletions, one 31 days ago and one 29 days ago
    now = timezone.now()
    old = make_deleted_department(org.admin, name="旧")
    recent = make_deleted_department(org.admin, name="新")
    Department.all_objects.filter(pk=old.pk).update(deleted_at=now - dt.timedelta(days=31))
    Department.all_objects.filter(pk=recent.pk).update(deleted_at=now - dt.timedelta(days=29))
    # when
    purged = recycle_bin_purge(now=now)
    # then
    assert purged == 1
    assert not Department.all_objects.filter(pk=old.pk).exists()
    assert Department.all_objects.filter(pk=recent.pk).exists()
    (entry,) = AuditEntry.objects.filter(action="purge")
    assert entry.object_id == str(old.pk)


def test_purge_window_comes_from_settings(org, make_deleted_department, settings):
    settings.GUANXI_RECYCLE_DAYS = 3
    department = make_deleted_department(org.admin)
    assert recycle_bin_purge(now=timezone.now() + dt.timedelta(days=2)) == 0
    assert recycle_bin_purge(now=timezone.now() + dt.timedelta(days=4)) == 1
    assert not Department.all_objects.filter(pk=department.pk).exists()


def test_purge_is_idempotent(org, make_deleted_department):
    make_deleted_department(org.admin)
    later = timezone.now() + dt.timedelta(days=31)
    assert recycle_bin_purge(now=later) == 1
    entries = AuditEntry.objects.count()
    assert recycle_bin_purge(now=later) == 0
    assert AuditEntry.objects.count() == entries


def test_purge_keeps_records_still_referenced_and_writes_no_entry_for_them(org):
    # given a deleted department that an inactive user still belongs to (PROTECT)
    department = department_create(actor=org.admin, name="有人", code="occupied", parent=org.hq)
    org.outsider.department = department
    org.outsider.is_active = False
    org.outsider.save(update_fields=["department", "is_active"])
    department_delete(actor=org.admin, department=department)
    # when
    purged = recycle_bin_purge(now=timezone.now() + dt.timedelta(days=31))
    # then
    assert purged == 0
    assert Department.all_objects.filter(pk=department.pk).exists()
    assert not AuditEntry.objects.filter(action="purge").exists()


def test_purge_takes_a_deleted_subtree_in_one_run(org):
    # given a parent and child both long in the bin (the child protects the parent)
    parent = department_create(actor=org.admin, name="上级", code="upper", parent=org.hq)
    child = department_create(actor=org.admin, name="下级", code="lower", parent=parent)
    department_delete(actor=org.admin, department=child)
    department_delete(actor=org.admin, department=parent)
    # when
    purged = recycle_bin_purge(now=timezone.now() + dt.timedelta(days=31))
    # then
    assert purged == 2
    assert not Department.all_objects.filter(pk__in=[parent.pk, child.pk]).exists()
    assert AuditEntry.objects.filter(action="purge").count() == 2


def test_purge_leaves_live_records_alone(org):
    count = Department.all_objects.count()
    assert recycle_bin_purge(now=timezone.now() + dt.timedelta(days=3650)) == 0
    assert Department.all_objects.count() == count


def test_html_list_query_count_does_not_grow_with_the_bin(org, make_deleted_department):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login_client(org.admin)
    make_deleted_department(org.admin)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/recycle-bin/").status_code == 200
        return len(captured)

    few = count()
    for actor in (org.manager, org.admin, org.manager, org.admin, org.admin):
        make_deleted_department(actor)
    assert count() == few


def test_a_unique_value_kept_by_a_deleted_record_is_a_field_error_not_a_crash(org):
    # given a department in the recycle bin that still holds its code
    from django.core.exceptions import ValidationError

    from guanxi.accounts.models import Department
    from guanxi.accounts.services import department_create, department_delete

    gone = department_create(actor=org.admin, name="旧部门", code="old-dept", parent=org.hq)
    department_delete(actor=org.admin, department=gone)
    before = Department.all_objects.count()

    # when someone creates a new department with the same code
    with pytest.raises(ValidationError) as caught:
        department_create(actor=org.admin, name="新部门", code="old-dept", parent=org.hq)

    # then the code field carries a clear message and nothing was written
    codes = [error.code for error in caught.value.error_dict["code"]]
    assert codes == ["unique_deleted"]
    assert Department.all_objects.count() == before
