"""The merge endpoints: merge, read the merge, undo, with the error contract on every refusal and
nothing written when refused."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.customers.models import Contact, Customer, CustomerMerge
from tests.conftest import ApiClient, Org
from tests.customers.conftest import HUAWEI_CODE, db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(org: Org) -> tuple[Customer, Customer]:
    survivor = make_customer(org.rep, "华为技术有限公司", address="深圳市龙岗区坂田")
    merged = make_customer(
        org.rep,
        "华为技术（深圳）有限公司",
        credit_code=HUAWEI_CODE,
        website="https://www.huawei.com",
    )
    make_contact(merged, "李四", phones=["13912345678"])
    return survivor, merged


def _body(survivor: Customer, merged: Customer, **values: str) -> dict[str, Any]:
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return {
        "merged_id": merged.pk,
        "values": values,
        "versions": {"survivor": survivor.version, "merged": merged.version},
    }


def test_merge_read_and_undo(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = ApiClient(org.manager, language="en")
    # merge
    response = client.post(
        f"/api/v1/customers/{survivor.pk}/merge", _body(survivor, merged, name="merged")
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get()
    assert body["survivor_id"] == survivor.pk and body["merged_id"] == merged.pk
    assert body["merged_in_recycle_bin"] is True and body["can_undo"] is True
    assert body["values"]["name"] == "merged" and body["values"]["website"] == "merged"
    assert body["moved"]["contact_ids"] == [contact.pk]
    assert body["survivor_before"]["name"] == "华为技术有限公司"
    assert body["survivor_after"]["name"] == "华为技术（深圳）有限公司"
    assert body["undo_report"] is None
    survivor_now = client.get(f"/api/v1/customers/{survivor.pk}").json()
    assert survivor_now["name"] == "华为技术（深圳）有限公司"
    assert client.get(f"/api/v1/customers/{merged.pk}").status_code == 404
    # read
    merge_id = body["id"]
    assert client.get(f"/api/v1/customer-merges/{merge_id}").json() == body
    # a later edit, then the undo reports it
    client.patch(
        f"/api/v1/customers/{survivor.pk}",
        {"version": survivor_now["version"], "website": "https://x.cn"},
    )
    undone = client.post(f"/api/v1/customer-merges/{merge_id}/undo")
    assert undone.status_code == 200, undone.content
    report = undone.json()["undo_report"]
    assert report["kept"] == [{"name": "website", "label": "website"}]
    assert {field["name"] for field in report["restored"]} == {"name", "credit_code"}
    assert report["moved_back"]["contacts"] == 1
    assert undone.json()["can_undo"] is False and undone.json()["undone_at"]
    assert client.get(f"/api/v1/customers/{merged.pk}").status_code == 200
    assert Contact.objects.get().customer_id == merged.pk


def test_a_stale_version_is_409_with_both_current_versions(org: Org, pair: Any) -> None:
    survivor, merged = pair
    body = _body(survivor, merged)
    body["versions"]["merged"] -= 1
    client = ApiClient(org.manager, language="en")
    before = db_state()
    response = client.post(f"/api/v1/customers/{survivor.pk}/merge", body)
    assert response.status_code == 409
    payload = response.json()
    assert payload["code"] == "conflict"
    assert payload["current_versions"] == {"survivor": survivor.version, "merged": merged.version}
    assert db_state() == before


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        (lambda b, s, m: b.update(values={"owner": "merged"}), 422, "invalid", "values.owner"),
        (lambda b, s, m: b.update(values={"name": "both"}), 422, "invalid", "values.name"),
        (lambda b, s, m: b.update(merged_id=s.pk), 422, "invalid", "merged_id"),
        (lambda b, s, m: b.pop("versions"), 422, "invalid", "versions"),
        (lambda b, s, m: b.update(merged_id=999999), 404, "not_found", None),
        (lambda b, s, m: b.update(merged_id="x"), 422, "invalid", "merged_id"),
        (lambda b, s, m: b.update(values=["name"]), 422, "invalid", "values"),
    ],
)
def test_bad_input_is_a_translated_error_and_changes_nothing(
    org: Org, pair: Any, change: Any, status: int, code: str, field: str | None
) -> None:
    survivor, merged = pair
    body = _body(survivor, merged)
    change(body, survivor, merged)
    client = ApiClient(org.manager, language="en")
    before = db_state()
    response = client.post(f"/api/v1/customers/{survivor.pk}/merge", body)
    assert response.status_code == status, response.content
    payload = response.json()
    assert set(payload) == {"message", "code", "fields"}
    assert payload["code"] == code
    if field:
        assert field in payload["fields"], payload
    assert db_state() == before


def test_merging_or_undoing_twice_is_409(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = ApiClient(org.manager, language="en")
    body = _body(survivor, merged)
    merge_id = client.post(f"/api/v1/customers/{survivor.pk}/merge", body).json()["id"]
    before = db_state()
    again = client.post(f"/api/v1/customers/{survivor.pk}/merge", _body(survivor, merged))
    assert (again.status_code, again.json()["code"]) == (409, "already_merged")
    assert db_state() == before
    client.post(f"/api/v1/customer-merges/{merge_id}/undo")
    before = db_state()
    twice = client.post(f"/api/v1/customer-merges/{merge_id}/undo")
    assert (twice.status_code, twice.json()["code"]) == (409, "merge_undone")
    assert twice.json()["message"] == "This merge has already been undone."
    assert db_state() == before


def test_undo_outside_the_window_is_409(org: Org, pair: Any, settings: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    survivor, merged = pair
    client = ApiClient(org.manager, language="en")
    merge_id = client.post(
        f"/api/v1/customers/{survivor.pk}/merge", _body(survivor, merged)
    ).json()["id"]
    CustomerMerge.objects.update(
        merged_at=timezone.now() - dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS + 1)
    )
    assert client.get(f"/api/v1/customer-merges/{merge_id}").json()["can_undo"] is False
    before = db_state()
    response = client.post(f"/api/v1/customer-merges/{merge_id}/undo")
    assert (response.status_code, response.json()["code"]) == (409, "merge_undo_expired")
    assert db_state() == before


def test_recycle_bin_api_refuses_to_restore_a_merged_customer(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = ApiClient(org.manager, language="en")
    client.post(f"/api/v1/customers/{survivor.pk}/merge", _body(survivor, merged))
    before = db_state()
    response = client.post(f"/api/v1/recycle-bin/customers.customer/{merged.pk}/restore")
    assert (response.status_code, response.json()["code"]) == (400, "customer_merged")
    assert db_state() == before


def test_openapi_describes_the_merge_endpoints(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/customers/{customer_id}/merge"]
    assert "get" in paths["/api/v1/customer-merges/{merge_id}"]
    assert "post" in paths["/api/v1/customer-merges/{merge_id}/undo"]
