"""The administrator's holiday-calendar pages: the years, a year's grid and list, the HTMX forms,
and the permission matrix (anonymous, every role, an outsider), where a denied request changes
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.core import services
from guanxi.core.models import AuditEntry, CalendarDay, CalendarYear
from guanxi.core.selectors import calendar_years_missing
from tests.conftest import Org, login_client
from tests.core.test_security import _assert_nothing_inline, _assert_security_headers

pytestmark = pytest.mark.django_db

D = dt.date
HTMX = {"HX-Request": "true"}
INDEX = "/settings/calendar/"


def _state() -> tuple[list, list, int]:
    return (
        list(CalendarDay.objects.order_by("date").values()),
        list(CalendarYear.objects.order_by("year").values()),
        AuditEntry.objects.count(),
    )


# --- pages --------------------------------------------------------------------------------------


def test_index_lists_years_and_warns_about_the_missing_ones(org):
    response = login_client(org.admin, language="en").get(INDEX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="calendar-year-2026"' in body
    assert 'data-testid="calendar-year-2004"' in body
    for year in calendar_years_missing():
        assert f"The holiday calendar for {year} is missing" in body
    assert "chinese-calendar 1.11.0" in body


def test_no_warning_when_this_year_and_next_are_complete(org):
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1):
        if not CalendarYear.objects.filter(year=year, complete=True).exists():
            services.calendar_day_create(
                actor=org.admin, date=D(year, 1, 1), kind="holiday", holiday="new_years_day"
            )
            services.calendar_year_update(actor=org.admin, year=year, complete=True)
    body = login_client(org.admin, language="en").get(INDEX).content.decode()
    assert 'data-testid="calendar-missing"' not in body
    home = login_client(org.admin, language="en").get("/").content.decode()
    assert 'data-testid="calendar-missing"' not in home


def test_the_workbench_warns_administrators_only(org):
    missing = calendar_years_missing()
    assert missing  # the package stops at 2026; the tests run in 2026 or later
    admin_home = login_client(org.admin, language="en").get("/").content.decode()
    assert 'data-testid="calendar-missing"' in admin_home
    rep_home = login_client(org.rep, language="en").get("/").content.decode()
    assert 'data-testid="calendar-missing"' not in rep_home


def test_settings_menu_lists_the_calendar_for_administrators_only(org):
    assert INDEX in login_client(org.admin).get("/").content.decode()
    assert INDEX not in login_client(org.manager).get("/").content.decode()


def test_index_query_count_is_pinned(org, django_assert_num_queries):
    client = login_client(org.admin)
    client.get(INDEX)
    # session, user, role setting, saved-views-free shell … plus the two of the year list and
    # one for the missing years
    with django_assert_num_queries(6):
        assert client.get(INDEX).status_code == 200
    services.calendar_day_create(
        actor=org.admin, date=D(2030, 1, 1), kind="holiday", holiday="new_years_day"
    )
    with django_assert_num_queries(6):
        assert client.get(INDEX).status_code == 200


def test_year_page_query_count_is_pinned(org, django_assert_num_queries):
    client = login_client(org.admin)
    client.get("/settings/calendar/2026/")
    with django_assert_num_queries(7):
        assert client.get("/settings/calendar/2026/").status_code == 200
    with django_assert_num_queries(7):
        assert client.get("/settings/calendar/2015/").status_code == 200


def test_open_a_year_redirects(org):
    response = login_client(org.admin).get(INDEX, {"open": "2027"})
    assert response.status_code == 302 and response["Location"] == "/settings/calendar/2027/"
    assert login_client(org.admin).get(INDEX, {"open": "99999"}).status_code == 200


def test_year_page_shows_grid_and_list(org):
    body = login_client(org.admin, language="en").get("/settings/calendar/2026/").content.decode()
    assert 'data-date="2026-02-17" data-kind="holiday"' in body
    assert 'data-date="2026-02-14" data-kind="workday"' in body
    assert 'data-date="2026-02-07" data-kind="weekend"' in body
    assert (
        body.count('data-testid="calendar-day"')
        == CalendarDay.objects.filter(date__year=2026).count()
    )
    assert "Spring Festival" in body


@pytest.mark.parametrize(
    "path",
    [
        INDEX,
        "/settings/calendar/2026/",
        "/settings/calendar/2027/",
        "/settings/calendar/days/2026-10-01/",
    ],
)
def test_pages_have_the_security_headers_and_nothing_inline(org, path):
    response = login_client(org.admin).get(path)
    assert response.status_code == 200
    _assert_security_headers(response)
    _assert_nothing_inline(response.content.decode())


def test_year_outside_the_range_is_404(org):
    assert login_client(org.admin).get("/settings/calendar/1899/").status_code == 404
    assert login_client(org.admin).get("/settings/calendar/2100/").status_code == 404


def test_a_click_on_a_free_date_loads_the_add_form_filled_in(org):
    response = login_client(org.admin).get(
        "/settings/calendar/2027/", {"date": "2027-10-01"}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'data-testid="calendar-day-form"' in body
    assert 'value="2027-10-01"' in body


def test_a_click_on_an_entered_date_loads_its_edit_form(org):
    response = login_client(org.admin).get("/settings/calendar/days/2026-02-17/", headers=HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="calendar-day-edit-form"' in body


def test_add_a_day_and_see_it(org):
    client = login_client(org.admin, language="en")
    response = client.post(
        "/settings/calendar/2027/",
        {"date": "2027-01-01", "kind": "holiday", "holiday": "new_years_day", "note": "元旦"},
    )
    assert response.status_code == 302 and response["Location"] == "/settings/calendar/2027/"
    assert CalendarDay.objects.get(date=D(2027, 1, 1)).updated_by == org.admin


def test_bad_input_shows_inline_errors_and_changes_nothing(org):
    client = login_client(org.admin, language="en")
    before = _state()
    response = client.post(
        "/settings/calendar/2027/",
        {"date": "2027-01-04", "kind": "workday", "holiday": "new_years_day"},
    )
    assert response.status_code == 400
    assert "a weekday is a working day anyway" in response.content.decode()
    response = client.post(
        "/settings/calendar/2027/", {"date": "2027-02-30", "kind": "holiday", "holiday": "other"}
    )
    assert response.status_code == 400
    assert "Enter a valid date (YYYY-MM-DD)." in response.content.decode()
    assert _state() == before


def test_edit_and_delete_a_day(org):
    client = login_client(org.admin, language="en")
    response = client.post(
        "/settings/calendar/days/2026-10-01/",
        {"date": "2099-01-01", "kind": "holiday", "holiday": "national_day", "note": "国庆"},
    )
    assert response.status_code == 302
    day = CalendarDay.objects.get(date=D(2026, 10, 1))  # the date cannot be changed here
    assert (day.note, day.source) == ("国庆", "edited")
    response = client.post("/settings/calendar/days/2026-10-01/delete/")
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=D(2026, 10, 1)).kind == "ordinary"


def test_unknown_or_malformed_day_is_404(org):
    client = login_client(org.admin)
    assert client.get("/settings/calendar/days/2027-01-01/").status_code == 404
    assert client.get("/settings/calendar/days/not-a-date/").status_code == 404


def test_mark_a_year_complete_from_the_page(org):
    client = login_client(org.admin, language="en")
    before = _state()
    response = client.post("/settings/calendar/2027/complete/", {"complete": "on"})
    assert response.status_code == 400
    assert "before you mark the year complete" in response.content.decode()
    assert _state() == before
    services.calendar_day_create(
        actor=org.admin, date=D(2027, 1, 1), kind="holiday", holiday="new_years_day"
    )
    response = client.post("/settings/calendar/2027/complete/", {"complete": "on", "note": "x"})
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).complete


def test_seed_from_the_page(org):
    CalendarDay.objects.filter(date=D(2025, 1, 1)).delete()
    response = login_client(org.admin, language="en").post(
        "/settings/calendar/seed/", {"year": "2025"}, follow=True
    )
    assert "1 days added" in response.content.decode()
    assert CalendarDay.objects.filter(date=D(2025, 1, 1)).exists()


def test_seed_a_year_outside_the_package_changes_nothing(org):
    before = _state()
    response = login_client(org.admin, language="en").post(
        "/settings/calendar/seed/", {"year": "2027"}
    )
    assert response.status_code == 302
    assert _state() == before


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


def _client(org: Org, key: str) -> Client:
    if key == "anonymous":
        return Client()
    user = org.outsider if key == "outsider" else org.by_role()[key]
    return login_client(user)


@dataclass
class Case:
    name: str
    method: str
    path: str
    data: dict[str, Any] | None
    admin: int
    check: Callable[[], bool] | None = None  # for the administrator: the write happened


CASES = [
    Case("index", "GET", INDEX, None, 200),
    Case("year", "GET", "/settings/calendar/2026/", None, 200),
    Case("day-edit-get", "GET", "/settings/calendar/days/2026-10-01/", None, 200),
    Case(
        "day-add",
        "POST",
        "/settings/calendar/2027/",
        {"date": "2027-01-01", "kind": "holiday", "holiday": "new_years_day"},
        302,
        lambda: CalendarDay.objects.filter(date=D(2027, 1, 1)).exists(),
    ),
    Case(
        "day-edit",
        "POST",
        "/settings/calendar/days/2026-10-01/",
        {"kind": "holiday", "holiday": "national_day", "note": "改"},
        302,
        lambda: CalendarDay.objects.get(date=D(2026, 10, 1)).note == "改",
    ),
    Case(
        "day-delete",
        "POST",
        "/settings/calendar/days/2026-10-01/delete/",
        {},
        302,
        lambda: CalendarDay.objects.get(date=D(2026, 10, 1)).kind == "ordinary",
    ),
    Case(
        "year-update",
        "POST",
        "/settings/calendar/2026/complete/",
        {"note": "不完整"},
        302,
        lambda: not CalendarYear.objects.get(year=2026).complete,
    ),
    Case(
        "seed",
        "POST",
        "/settings/calendar/seed/",
        {"year": "2026", "overwrite_edited": "on"},
        302,
        None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("actor", ["anonymous", *ROLES])
def test_permission_matrix(org, case, actor):
    # given a seeded row an administrator edited, which an overwriting seed would change
    services.calendar_day_update(
        actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 5, 1)), data={"note": "edited"}
    )
    before = _state()
    client = _client(org, actor)
    call = client.get if case.method == "GET" else client.post
    response = call(case.path, case.data) if case.data is not None else call(case.path)
    if actor == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert _state() == before
    elif actor != "administrator":
        assert response.status_code == 403
        assert _state() == before
    else:
        assert response.status_code == case.admin
        if case.method == "POST":
            assert _state() != before
        if case.check is not None:
            assert case.check()
