"""Maintenance policies, rules and settings as administrators keep them, the most specific policy
winning, attachment checks by content, and the feed's scrubbing of numbers."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.engagement import services
from guanxi.engagement.feed import text_scrub
from guanxi.engagement.models import MaintenancePolicy
from guanxi.engagement.selectors import policy_for_customer
from tests.conftest import ApiClient, Org
from tests.engagement.conftest import db_state, make_customer, tasks_of

pytestmark = pytest.mark.django_db


def test_the_most_specific_policy_wins(org: Org):
    # given a policy for strategic key accounts and one for any important key account
    services.rule_create(
        actor=org.admin,
        policy=services.policy_create(
            actor=org.admin, name="重要大客户", account_class="important"
        ),
        kind="greeting",
        interval=1,
        unit="week",
    )
    both = services.policy_create(
        actor=org.admin, name="战略重要大客户", lifecycle="strategic", account_class="important"
    )
    strategic = make_customer(org.rep, "甲", lifecycle="strategic", account_class="important")
    closed = make_customer(org.rep, "乙", lifecycle="closed", account_class="important")
    plain = make_customer(org.rep, "丙", lifecycle="closed")
    assert policy_for_customer(strategic) == both
    assert policy_for_customer(closed).name == "重要大客户"
    assert policy_for_customer(plain).name == "成交客户维护策略"
    # a policy switched off is skipped: the less specific one applies again
    services.policy_update(actor=org.admin, policy=both, data={"is_active": False})
    assert policy_for_customer(strategic).name == "重要大客户"
    # the engine follows the same choice: weekly greetings for the important closed deal
    services.followups_generate(today=dt.date(2026, 3, 10))
    assert [t.kind for t in tasks_of(closed, source="policy")] == ["greeting"]


def test_a_second_policy_for_the_same_class_is_refused(org: Org):
    api = ApiClient(org.admin, language="en")
    before = db_state()
    response = api.post(
        "/api/v1/maintenance-policies", {"name": "另一个", "lifecycle": "strategic"}
    )
    assert response.status_code == 422
    assert "already covers" in str(response.json()["fields"])
    assert db_state() == before
    # once the seeded one is in the recycle bin, its class is free
    services.policy_delete(
        actor=org.admin, policy=MaintenancePolicy.objects.get(lifecycle="strategic")
    )
    assert (
        api.post(
            "/api/v1/maintenance-policies", {"name": "新", "lifecycle": "strategic"}
        ).status_code
        == 201
    )


def test_rules_and_settings_are_checked(org: Org):
    policy = MaintenancePolicy.objects.get(lifecycle="potential")
    with pytest.raises(ValidationError) as error:
        services.rule_create(
            actor=org.admin, policy=policy, kind="lunch", interval=0, unit="year", channels=["x"]
        )
    assert set(error.value.message_dict) >= {"kind", "unit", "channels"}
    with pytest.raises(ValidationError) as error:
        services.settings_update(actor=org.admin, data={"festivals": ["christmas"]})
    assert "festivals" in error.value.message_dict
    with pytest.raises(services.PermissionDeniedError):
        services.settings_update(actor=org.manager, data={"care_lead_days": 5})
    updated = services.settings_update(
        actor=org.admin, data={"festivals": ["national_day", "spring_festival"]}
    )
    assert updated.festivals == ["spring_festival", "national_day"]  # in the calendar's order


def _office(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "kept"),
    [
        ("纪要.pdf", b"%PDF-1.7\n...", True),
        ("photo.JPG", b"\xff\xd8\xff\xe0....", True),
        ("报价.xlsx", _office("xl/workbook.xml"), True),
        ("合同.docx", _office("word/document.xml"), True),
        ("notes.txt", "会议纪要：客户关注交期".encode("gb18030"), True),
        ("报价.pdf", b"<html><script>", False),  # not what its name says
        ("fake.docx", b"PK\x03\x04not a zip", False),
        ("page.html", b"<html></html>", False),  # not a type we keep
        ("logo.svg", b"<svg/>", False),
        ("binary.txt", b"\x00\x01\x02", False),
        ("empty.pdf", b"", False),
    ],
)
def test_attachments_are_checked_by_name_and_content(name, content, kept):
    upload = SimpleUploadedFile(name, content)
    if kept:
        assert services.attachment_check(upload).name == name
    else:
        with pytest.raises(ValidationError):
            services.attachment_check(upload)


def test_an_attachment_over_the_size_limit_is_refused(settings):
    settings.GUANXI_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError) as error:
        services.attachment_check(SimpleUploadedFile("a.pdf", b"%PDF-1.7 and more"))
    assert "larger than" in str(error.value)


@pytest.mark.parametrize(
    ("text", "hidden", "shown"),
    [
        ("打 13800138000 找李四", "13800138000", "****8000"),
        ("座机 0755-8888 6666 转 2", "8888 6666", "6666"),
        ("抄送 lisi@example.com", "lisi@example.com", "@example.com"),
        ("报价 12 万，3 月 15 日前", None, "报价 12 万，3 月 15 日前"),
    ],
)
def test_the_feed_masks_what_looks_like_a_number_or_an_address(text, hidden, shown):
    scrubbed = text_scrub(text)
    if hidden:
        assert hidden not in scrubbed
    assert shown in scrubbed
