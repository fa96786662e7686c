"""The holiday-calendar endpoints: everyone signed in reads, administrators write; bad dates,
kinds and years are 422 with fields; a denied or refused request changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from guanxi.core import services
from guanxi.core.models import AuditEntry, CalendarDay, CalendarYear
from tests.conftest import ApiClient, Org

pytestmark = pytest.mark.django_db

D = dt.date
BASE = "/api/v1/calendar"


def _state() -> tuple[list, list, int]:
    return (
        list(CalendarDay.objects.order_by("date").values()),
        list(CalendarYear.objects.order_by("year").values()),
        AuditEntry.objects.count(),
    )


def test_days_of_a_year(org):
    response = ApiClient(org.rep, language="en").get(f"{BASE}/days", year=2026)
    assert response.status_code == 200
    days = response.json()
    assert len(days) == CalendarDay.objects.filter(date__year=2026).count() == 39
    first = days[0]
    assert first["date"] == "2026-01-01"
    assert (first["kind"], first["kind_label"]) == ("holiday", "Holiday (day off)")
    assert (first["holiday"], first["holiday_label"]) == ("new_years_day", "New Year's Day")
    assert first["source"] == "seeded" and first["updated_by"] is None
    workdays = [d["date"] for d in days if d["kind"] == "workday"]
    assert "2026-02-14" in workdays


def test_days_default_to_this_year_and_reject_bad_years(org):
    api = ApiClient(org.rep, language="en")
    assert api.get(f"{BASE}/days").status_code == 200
    for bad in ("abc", "3000", "1899"):
        response = api.get(f"{BASE}/days", year=bad)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid"
        assert "year" in response.json()["fields"]


def test_years_report_complete_and_missing(org):
    body = ApiClient(org.agent).get(f"{BASE}/years").json()
    years = {item["year"]: item for item in body["items"]}
    assert years[2026] == {
        "year": 2026,
        "complete": True,
        "holidays": 33,
        "workdays": 6,
        "source": "seeded",
        "note": "chinese-calendar 1.11.0",
    }
    for year in body["missing"]:
        assert years[year]["complete"] is False
    assert 2027 in body["missing"] or timezone.localdate().year > 2027


def test_add_edit_delete_and_complete_a_year(org):
    api = ApiClient(org.admin)
    # add 2027's New Year's Day
    response = api.post(
        f"{BASE}/days", {"date": "2027-01-01", "kind": "holiday", "holiday": "new_years_day"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "edited" and response.json()["updated_by"]
    # edit its note
    response = api.patch(f"{BASE}/days/2027-01-01", {"note": "元旦"})
    assert response.status_code == 200 and response.json()["note"] == "元旦"
    # mark 2027 complete
    response = api.patch(f"{BASE}/years/2027", {"complete": True, "note": "国办"})
    assert response.status_code == 200
    assert response.json()["complete"] is True and response.json()["holidays"] == 1
    # delete the day: the package has nothing that day, so it goes
    assert api.delete(f"{BASE}/days/2027-01-01").status_code == 204
    assert not CalendarDay.objects.filter(date=D(2027, 1, 1)).exists()
    # a seeded day stays as a marker
    assert api.delete(f"{BASE}/days/2026-02-23").status_code == 204
    days = api.get(f"{BASE}/days", year=2026).json()
    assert {"date": "2026-02-23", "kind": "ordinary"}.items() <= next(
        d for d in days if d["date"] == "2026-02-23"
    ).items()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2027-02-30", "kind": "holiday", "holiday": "other"}, "date"),
        ({"date": "27-1-1", "kind": "holiday", "holiday": "other"}, "date"),
        ({"date": 20270101, "kind": "holiday", "holiday": "other"}, "date"),
        ({"date": "2027-01-01", "kind": "weekend", "holiday": "other"}, "kind"),
        ({"date": "2027-01-04", "kind": "workday", "holiday": "other"}, "kind"),
        ({"date": "2027-01-01", "kind": "holiday"}, "holiday"),
        ({"date": "2027-01-01", "kind": "holiday", "holiday": "christmas"}, "holiday"),
        ({"date": "2026-01-01", "kind": "holiday", "holiday": "new_years_day"}, "date"),
        ({"kind": "holiday", "holiday": "other"}, "date"),
    ],
)
def test_bad_days_are_422_with_fields_and_change_nothing(org, body, field):
    api = ApiClient(org.admin, language="en")  # its token is audited: made before the state
    before = _state()
    response = api.post(f"{BASE}/days", body)
    assert response.status_code == 422, response.json()
    assert set(response.json()) >= {"message", "code", "fields"}
    assert field in response.json()["fields"]
    assert _state() == before


def test_bad_patches_are_422_and_unknown_days_404(org):
    api = ApiClient(org.admin, language="en")
    before = _state()
    response = api.patch(f"{BASE}/days/2026-10-02", {"kind": "workday"})  # a Friday
    assert response.status_code == 422 and "kind" in response.json()["fields"]
    response = api.patch(f"{BASE}/days/2026-10-02", {"kind": "ordinary"})
    assert response.status_code == 422
    assert api.patch(f"{BASE}/days/2027-01-01", {"note": "x"}).status_code == 404
    assert api.patch(f"{BASE}/days/garbage", {"note": "x"}).status_code == 404
    assert api.delete(f"{BASE}/days/2026-13-01").status_code == 404
    response = api.patch(f"{BASE}/years/2027", {"complete": True})
    assert response.status_code == 422 and "complete" in response.json()["fields"]
    response = api.patch(f"{BASE}/years/2100", {"complete": False})
    assert response.status_code == 422 and "year" in response.json()["fields"]
    response = api.post(f"{BASE}/seed", {"years": [2027]})
    assert response.status_code == 422 and "years" in response.json()["fields"]
    assert _state() == before


def test_seed(org):
    CalendarDay.objects.filter(date=D(2026, 1, 1)).delete()
    response = ApiClient(org.admin).post(f"{BASE}/seed", {"years": [2026]})
    assert response.status_code == 200
    assert response.json() == {
        "years": [2026],
        "created": 1,
        "updated": 0,
        "unchanged": 38,
        "kept": 0,
        "removed": 0,
    }


# --- permissions --------------------------------------------------------------------------------

ROLES = (
    "administrator",
    "sales_manager",
    "sales_rep",
    "key_account_manager",
    "service_agent",
    "department_handler",
    "analyst",
    "outsider",
)


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    admin: int
    everyone: int  # what any other signed-in user gets


CASES = [
    Case("days", "GET", f"{BASE}/days?year=2026", None, 200, 200),
    Case("years", "GET", f"{BASE}/years", None, 200, 200),
    Case(
        "add",
        "POST",
        f"{BASE}/days",
        {"date": "2027-01-01", "kind": "holiday", "holiday": "new_years_day"},
        201,
        403,
    ),
    Case("edit", "PATCH", f"{BASE}/days/2026-10-01", {"note": "改"}, 200, 403),
    Case("delete", "DELETE", f"{BASE}/days/2026-10-01", None, 204, 403),
    Case("year", "PATCH", f"{BASE}/years/2026", {"complete": False}, 200, 403),
    Case("seed", "POST", f"{BASE}/seed", {"years": [2026], "overwrite_edited": True}, 200, 403),
]


def _api(org: Org, actor: str) -> ApiClient:
    if actor == "anonymous":
        return ApiClient(None)
    return ApiClient(org.outsider if actor == "outsider" else org.by_role()[actor])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("actor", ["anonymous", *ROLES])
def test_permission_matrix(org, case, actor):
    services.calendar_day_update(
        actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 5, 1)), data={"note": "edited"}
    )
    api = _api(org, actor)
    tokens = AuditEntry.objects.count()  # creating the token is audited; count after it
    before = _state()
    assert before[2] == tokens
    if case.method == "GET":
        response = api.client.get(case.path, headers=api.headers)
    else:
        response = api.request(case.method, case.path, json=case.body)
    if actor == "anonymous":
        assert response.status_code == 401
    elif actor == "administrator":
        assert response.status_code == case.admin, response.content
    else:
        assert response.status_code == case.everyone
    if actor != "administrator" or case.method == "GET":
        assert _state() == before
    else:
        assert _state() != before
