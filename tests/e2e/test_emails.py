"""E-mail from end to end against a real SMTP server started by the test: an administrator points Settings →
E-mail at it and sends a test; a marketer writes a segment e-mail, previews it as a contact, sends a test,
broadcasts it and watches the progress; the messages arrive; an open and a click show up live on the stats page
and the contact's timeline; the unsubscribe link makes the contact do-not-contact."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, reopen, run_service
from tests.integration.smtp_sink import smtp_sink


@pytest.fixture
def sink(signed_in: Page, app_server):
    """An SMTP server, and the app's transport pointed at it (put back to the outbox afterwards)."""
    with smtp_sink() as s:
        yield s
        run_service(app_server, "from mautic_app.services import mailer\nwith session_scope() as s:\n"
                                "    print(json.dumps(mailer.save_settings(session=s, values={'kind': 'outbox'})))")


def _html(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()


def _wait_for(sink, count: int, page: Page) -> None:
    for _ in range(100):
        if len(sink.messages) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{len(sink.messages)} messages arrived, {count} expected")


def _drag_block(page: Page, block: str, onto) -> None:
    """Drag a builder block onto the e-mail, just below ``onto`` (GrapesJS places it as the pointer moves, so
    the pointer moves in small steps, as a hand does)."""
    start, end = page.get_by_title(block, exact=True).bounding_box(), onto.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] - 40, start["y"] + 20, steps=5)
    for i in range(12):
        page.mouse.move(end["x"] + 100 + i * 5, end["y"] + end["height"] - 4 + i % 3, steps=2)
        page.wait_for_timeout(60)
    page.mouse.up()


