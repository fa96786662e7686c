"""Reading the files people import: CSV and XLSX, one row at a time, with no business rules.

CSV: UTF-8 with or without a byte-order mark, GB18030 (what Excel and WPS on Chinese Windows save
as "CSV"), UTF-16 with its byte-order mark ("Unicode text"); comma, semicolon or tab separated.
The encoding is decided over the whole file before any row is read: a UTF-8 file whose first
megabyte is ASCII must not be read as GB18030 and garble its last rows.

XLSX: a zip of XML files, read with openpyxl in read-only mode (rows stream from the sheet's XML).
A hostile file is refused before openpyxl sees it: too many zip entries, more unpacked bytes than
allowed, or an entry that unpacks at a ratio no spreadsheet has (a zip bomb); an XML part that
declares a document type (entity expansion, "billion laughs", external entities). openpyxl also
parses through defusedxml, which refuses the same, as a second line.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

CHUNK_BYTES = 1024 * 1024
MAX_COLUMNS = 200
"""Cells read per row; a sheet wider than this is not a list of customers."""
SAMPLE_ROWS = 5
XLSX_MAX_ENTRIES = 2000
XLSX_RATIO_FLOOR = 1024 * 1024
"""Entries smaller than this unpacked are not held to the ratio: a tiny styles part full of
repeats compresses well and can do no harm."""
XLSX_PROLOG_BYTES = 16 * 1024
"""How much of each XML part is read to look for a document type declaration, which can only
come before the root element."""
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# What our own CSV export puts in front of a cell a spreadsheet would read as a formula
# (formats.csv_safe); a file exported from Guanxi imports back as it was.
_QUOTED_FORMULA = re.compile(r"^'(?=[=+\-@\t\r])")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: ``code`` says why (too_large, empty, encoding,
    unreadable, too_many_rows, xlsx_invalid, xlsx_bomb, xlsx_unsafe); ``row`` where it broke."""

    def __init__(self, code: str, *, row: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.row = row


@dataclass
class SheetInfo:
    format: str  # csv or xlsx
    encoding: str = ""
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    estimated_rows: int | None = None


def sheet_format(handle: IO[bytes]) -> str:
    handle.seek(0)
    head = handle.read(4)
    handle.seek(0)
    return "xlsx" if head == b"PK\x03\x04" else "csv"


def sheet_inspect(handle: IO[bytes], *, max_unzipped: int, max_ratio: int) -> SheetInfo:
    """The format, encoding, headers, first rows and an estimate of the row count. Raises
    ImportFileError for a file that cannot be read at all."""
    if sheet_format(handle) == "xlsx":
        info = SheetInfo(format="xlsx")
        xlsx_check(handle, max_unzipped=max_unzipped, max_ratio=max_ratio)
        rows = _xlsx_rows(handle, info)
    else:
        info = _csv_inspect(handle)
        rows = _csv_rows(handle, info)
    try:
        try:
            info.headers = next(rows)
        except StopIteration as error:
            raise ImportFileError("empty") from error
        for _number, cells in _numbered(rows):
            info.sample.append(cells)
            if len(info.sample) >= SAMPLE_ROWS:
                break
    finally:
        rows.close()
    if not any(info.headers):
        raise ImportFileError("empty")
    return info


def sheet_rows(
    handle: IO[bytes], info: SheetInfo, *, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """(row number as the spreadsheet shows it, cells) of every data row after the header; blank
    rows are skipped. Raises ImportFileError past ``max_rows`` rows."""
    rows = _xlsx_rows(handle, info) if info.format == "xlsx" else _csv_rows(handle, info)
    try:
        next(rows, None)  # the header
        for count, (number, cells) in enumerate(_numbered(rows), start=1):
            if count > max_rows:
                raise ImportFileError("too_many_rows", row=number)
            yield number, cells
    finally:
        rows.close()


def _numbered(rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for number, cells in enumerate(rows, start=2):
        if any(cells):
            yield number, cells


def _cell(value: str) -> str:
    return _QUOTED_FORMULA.sub("", value.strip())


# --- CSV ----------------------------------------------------------------------------------------


def _csv_inspect(handle: IO[bytes]) -> SheetInfo:
    handle.seek(0)
    first = handle.read(CHUNK_BYTES)
    if not first.strip():
        raise ImportFileError("empty")
    if first.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = ""
    newlines = 0
    if encoding == "utf-16":
        candidates = ["utf-16"]
    elif encoding:
        candidates = [encoding]
    else:
        candidates = ["utf-8", "gb18030"]
    for candidate in candidates:
        decoder = codecs.getincrementaldecoder(candidate)()
        handle.seek(0)
        newlines = 0
        try:
            while chunk := handle.read(CHUNK_BYTES):
                if candidate != "utf-16" and b"\x00" in chunk:
                    # No text encoding read here has NUL in it: a binary file (or UTF-16
                    # without its byte-order mark).
                    raise ImportFileError("encoding")
                if "\x00" in decoder.decode(chunk):
                    # UTF-32 or binary behind a UTF-16 byte-order mark: no text has NUL in it.
                    raise ImportFileError("encoding")
                newlines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        encoding = candidate
        break
    else:
        raise ImportFileError("encoding")
    text = first.decode(encoding, errors="ignore")
    header_line = text.splitlines()[0] if text else ""
    delimiter = max((",", "\t", ";"), key=lambda sep: (header_line.count(sep), sep == ","))
    if encoding == "utf-16":
        newlines //= 2  # every character is two bytes, the line feed too
    return SheetInfo(
        format="csv", encoding=encoding, delimiter=delimiter, estimated_rows=max(0, newlines - 1)
    )


def _csv_rows(handle: IO[bytes], info: SheetInfo) -> Iterator[list[str]]:
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=info.encoding, newline="")
    reader = csv.reader(text, delimiter=info.delimiter)
    try:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as error:
                # A field over csv's size limit, a NUL, a quote left open to the end.
                raise ImportFileError("unreadable", row=reader.line_num) from error
            yield [_cell(value) for value in row[:MAX_COLUMNS]]
    finally:
        with contextlib.suppress(ValueError):  # the handle was closed first: nothing to keep
            text.detach()


# --- XLSX ---------------------------------------------------------------------------------------


def xlsx_check(handle: IO[bytes], *, max_unzipped: int, max_ratio: int) -> None:
    """Refuse a zip bomb or an XML part with a document type before anything is parsed. Only
    the zip's directory and the first bytes of each XML part are read."""
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImportFileError("xlsx_invalid") from error
    with archive:
        entries = archive.infolist()
        if len(entries) > XLSX_MAX_ENTRIES:
            raise ImportFileError("xlsx_bomb")
        if sum(entry.file_size for entry in entries) > max_unzipped:
            raise ImportFileError("xlsx_bomb")
        for entry in entries:
            packed = max(entry.compress_size, 1)
            if entry.file_size > XLSX_RATIO_FLOOR and entry.file_size / packed > max_ratio:
                raise ImportFileError("xlsx_bomb")
        for entry in entries:
            if not entry.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(entry) as part:
                    prolog = part.read(XLSX_PROLOG_BYTES)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
                raise ImportFileError("xlsx_invalid") from error
            if _DOCTYPE.search(prolog):
                raise ImportFileError("xlsx_unsafe")
    handle.seek(0)


def _xlsx_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        # A phone or an ID typed into a number cell: 13800138000.0 is 13800138000.
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value))


