"""Personal data of contacts: masked in every output for everyone but the customer's owner, and the
reveal flow (permission per role, pool refusal, daily limit, one audit entry per reveal) on the
pages, their HTMX fragments, the API and the audit trail; the edit form as a reveal; masked
values never saved back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import contact_reveals_left, contact_reveals_today
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {"HTTP_HX_REQUEST": "true"}
# What the contact below looks like in full, and masked.
FULL = ("13800138000", "lisi@example.com", "lisi_wx")
MASKED = ("138****8000", "l****@example.com", "li****")


def _given(org: Org) -> dict[str, Any]:
    """The rep's customer with a contact, and a pool customer with a contact."""
    own = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    return {
        "own": own,
        "contact": make_contact(
            own, "李四", phones=["13800138000"], email="lisi@example.com", wechat="lisi_wx"
        ),
        "pool": pool,
        "pool_contact": make_contact(
            pool, "王五", phones=["13900139000"], email="wangwu@example.com", wechat="ww_888"
        ),
    }


def _reveals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).order_by("id"))


def _full(text: str) -> bool:
    return any(value in text for value in FULL)


def _masked(text: str) -> bool:
    return all(value in text for value in MASKED)


def _contacts_card(body: str) -> str:
    start = body.index('id="contacts"')
    return body[start : body.index('id="timeline"')]


# --- who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "full", "show_button"),
    [
        ("sales_rep", True, False),  # the owner
        ("sales_manager", False, True),
        ("administrator", False, True),
        ("analyst", False, False),  # reads everything, may not reveal
    ],
)
def test_detail_page_shows_contact_data_in_full_only_to_the_owner(
    org: Org, role: str, full: bool, show_button: bool
) -> None:
    # given
    given = _given(org)
    # when
    response = login_client(org.by_role()[role]).get(f"/customers/{given['own'].pk}/")
    body = response.content.decode()
    # then
    assert response.status_code == 200
    assert _full(body) is full
    assert _masked(body) is not full
    assert ('data-testid="reveal-button"' in body) is show_button
    assert _reveals() == []  # looking at the page reveals nothing


def test_detail_page_says_how_many_reveals_are_left(org: Org, settings: Any) -> None:
    settings.GUANXI_REVEAL_DAILY_LIMIT = 2
    given = _given(org)
    client = login_client(org.manager)
    page = f"/customers/{given['own'].pk}/"
    body = client.get(page, **EN).content.decode()
    assert "You can reveal 2 more contacts today." in body
    client.post(f"/customers/contacts/{given['contact'].pk}/reveal/", **HTMX)
    assert "You can reveal 1 more contact today." in client.get(page, **EN).content.decode()
    client.post(f"/customers/contacts/{given['contact'].pk}/reveal/", **HTMX)
    # at the limit: no "Show" buttons, and the page says why
    body = client.get(page, **EN).content.decode()
    assert "You have used all of today" in body
    assert 'data-testid="reveal-button"' not in body
    assert not _full(_contacts_card(body))


@pytest.mark.parametrize("role", ["administrator", "sales_manager", "sales_rep", "analyst"])
def test_pool_contacts_are_masked_for_everyone_with_no_show_button(org: Org, role: str) -> None:
    given = _given(org)
    response = login_client(org.by_role()[role]).get(f"/customers/{given['pool'].pk}/", **EN)
    body = response.content.decode()
    assert "13900139000" not in body and "wangwu@example.com" not in body and "ww_888" not in body
    assert "139****9000" in body
    assert 'data-testid="reveal-button"' not in body
    assert "stay masked until someone claims the customer" in body


