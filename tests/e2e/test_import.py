"""CSV import as a marketer runs it: upload, check the detected format and mapping, start, watch it live.

The Celery worker started by the launcher runs the batches; the page only starts the import and
follows the ``imports`` change feed. Screenshots of each step go to ``$E2E_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, reopen

SHOTS = os.environ.get("E2E_SCREENSHOTS")
IMPORT_TIMEOUT = 90_000



def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _write_csv(path: Path, u: str, rows: int, bad: dict[int, str] | None = None) -> list[str]:
    """A ``;``-separated file with ``rows`` data rows; ``bad`` replaces data row n (1-based) by a raw line."""
    bad = bad or {}
    emails, lines = [], ["Email address;First Name;Last Name;City;Favourite colour"]
    for i in range(1, rows + 1):
        if i in bad:
            lines.append(bad[i])
            continue
        email = f"imp{u}.{i}@example.com"
        emails.append(email)
        lines.append(f"{email};Ann{i};Imported{u};Lyon;blue")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return emails


def _file_input(page: Page):
    return page.get_by_role("region", name="New import").locator("input[type=file]")


def _progress(page: Page):
    return page.get_by_role("progressbar", name="Import progress")


def _mark_no_reload(page: Page) -> None:
    page.evaluate("window.__sameDocument = 'yes'")


def _still_same_document(page: Page) -> bool:
    return page.evaluate("window.__sameDocument") == "yes"


def test_bad_files_get_clear_errors(signed_in: Page, base_url: str, tmp_path: Path):
    page = signed_in
    page.goto(base_url + "/contacts/import")
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Choose a CSV file")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main").first
    expect(nav.get_by_role("link", name="Imports")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "false")
    _shot(page, "import-01-list")

    # A spreadsheet saved as .xlsx, sent with a CSV name and MIME type: the content decides.
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>" * 50)
    _file_input(page).set_input_files(files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": workbook.getvalue()}])
    alert = page.get_by_role("region", name="New import").get_by_role("alert")
    expect(alert).to_have_text("This is a zip or Excel (.xlsx) file. Save it as CSV and upload that.")
    expect(page).to_have_url(re.compile(r"/contacts/import/?$"))
    _shot(page, "import-02-not-csv")

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _file_input(page).set_input_files(str(empty))
    expect(alert).to_have_text("The file is empty.")
    expect(page).to_have_url(re.compile(r"/contacts/import/?$"))

    # Two files dropped at once are refused in the browser, before any upload.
    page.get_by_role("region", name="New import").locator(".rx-Upload").evaluate("""zone => {
        const dt = new DataTransfer();
        dt.items.add(new File(["email\\na@example.com\\n"], "one.csv", {type: "text/csv"}));
        dt.items.add(new File(["email\\nb@example.com\\n"], "two.csv", {type: "text/csv"}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    expect(alert).to_have_text("Choose one CSV file at a time.")

    # A file over the limit is refused in the browser too, before a byte is sent.
    page.get_by_role("region", name="New import").locator(".rx-Upload").evaluate("""zone => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(201 * 1024 * 1024)], "huge.csv", {type: "text/csv"}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    expect(alert).to_have_text("The file is larger than 200 MB.")

    # An upload that is never started can be discarded; it stays listed as stopped.
    name = f"discard-{new_uid()}.csv"
    _file_input(page).set_input_files(files=[{"name": name, "mimeType": "application/vnd.ms-excel",
                                               "buffer": b"email,firstname\r\nz@example.com,Zed\r\n"}])
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+$"), timeout=30_000)
    expect(page.get_by_label("Delimiter")).to_have_value(",")
    expect(page.get_by_label("Field for column email", exact=True)).to_have_value("email")
    page.get_by_role("button", name="Discard").click()
    expect(page).to_have_url(re.compile(r"/contacts/import/?$"))
    row = page.get_by_role("table", name="Past imports").get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("Stopped")


def test_import_semicolon_csv_live(signed_in: Page, base_url: str, tmp_path: Path):
    page, u = signed_in, new_uid()
    page.set_viewport_size({"width": 1400, "height": 900})
    path = tmp_path / f"contacts-{u}.csv"
    emails = _write_csv(path, u, 300, bad={
        50: f"not-an-email-{u};Bad;Email;Paris;red",
        120: f"extra{u}@example.com;Too;Many;Rome;green;<b>bold</b>",
        200: f"bad@@{u}.example;Worse;Email;Oslo;red",
    })
    assert len(emails) == 297

    page.goto(base_url + "/contacts/import")
    expect(page.get_by_role("button", name="Choose a CSV file")).to_be_visible()
    _file_input(page).set_input_files(str(path))

    # The mapping step has its own address and shows what was detected.
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+$"), timeout=30_000)
    import_url = page.url
    expect(page.get_by_role("heading", name=path.name)).to_be_visible()
    expect(page.get_by_label("Delimiter")).to_have_value(";")
    expect(page.get_by_label("Enclosure")).to_have_value('"')
    expect(page.get_by_label("Encoding")).to_have_value("utf-8")
    preview = page.get_by_role("table", name="Preview of the first rows")
    expect(preview).to_contain_text(emails[0])
    expect(preview.get_by_role("columnheader", name="Favourite colour")).to_be_visible()

    def target(header: str):
        return page.get_by_label(f"Field for column {header}", exact=True)

    expect(target("Email address")).to_have_value("email")
    expect(target("First Name")).to_have_value("firstname")
    expect(target("Last Name")).to_have_value("lastname")
    expect(target("City")).to_have_value("city")
    expect(target("Favourite colour")).to_have_value("")
    expect(target("City").locator("option")).to_contain_text(["Do not import", "Email", "Company Email", "Tags (separated by | or commas)"])
    _shot(page, "import-03-mapping")

    # A wrong delimiter re-reads the file as one column; the right one brings the mapping back.
    page.get_by_label("Delimiter").select_option("Comma ( , )")
    expect(page.get_by_label(re.compile(r"^Field for column Email address;First Name"))).to_be_visible()
    expect(target("City")).to_have_count(0)
    page.get_by_label("Delimiter").select_option("Semicolon ( ; )")
    expect(target("City")).to_have_value("city")
    expect(target("Email address")).to_have_value("email")

    # Mapping two columns to one field is refused with the service's message.
    target("City").select_option("email")
    page.get_by_role("button", name="Start import").click()
    expect(page.get_by_role("alert").filter(has_text="mapped from more than one column")).to_be_visible()
    expect(page.get_by_text("The import did not start: check the messages above.")).to_be_visible()
    expect(page).to_have_url(import_url)
    _shot(page, "import-04-mapping-error")
    target("City").select_option("city")

    page.get_by_label("Tags for every row").fill(f"imp{u}")
    page.get_by_label("Default owner").select_option(index=1)
    page.get_by_label("Add to segment").select_option(label="Newsletter readers")
    expect(page.get_by_role("checkbox", name=re.compile("Skip contacts that already exist"))).to_be_visible()

    _mark_no_reload(page)
    page.get_by_role("button", name="Start import").click()
    bar = _progress(page)
    expect(bar).to_be_visible()
    expect(page).to_have_url(import_url)
    _shot(page, "import-05-started")
    # The worker runs the batches; the change feed moves the bar with no reload.
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=IMPORT_TIMEOUT)
    assert _still_same_document(page), "the page reloaded"
    expect(page.get_by_role("status").filter(has_text="Imported")).to_be_visible()
    expect(page.get_by_role("group", name="Created")).to_have_text(re.compile(r"^Created\s*297$"))
    expect(page.get_by_role("group", name="Updated")).to_have_text(re.compile(r"^Updated\s*0$"))
    expect(page.get_by_role("group", name="Failed")).to_have_text(re.compile(r"^Failed\s*3$"))
    expect(page.get_by_role("group", name="Ignored")).to_have_text(re.compile(r"^Ignored\s*0$"))
    expect(page.get_by_text("300 of 300 rows")).to_be_visible()

    rejected = page.get_by_role("table", name="Rejected rows")
    expect(rejected.get_by_role("row")).to_have_count(4)  # header + 3
    row51 = rejected.get_by_role("row").filter(has=page.get_by_role("rowheader", name="51", exact=True))
    expect(row51).to_contain_text("Email")
    expect(row51).to_contain_text(f"not-an-email-{u}")
    row121 = rejected.get_by_role("row").filter(has=page.get_by_role("rowheader", name="121", exact=True))
    expect(row121).to_contain_text("The row has 6 columns but the header has 5.")
    # Raw text is shown as text, never as markup.
    expect(row121).to_contain_text("<b>bold</b>")
    expect(rejected.locator("b")).to_have_count(0)
    expect(rejected.get_by_role("row").filter(has=page.get_by_role("rowheader", name="201", exact=True))).to_contain_text(f"bad@@{u}")
    expect(page.get_by_role("button", name="Stop import")).to_have_count(0)
    _shot(page, "import-06-finished")

    # Leave and come back: the list and the import show the same result.
    page.get_by_role("link", name="All imports").click()
    expect(page).to_have_url(re.compile(r"/contacts/import/?$"))
    past = page.get_by_role("table", name="Past imports")
    row = past.get_by_role("row").filter(has=page.get_by_role("link", name=path.name, exact=True))
    expect(row).to_contain_text("Imported")
    expect(row).to_contain_text("297")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(past.get_by_role("row").nth(1)).to_contain_text(path.name)  # newest first
    _shot(page, "import-07-list-after")
    row.get_by_role("link", name=path.name, exact=True).click()
    expect(page).to_have_url(import_url)
    expect(_progress(page)).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_role("group", name="Created")).to_have_text(re.compile(r"^Created\s*297$"))
    expect(page.get_by_role("table", name="Rejected rows").get_by_role("row")).to_have_count(4)

    # "View contacts" lists this import's contacts (Mautic's import_id: search), with the tag for every row,
    # each a member of the segment chosen.
    page.get_by_role("link", name="View contacts").click()
    expect(page).to_have_url(re.compile(r"/contacts\?search=import_id"))
    expect(page.get_by_text("297 contacts", exact=True)).to_be_visible()
    expect(page.get_by_label("Contact search")).to_have_value(re.compile(r"^import_id:\d+$"))
    page.goto(base_url + f"/contacts?search=tag:imp{u} segment:newsletter-readers")
    expect(page.get_by_text("297 contacts", exact=True)).to_be_visible()
    page.goto(base_url + f"/contacts?search={emails[123]}")
    expect(page.get_by_role("table", name="Contacts")).to_contain_text(emails[123])
    expect(page.get_by_text("1 contact", exact=True)).to_be_visible()
    page.goto(base_url + f"/contacts?search=tag:imp{u}")
    expect(page.get_by_text("297 contacts", exact=True)).to_be_visible()
    _shot(page, "import-08-contacts")


def test_leave_mid_import_and_come_back(signed_in: Page, base_url: str, tmp_path: Path, browser):
    """A larger file runs in several batches; a second tab opened mid-way follows it to the end."""
    page, u = signed_in, new_uid()
    path = tmp_path / f"big-{u}.csv"
    emails = _write_csv(path, u, 20_000, bad={i * 600: f"nope{i}-{u};Bad;Row;Nice;red" for i in range(1, 31)})
    assert len(emails) == 19_970

    page.goto(base_url + "/contacts/import")
    _file_input(page).set_input_files(str(path))
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+$"), timeout=30_000)
    import_url = page.url
    expect(page.get_by_label("Field for column Email address", exact=True)).to_have_value("email")
    page.get_by_role("button", name="Start import").click()
    expect(_progress(page)).to_be_visible()

    # Leave at once for the list, then come back through it.
    page.get_by_role("link", name="All imports").click()
    row = page.get_by_role("table", name="Past imports").get_by_role("row").filter(
        has=page.get_by_role("link", name=path.name, exact=True))
    expect(row).to_contain_text(re.compile("Queued|In progress|Imported"))
    _shot(page, "import-09-list-mid")

    # A second tab opened now follows the same import without reloading.
    other = browser.new_context(base_url=base_url, storage_state=page.context.storage_state(), viewport={"width": 1400, "height": 900})
    try:
        tab = other.new_page()
        tab.goto(import_url)
        expect(_progress(tab)).to_be_visible()
        _mark_no_reload(tab)
        _shot(tab, "import-10-second-tab")

        row.get_by_role("link", name=path.name, exact=True).click()
        expect(page).to_have_url(import_url)
        _mark_no_reload(page)
        for p in (page, tab):
            expect(_progress(p)).to_have_attribute("aria-valuenow", "100", timeout=IMPORT_TIMEOUT)
            expect(p.get_by_role("group", name="Created")).to_have_text(re.compile(r"^Created\s*19,970$"))
            expect(p.get_by_role("group", name="Failed")).to_have_text(re.compile(r"^Failed\s*30$"))
            expect(p.get_by_text("20,000 of 20,000 rows")).to_be_visible()
            assert _still_same_document(p), "the page reloaded"

        # Rejected rows come a page at a time.
        rejected = page.get_by_role("table", name="Rejected rows")
        expect(page.get_by_text("Rows 1–25 of 30 rejected")).to_be_visible()
        expect(rejected.get_by_role("rowheader")).to_have_count(25)
        expect(rejected.get_by_role("rowheader").first).to_have_text("601")
        expect(page.get_by_role("button", name="Previous page of rejected rows")).to_be_disabled()
        _shot(page, "import-11-big-finished")
        page.get_by_role("button", name="Next page of rejected rows").click()
        expect(page.get_by_text("Rows 26–30 of 30 rejected")).to_be_visible()
        expect(rejected.get_by_role("rowheader")).to_have_count(5)
        expect(rejected.get_by_role("rowheader").first).to_have_text("15601")
        expect(rejected).to_contain_text(f"nope26-{u}")
        expect(page.get_by_role("button", name="Next page of rejected rows")).to_be_disabled()
    finally:
        other.close()

    page.goto(base_url + f"/contacts?search={emails[-1]}")
    expect(page.get_by_role("table", name="Contacts")).to_contain_text(emails[-1])


def test_stop_a_running_import(signed_in: Page, base_url: str, tmp_path: Path):
    page, u = signed_in, new_uid()
    path = tmp_path / f"stop-{u}.csv"
    _write_csv(path, u, 60_000)

    page.goto(base_url + "/contacts/import")
    _file_input(page).set_input_files(str(path))
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+$"), timeout=30_000)
    page.get_by_role("button", name="Start import").click()
    bar = _progress(page)
    # Once the first batch is in, stop: the running batch ends and no other starts.
    expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d?$"), timeout=IMPORT_TIMEOUT)
    page.get_by_role("button", name="Stop import").click()
    dialog = page.get_by_role("alertdialog", name="Stop import")
    expect(dialog).to_be_visible()
    _shot(page, "import-12-stop-confirm")
    dialog.get_by_role("button", name="Stop import").click()
    expect(page.get_by_role("status").filter(has_text="Stopped")).to_be_visible()
    expect(page.get_by_text("Stopped by a user.")).to_be_visible()
    expect(page.get_by_role("button", name="Stop import")).to_have_count(0)
    stopped_at = int(bar.get_attribute("aria-valuenow"))
    assert 0 < stopped_at < 100
    created = re.sub(r"\D", "", page.get_by_role("group", name="Created").inner_text())
    assert 0 < int(created) < 60_000
    page.wait_for_timeout(3000)  # no batch runs after the stop
    reopen(page)
    expect(_progress(page)).to_have_attribute("aria-valuenow", str(stopped_at))
    expect(page.get_by_role("group", name="Created")).to_have_text(re.compile(rf"^Created\s*{int(created):,}$"))
    _shot(page, "import-13-stopped")
