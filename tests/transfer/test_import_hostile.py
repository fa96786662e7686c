"""Hostile and broken files are refused whole, fast, without exhausting memory, and leave nothing
behind: a zip bomb dressed as XLSX, billion laughs inside a workbook (with and without padding
that hides it from the first check), an oversized CSV, binary and unreadable files."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from typing import Any

import pytest

from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob
from tests.conftest import ApiClient, login_client
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.import_helpers import csv_bytes, customer_row, upload, xlsx_bytes

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n{padding}<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
        for n in range(1, 10)
    )
    + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)


def _zip_bomb(megabytes: int = 300) -> bytes:
    """A workbook-shaped zip whose sheet unpacks to ``megabytes`` of zeros (about 1,000:1),
    written in chunks so the test itself stays small."""
    handle = io.BytesIO()
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"0" * (1024 * 1024)
            for _ in range(megabytes):
                part.write(chunk)
    return handle.getvalue()


def _with_sheet(xml: str) -> bytes:
    """A real workbook whose first sheet is replaced by ``xml``."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([customer_row(1)])))
    handle = io.BytesIO()
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                data = xml.encode()
            archive.writestr(entry.filename, data)
    return handle.getvalue()


def _refused(actor: Any, data: bytes, code: str, *, name: str = "a.xlsx") -> tuple[float, int]:
    before = customers_db_state()
    jobs = ImportJob.objects.count()
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(import_services.ImportError_) as caught:
        upload(actor, data, name=name)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert caught.value.code == f"import_{code}"
    assert customers_db_state() == before
    assert ImportJob.objects.count() == jobs
    return seconds, peak


def test_a_zip_bomb_is_refused_unopened(org):
    data = _zip_bomb()
    assert len(data) < 2 * 1024 * 1024
    seconds, peak = _refused(org.rep, data, "xlsx_bomb")
    assert seconds < 2
    assert peak < 20 * 1024 * 1024


def test_a_workbook_unpacking_beyond_the_limit_is_refused(org, settings):
    settings.GUANXI_IMPORT_XLSX_MAX_UNZIPPED = 1024 * 1024
    rows = [customer_row(n) for n in range(1, 8000)]
    _refused(org.rep, xlsx_bytes(rows), "xlsx_bomb")


def test_billion_laughs_in_a_sheet_is_refused(org):
    seconds, peak = _refused(org.rep, _with_sheet(BILLION_LAUGHS.format(padding="")), "xlsx_unsafe")
    assert seconds < 2 and peak < 20 * 1024 * 1024


def test_billion_laughs_hidden_behind_padding_meets_defusedxml(org):
    # given a document type pushed past the first check by a long comment
    padding = "<!--" + "x" * 40_000 + "-->\n"
    data = _with_sheet(BILLION_LAUGHS.format(padding=padding))
    # then openpyxl, parsing through defusedxml, refuses it all the same
    seconds, peak = _refused(org.rep, data, "xlsx_unsafe")
    assert seconds < 2 and peak < 20 * 1024 * 1024


def test_an_oversized_csv_is_refused_by_the_service(org, settings):
    settings.GUANXI_IMPORT_MAX_BYTES = 64 * 1024
    data = csv_bytes([customer_row(n) for n in range(1, 2000)])
    assert len(data) > settings.GUANXI_IMPORT_MAX_BYTES
    _refused(org.rep, data, "too_large", name="a.csv")


def test_an_oversized_upload_is_refused_before_it_is_read(org, settings):
    # given a limit far below the upload
    settings.GUANXI_IMPORT_MAX_BYTES = 64 * 1024
    data = csv_bytes([customer_row(n) for n in range(1, 4000)])
    client = login_client(org.rep, language="en")
    api = ApiClient(org.rep, language="en")
    before = customers_db_state()
    # when the page and the API receive it
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(
        "/transfer/imports/new/",
        {"kind": "customers", "file": SimpleUploadedFile("big.csv", data)},
    )
    answer = api.client.post(
        "/api/v1/imports",
        {"kind": "customers", "file": SimpleUploadedFile("big.csv", data)},
        headers=api.headers,
    )
    # then both refuse with a translated message and store nothing
    assert page.status_code == 400
    assert b"The file is larger than 0 MB" in page.content
    assert answer.status_code == 400
    assert answer.json()["code"] == "import_too_large"
    assert customers_db_state() == before
    assert not ImportJob.objects.exists()


def test_too_many_rows_fail_the_run_and_write_nothing(org, settings):
    settings.GUANXI_IMPORT_MAX_ROWS = 3
    before = customers_db_state()
    job = upload(org.rep, csv_bytes([customer_row(n) for n in range(1, 6)]))
    job = import_services.import_commit(actor=org.rep, job=job)
    assert (job.status, job.error) == ("failed", "import_too_many_rows")
    assert customers_db_state() == before


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x00\x01\x02binary\x00" * 100, "encoding"),
        (b"", "empty"),
        (b"PK\x03\x04not really a zip", "xlsx_invalid"),
        ('客户名称\r\n"未闭合的引号,'.encode() + b"x" * 200_000, "unreadable"),
    ],
    ids=["binary", "empty", "broken-zip", "open-quote"],
)
def test_unreadable_files_are_refused(org, data, code):
    if code == "unreadable":
        job = upload(org.rep, b"\xef\xbb\xbf" + "客户名称\r\n甲有限公司\r\n".encode())
        # the header reads; the broken row is met while running
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        default_storage.delete(job.file.name)
        default_storage.save(job.file.name, ContentFile(data))
        job = import_services.import_check(actor=org.rep, job=job)
        assert (job.status, job.error) == ("failed", "import_unreadable")
        return
    _refused(org.rep, data, code, name="a.csv")