def test_api_contacts_are_masked_for_non_owners_in_list_filter_search_and_show(org: Org) -> None:
    # given
    given = _given(org)
    contact = given["contact"]
    paths = [
        "/api/v1/contacts",
        f"/api/v1/contacts?customer_id={given['own'].pk}",
        "/api/v1/contacts?q=8000",
        f"/api/v1/contacts/{contact.pk}",
    ]
    for user in (org.manager, org.admin, org.analyst):
        client = ApiClient(user, language="en")
        for path in paths:
            # when
            response = client.get(path)
            # then
            body = json.dumps(response.json(), ensure_ascii=False)
            assert response.status_code == 200, path
            assert "李四" in body, path
            assert not _full(body), (user, path)
            assert _masked(body), (user, path)
    # the owner gets the same outputs in full, and finds the contact by its whole number too
    owner = ApiClient(org.rep, language="en")
    for path in [*paths, "/api/v1/contacts?q=13800138000", "/api/v1/contacts?q=lisi_wx"]:
        body = owner.get(path).content.decode()
        assert "+8613800138000" in body and "lisi@example.com" in body and "lisi_wx" in body
    assert _reveals() == []


def test_search_results_do_not_echo_full_phone_numbers(org: Org) -> None:
    # given a manager who may write the rep's customer but does not own it
    given = _given(org)
    client = login_client(org.manager)
    # when they find it by the contact's phone tail (the HTMX results and the full page)
    for headers in (HTMX, {}):
        response = client.get("/customers/", {"q": "8000"}, **headers)
        body = response.content.decode()
        table = body[body.index('data-testid="customer-table"') : body.index("</table>")]
        # then the customer is listed, and no contact's data is shown with it
        assert given["own"].name in table
        assert "13800138000" not in table and "lisi@example.com" not in table
    # the API's customer output carries no contact data at all
    response = ApiClient(org.manager, language="en").get("/api/v1/customers", q="8000")
    body = json.dumps(response.json(), ensure_ascii=False)
    assert given["own"].name in body and not _full(body)


@pytest.mark.parametrize(
    "query", ["13800138000", "138001", "0013", "38000", "lisi@example", "lisi_wx"]
)
def test_more_than_the_masked_digits_finds_nothing_for_non_owners(org: Org, query: str) -> None:
    # Were a non-owner's search to match the hidden digits, e-mail or WeChat ID, typing guesses
    # would recover them one character at a time: a reveal without permission, log or limit.
    given = _given(org)
    for user in (org.manager, org.admin, org.analyst):
        api = ApiClient(user, language="en")
        assert api.get("/api/v1/customers", q=query).json()["items"] == [], (user, query)
        assert api.get("/api/v1/contacts", q=query).json()["items"] == [], (user, query)
        page = login_client(user).get("/customers/", {"q": query})
        assert list(page.context["page"].items) == [], (user, query)
    # the owner finds them
    owner = ApiClient(org.rep, language="en")
    assert [c["id"] for c in owner.get("/api/v1/contacts", q=query).json()["items"]] == [
        given["contact"].pk
    ]
    # and a pool customer's contact is found by nobody beyond its tail
    for user in (org.rep, org.manager, org.admin):
        items = ApiClient(user).get("/api/v1/contacts", q="13900139000").json()["items"]
        assert items == []


# --- the reveal ---------------------------------------------------------------------------------


def test_htmx_reveal_returns_the_contact_block_in_full_and_logs_it_once(org: Org) -> None:
    # given
    given = _given(org)
    contact = given["contact"]
    # when a manager presses "Show"
    response = login_client(org.manager).post(
        f"/customers/contacts/{contact.pk}/reveal/", **HTMX, **EN
    )
    # then the block comes back with the data in full, and the count out of band
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<div class="list-group-item" id="contact-{contact.pk}"')
    assert "+8613800138000" in body and "lisi@example.com" in body and "lisi_wx" in body
    assert 'data-testid="reveal-button"' not in body
    assert 'id="reveals-left"' in body and 'hx-swap-oob="true"' in body
    assert "You can reveal 29 more contacts today." in body
    # and the reveal is one audit entry: who, what, when, from where
    (entry,) = _reveals()
    assert entry.actor == org.manager and entry.actor_label == "manager"
    assert (entry.object_type, entry.object_id) == ("customers.contact", str(contact.pk))
    assert entry.object_label == "李四 · 华为技术有限公司"
    assert entry.note == "personal_data_revealed"
    assert entry.ip_address == "127.0.0.1"
    assert entry.changes == {}  # the revealed values never go into the trail


