"""An A/B test and a translation from the e-mail page: a marketer adds a variant with another subject, tests it
on half the segment, sees the broadcast wait for the winner and the winner go to the rest; then adds a French
translation."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, run_service


def test_ab_test_and_translation(signed_in: Page, base_url, app_server):
    page = signed_in
    uid = new_uid()
    made = run_service(app_server, f"""
from mautic_app.models import Email, EmailSegment
from mautic_app.services import segments
with session_scope() as s:
    ids = [contacts.create(session=s, values={{"email": f"ab{{i}}.{uid}@example.com", "firstname": f"P{{i}}"}})[0] for i in range(10)]
    seg = segments.save_segment(session=s, values={{"name": "Testers {uid}"}})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    e = Email(name="Offer {uid}", email_type="list", subject="Plain offer", custom_html="<p>Hi</p>", from_address="news@shop.example")
    s.add(e)
    s.flush()
    s.add(EmailSegment(email_id=e.id, segment_id=seg.id))
    print(json.dumps({{"email": e.id}}))
""")
    page.goto(f"{base_url}/emails/{made['email']}")
    page.get_by_role("tab", name="Sending and statistics").click()
    expect(page.get_by_text("Try another subject or content on part of the audience first")).to_be_visible()
    page.get_by_role("button", name="Add a variant").click()

    # the variant's own page: another subject
    expect(page.get_by_role("heading", name=f"Offer {uid} (B)")).to_be_visible()
    expect(page.get_by_text("A variant in the A/B test of")).to_be_visible()
    page.get_by_role("tab", name="Settings").click()
    expect(page.get_by_role("combobox", name="Type", exact=True)).to_have_count(0)  # it goes with its main e-mail
    page.get_by_role("textbox", name="Subject", exact=True).fill("Bold offer")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"E-mail “Offer {uid} (B)” saved.")).to_be_visible()
    page.get_by_role("link", name=f"Offer {uid}", exact=True).click()

    # the test: half the segment, the winner at once
    expect(page.get_by_role("heading", name=f"Offer {uid}", exact=True)).to_be_visible()
    page.get_by_role("tab", name="Sending and statistics").click()
    versions = page.get_by_role("table", name="Versions of this e-mail")
    expect(versions).to_contain_text("Bold offer")
    page.get_by_label("Test on (% of the audience)").fill("50")
    page.get_by_label("Choose the winner after (hours)").fill("0")
    page.get_by_role("button", name="Save the test").click()
    expect(page.get_by_text("A/B test saved.")).to_be_visible()
    page.get_by_role("button", name="Send now").click()
    # five go out split between the versions; the sweep then picks the winner and the rest follow, live
    expect(page.get_by_text("10 sent of 10, 0 failed")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("status").filter(has_text="finished")).to_be_visible()
    expect(versions.get_by_text("Winner")).to_be_visible()

    # a French translation
    page.get_by_label("Language of the translation").fill("fr")
    page.get_by_role("button", name="Add a translation").click()
    expect(page.get_by_role("heading", name=f"Offer {uid} [fr]")).to_be_visible()
    expect(page.get_by_text("A translation of")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/emails/\d+$"))
