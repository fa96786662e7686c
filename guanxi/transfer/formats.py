"""File formats of import and export: CSV, XLSX and vCard, with no business rules.

Every writer takes column headers and rows of plain values (str, int, date, datetime or None)
and writes them to a binary file one row at a time, so an export of any size keeps memory flat.
No user value can become a formula in a spreadsheet: XLSX cells are written as text, and a CSV
cell that Excel or WPS would read as a formula gets an apostrophe in front (OWASP, "CSV
injection").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import vobject
import xlsxwriter
from django.utils import formats, timezone

Cell = str | int | dt.date | dt.datetime | None

# A cell starting with one of these is a formula to Excel, LibreOffice and WPS; tab and carriage
# return also start one after the application trims them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# An XLSX sheet holds 1,048,576 rows, one of them the header.
XLSX_MAX_ROWS = 1_048_575


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def cell_text(value: Cell) -> str:
    """A value as a person reads it, in the active language (dates in the locale's format)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return formats.date_format(_local(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def csv_safe(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet evaluates: ``=1+1`` becomes ``'=1+1``."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def csv_write(file: IO[bytes], headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """UTF-8 with a byte-order mark (Excel on Windows reads UTF-8 without one as the ANSI code
    page, which garbles Chinese) and CRLF line ends. Returns the number of rows written."""
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([csv_safe(str(header)) for header in headers])
    count = 0
    for row in rows:
        writer.writerow([csv_safe(cell_text(value)) for value in row])
        count += 1
    text.flush()
    text.detach()  # leave ``file`` open for the caller
    return count


def xlsx_write(
    file: IO[bytes],
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    sheet_name: str,
    widths: Sequence[int] = (),
) -> int:
    """One sheet, header row frozen. constant_memory streams each row to a temporary file as it
    is written instead of holding the sheet. Text is written with write_string, never write(),
    and the workbook's string conversions are off, so ``=1+1`` or ``+8613800138000`` stay text;
    a text cell that looks like a formula also gets Excel's quote prefix, so editing it later
    does not turn it into one either. Returns the number of rows written."""
    workbook = xlsxwriter.Workbook(
        file,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    bold = workbook.add_format({"bold": True})
    quoted = workbook.add_format({"quote_prefix": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = workbook.add_worksheet(_sheet_name(sheet_name))
    for index, width in enumerate(widths):
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)
    for column, header in enumerate(headers):
        sheet.write_string(0, column, str(header), bold)
    count = 0
    for count, row in enumerate(rows, start=1):
        if count > XLSX_MAX_ROWS:
            raise ValueError("too many rows for one XLSX sheet")
        for column, value in enumerate(row):
            _xlsx_cell(sheet, count, column, value, quoted, date_format, datetime_format)
    workbook.close()
    return count


def _xlsx_cell(
    sheet: Any, row: int, column: int, value: Cell, quoted: Any, date_: Any, datetime_: Any
) -> None:
    if value is None or value == "":
        return  # constant_memory: an unwritten cell is an empty one
    if isinstance(value, bool):
        sheet.write_string(row, column, str(value))
    elif isinstance(value, int):
        sheet.write_number(row, column, value)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, column, _local(value).replace(tzinfo=None), datetime_)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, column, value, date_)
    else:
        text = str(value)
        sheet.write_string(row, column, text, quoted if text.startswith(FORMULA_TRIGGERS) else None)


def xlsx_template_write(
    file: IO[bytes],
    headers: Sequence[str],
    notes: Sequence[Sequence[str]],
    *,
    sheet_name: str,
    notes_name: str,
    notes_headers: Sequence[str],
) -> None:
    """An import template: the columns on the first sheet (required ones in bold red, every
    column formatted as text so that Excel keeps leading zeros and long codes), and one row of
    notes per column on a second sheet."""
    workbook = xlsxwriter.Workbook(
        file, {"strings_to_formulas": False, "strings_to_numbers": False}
    )
    text = workbook.add_format({"num_format": "@"})
    bold = workbook.add_format({"bold": True, "num_format": "@"})
    required = workbook.add_format({"bold": True, "font_color": "#c0392b", "num_format": "@"})
    sheet = workbook.add_worksheet(_sheet_name(sheet_name))
    sheet.freeze_panes(1, 0)
    for column, header in enumerate(headers):
        sheet.set_column(column, column, max(12, len(header) * 2), text)
        sheet.write_string(0, column, header, required if header.endswith("*") else bold)
    explained = workbook.add_worksheet(_sheet_name(notes_name))
    explained.set_column(0, 0, 24)
    explained.set_column(1, 1, 10)
    explained.set_column(2, 2, 60)
    for column, header in enumerate(notes_headers):
        explained.write_string(0, column, header, bold)
    for row, values in enumerate(notes, start=1):
        for column, value in enumerate(values):
            explained.write_string(row, column, value)
    workbook.close()


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\ ."""
    return _SHEET_FORBIDDEN.sub(" ", name)[:31] or "Sheet1"


# --- vCard --------------------------------------------------------------------------------------

VCARD_VERSIONS = ("3.0", "4.0")

# vCard TEL types and the contact's phone labels, both ways.
_TEL_TYPES_OUT = {"mobile": "cell", "work": "work", "home": "home", "other": "voice"}
_TEL_TYPES_IN = {"cell": "mobile", "mobile": "mobile", "work": "work", "home": "home"}


@dataclass
class CardOut:
    """One contact as a vCard carries it."""

    name: str
    organisation: str = ""
    title: str = ""
    role: str = ""
    phones: list[tuple[str, str]] = field(default_factory=list)  # (number, label)
    email: str = ""
    wechat: str = ""
    address: str = ""
    birthday: dt.date | None = None
    note: str = ""


def vcard_write(file: IO[bytes], cards: Iterable[CardOut], *, version: str) -> int:
    """Cards one after another (UTF-8, CRLF, lines folded at 75 octets by vobject). Returns the
    number of cards written."""
    count = 0
    for card in cards:
        file.write(_vcard(card, version).serialize().encode("utf-8"))
        count += 1
    return count


def _vcard(card: CardOut, version: str) -> Any:
    component = vobject.vCard()
    component.add("version").value = version
    component.add("fn").value = card.name
    # One name field (Chinese names are not split into given and family): FN carries it, and N,
    # which 3.0 requires, carries it whole as the family name.
    component.add("n").value = vobject.vcard.Name(family=card.name)
    if card.organisation:
        component.add("org").value = [card.organisation]
    if card.title:
        component.add("title").value = card.title
    if card.role:
        component.add("role").value = card.role
    for number, label in card.phones:
        tel = component.add("tel")
        kind = _TEL_TYPES_OUT.get(label, "voice")
        if version == "4.0":
            # 4.0 writes a number as a tel: URI; a masked one (138****8000) is no number, so it
            # stays text.
            if number.startswith("+") and "*" not in number:
                tel.value = f"tel:{number}"
                tel.params["VALUE"] = ["uri"]
            else:
                tel.value = number
                tel.params["VALUE"] = ["text"]
            tel.type_param = kind
        else:
            tel.value = number
            tel.type_param = kind.upper()
    if card.email:
        email = component.add("email")
        email.value = card.email
        if version == "3.0":
            email.type_param = "INTERNET"
    if card.wechat:
        component.add("x-wechat").value = card.wechat
        if version == "4.0":
            component.add("impp").value = f"weixin:{card.wechat}"
    if card.address:
        component.add("adr").value = vobject.vcard.Address(street=card.address)
    if card.birthday:
        birthday = card.birthday.isoformat()
        component.add("bday").value = birthday.replace("-", "") if version == "4.0" else birthday
    if card.note:
        component.add("note").value = card.note
    return component


@dataclass
class CardIn:
    """One card of an imported file, read into the contact's fields; ``errors`` for what could
    not be read (field name → message keys the service translates)."""

    index: int  # 1-based, as people count
    name: str = ""
    title: str = ""
    role: str = ""
    phones: list[dict[str, str]] = field(default_factory=list)
    email: str = ""
    wechat: str = ""
    address: str = ""
    birthday: dt.date | None = None
    errors: dict[str, str] = field(default_factory=dict)


class VcardFileError(ValueError):
    """The file as a whole cannot be read: ``code`` says why (``encoding``, ``too_many_cards``,
    ``no_cards``, ``unreadable``)."""

    def __init__(self, code: str, *, card: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.card = card


_BEGIN = re.compile(rb"^BEGIN:VCARD\s*$", re.IGNORECASE | re.MULTILINE)


def vcard_decode(data: bytes) -> str:
    """UTF-8 (what 3.0 and 4.0 mean), else GB18030, which older Chinese phones and Outlook write."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise VcardFileError("encoding")


def vcard_read(data: bytes, *, max_cards: int) -> list[CardIn]:
    """Every card of ``data``, read into contact fields. The caller limits the size of ``data``;
    the number of cards is counted before anything is parsed. A NUL byte is text in no encoding
    read here (and PostgreSQL refuses it)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # UTF-16 with its byte-order mark, as Outlook on Windows may save it.
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeError as error:
            raise VcardFileError("encoding") from error
    if b"\x00" in data:
        raise VcardFileError("encoding")
    begins = len(_BEGIN.findall(data))
    if begins == 0:
        raise VcardFileError("no_cards")
    if begins > max_cards:
        raise VcardFileError("too_many_cards")
    text = vcard_decode(data)
    cards: list[CardIn] = []
    components = vobject.readComponents(text, ignoreUnreadable=False)
    while True:
        try:
            component = next(components)
        except StopIteration:
            break
        except Exception as error:
            # vobject raises whatever its line parser or a value decoder (base64, quoted-printable,
            # dates) meets in a malformed file; to the user they are all "this card is unreadable".
            raise VcardFileError("unreadable", card=len(cards) + 1) from error
        if getattr(component, "name", "").upper() != "VCARD":
            continue
        cards.append(_card_in(component, len(cards) + 1))
        if len(cards) > max_cards:
            raise VcardFileError("too_many_cards")
    if not cards:
        raise VcardFileError("no_cards")
    return cards


def _values(component: Any, name: str) -> list[Any]:
    return list(component.contents.get(name, []))


def _text(value: Any) -> str:
    if isinstance(value, bytes):  # a value the card sent base64- or quoted-printable-encoded
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value if item)
    return unicodedata.normalize("NFC", str(value or "")).strip()


def _card_in(component: Any, index: int) -> CardIn:
    card = CardIn(index=index)
    for line in _values(component, "fn")[:1]:
        card.name = _text(line.value)
    if not card.name:
        for line in _values(component, "n")[:1]:
            card.name = _name_from_n(line.value)
    for line in _values(component, "title")[:1]:
        card.title = _text(line.value)
    for line in _values(component, "role")[:1]:
        card.role = _text(line.value)
    for line in _values(component, "tel"):
        number = _text(line.value)
        if number.lower().startswith("tel:"):
            number = number[4:].split(";", 1)[0]
        if number:
            card.phones.append({"number": number, "label": _phone_label(line)})
    for line in _values(component, "email")[:1]:
        card.email = _text(line.value)
    for line in _values(component, "x-wechat")[:1]:
        card.wechat = _text(line.value)
    if not card.wechat:
        for line in _values(component, "impp"):
            scheme, _sep, handle = _text(line.value).partition(":")
            if scheme.lower() in {"weixin", "wechat", "wxid"} and handle:
                card.wechat = handle
                break
    for line in _values(component, "adr")[:1]:
        card.address = _address(line.value)
    for line in _values(component, "bday")[:1]:
        text = _text(line.value)
        if text:
            card.birthday = _birthday(text)
            if card.birthday is None:
                card.errors["birthday"] = "birthday"
    return card


def _name_from_n(value: Any) -> str:
    family = _text(getattr(value, "family", ""))
    given = _text(getattr(value, "given", ""))
    if not family or not given:
        return family or given
    # 张 + 三 is 张三; Smith + John is John Smith.
    if _has_cjk(family + given):
        return f"{family}{given}"
    return f"{given} {family}"


def _phone_label(line: Any) -> str:
    types = [str(kind).lower() for kind in line.params.get("TYPE", [])]
    for kind in types:
        for part in kind.split(","):
            if part in _TEL_TYPES_IN:
                return _TEL_TYPES_IN[part]
    return "other" if types else "mobile"


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" for char in text)


def _address(value: Any) -> str:
    """One line: from the country down for a Chinese address (广东省深圳市科技园路1号), from the
    street up for others (1 Main St, Springfield, USA)."""
    parts = {
        name: _text(getattr(value, name, ""))
        for name in ("box", "extended", "street", "city", "region", "code", "country")
    }
    small_to_big = [parts[n] for n in ("box", "extended", "street", "city", "region", "country")]
    small_to_big = [part for part in small_to_big if part]
    if _has_cjk("".join(small_to_big)):
        return "".join(reversed(small_to_big))[:255]
    return ", ".join(small_to_big)[:255]


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$")


def _birthday(text: str) -> dt.date | None:
    """``1980-01-02``, ``19800102`` or with a time; None for what has no year (``--0102``) or is
    no date."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