def test_reveal_without_javascript_shows_the_contact_in_full_for_one_response(org: Org) -> None:
    # given
    given = _given(org)
    contact = given["contact"]
    client = login_client(org.admin)
    # when
    response = client.post(f"/customers/contacts/{contact.pk}/reveal/")
    # then back to the customer page, which shows that contact in full once
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{given['own'].pk}/#contact-{contact.pk}"
    first = client.get(f"/customers/{given['own'].pk}/").content.decode()
    assert "+8613800138000" in first and "lisi@example.com" in first and "lisi_wx" in first
    again = client.get(f"/customers/{given['own'].pk}/").content.decode()
    assert not _full(_contacts_card(again)) and _masked(again)
    assert len(_reveals()) == 1


def test_the_one_response_shows_only_the_revealed_contact(org: Org) -> None:
    given = _given(org)
    other = make_contact(given["own"], "赵六", phones=["13700137000"], actor=org.rep)
    client = login_client(org.manager)
    client.post(f"/customers/contacts/{given['contact'].pk}/reveal/")
    body = client.get(f"/customers/{given['own'].pk}/").content.decode()
    assert "+8613800138000" in body
    assert "13700137000" not in body and "137****7000" in body
    # the grant is used up: the next response masks the revealed contact again
    again = client.get(f"/customers/{given['own'].pk}/").content.decode()
    assert "+8613800138000" not in again and "138****8000" in again
    assert other.name in again


def test_a_stale_no_javascript_reveal_is_not_honoured(org: Org) -> None:
    # given a reveal whose grant waits in the session, and the customer then goes to the pool
    given = _given(org)
    client = login_client(org.manager)
    client.post(f"/customers/contacts/{given['contact'].pk}/reveal/")
    services.customer_release(actor=org.manager, customer=given["own"], reason="调整")
    # then the page no longer shows the contact in full
    body = client.get(f"/customers/{given['own'].pk}/").content.decode()
    assert "+8613800138000" not in body and "138****8000" in body


def test_the_api_reveal_returns_full_data_and_logs_every_reveal(org: Org) -> None:
    # given
    given = _given(org)
    contact = given["contact"]
    client = ApiClient(org.manager, language="en")
    # when
    response = client.post(f"/api/v1/contacts/{contact.pk}/reveal")
    # then
    payload = response.json()
    assert response.status_code == 200
    assert payload["masked"] is False
    assert payload["phones"] == [{"number": "+8613800138000", "label": "mobile"}]
    assert (payload["email"], payload["wechat"]) == ("lisi@example.com", "lisi_wx")
    assert payload["name"] == "李四" and payload["version"] == contact.version
    assert [(e.actor_id, e.object_id) for e in _reveals()] == [(org.manager.pk, str(contact.pk))]
    # a second look is a second reveal; reading the contact afterwards is masked again
    assert client.post(f"/api/v1/contacts/{contact.pk}/reveal").status_code == 200
    assert len(_reveals()) == 2
    assert client.get(f"/api/v1/contacts/{contact.pk}").json()["masked"] is True


def test_the_owner_needs_no_reveal_and_leaves_no_entry(org: Org) -> None:
    given = _given(org)
    contact = given["contact"]
    client = ApiClient(org.rep, language="en")
    before = db_state()
    api = client.post(f"/api/v1/contacts/{contact.pk}/reveal")
    html = login_client(org.rep).post(f"/customers/contacts/{contact.pk}/reveal/", **HTMX)
    assert api.status_code == 200 and api.json()["masked"] is False
    assert html.status_code == 200 and "+8613800138000" in html.content.decode()
    assert db_state() == before


