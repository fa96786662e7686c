"""Optimistic locking in core.services.model_update: a stale version is a conflict that reports
both values and writes nothing; under real concurrency exactly one writer wins."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from guanxi.accounts.models import Department
from guanxi.accounts.services import department_create
from guanxi.core.exceptions import ConflictError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_update
from tests.conftest import ApiClient, skip_or_fail


@pytest.mark.django_db
def test_update_bumps_the_version_and_stamps_who_and_when(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    updated = model_update(
        instance=department, data={"name": "乙"}, actor=org.manager, expected_version=1
    )
    row = Department.objects.get(pk=department.pk)
    assert (updated.version, row.version, row.name) == (2, 2, "乙")
    assert row.updated_by_id == org.manager.pk
    assert row.updated_at > row.created_at


@pytest.mark.django_db
def test_stale_version_is_a_conflict_with_both_values_and_nothing_written(org):
    # given someone else saved version 1 → 2
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    model_update(
        instance=department, data={"name": "他的名字"}, actor=org.manager, expected_version=1
    )
    entries = AuditEntry.objects.count()
    # when I save with the version I read (1)
    with pytest.raises(ConflictError) as raised:
        model_update(
            instance=department,
            data={"name": "我的名字", "parent": org.sales},
            actor=org.admin,
            expected_version=1,
        )
    # then
    error = raised.value
    assert error.status_code == 409
    assert error.code == "conflict"
    assert error.extra["current_version"] == 2
    assert error.extra["conflicts"] == {
        "name": {"yours": "我的名字", "theirs": "他的名字"},
        "parent": {"yours": org.sales.pk, "theirs": org.hq.pk},
    }
    row = Department.objects.get(pk=department.pk)
    assert (row.name, row.parent_id, row.version) == ("他的名字", org.hq.pk, 2)
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_instance_version_is_used_when_no_expected_version_is_given(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    stale = Department.objects.get(pk=department.pk)
    model_update(instance=department, data={"name": "乙"}, actor=org.admin)
    with pytest.raises(ConflictError):
        model_update(instance=stale, data={"name": "丙"}, actor=org.admin)
    assert Department.objects.get(pk=department.pk).name == "乙"


@pytest.mark.django_db
def test_invalid_data_raises_field_errors_and_writes_nothing(org):
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as raised:
        model_update(instance=department, data={"code": "not a slug!", "name": ""}, actor=org.admin)
    assert {"code", "name"} <= set(raised.value.message_dict)
    row = Department.objects.get(pk=department.pk)
    assert (row.code, row.name, row.version) == ("jia", "甲", 1)
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db
def test_api_stale_version_is_a_409_with_the_conflict(org):
    # given
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    client = ApiClient(org.admin)
    assert (
        client.patch(
            f"/api/v1/departments/{department.pk}", {"version": 1, "name": "乙"}
        ).status_code
        == 200
    )
    # when
    response = client.patch(f"/api/v1/departments/{department.pk}", {"version": 1, "name": "丙"})
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["message"]
    assert body["fields"] == {}
    assert body["current_version"] == 2
    assert body["conflicts"]["name"] == {"yours": "丙", "theirs": "乙"}
    assert Department.objects.get(pk=department.pk).name == "乙"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_exactly_one_wins(org):
    # given two connections that both read version 1
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL)")
    department = department_create(actor=org.admin, name="甲", code="jia", parent=org.hq)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        try:
            copy = Department.objects.get(pk=department.pk)
            assert copy.version == 1
            barrier.wait(timeout=10)
            model_update(instance=copy, data={"name": name}, actor=org.admin, expected_version=1)
            outcomes[name] = "won"
        except ConflictError:
            outcomes[name] = "conflict"
        except Exception as error:  # surfaced by the assertion below
            outcomes[name] = f"error: {error!r}"
        finally:
            connections.close_all()

    # when both save at the same moment
    threads = [threading.Thread(target=write, args=(name,)) for name in ("乙", "丙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then exactly one won, the other got a conflict, and the row holds the winner's value
    assert sorted(outcomes.values()) == ["conflict", "won"], outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    row = Department.objects.get(pk=department.pk)
    assert (row.name, row.version) == (winner, 2)
    assert AuditEntry.objects.filter(action="update", object_id=str(department.pk)).count() == 1
