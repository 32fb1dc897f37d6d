"""A marketer builds a form; a site on another origin embeds it with the standard script tag; the
visitor's submission reaches the marketer's open results page live; progressive profiling hides
what is known on the next visit; an open-redirect attempt is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TRACKING_SNIPPET, contrast, other_site


@pytest.fixture(scope="module")
def site(app_server) -> Iterator[dict]:
    """A website on another origin; ``/signup?form=N`` embeds form N with the tag a marketer copies,
    ``/offer?focus=N`` focus item N."""
    base = app_server["base_url"]

    def page_for(path: str) -> str | None:
        m = re.match(r"^/(signup\?form|offer\?focus)=(\d+)", path)
        if not m:
            return None
        tag = (f'<script type="text/javascript" src="{base}/form/generate.js?id={m.group(2)}"></script>'
               if m.group(1).startswith("signup") else f'<script src="{base}/focus/{m.group(2)}.js" async></script>')
        return (f"<!doctype html><html><head><title>Sign up</title></head><body><h1>Sign up</h1>"
                f"{tag}{TRACKING_SNIPPET.format(base=base)}</body></html>")

    with other_site(page_for) as url:
        yield {"url": url}


def test_build_embed_submit_live_profile_and_refuse_redirect(signed_in: Page, base_url: str, browser: Browser, site: dict):
    marketer = signed_in
    marketer.goto(base_url + "/forms")
    marketer.get_by_role("link", name="New form").click()
    expect(marketer.get_by_role("heading", name="New form")).to_be_visible()
    marketer.get_by_label("Name", exact=True).fill("Trial signup")
    # A text field, renamed and mapped to the contact's first name; hidden once the contact's name is known.
    marketer.get_by_label("Add a field").select_option(label="Text")
    # The new field's editor comes into view with its label ready to be typed over; its alias follows the label.
    expect(marketer.get_by_label("Label", exact=True)).to_be_focused()
    expect(marketer.get_by_label("Label", exact=True)).to_be_in_viewport()
    marketer.keyboard.type("First name")
    expect(marketer.get_by_label("Field alias")).to_have_value("first_name")
    selected = marketer.get_by_role("button", name="Edit field First name")
    expect(selected).to_have_attribute("aria-pressed", "true")
    assert contrast(selected.get_by_text("text", exact=True)) >= 4.5, "the selected field's kind reads on its blue"
    marketer.get_by_label("Field alias").fill("firstname")
    marketer.get_by_label("Fills the contact or company field").select_option(label="Contact: First Name")
    marketer.get_by_label("Show even when the contact's value is known").click()
    preview = marketer.get_by_role("region", name="Form preview")
    expect(preview.get_by_label("First name")).to_be_visible()
    expect(preview.get_by_label("E-mail")).to_be_visible()
    # The preview shows the form as a site with no CSS of its own does: inputs boxed, the button a button.
    expect(preview.get_by_label("E-mail")).to_have_css("border-top-style", "solid")
    expect(preview.get_by_label("E-mail")).to_have_css("background-color", "rgb(255, 255, 255)")
    expect(preview.get_by_role("button", name="Submit")).to_have_css("background-color", "rgb(13, 116, 206)")
    marketer.get_by_role("button", name="Move First name up").click()
    # Dragged onto the first field, a new one takes its place and the others move down.
    marketer.get_by_label("Add a field").select_option(label="Text")
    # The new field's label arrives from the server: typing before it does ended as "TextCompany" on a busy machine.
    expect(marketer.get_by_label("Label", exact=True)).to_have_value("Text")
    marketer.get_by_label("Label", exact=True).fill("Company")
    expect(marketer.get_by_label("Field alias")).to_have_value("company")
    fields = marketer.get_by_role("list", name="Form fields").get_by_role("listitem")
    expect(fields).to_have_count(4)  # with the e-mail and the submit button a new form starts with
    fields.filter(has_text="Company").drag_to(fields.filter(has_text="First name"))
    expect(fields.nth(0)).to_contain_text("Company")
    expect(fields.nth(1)).to_contain_text("First name")
    expect(preview.get_by_role("textbox").first).to_have_accessible_name("Company")
    expect(marketer.get_by_label("Add an action").locator("option", has_text="asset")).to_have_count(0)  # nothing not built yet
    marketer.get_by_label("Add an action").select_option(label="Modify tags")
    marketer.get_by_label("Tags to add (comma separated)").fill("trial")
    marketer.get_by_role("button", name="Save form").click()
    expect(marketer).to_have_url(re.compile(r"/forms/\d+$"))
    form_id = int(marketer.url.rstrip("/").split("/")[-1])
    expect(marketer.get_by_label("Embed code", exact=True)).to_contain_text(f"/form/generate.js?id={form_id}")
    expect(marketer.get_by_label("Iframe", exact=True)).to_contain_text(f'<iframe src="{base_url}/form/{form_id}"')
    expect(marketer.get_by_label("Manual HTML", exact=True)).to_contain_text(f'action="{base_url}/form/submit?formId={form_id}"')
    marketer.get_by_role("button", name="Copy manual html").click()
    assert 'name="mauticform[company]"' in marketer.evaluate("navigator.clipboard.readText()")

    marketer.get_by_role("link", name="Results").click()
    expect(marketer.get_by_role("heading", name="Results: Trial signup")).to_be_visible()
    expect(marketer.get_by_role("status").filter(has_text="submissions")).to_have_text("No submissions yet")

    # The form's own page: headed by its name, its button styled.
    own_page = browser.new_page()
    own_page.goto(f"{base_url}/form/{form_id}")
    expect(own_page.get_by_role("heading", name="Trial signup", level=1)).to_be_visible()
    expect(own_page.get_by_role("button", name="Submit")).to_have_css("background-color", "rgb(13, 116, 206)")
    own_page.close()

    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{site['url']}/signup?form={form_id}")
    expect(visitor.locator("body[data-tracked='yes']")).to_be_attached(timeout=10_000)
    form = visitor.get_by_role("form", name="Trial signup")
    # The browser checks what the server checks: a bad address never leaves the page.
    form.get_by_label("E-mail").fill("not an address")
    form.get_by_role("button", name="Submit").click()
    expect(form.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    form.get_by_label("E-mail").fill("trial.visitor@example.com")
    form.get_by_label("First name").fill("<b>Tia</b>")
    form.get_by_role("button", name="Submit").click()
    expect(visitor.get_by_role("status").filter(has_text="Thank you.")).to_be_visible()

    # The marketer's open results page shows it, escaped, without reloading.
    table = marketer.get_by_role("table", name="Submissions")
    expect(table).to_contain_text("trial.visitor@example.com", timeout=10_000)
    expect(table).to_contain_text("<b>Tia</b>")
    expect(marketer.get_by_role("status").filter(has_text="submissions")).to_have_text("1–1 of 1 submissions")
    contact_link = table.get_by_role("link", name="<b>Tia</b>", exact=True)  # the contact by name, not by number
    contact_link.click()
    expect(marketer.get_by_text("trial", exact=True).first).to_be_visible()
    expect(marketer.get_by_text("Submitted form Trial signup").first).to_be_visible()

    # Next visit: the first name is known, so progressive profiling hides it.
    visitor.goto(f"{site['url']}/signup?form={form_id}")
    form = visitor.get_by_role("form", name="Trial signup")
    expect(form.get_by_label("E-mail")).to_be_visible()
    expect(form.get_by_label("First name")).to_have_count(0, timeout=10_000)

    # A return address on a site nobody allowed is not followed.
    reply = visitor.request.post(f"{base_url}/form/submit", form={
        "mauticform[formId]": str(form_id), "mauticform[email]": "trial.visitor@example.com",
        "mauticform[return]": "https://evil.example/phish"}, max_redirects=0)
    assert reply.status == 200 and "evil.example" not in reply.text()
    visitor_context.close()


def test_a_form_inside_a_focus_item_converts_live(signed_in: Page, base_url: str, browser: Browser, site: dict):
    """The visitor meets the focus item after its trigger, fills the form inside it, and the marketer's
    open focus statistics count the conversion while the new contact appears in the contacts list."""
    marketer = signed_in
    marketer.goto(base_url + "/forms/new")
    marketer.get_by_label("Name", exact=True).fill("Offer form")
    marketer.get_by_role("button", name="Save form").click()
    expect(marketer).to_have_url(re.compile(r"/forms/\d+$"))

    marketer.goto(base_url + "/focus/new")
    marketer.get_by_label("Name").fill("Offer popup")
    marketer.get_by_label("Type").select_option(label="Form")
    marketer.get_by_label("Form", exact=True).select_option(label="Offer form")
    marketer.get_by_label("Style").select_option(label="Modal")
    marketer.get_by_label("Headline").fill("Get the offer")
    marketer.get_by_label("Show", exact=True).select_option(label="After a number of seconds")
    marketer.get_by_label("Seconds before showing").fill("2")
    marketer.get_by_role("button", name="Save focus item").click()
    expect(marketer).to_have_url(re.compile(r"/focus/\d+$"))
    focus_id = int(marketer.url.rsplit("/", 1)[1])
    conversions = marketer.get_by_role("group", name="Conversions")
    expect(conversions).to_have_text(re.compile(r"^Conversions\s*0$"))

    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{site['url']}/offer?focus={focus_id}")
    dialog = visitor.get_by_role("dialog", name="Get the offer")
    expect(dialog).to_be_visible(timeout=15_000)
    form = dialog.get_by_role("form", name="Offer form")
    form.get_by_label("E-mail").fill("offer.taker@example.com")
    form.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_role("status").filter(has_text="Thank you.")).to_be_visible()
    expect(conversions).to_have_text(re.compile(r"^Conversions\s*1$"), timeout=10_000)
    visitor_context.close()

    marketer.goto(base_url + "/contacts")
    expect(marketer.get_by_text("offer.taker@example.com").first).to_be_visible()


def save_form(marketer: Page) -> int:
    """Save the builder's form; returns its id from the page it moves to."""
    marketer.get_by_role("button", name="Save form").click()
    expect(marketer).to_have_url(re.compile(r"/forms/\d+$"))
    return int(marketer.url.rstrip("/").split("/")[-1])