@pytest.mark.parametrize("role", ["administrator", "sales_manager", "sales_rep", "service_agent"])
def test_a_pool_contact_stays_masked_until_claimed(org: Org, role: str) -> None:
    # given a pool customer's contact and someone whose role may reveal
    given = _given(org)
    path = f"/customers/contacts/{given['pool_contact'].pk}/reveal/"
    user = org.by_role()[role]
    client = ApiClient(user, language="en")
    before = db_state()
    # when they ask through the API, the page and the HTMX fragment
    api = client.post(f"/api/v1/contacts/{given['pool_contact'].pk}/reveal")
    page = login_client(user).post(path, **EN)
    fragment = login_client(user).post(path, **HTMX, **EN)
    # then every answer refuses with "claim it first", and nothing is written
    assert api.status_code == 409
    assert api.json() == {
        "message": "Contacts of pool customers stay masked until someone claims the customer. "
        "Claim it first.",
        "code": "reveal_pool_customer",
        "fields": {},
    }
    assert page.status_code == 409 and "Claim it first." in page.content.decode()
    body = fragment.content.decode()
    assert fragment.status_code == 200  # htmx swaps 2xx only: the block carries the refusal
    assert 'data-testid="reveal-error"' in body and "Claim it first." in body
    assert "13900139000" not in body and "139****9000" in body
    assert db_state() == before


def test_once_claimed_the_new_owner_sees_the_pool_contact_in_full(org: Org) -> None:
    given = _given(org)
    services.customer_claim(actor=org.rep, customer=given["pool"])
    body = login_client(org.rep).get(f"/customers/{given['pool'].pk}/").content.decode()
    assert "+8613900139000" in body and "wangwu@example.com" in body


@pytest.mark.parametrize("role", ["analyst", "department_handler"])
def test_roles_without_the_permission_are_refused(org: Org, role: str) -> None:
    # given a customer the role can see (the handler through its department's scope)
    given = _given(org)
    contact = given["contact"]
    if role == "department_handler":
        customer = make_customer(org.agent, "客服中心的客户", actor=org.admin)
        contact = make_contact(customer, "李四", phones=["13800138000"], actor=org.admin)
    user = org.by_role()[role]
    client = ApiClient(user, language="en")
    before = db_state()
    # when
    api = client.post(f"/api/v1/contacts/{contact.pk}/reveal")
    page = login_client(user).post(f"/customers/contacts/{contact.pk}/reveal/")
    fragment = login_client(user).post(f"/customers/contacts/{contact.pk}/reveal/", **HTMX, **EN)
    # then
    assert api.status_code == 403
    assert api.json()["code"] == "permission_denied"
    assert api.json()["message"] == (
        "Your role may not reveal personal data. Ask an administrator if you need it."
    )
    assert page.status_code == 403
    assert "Your role may not reveal personal data." in fragment.content.decode()
    assert db_state() == before


def test_reveal_needs_post_and_a_visible_contact(org: Org) -> None:
    given = _given(org)
    path = f"/customers/contacts/{given['contact'].pk}/reveal/"
    assert login_client(org.manager).get(path).status_code == 405
    assert login_client(org.outsider).post(path).status_code == 404
    assert ApiClient(org.outsider, language="en").post(
        f"/api/v1/contacts/{given['contact'].pk}/reveal"
    ).json()["code"] == ("not_found")
    assert login_client(org.manager).post("/customers/contacts/999999/reveal/").status_code == 404
    assert _reveals() == []


# --- the daily limit ----------------------------------------------------------------------------


def test_the_daily_limit_is_enforced_per_user(org: Org, settings: Any) -> None:
    # given a limit of two
    settings.GUANXI_REVEAL_DAILY_LIMIT = 2
    given = _given(org)
    path = f"/api/v1/contacts/{given['contact'].pk}/reveal"
    manager, admin = ApiClient(org.manager, language="en"), ApiClient(org.admin, language="en")
    assert manager.post(path).status_code == 200
    page = f"/customers/contacts/{given['contact'].pk}/reveal/"
    assert login_client(org.manager).post(page).status_code == 302
    # when the manager asks a third time
    before = db_state()
    response = manager.post(path)
    refused = login_client(org.manager).post(page, **EN)
    fragment = login_client(org.manager).post(page, **HTMX, **EN)
    # then 429 with the contract's body, the same refusal on the page and in the fragment
    assert response.status_code == 429
    assert response.json() == {
        "message": "You have revealed personal data 2 times today, the daily limit. "
        "Try again tomorrow.",
        "code": "reveal_limit_reached",
        "fields": {},
    }
    assert refused.status_code == 429 and "the daily limit" in refused.content.decode()
    assert "the daily limit" in fragment.content.decode()
    assert not _full(fragment.content.decode())
    assert db_state() == before
    assert len(_reveals()) == 2
    # the limit is each user's own: the administrator still may
    assert admin.post(path).status_code == 200
    assert contact_reveals_left(user=org.manager) == 0
    assert contact_reveals_left(user=org.admin) == 1