def test_write_send_track_and_unsubscribe(signed_in: Page, base_url, app_server, sink):
    page = signed_in
    uid = new_uid()
    # Settings → E-mail: the SMTP server, and a test message with its answer
    page.get_by_role("link", name="E-mail", exact=True).click()
    page.get_by_label("Send through").select_option("smtp")
    page.get_by_label("SMTP host").fill(sink.host)
    page.get_by_label("Port").fill(str(sink.port))
    page.get_by_label("Security").select_option("none")
    page.get_by_label("Default from address").fill("news@shop.example")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("E-mail settings saved.")).to_be_visible()
    page.get_by_label("Test address").fill("admin@shop.example")
    page.get_by_role("button", name="Send a test message").click()
    expect(page.get_by_role("status").filter(has_text="Sent. The server answered: 250")).to_be_visible()
    _wait_for(sink, 1, page)
    assert sink.messages[0]["Subject"] == "Test message from Mautic"

    # three contacts in a segment
    segment = run_service(app_server, f"""
from mautic_app.services import segments
with session_scope() as s:
    ids = [contacts.create(session=s, values={{"email": f"{{n}}.{uid}@example.com", "firstname": n.title()}})[0] for n in ("ann", "bob", "cy")]
    seg = segments.save_segment(session=s, values={{"name": "Readers {uid}"}})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    print(json.dumps({{"ids": ids}}))
""")
    ann = segment["ids"][0]

    # a segment e-mail, built from a starter template: a text block dragged in and written in
    page.get_by_role("link", name="E-mails", exact=True).click()
    page.get_by_role("link", name="New e-mail").click()
    page.get_by_role("tab", name="Settings").click()
    page.get_by_role("textbox", name="Name", exact=True).fill(f"News {uid}")
    page.get_by_role("textbox", name="Subject", exact=True).fill("Hello {contactfield=firstname}")
    page.get_by_role("combobox", name="Type", exact=True).select_option("list")
    readers = page.get_by_role("checkbox", name=f"Readers {uid}").first
    readers.click()
    expect(readers).to_be_checked()
    page.get_by_role("tab", name="Content").click()
    page.get_by_label("Start from").select_option("announcement")
    canvas = page.frame_locator("iframe[title='E-mail being built']")
    heading = canvas.get_by_text("Something new is here")
    expect(heading).to_be_visible(timeout=20_000)
    _drag_block(page, "Text", heading)
    added = canvas.get_by_text("Insert text here")
    expect(added).to_be_visible()
    added.dblclick()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(f"Autumn offers {uid}, ")
    page.get_by_label("Insert a token").select_option(label="Contact: first name")  # at the caret
    expect(canvas.get_by_text(f"Autumn offers {uid}, {{contactfield=firstname}}")).to_be_visible()
    page.get_by_role("radio", name="Code").click()  # what was built is the e-mail's MJML
    code = page.get_by_role("textbox", name="Code", exact=True)
    expect(code).to_have_value(re.compile(f"Autumn offers {uid},\\s[{{]contactfield=firstname[}}]</mj-text>"))  # typed, so maybe a no-break space
    expect(code).to_have_value(re.compile("Something new is here"))
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/emails/\d+$"))
    expect(page.get_by_role("heading", name=f"News {uid}")).to_be_visible()

    # preview as a contact, at phone width
    page.get_by_label("Preview as contact").fill(f"ann.{uid}@example.com")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_text("Hello Ann", exact=True)).to_be_visible()
    page.get_by_role("radio", name="Phone").click()
    preview = page.frame_locator("iframe[title='E-mail preview']")
    expect(preview.get_by_text(f"Autumn offers {uid}, Ann")).to_be_visible()
    expect(preview.get_by_text("Ann, we built this with you in mind.")).to_be_visible()

    # a test, then the broadcast with its progress
    page.get_by_role("tab", name="Sending and statistics").click()
    page.get_by_label("Test address").fill("me@shop.example")
    page.get_by_role("button", name="Send a test").click()
    expect(page.get_by_role("status").filter(has_text="Sent to me@shop.example")).to_be_visible()
    _wait_for(sink, 2, page)
    assert sink.messages[1]["Subject"] == "[Test] Hello Ann"
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_text("3 sent of 3, 0 failed")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("status").filter(has_text="finished")).to_be_visible()
    _wait_for(sink, 5, page)
    broadcast = {str(m["To"]).rpartition("<")[2].rstrip(">"): m for m in sink.messages[2:]}
    assert sorted(broadcast) == sorted(f"{n}.{uid}@example.com" for n in ("ann", "bob", "cy"))
    message = broadcast[f"ann.{uid}@example.com"]
    assert message["Subject"] == "Hello Ann" and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = _html(message)

    # Ann opens it and clicks: the stats page shows both without a reload
    read_card = page.get_by_label("Read", exact=True)
    expect(read_card).to_contain_text("0")
    pixel = re.search(r'src="([^"]+/email/[^"]+\.gif)"', html).group(1)
    assert page.request.get(pixel).headers["content-type"] == "image/gif"
    expect(read_card).to_contain_text("1")
    link = re.search(r'href="([^"]+/r/[^"]+)"', html).group(1).replace("&amp;", "&")
    reply = page.request.get(link, max_redirects=0)
    assert reply.status == 302 and reply.headers["location"].startswith("https://example.com/launch")
    expect(page.get_by_label("Clicked", exact=True)).to_contain_text("1")
    expect(page.get_by_role("table", name="Clicks per link")).to_contain_text("https://example.com/launch")

    # her timeline has the sent, opened and clicked lines
    reopen(page, f"{base_url}/contacts/{ann}")
    expect(page.get_by_text(f"Sent e-mail News {uid}")).to_be_visible()
    expect(page.get_by_text(f"Opened e-mail News {uid}")).to_be_visible()
    expect(page.get_by_text(f"in e-mail News {uid}")).to_be_visible()

    # she unsubscribes through the link in the message; her page says so at once
    unsubscribe = re.search(r'href="([^"]+/email/unsubscribe/[^"]+)"', html).group(1)
    other = page.context.new_page()
    other.goto(unsubscribe)
    expect(other.get_by_text(f"Stop e-mails to ann.{uid}@example.com?")).to_be_visible()
    other.get_by_role("button", name="Unsubscribe").click()
    expect(other.get_by_text(f"Done: ann.{uid}@example.com is unsubscribed.")).to_be_visible()
    other.close()
    expect(page.get_by_text("Do not contact: Unsubscribed").first).to_be_visible()