def start_form(marketer: Page, base_url: str, name: str, field_type: str, label: str) -> None:
    """Open the builder on a new form with its name and a first field of ``field_type``."""
    marketer.goto(base_url + "/forms/new")
    marketer.get_by_label("Name", exact=True).fill(name)
    marketer.get_by_label("Add a field").select_option(label=field_type)
    marketer.get_by_label("Label", exact=True).fill(label)


def test_an_uploaded_file_downloads_from_the_results(signed_in: Page, base_url: str, browser: Browser):
    """A visitor sends a file with the form's own page; the results list offers it as a download."""
    marketer = signed_in
    start_form(marketer, base_url, "Job application", "File", "CV")
    form_id = save_form(marketer)
    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{base_url}/form/{form_id}")
    form = visitor.get_by_role("form", name="Job application")
    form.get_by_label("E-mail").fill("applicant@example.com")
    form.get_by_label("CV").set_input_files(files=[{"name": "my cv.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 cv"}])
    form.get_by_role("button", name="Submit").click()
    expect(visitor.get_by_role("status").filter(has_text="Thank you.")).to_be_visible()
    visitor_context.close()

    marketer.goto(f"{base_url}/forms/{form_id}/results")
    link = marketer.get_by_role("table", name="Submissions").get_by_role("link", name="Download my cv.pdf")
    expect(link).to_be_visible(timeout=10_000)
    with marketer.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "my cv.pdf"
    assert Path(download.value.path()).read_bytes() == b"%PDF-1.4 cv"