def test_the_limit_counts_the_local_day_in_shanghai(org: Org, settings: Any) -> None:
    # given reveals just before and just after midnight in Asia/Shanghai (16:00 UTC)
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 3, 10, 8, 0, tzinfo=shanghai)
    contact = _given(org)["contact"]
    for when, actor in (
        (dt.datetime(2026, 3, 9, 23, 59, tzinfo=shanghai), org.manager),  # yesterday
        (dt.datetime(2026, 3, 10, 0, 1, tzinfo=shanghai), org.manager),  # today (UTC: the 9th)
        (dt.datetime(2026, 3, 10, 7, 0, tzinfo=shanghai), org.admin),  # someone else
    ):
        AuditEntry.objects.create(
            occurred_at=when,
            actor=actor,
            action=AuditEntry.Action.REVEAL,
            object_type="customers.contact",
            object_id=str(contact.pk),
            note="personal_data_revealed",
        )
    # then only the manager's reveal after local midnight counts
    assert contact_reveals_today(user=org.manager, now=now) == 1
    assert contact_reveals_today(user=org.manager, now=now + dt.timedelta(days=1)) == 0


def test_yesterdays_reveals_do_not_count_today(org: Org, settings: Any) -> None:
    settings.GUANXI_REVEAL_DAILY_LIMIT = 1
    given = _given(org)
    AuditEntry.objects.create(
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1, hours=1),
        actor=org.manager,
        action=AuditEntry.Action.REVEAL,
        object_type="customers.contact",
        object_id=str(given["contact"].pk),
        note="personal_data_revealed",
    )
    client = ApiClient(org.manager, language="en")
    assert client.post(f"/api/v1/contacts/{given['contact'].pk}/reveal").status_code == 200
    assert client.post(f"/api/v1/contacts/{given['contact'].pk}/reveal").status_code == 429


# --- the role setting ---------------------------------------------------------------------------


def test_switching_the_role_setting_takes_effect_at_once(org: Org) -> None:
    # given a manager who may reveal, and an analyst who may not
    given = _given(org)
    contact = given["contact"]
    page = f"/customers/{given['own'].pk}/"
    assert 'data-testid="reveal-button"' in login_client(org.manager).get(page).content.decode()
    # when an administrator switches the managers off and the analysts on, on the roles page
    admin = login_client(org.admin)
    response = admin.post(
        "/accounts/roles/", {"role": "sales_manager", "sales_manager-data_scope": "subtree"}
    )
    assert response.status_code == 302
    response = admin.post(
        "/accounts/roles/",
        {
            "role": "analyst",
            "analyst-data_scope": "all",
            "analyst-reveal_personal_data": "on",
        },
    )
    assert response.status_code == 302
    # then the manager gets no button, a 403 from the API and no edit form
    manager = login_client(org.manager)
    assert 'data-testid="reveal-button"' not in manager.get(page).content.decode()
    assert (
        ApiClient(org.manager, language="en")
        .post(f"/api/v1/contacts/{contact.pk}/reveal")
        .status_code
        == 403
    )
    opened = manager.get(f"/customers/contacts/{contact.pk}/edit/", **EN).content.decode()
    assert 'data-testid="contact-form"' not in opened and 'name="reveal"' not in opened
    edit = manager.post(f"/customers/contacts/{contact.pk}/edit/", {"reveal": "1"}, **EN)
    assert edit.status_code == 403
    assert 'data-testid="contact-form"' not in edit.content.decode()
    assert "Your role may not reveal personal data." in edit.content.decode()
    # and the analyst may reveal now
    assert 'data-testid="reveal-button"' in login_client(org.analyst).get(page).content.decode()
    assert (
        ApiClient(org.analyst, language="en")
        .post(f"/api/v1/contacts/{contact.pk}/reveal")
        .status_code
        == 200
    )
    assert [e.actor_id for e in _reveals()] == [org.analyst.pk]


