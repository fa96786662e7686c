"""The department tree: materialised path and depth on create and move, soft delete."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import Department, User
from guanxi.accounts.services import department_create, department_delete, department_update
from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from guanxi.core.services import object_restore
from tests.accounts.conftest import db_state
from tests.conftest import ApiClient, Org, login_client
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def fresh(department: Department) -> Department:
    return Department.all_objects.get(pk=department.pk)


def test_create_computes_path_and_depth(org: Org) -> None:
    # given the tree 总部 / 销售部 / 华东组
    assert org.hq.path == f"{org.hq.pk}/" and org.hq.depth == 0
    assert org.sales.path == f"{org.hq.pk}/{org.sales.pk}/" and org.sales.depth == 1
    # when a team is created under 华东组
    team = department_create(actor=org.admin, name="上海小组", code="shanghai", parent=org.east)
    # then its path extends its parent's, in the database too
    assert fresh(team).path == f"{org.east.path}{team.pk}/"
    assert fresh(team).depth == 3


def test_create_through_the_api_returns_the_tree_position(org: Org) -> None:
    response = ApiClient(org.admin).post(
        "/api/v1/departments", {"name": "西南组", "code": "southwest", "parent_id": org.sales.pk}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["path"] == f"{org.sales.path}{body['id']}/"
    assert body["depth"] == 2 and body["parent_id"] == org.sales.pk


def test_create_through_the_form(org: Org) -> None:
    response = login_client(org.admin).post(
        "/accounts/departments/new/",
        {"name": "西南组", "code": "southwest", "parent": org.sales.pk},
    )
    assert response.status_code == 302
    created = Department.objects.get(code="southwest")
    assert created.parent == org.sales and created.path == f"{org.sales.path}{created.pk}/"
    assert AuditEntry.objects.filter(
        object_type="accounts.department", object_id=str(created.pk), action="create"
    ).exists()


def test_moving_a_department_re_roots_its_whole_subtree(org: Org) -> None:
    # given 销售部 with 华东组 (with a team below) and 华北组
    team = DepartmentFactory(name="上海小组", code="shanghai", parent=org.east)
    # when 销售部 moves under 客服中心
    moved = department_update(actor=org.admin, department=org.sales, data={"parent": org.service})
    # then every node below follows, with its depth
    base = f"{org.service.path}{org.sales.pk}/"
    assert moved.path == base and moved.depth == 2
    assert fresh(org.sales).path == base
    assert fresh(org.east).path == f"{base}{org.east.pk}/" and fresh(org.east).depth == 3
    assert fresh(org.north).path == f"{base}{org.north.pk}/" and fresh(org.north).depth == 3
    assert fresh(team).path == f"{base}{org.east.pk}/{team.pk}/" and fresh(team).depth == 4
    # and nodes outside the subtree are untouched
    assert fresh(org.service).path == f"{org.hq.pk}/{org.service.pk}/"


def test_moving_to_the_root_through_the_api(org: Org) -> None:
    response = ApiClient(org.admin).patch(
        f"/api/v1/departments/{org.sales.pk}", {"version": org.sales.version, "parent_id": None}
    )
    assert response.status_code == 200
    assert response.json()["path"] == f"{org.sales.pk}/" and response.json()["depth"] == 0
    assert fresh(org.east).path == f"{org.sales.pk}/{org.east.pk}/" and fresh(org.east).depth == 1


def test_moving_through_the_form(org: Org) -> None:
    response = login_client(org.admin).post(
        f"/accounts/departments/{org.north.pk}/",
        {"name": "华北组", "code": "north", "parent": org.east.pk, "version": org.north.version},
    )
    assert response.status_code == 302
    assert fresh(org.north).path == f"{org.east.path}{org.north.pk}/"
    assert fresh(org.north).depth == 3


def test_the_edit_form_does_not_offer_the_subtree_as_parent(org: Org) -> None:
    response = login_client(org.admin).get(f"/accounts/departments/{org.sales.pk}/")
    offered = set(response.context["form"].fields["parent"].queryset)
    assert org.sales not in offered and org.east not in offered and org.north not in offered
    assert org.hq in offered and org.service in offered


def test_moving_keeps_the_sales_manager_scope_in_step(org: Org) -> None:
    # given 华北组 moves out of 销售部 to 客服中心
    department_update(actor=org.admin, department=org.north, data={"parent": org.service})
    # then the sales manager no longer sees rep2
    names = {u["username"] for u in ApiClient(org.manager).get("/api/v1/users").json()["items"]}
    assert "rep2" not in names and "rep1" in names


def test_rename_keeps_the_path(org: Org) -> None:
    renamed = department_update(actor=org.admin, department=org.east, data={"name": "华东大区"})
    assert renamed.path == org.east.path
    assert fresh(org.east).name == "华东大区" and fresh(org.east).version == 2


def test_a_similar_path_prefix_is_not_mistaken_for_a_child(org: Org) -> None:
    # given a department whose id starts with the digits of 销售部's id ("1/2/" vs "1/27/"); the
    # id is chosen far ahead of the sequence, which this test never reaches
    lookalike_id = int(f"{org.sales.pk}7")
    lookalike = Department.all_objects.create(
        pk=lookalike_id,
        name="相似",
        code="lookalike",
        parent=org.hq,
        path=f"{org.hq.pk}/{lookalike_id}/",
        depth=1,
    )
    # when 销售部 moves under the lookalike
    department_update(actor=org.admin, department=org.sales, data={"parent": lookalike})
    # then the lookalike itself stays where it was
    assert fresh(lookalike).path == f"{org.hq.pk}/{lookalike.pk}/"


def test_soft_delete_moves_the_department_to_the_recycle_bin(org: Org) -> None:
    # given an empty department
    empty = DepartmentFactory(name="临时组", code="temporary", parent=org.hq)
    # when the administrator deletes it through the page
    response = login_client(org.admin).post(f"/accounts/departments/{empty.pk}/delete/")
    # then it is hidden from lists but kept, with who deleted it
    assert response.status_code == 302
    assert not Department.objects.filter(pk=empty.pk).exists()
    kept = fresh(empty)
    assert kept.deleted_at is not None and kept.deleted_by_id == org.admin.pk
    assert empty.pk not in [d["id"] for d in ApiClient(org.admin).get("/api/v1/departments").json()]
    # and it is listed in the recycle bin
    bin_items = ApiClient(org.admin).get("/api/v1/recycle-bin").json()
    assert any(i["object_type"] == "accounts.department" and i["id"] == empty.pk for i in bin_items)
    assert AuditEntry.objects.filter(
        object_type="accounts.department", object_id=str(empty.pk), action="delete"
    ).exists()


def test_a_deleted_department_can_be_restored(org: Org) -> None:
    empty = DepartmentFactory(name="临时组", code="temporary", parent=org.hq)
    department_delete(actor=org.admin, department=empty)
    object_restore(instance=fresh(empty), actor=org.admin)
    assert Department.objects.filter(pk=empty.pk).exists()


def test_a_deleted_department_cannot_be_edited_or_deleted_again(org: Org) -> None:
    empty = DepartmentFactory(name="临时组", code="temporary", parent=org.hq)
    department_delete(actor=org.admin, department=empty)
    api = ApiClient(org.admin)
    before = db_state()
    assert (
        api.patch(f"/api/v1/departments/{empty.pk}", {"version": 2, "name": "x"}).status_code == 404
    )
    assert api.delete(f"/api/v1/departments/{empty.pk}").status_code == 404
    assert db_state() == before


def test_a_deleted_department_cannot_be_a_parent(org: Org) -> None:
    empty = DepartmentFactory(name="临时组", code="temporary", parent=org.hq)
    department_delete(actor=org.admin, department=empty)
    api = ApiClient(org.admin)
    before = db_state()
    response = api.post(
        "/api/v1/departments", {"name": "子组", "code": "child", "parent_id": empty.pk}
    )
    assert response.status_code == 422
    response = api.patch(
        f"/api/v1/departments/{org.north.pk}", {"version": 1, "parent_id": empty.pk}
    )
    assert response.status_code == 422
    assert db_state() == before
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        department_update(actor=org.admin, department=org.north, data={"parent": fresh(empty)})
    with pytest.raises(ValidationError):
        department_create(actor=org.admin, name="子组", code="child", parent=fresh(empty))
    assert db_state() == before


def test_the_code_of_a_deleted_department_stays_taken(org: Org) -> None:
    # the code is unique across the recycle bin too, so restoring can never collide
    empty = DepartmentFactory(name="临时组", code="temporary", parent=org.hq)
    department_delete(actor=org.admin, department=empty)
    response = ApiClient(org.admin).post(
        "/api/v1/departments", {"name": "新临时组", "code": "temporary"}
    )
    assert response.status_code == 422
    assert "code" in response.json()["fields"]


def test_department_delete_service_refusals_carry_codes(org: Org) -> None:
    with pytest.raises(ApplicationError) as members:
        department_delete(actor=org.admin, department=org.east)
    assert members.value.code == "department_has_members"


def test_department_list_shows_active_member_counts(org: Org) -> None:
    response = login_client(org.rep).get("/accounts/departments/")
    counts = {d.code: d.member_count for d in response.context["departments"]}
    assert counts["sales"] == 2 and counts["east"] == 1 and counts["overseas"] == 1
    # in tree order: each parent before its children
    order = [d.code for d in response.context["departments"]]
    assert order.index("hq") < order.index("sales") < order.index("east")
    assert response.context["can_manage"] is False


def test_moving_with_a_stale_copy_uses_the_current_tree(org: Org) -> None:
    # given a copy of 华东组 read before its parent moved (moving a parent does not bump the
    # children's versions, so the copy is not "stale" by version)
    team = DepartmentFactory(name="上海小组", code="shanghai", parent=org.east)
    copy_of_east = Department.objects.get(pk=org.east.pk)
    department_update(actor=org.admin, department=org.sales, data={"parent": org.service})
    # when the copy is used to move 华东组 directly under 总部
    department_update(actor=org.admin, department=copy_of_east, data={"parent": org.hq})
    # then the team below follows to the right place
    assert fresh(org.east).path == f"{org.hq.pk}/{org.east.pk}/"
    assert fresh(team).path == f"{org.hq.pk}/{org.east.pk}/{team.pk}/"
    assert fresh(team).depth == 2


def test_department_list_query_count_does_not_grow_with_departments(org: Org) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login_client(org.admin)
    with CaptureQueriesContext(connection) as small:
        client.get("/accounts/departments/")
    for n in range(10):
        DepartmentFactory(code=f"branch-{n}", parent=org.north)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/accounts/departments/")
    assert len(response.context["departments"]) == 16
    assert len(large.captured_queries) == len(small.captured_queries)


def _org_shape(org: Org) -> dict[str, object]:
    """Everything the tests rely on, with ids replaced by codes so two builds compare."""
    from dataclasses import fields

    from tests.factories import PASSWORD

    shape: dict[str, object] = {}
    for field in fields(org):
        value = getattr(org, field.name)
        if isinstance(value, Department):
            row = Department.all_objects.get(pk=value.pk)
            codes = [
                Department.all_objects.get(pk=int(p)).code for p in row.path.strip("/").split("/")
            ]
            shape[field.name] = (row.name, row.code, row.depth, codes, row.deleted_at)
        else:
            user = User.objects.get(pk=value.pk)
            shape[field.name] = (
                user.username,
                user.role,
                user.department.code,
                user.email,
                user.is_active,
                user.manager_id,
                user.check_password(PASSWORD),
            )
    shape["departments"] = sorted(Department.all_objects.values_list("code", flat=True))
    shape["users"] = sorted(User.objects.values_list("username", flat=True))
    return shape


def test_fast_org_matches_the_shared_fixture(db: None) -> None:
    # The accounts suite builds ``org`` in bulk (tests/accounts/conftest.py) for speed; it must be
    # the organisation the shared fixture builds through the services.
    from django.db import transaction

    from tests import conftest as shared
    from tests.accounts import conftest as local

    with transaction.atomic():
        expected = _org_shape(shared.org.__wrapped__(None))
        transaction.set_rollback(True)
    assert _org_shape(local.org.__wrapped__(None)) == expected