def test_the_results_are_emailed_on_submit(signed_in: Page, base_url: str, browser: Browser):
    """"E-mail the results": a visitor's message reaches the addresses given (here the app's outbox, as no mail
    server is set), its values escaped."""
    marketer = signed_in
    start_form(marketer, base_url, "Contact us", "Text", "Message")
    marketer.get_by_label("Add an action").select_option(label="E-mail the results")
    marketer.get_by_label("To (addresses, comma separated)").fill("not an address")
    marketer.get_by_role("button", name="Save form").click()
    expect(marketer.get_by_text("enter e-mail addresses, comma separated")).to_be_visible()
    marketer.get_by_label("To (addresses, comma separated)").fill("sales@shop.example")
    marketer.get_by_label("Subject").fill("Someone wrote to us")
    form_id = save_form(marketer)
    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{base_url}/form/{form_id}")
    form = visitor.get_by_role("form", name="Contact us")
    form.get_by_label("E-mail").fill("writer@example.com")
    form.get_by_label("Message").fill("<b>Call me</b>")
    form.get_by_role("button", name="Submit").click()
    expect(visitor.get_by_role("status").filter(has_text="Thank you.")).to_be_visible()
    visitor_context.close()

    marketer.goto(f"{base_url}/outbox")
    message = marketer.get_by_role("table", name="Outbox messages").get_by_role("row").filter(has_text="sales@shop.example")
    expect(message.get_by_role("rowheader")).to_have_text("Someone wrote to us", timeout=20_000)


def test_a_conditional_field_follows_its_parent_on_the_site(signed_in: Page, base_url: str, browser: Browser):
    """A field shown when another has none of the chosen values appears and hides as the visitor answers."""
    marketer = signed_in
    start_form(marketer, base_url, "Commute survey", "Select list", "Travel")
    marketer.get_by_label("Field alias").fill("travel")
    options = marketer.get_by_label("Options (one per line; value|label to differ)")
    options.fill("Bike\nCar\nTrain")
    options.press("Tab")  # the builder takes a text when the marketer leaves it
    marketer.get_by_label("Add a field").select_option(label="Text")
    # The editor shows the Travel field until the new one arrives from the server: typing before it does renamed Travel.
    expect(marketer.get_by_label("Label", exact=True)).to_have_value("Text")
    marketer.get_by_label("Label", exact=True).fill("Parking needed")
    marketer.get_by_label("Show only when another field…").select_option(label="Travel")
    marketer.get_by_label("…has", exact=True).select_option(label="none of these values")
    marketer.get_by_label("Values (comma separated)").fill("Bike")
    form_id = save_form(marketer)
    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    visitor.goto(f"{base_url}/form/{form_id}")
    form = visitor.get_by_role("form", name="Commute survey")
    form.get_by_label("Travel").select_option(label="Bike")
    expect(form.get_by_label("Parking needed")).to_be_hidden()
    form.get_by_label("Travel").select_option(label="Car")
    expect(form.get_by_label("Parking needed")).to_be_visible()
    visitor_context.close()