# --- the edit form ------------------------------------------------------------------------------


def _open_edit(client: Any, contact: Any, **extra: Any) -> Any:
    """Ask for the reveal the edit form needs (a POST), then open the form."""
    client.post(f"/customers/contacts/{contact.pk}/edit/", {"reveal": "1"})
    return client.get(f"/customers/contacts/{contact.pk}/edit/", **extra)


def test_opening_the_edit_form_of_someone_elses_contact_asks_for_a_reveal(org: Org) -> None:
    # given
    given = _given(org)
    contact = given["contact"]
    client = login_client(org.manager)
    # when the manager opens the edit form: a page that asks, and nothing is logged by a GET
    asked = client.get(f"/customers/contacts/{contact.pk}/edit/")
    body = asked.content.decode()
    assert asked.status_code == 200 and 'data-testid="reveal-to-edit"' in body
    assert 'data-testid="contact-form"' not in body and not _full(body)
    assert client.head(f"/customers/contacts/{contact.pk}/edit/").status_code == 200
    assert _reveals() == []
    # when they ask for the reveal
    revealed = client.post(f"/customers/contacts/{contact.pk}/edit/", {"reveal": "1"})
    assert revealed.status_code == 302
    response = client.get(f"/customers/contacts/{contact.pk}/edit/")
    # then the form holds the real values, and the trail says it was a reveal to edit
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert (initial["phone_1"], initial["email"], initial["wechat"]) == (
        "+8613800138000",
        "lisi@example.com",
        "lisi_wx",
    )
    (entry,) = _reveals()
    assert entry.actor == org.manager and entry.note == "personal_data_revealed_for_edit"
    # saving the form is no further reveal
    data = {k: v for k, v in initial.items() if v is not None}
    data.update(title="总监", decision_role="decision_maker", legal_basis="consent")
    assert client.post(f"/customers/contacts/{contact.pk}/edit/", data).status_code == 302
    contact.refresh_from_db()
    assert contact.title == "总监" and contact.phones[0]["number"] == "+8613800138000"
    assert len(_reveals()) == 1


def test_the_owner_opens_the_edit_form_without_a_reveal(org: Org) -> None:
    given = _given(org)
    response = login_client(org.rep).get(f"/customers/contacts/{given['contact'].pk}/edit/")
    assert response.status_code == 200
    assert response.context["form"].initial["phone_1"] == "+8613800138000"
    assert _reveals() == []


def test_the_edit_form_counts_against_the_limit(org: Org, settings: Any) -> None:
    # given one reveal a day, used by opening the edit form
    settings.GUANXI_REVEAL_DAILY_LIMIT = 1
    given = _given(org)
    contact = given["contact"]
    client, api = login_client(org.manager), ApiClient(org.manager, language="en")
    assert _open_edit(client, contact).status_code == 200
    assert api.post(f"/api/v1/contacts/{contact.pk}/reveal").status_code == 429
    # when the manager asks again, from another session
    client = login_client(org.manager)
    before = db_state()
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", {"reveal": "1"}, **EN)
    # then a clear message and no form, with the values nowhere in the page
    body = response.content.decode()
    assert response.status_code == 429
    assert 'data-testid="reveal-refused"' in body and "the daily limit" in body
    assert 'data-testid="contact-form"' not in body
    assert not _full(body)
    assert db_state() == before