def _xlsx_rows(handle: IO[bytes], info: SheetInfo) -> Iterator[list[str]]:
    import openpyxl

    handle.seek(0)
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as error:
        # openpyxl raises whatever its zip and XML layers meet (KeyError for a missing part,
        # defusedxml's DTDForbidden, ...): to the user they all mean "not a readable workbook".
        raise ImportFileError(_xlsx_error_code(error)) from error
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError("empty")
        if info.estimated_rows is None:
            try:
                info.estimated_rows = max(0, (sheet.max_row or 1) - 1)
            except Exception:  # noqa: BLE001 - a dimension openpyxl cannot read is no estimate
                info.estimated_rows = None
        rows = sheet.iter_rows(values_only=True)
        number = 1
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except ImportFileError:
                raise
            except Exception as error:
                raise ImportFileError(_xlsx_error_code(error), row=number) from error
            number += 1
            yield [_cell(_xlsx_value(value)) for value in row[:MAX_COLUMNS]]
    finally:
        workbook.close()


def _xlsx_error_code(error: BaseException) -> str:
    """xlsx_unsafe when defusedxml refused something anywhere in the chain (openpyxl wraps it
    in a ValueError of its own), else xlsx_invalid."""
    from defusedxml import DefusedXmlException

    current: BaseException | None = error
    while current is not None:
        if isinstance(current, DefusedXmlException):
            return "xlsx_unsafe"
        current = current.__cause__ or current.__context__
    return "xlsx_invalid"
