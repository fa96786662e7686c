"""Import in a real browser: a rep uploads a file with bad rows, sees the mapping guessed from
the Chinese headers, runs the dry run, reads the errors on the page and in the downloaded report,
uploads the corrected file and imports it; and the progress bar of a job run in the background
polls until the job has finished, then the page shows the outcome. Screenshots go to
test-results/. No CSP violation, no console error."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from guanxi.customers.models import Customer
from guanxi.transfer import import_services
from guanxi.transfer.models import ImportJob
from tests.browser.conftest import csp_violations, login
from tests.browser.test_customers import reference_data  # noqa: F401  (fixture)
from tests.transfer.conftest import DATABASE_TASKS
from tests.transfer.import_helpers import csv_bytes, customer_row, upload

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.mark.django_db(transaction=True)
def test_rep_imports_a_file_reads_the_errors_fixes_it_and_commits(
    page,
    live_server,
    org,
    tmp_path,
    reference_data,  # noqa: F811
):
    # Regions and industries must be there (an earlier browser test's flush empties them).
    # given a file with two bad rows (a short credit code, a phone that is no phone)
    bad = tmp_path / "客户.csv"
    rows = [
        customer_row(1),
        customer_row(2, 统一社会信用代码="9144030012"),
        customer_row(3, 手机="12345"),
    ]
    bad.write_bytes(csv_bytes(rows, encoding="gb18030"))
    login(page, live_server, org.rep.username)
    page.goto(f"{live_server.url}/transfer/imports/")
    # when the rep uploads it
    page.set_input_files("input[name=file]", str(bad))
    page.get_by_test_id("import-upload").click()
    # then the mapping page shows the guesses from the Chinese headers
    expect(page.locator("select[name=column_1]")).to_have_value("credit_code")
    expect(page.locator("select[name=column_8]")).to_have_value("contact_phone")
    page.select_option("select[name=error_policy]", "all")
    page.get_by_test_id("import-check").click()
    # and the dry run lists the bad rows, nothing written
    expect(page.get_by_test_id("import-error-row")).to_have_count(2)
    expect(page.get_by_test_id("count-added")).to_have_text("1")
    assert Customer.objects.count() == 0
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-dry-run-errors.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_test_id("import-error-report").click()
    report = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert [line[0] for line in lines[1:]] == ["3", "4"]
    assert lines[1][1] == "统一社会信用代码" and lines[2][2] == "12345"
    # when the rep fixes the two rows and uploads the file again
    fixed = tmp_path / "客户-改.csv"
    fixed.write_bytes(
        csv_bytes([customer_row(1), customer_row(2), customer_row(3)], encoding="gb18030")
    )
    page.get_by_test_id("import-reupload").click()
    page.set_input_files("input[name=file]", str(fixed))
    page.get_by_test_id("import-upload").click()
    page.get_by_test_id("import-check").click()
    expect(page.get_by_test_id("count-errors")).to_have_text("0")
    page.get_by_test_id("import-commit").click()
    # then all three are filed, and the import can be undone
    expect(page.get_by_test_id("count-added")).to_have_text("3")
    expect(page.get_by_test_id("import-undo")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "import-committed.png"), full_page=True)
    assert Customer.objects.filter(owner=org.rep).count() == 3
    assert csp_violations(page) == []
    assert page.problems.all() == []


@pytest.mark.django_db(transaction=True)
def test_the_progress_bar_polls_until_the_background_job_has_finished(
    page,
    live_server,
    org,
    settings,
    reference_data,  # noqa: F811
):
    # given a file large enough to be checked as a job, queued where no worker takes it yet
    settings.GUANXI_IMPORT_SYNC_ROWS = 1
    settings.TASKS = DATABASE_TASKS
    job = upload(org.rep, csv_bytes([customer_row(n) for n in range(1, 4)]))
    job = import_services.import_check(actor=org.rep, job=job)
    assert job.status == ImportJob.Status.QUEUED
    login(page, live_server, org.rep.username)
    # when the rep opens the import
    page.goto(f"{live_server.url}/transfer/imports/{job.pk}/")
    # then the progress bar shows, polling
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_be_visible()
    expect(progress.locator("progress")).to_have_attribute("value", "0")
    expect(page.get_by_test_id("import-outcome")).to_have_count(0)
    # when a worker runs the job
    import_services.import_job_run(job_id=job.pk)
    # then the next poll reloads the page with the outcome, and polling stops
    expect(page.get_by_test_id("import-outcome")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("count-added")).to_have_text("3")
    expect(page.get_by_test_id("import-progress")).to_have_count(0)
    assert Customer.objects.count() == 0  # a dry run
    assert csp_violations(page) == []
    assert page.problems.all() == []