def test_the_edit_form_of_a_pool_contact_says_claim_it_first(org: Org) -> None:
    given = _given(org)
    client = login_client(org.admin)
    path = f"/customers/contacts/{given['pool_contact'].pk}/edit/"
    assert 'name="reveal"' not in client.get(path, **EN).content.decode()
    response = client.post(path, {"reveal": "1"}, **EN)
    body = response.content.decode()
    assert response.status_code == 409
    assert "Claim it first." in body and 'data-testid="contact-form"' not in body
    assert "13900139000" not in body


# --- masked values are never saved back ---------------------------------------------------------


def test_masked_values_sent_back_through_the_api_are_refused(org: Org) -> None:
    # given what a manager reads
    given = _given(org)
    contact = given["contact"]
    client = ApiClient(org.manager, language="en")
    read = client.get(f"/api/v1/contacts/{contact.pk}").json()
    before = db_state()
    # when they send it back, whole or field by field
    attempts = [
        {"phones": read["phones"], "email": read["email"], "wechat": read["wechat"]},
        {"phones": [{"number": "138****8000", "label": "mobile"}]},
        {"email": read["email"]},
        {"wechat": read["wechat"]},
    ]
    for sent in attempts:
        response = client.patch(
            f"/api/v1/contacts/{contact.pk}", {"version": read["version"], **sent}
        )
        # then each is a field error, and nothing changes
        assert response.status_code == 422, sent
        fields = response.json()["fields"]
        expected = {"phones.0" if name == "phones" else name for name in sent}
        assert set(fields) == expected
        assert all("masked" in message for messages in fields.values() for message in messages)
    assert db_state() == before
    # the same for a new contact
    response = client.post(
        "/api/v1/contacts",
        {"customer_id": given["own"].pk, "name": "复制", "email": "l****@example.com"},
    )
    assert response.status_code == 422 and list(response.json()["fields"]) == ["email"]
    assert db_state() == before


def test_a_masked_value_in_the_edit_form_is_a_field_error(org: Org) -> None:
    given = _given(org)
    contact = given["contact"]
    client = login_client(org.manager)
    initial = _open_edit(client, contact).context["form"].initial
    before = db_state()
    data = {k: v for k, v in initial.items() if v is not None}
    data.update(phone_1="138****8000", wechat="li****")
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"phone_1", "wechat"}
    assert db_state() == before


def test_the_service_refuses_masked_values_whoever_calls_it(org: Org) -> None:
    given = _given(org)
    contact = Contact.objects.select_related("customer").get(pk=given["contact"].pk)
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.contact_update(
            actor=org.rep, contact=contact, data={"phones": ["+8613800138000", "138****8000"]}
        )
    assert list(caught.value.message_dict) == ["phones.1"]
    assert caught.value.error_dict["phones.1"][0].code == "masked_value"
    assert db_state() == before


def test_a_conflict_shows_non_owners_the_saved_values_masked(org: Org) -> None:
    # given a contact changed by its owner after a manager read it
    given = _given(org)
    contact = given["contact"]
    stale = contact.version
    services.contact_update(actor=org.rep, contact=contact, data={"title": "经理"})
    # when the manager and the owner send a stale change of the phones
    sent = {"version": stale, "phones": [{"number": "13700137000"}], "email": "new@example.com"}
    manager = ApiClient(org.manager, language="en").patch(f"/api/v1/contacts/{contact.pk}", sent)
    owner = ApiClient(org.rep, language="en").patch(f"/api/v1/contacts/{contact.pk}", sent)
    # then the manager sees the saved values masked, the owner in full
    assert manager.status_code == owner.status_code == 409
    conflicts = manager.json()["conflicts"]
    assert conflicts["phones"]["theirs"] == [{"number": "138****8000", "label": "mobile"}]
    assert conflicts["email"]["theirs"] == "l****@example.com"
    assert not _full(manager.content.decode())
    assert owner.json()["conflicts"]["phones"]["theirs"][0]["number"] == "+8613800138000"
    # the same on the page
    client = login_client(org.manager)
    initial = _open_edit(client, contact).context["form"].initial
    data = {k: v for k, v in initial.items() if v is not None}
    fresh = Contact.objects.get(pk=contact.pk)
    services.contact_update(actor=org.rep, contact=fresh, data={"title": "总监"})
    data.update(phone_1="13700137000")
    page = client.post(f"/customers/contacts/{contact.pk}/edit/", data)
    body = page.content.decode()
    conflict = body[body.index('data-testid="conflict"') : body.index("</table>")]
    assert page.status_code == 409
    assert "138****8000" in conflict and "13800138000" not in conflict


