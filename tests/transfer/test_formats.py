"""The file formats on their own: no cell becomes a formula, the CSV carries a BOM, vCards of
both versions read back, and hostile vCard files are refused whole."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from guanxi.transfer.formats import (
    CardOut,
    VcardFileError,
    csv_safe,
    csv_write,
    vcard_read,
    vcard_write,
    xlsx_write,
)
from tests.transfer.conftest import csv_rows, xlsx_sheet

RISKY = ["=1+1", "+8613800138000", "-x", "@x", "\tx", "\rx", '=HYPERLINK("http://evil")']


@pytest.mark.parametrize("value", RISKY)
def test_csv_prefixes_every_formula_trigger_with_an_apostrophe(value):
    assert csv_safe(value) == f"'{value}"


@pytest.mark.parametrize("value", ["华为", "1+1", "a=b", "", "＝1+1", "13800138000"])
def test_csv_leaves_harmless_values_alone(value):
    assert csv_safe(value) == value


def test_csv_file_has_a_bom_crlf_and_safe_cells():
    buffer = io.BytesIO()
    count = csv_write(buffer, ["名称", "=header"], [["华为", "=1+1"], ["-x", None]])
    data = buffer.getvalue()
    assert count == 2
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    assert csv_rows(data) == [["名称", "'=header"], ["华为", "'=1+1"], ["'-x", ""]]


def test_xlsx_writes_risky_values_as_text_never_as_formulas():
    buffer = io.BytesIO()
    rows = [[value, 7, dt.date(2026, 3, 10), None] for value in RISKY]
    assert xlsx_write(buffer, ["值", "n", "day", "empty"], rows, sheet_name="客户") == len(RISKY)
    sheet = xlsx_sheet(buffer.getvalue())
    assert sheet.title == "客户"
    for index, value in enumerate(RISKY, start=2):
        cell = sheet.cell(row=index, column=1)
        assert cell.data_type == "s", value  # a string, not "f" (formula)
        # XlsxWriter escapes a control character the OOXML way, which openpyxl leaves as it is.
        assert cell.value == value.replace("\r", "_x000D_"), value
        assert cell.quotePrefix  # and Excel keeps it text when someone edits it
        assert sheet.cell(row=index, column=2).value == 7
        assert sheet.cell(row=index, column=3).value == dt.datetime(2026, 3, 10)  # noqa: DTZ001  (Excel dates are naive)
        assert sheet.cell(row=index, column=4).value is None


def test_xlsx_sheet_name_is_made_valid():
    buffer = io.BytesIO()
    xlsx_write(buffer, ["a"], [], sheet_name="a/b:c*" + "x" * 40)
    assert xlsx_sheet(buffer.getvalue()).title == "a b c " + "x" * 25


def _card(**fields):
    base = {
        "name": "张三",
        "organisation": "华为技术有限公司",
        "title": "采购总监",
        "role": "Decision maker",
        "phones": [("+8613800138000", "mobile"), ("+862012345678", "work")],
        "email": "zhang@example.com",
        "wechat": "zhangsan_wx",
        "address": "广东省深圳市龙岗区坂田华为基地",
        "birthday": dt.date(1980, 1, 31),
    }
    return CardOut(**{**base, **fields})


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_round_trip(version):
    buffer = io.BytesIO()
    assert vcard_write(buffer, [_card(), _card(name="李四", phones=[])], version=version) == 2
    text = buffer.getvalue().decode("utf-8")
    assert f"VERSION:{version}" in text
    cards = vcard_read(buffer.getvalue(), max_cards=10)
    assert [card.name for card in cards] == ["张三", "李四"]
    first = cards[0]
    assert first.title == "采购总监"
    assert first.role == "Decision maker"
    assert first.phones == [
        {"number": "+8613800138000", "label": "mobile"},
        {"number": "+862012345678", "label": "work"},
    ]
    assert (first.email, first.wechat) == ("zhang@example.com", "zhangsan_wx")
    assert first.address == "广东省深圳市龙岗区坂田华为基地"
    assert first.birthday == dt.date(1980, 1, 31)
    assert first.errors == {}


def test_vcard_reads_what_phones_write():
    data = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;;;\r\nTEL;TYPE=HOME,VOICE:+44 20 7946 0958\r\n"
        "ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA\r\nBDAY:--0131\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nN:王;小明;;;\r\nTEL;VALUE=uri;TYPE=cell:tel:+86-138-0013-8000\r\n"
        "IMPP:weixin:wangxm\r\nADR:;;科技园路1号;深圳市;广东省;;中国\r\nEND:VCARD\r\n"
    ).encode()
    first, second = vcard_read(data, max_cards=10)
    assert first.name == "John Smith"
    assert first.phones == [{"number": "+44 20 7946 0958", "label": "home"}]
    assert first.address == "1 Main St, Springfield, IL, USA"
    assert first.birthday is None and first.errors == {"birthday": "birthday"}
    assert second.name == "王小明"
    assert second.phones == [{"number": "+86-138-0013-8000", "label": "mobile"}]
    assert second.wechat == "wangxm"
    assert second.address == "中国广东省深圳市科技园路1号"


def test_vcard_encoded_values_are_decoded():
    data = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN;ENCODING=b:5byg5LiJ\r\nEND:VCARD\r\n"
    assert vcard_read(data, max_cards=1)[0].name == "张三"


def test_vcard_in_utf16_is_read():
    data = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张三\r\nEND:VCARD\r\n".encode("utf-16")
    assert vcard_read(data, max_cards=1)[0].name == "张三"


def test_vcard_in_gb18030_is_read():
    data = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张三\r\nEND:VCARD\r\n".encode("gb18030")
    assert vcard_read(data, max_cards=1)[0].name == "张三"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "no_cards"),
        (b"hello world", "no_cards"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n" * 3, "too_many_cards"),
        (b"BEGIN:VCARD\r\n:::\r\nEND:VCARD\r\n", "unreadable"),
        (b"BEGIN:VCARD\r\nFN:x\r\n", "unreadable"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCALENDAR\r\n", "unreadable"),
        (b"BEGIN:VCARD\r\nFN:\xff\xfe\r\nEND:VCARD\r\n", "encoding"),
        (b"\xff\xfe\x00\x00\xff" * 10, "encoding"),
        (b"\x01\x02garbage" * 10, "no_cards"),
        (b"BEGIN:VCARD\r\nFN:a\x00b\r\nEND:VCARD\r\n", "encoding"),
        (b"\xff\xfe\x00\xd8", "encoding"),
    ],
)
def test_vcard_files_that_cannot_be_read_are_refused(data, code):
    with pytest.raises(VcardFileError) as refused:
        vcard_read(data, max_cards=2)
    assert refused.value.code == code
