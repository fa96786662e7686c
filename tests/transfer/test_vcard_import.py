"""vCard import into a customer's contacts: round trip with the export, all or nothing with every
wrong card named, and files too large, too long or unreadable refused whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact
from tests.conftest import ApiClient, login_client
from tests.customers.conftest import make_contact, make_customer
from tests.transfer.conftest import body, db_state

pytestmark = pytest.mark.django_db


def _upload(data: bytes, name: str = "contacts.vcf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/vcard")


def _import(client: Any, customer: Any, data: bytes, **fields: Any) -> Any:
    return client.post(
        f"/transfer/customers/{customer.pk}/contacts/vcard/",
        {"file": _upload(data), "legal_basis": "consent", **fields},
    )


def _card(name: str, *lines: str, version: str = "3.0") -> str:
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", f"FN:{name}", *lines, "END:VCARD"])


def _contacts(customer: Any) -> list[dict[str, Any]]:
    fields = ("name", "title", "decision_role", "phones", "email", "wechat", "address", "birthday")
    return list(Contact.objects.filter(customer=customer).order_by("name").values(*fields))


@pytest.mark.parametrize("fmt", ["vcard3", "vcard4"])
def test_round_trip_through_export_and_import(org, fmt):
    # given the rep's customer with contacts in full
    source = make_customer(org.rep, "华为技术有限公司")
    make_contact(
        source,
        "张三",
        title="采购总监",
        decision_role="decision_maker",
        phones=[
            {"number": "13800138000", "label": "mobile"},
            {"number": "020-12345678", "label": "work"},
        ],
        email="zhang@example.com",
        wechat="zhangsan_wx",
        address="广东省深圳市龙岗区坂田华为基地",
        birthday=dt.date(1980, 1, 31),
    )
    make_contact(source, "李四", decision_role="influencer")
    target = make_customer(org.rep, "华为终端有限公司")
    client = login_client(org.rep)
    # when the rep exports them as vCards and imports the file into another customer
    exported = body(
        client.post("/transfer/exports/new/", {"export": f"contacts:{fmt}", "customer": source.pk})
    )
    response = _import(client, target, exported)
    # then the contacts are the same
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{target.pk}/#contacts"
    assert _contacts(target) == _contacts(source)
    note = AuditEntry.objects.filter(object_type="customers.customer", object_id=str(target.pk))
    assert note.latest("id").note == "contacts_vcard_imported?count=2"


def test_an_import_through_the_api(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    data = "\r\n".join(
        [
            _card("王小明", "TEL;TYPE=CELL:138 0013 8000", "EMAIL:wang@example.com"),
            _card("Ann Lee", "ROLE:Influencer", "TITLE:CTO", version="4.0"),
        ]
    ).encode()
    api = ApiClient(org.rep)
    response = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard",
        {"file": _upload(data), "legal_basis": "contract"},
        headers=api.headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 2
    contacts = {c.name: c for c in Contact.objects.filter(customer=customer)}
    assert contacts["王小明"].phones == [{"number": "+8613800138000", "label": "mobile"}]
    assert contacts["王小明"].legal_basis == "contract"
    assert (contacts["Ann Lee"].decision_role, contacts["Ann Lee"].title) == ("influencer", "CTO")


def test_one_bad_card_imports_nothing_and_every_bad_card_is_named(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    data = "\r\n".join(
        [
            _card("好的", "TEL:13800138000"),
            _card("坏号码", "TEL:12345"),
            _card("", "TEL:13900139000"),
            _card("打码", "TEL:138****8000", "EMAIL:li****@example.com"),
            _card("没年份", "BDAY:--0131"),
        ]
    ).encode()
    client = login_client(org.rep)
    client.cookies["guanxi_language"] = "en"
    before = db_state()
    response = _import(client, customer, data)
    assert response.status_code == 400
    assert db_state() == before
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Card 2 (坏号码)" in page and "Enter a valid phone number" in page
    assert "Card 3 (—)" in page and "Name" in page
    assert "Card 4 (打码)" in page and "This value is masked" in page
    assert "Card 5 (没年份)" in page and "not a full date with a year" in page
    assert "Card 1 (" not in page
    api = ApiClient(org.rep)
    before = db_state()
    response = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard",
        {"file": _upload(data)},
        headers=api.headers,
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "vcard_invalid"
    assert set(payload["fields"]) == {
        "cards.2.phones.0",
        "cards.3.name",
        "cards.4.phones.0",
        "cards.4.email",
        "cards.5.birthday",
    }
    assert db_state() == before


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not a vcard", "vcard_no_cards"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n", "vcard_unreadable"),
        (b"BEGIN:VCARD\r\nFN:\xff\xfe\r\nEND:VCARD\r\n", "vcard_encoding"),
        (("BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n" * 6).encode(), "vcard_too_many_cards"),
        (b"BEGIN:VCARD\r\nFN:" + b"x" * 3000 + b"\r\nEND:VCARD\r\n", "vcard_too_large"),
        (
            b"BEGIN:VCARD\r\nFN:x\r\n" + b"TEL:13800138000\r\n" * 11 + b"END:VCARD\r\n",
            "vcard_invalid",
        ),
    ],
)
def test_bad_or_hostile_files_are_refused_whole(org, settings, data, code):
    settings.GUANXI_VCARD_MAX_BYTES = 2048
    settings.GUANXI_VCARD_MAX_CARDS = 5
    customer = make_customer(org.rep, "华为技术有限公司")
    api = ApiClient(org.rep)
    client = login_client(org.rep)
    before = db_state()
    response = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard",
        {"file": _upload(data)},
        headers=api.headers,
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]
    page = _import(client, customer, data)
    assert page.status_code == 400
    assert db_state() == before


def test_a_huge_upload_is_refused_before_it_is_read(org, settings):
    settings.GUANXI_VCARD_MAX_BYTES = 1024
    customer = make_customer(org.rep, "华为技术有限公司")
    data = b"BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n" + b" " * (200 * 1024)
    api = ApiClient(org.rep)
    before = db_state()
    response = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard",
        {"file": _upload(data)},
        headers=api.headers,
    )
    assert response.status_code == 400 and response.json()["code"] == "vcard_too_large"
    page = _import(login_client(org.rep), customer, data)
    assert page.status_code == 400
    assert db_state() == before


def test_the_import_form_asks_for_a_file(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    form = client.get(f"/transfer/customers/{customer.pk}/contacts/vcard/")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode()
    before = db_state()
    assert client.post(f"/transfer/customers/{customer.pk}/contacts/vcard/", {}).status_code == 400
    api = ApiClient(org.rep)
    before = db_state()
    response = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard", {}, headers=api.headers
    )
    assert response.status_code == 422 and "file" in response.json()["fields"]
    bad_basis = api.client.post(
        f"/api/v1/customers/{customer.pk}/contacts/vcard",
        {"file": _upload(_card("x").encode()), "legal_basis": "whim"},
        headers=api.headers,
    )
    assert bad_basis.status_code == 422 and "legal_basis" in bad_basis.json()["fields"]
    assert db_state() == before


def test_the_detail_page_offers_export_and_import(org):
    customer = make_customer(org.rep, "华为技术有限公司")
    own = login_client(org.rep).get(f"/customers/{customer.pk}/").content.decode()
    assert f"/transfer/customers/{customer.pk}/contacts/vcard/" in own
    assert 'value="contacts:vcard3"' in own and 'value="contacts:vcard4"' in own
    analyst = login_client(org.analyst).get(f"/customers/{customer.pk}/").content.decode()
    assert f"/transfer/customers/{customer.pk}/contacts/vcard/" not in analyst
    assert 'value="contacts:vcard4"' in analyst
    listing = login_client(org.rep).get("/customers/?lifecycle=closed").content.decode()
    assert 'id="export-form"' in listing and 'value="customers:xlsx"' in listing
    assert 'name="query" value="lifecycle=closed" form="export-form"' in listing