# --- the audit trail ----------------------------------------------------------------------------


def test_the_audit_trail_shows_contact_personal_data_masked(org: Org) -> None:
    # given a contact created, changed and revealed
    given = _given(org)
    contact = given["contact"]
    services.contact_update(
        actor=org.rep,
        contact=contact,
        data={"phones": ["13700137000"], "email": "li.si@example.com", "wechat": "lisi_new"},
    )
    ApiClient(org.manager, language="en").post(f"/api/v1/contacts/{contact.pk}/reveal")
    stored = AuditEntry.objects.filter(object_type="customers.contact", action="update").get()
    assert stored.changes["phones"]["after"] == [{"number": "+8613700137000", "label": "mobile"}]
    everything = FULL + ("13700137000", "li.si@example.com", "lisi_new", "13900139000")
    client = login_client(org.admin)
    query = {"object_type": "customers.contact"}
    # when the administrator reads the trail: page, HTMX rows and API
    page = client.get("/audit/", query, **EN).content.decode()
    rows = client.get("/audit/", query, **HTMX, **EN).content.decode()
    api = ApiClient(org.admin, language="en").get("/api/v1/audit", **query)
    # then the values are masked everywhere, and the reveal is listed with its label
    for body in (page, rows, api.content.decode()):
        assert not any(value in body for value in everything)
        assert "138****8000" in body and "137****7000" in body and "li****" in body
    assert "phones, e-mail and WeChat ID" in page and "Revealed personal data" in page
    by_action = {item["action"]: item for item in api.json()["items"]}
    assert by_action["update"]["changes"]["email"] == {
        "before": "l****@example.com",
        "after": "li****@example.com",
    }
    assert by_action["reveal"]["note"] == "personal_data_revealed"
    # a customer's own changes are not touched by the masking
    customer_entries = ApiClient(org.admin, language="en").get(
        "/api/v1/audit", object_type="customers.customer"
    )
    assert "华为技术有限公司" in json.dumps(customer_entries.json(), ensure_ascii=False)


def test_the_customer_timeline_masks_contact_values_should_it_ever_show_them() -> None:
    # The timeline lists the customer's own entries; it reads changes through the same masking
    # as the audit trail, so a contact entry would come out masked.
    from guanxi.core.audit_display import audit_change_rows

    entry = AuditEntry(
        pk=1,
        action=AuditEntry.Action.UPDATE,
        object_type="customers.contact",
        changes={
            "phones": {"before": None, "after": [{"number": "+8613800138000", "label": "mobile"}]},
            "email": {"before": "lisi@example.com", "after": ""},
        },
    )
    rows = {row.name: row for row in audit_change_rows([entry], viewer=None)[1]}
    assert rows["phones"].after == "138****8000"
    assert rows["email"].before == "l****@example.com"


def test_the_migration_rebuilds_keys_exactly_as_the_services_do(org: Org) -> None:
    import importlib

    from django.apps import apps

    given = _given(org)
    Contact.objects.update(search_key="13800138000 lisi_wx")  # keys as they were before
    Customer.objects.update(search_key="13800138000")
    importlib.import_module(
        "guanxi.customers.migrations.0013_search_keys_private_tokens"
    ).recompute(apps, None)
    for contact in Contact.objects.all():
        assert contact.search_key == services.contact_search_key(contact)
    for customer in Customer.all_objects.all():
        assert customer.search_key == services.customer_search_key(customer)
    owner = ApiClient(org.rep, language="en")
    assert [c["id"] for c in owner.get("/api/v1/customers", q="13800138000").json()["items"]] == [
        given["own"].pk
    ]
    assert ApiClient(org.manager).get("/api/v1/customers", q="13800138000").json()["items"] == []
