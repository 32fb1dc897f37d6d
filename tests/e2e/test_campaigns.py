"""Campaigns end to end: build one on the canvas from a segment (send an e-mail, wait for an open, one day: yes adds
points and a tag, no sends a reminder), check it, dry-run it, publish it, and watch the node counts change live as
the contacts go through it, the messages arriving at a real SMTP server and the days passing on the test's clock."""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, run_service
from tests.integration.smtp_sink import smtp_sink


@pytest.fixture
def sink(signed_in: Page, app_server):
    with smtp_sink() as s:
        run_service(app_server, "from mautic_app.services import mailer\nwith session_scope() as s:\n"
                                f"    print(json.dumps(mailer.save_settings(session=s, values={{'kind': 'smtp', 'host': '{s.host}', "
                                f"'port': {s.port}, 'security': 'none', 'from_address': 'news@shop.example'}})))")
        yield s
        run_service(app_server, "from mautic_app.services import mailer\nwith session_scope() as s:\n"
                                "    print(json.dumps(mailer.save_settings(session=s, values={'kind': 'outbox'})))")


def _wait_for(sink, count: int, page: Page) -> None:
    for _ in range(300):
        if len(sink.messages) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{len(sink.messages)} messages arrived, {count} expected")


def _node(page: Page, name: str):
    return page.get_by_role("group", name=name, exact=True)


def _add(page: Page, button: str, event: str) -> None:
    page.get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog", name="Add an event")
    dialog.get_by_role("button", name=event, exact=True).click()
    expect(dialog).to_be_hidden()


def _advance_clock(app_server, days: float) -> None:
    clock = app_server["data_dir"] / "clock"
    current = float(clock.read_text() or 0) if clock.exists() else 0.0
    clock.write_text(str(current + days * 86400))


def test_build_check_dry_run_publish_and_watch_it_run(signed_in: Page, base_url, app_server, sink):
    page, uid = signed_in, new_uid()
    made = run_service(app_server, f"""
from mautic_app.models import Email
from mautic_app.services import segments
with session_scope() as s:
    ids = [contacts.create(session=s, values={{"email": f"{{n}}.{uid}@example.com", "firstname": n.title()}})[0] for n in ("ann", "bob", "cy")]
    seg = segments.save_segment(session=s, values={{"name": "Trial {uid}"}})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    for name in ("Welcome {uid}", "Reminder {uid}"):
        s.add(Email(name=name, subject=name, custom_html="<p>Hello {{contactfield=firstname}}</p>", from_address="news@shop.example"))
    print(json.dumps({{"ids": ids}}))
""")
    page.goto(f"{base_url}/campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill(f"Trial journey {uid}")

    # The source: the segment
    _node(page, "Contact sources").click()
    page.get_by_role("checkbox", name=f"Trial {uid}").click()
    # send e-mail → opens e-mail (1 day) → yes: points and a tag; no: the reminder
    _add(page, "Add after Contact sources", "Send e-mail")
    page.get_by_label("E-mail", exact=True).select_option(label=f"Welcome {uid}")
    page.get_by_label("Name", exact=True).fill("Welcome mail")
    _add(page, "Add after Welcome mail", "Opens e-mail")
    _add(page, "Add to yes path of Opens e-mail", "Adjust contact points")
    page.get_by_label("Points", exact=True).fill("10")
    page.get_by_label("Points", exact=True).press("Tab")
    _add(page, "Add after Adjust contact points", "Modify contact's tags")
    page.get_by_label("Add tags").fill(f"engaged-{uid}")
    page.get_by_label("Add tags").press("Tab")
    _add(page, "Add to no path of Opens e-mail", "Send e-mail")
    page.get_by_label("E-mail", exact=True).select_option(label=f"Reminder {uid}")
    page.get_by_label("Name", exact=True).fill("Reminder mail")
    expect(page.get_by_label("Wait", exact=True)).to_have_value("1")  # a no path waits: one day unless changed

    # Check it: a rule broken on purpose shows on its node, then fixed
    page.get_by_role("radio", name="Immediately").click()
    page.get_by_role("button", name="Check").click()
    expect(_node(page, "Reminder mail").get_by_role("alert")).to_contain_text("no path needs a wait")
    page.get_by_role("radio", name="After a wait").click()
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("The campaign is ready to publish.")).to_be_visible()

    # Dry run: all three would get the welcome, and (never opened before) the reminder
    page.get_by_role("button", name="Dry run").click()
    expect(_node(page, "Welcome mail")).to_contain_text("3 would reach it")
    expect(_node(page, "Reminder mail")).to_contain_text("3 would reach it · day 1")
    assert not sink.messages  # nothing was sent
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))

    # Publish: the welcome goes out at once, and the canvas counts follow
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text(f"Campaign “Trial journey {uid}” published.")).to_be_visible()
    expect(_node(page, "Welcome mail")).to_contain_text("3 done", timeout=40_000)
    expect(_node(page, "Opens e-mail")).to_contain_text("3 now")
    _wait_for(sink, 3, page)
    assert sorted(sink.to()) == sorted(f"{n}.{uid}@example.com" for n in ("ann", "bob", "cy"))

    # Ann opens it: the yes path runs for her at once
    ann = next(m for m in sink.messages if f"ann.{uid}@" in str(m["To"]))
    html = next(p for p in ann.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    pixel = re.search(r'src="(http[^"]+/email/[^"]+\.gif)"', html).group(1)
    urllib.request.urlopen(pixel.replace("http://localhost", "http://127.0.0.1"), timeout=10).read()
    expect(_node(page, "Opens e-mail")).to_contain_text("yes 1", timeout=40_000)
    expect(_node(page, "Modify contact's tags")).to_contain_text("1 done", timeout=40_000)

    # A day later (the test's clock), Bob and Cy take the no path: the reminder reaches them only
    _advance_clock(app_server, 1.01)
    expect(_node(page, "Reminder mail")).to_contain_text("2 done", timeout=60_000)
    expect(_node(page, "Opens e-mail")).to_contain_text("no 2")
    _wait_for(sink, 5, page)
    reminders = [to for m, to in zip(sink.messages, sink.to(), strict=True) if m["Subject"] == f"Reminder {uid}"]
    assert sorted(reminders) == sorted(f"{n}.{uid}@example.com" for n in ("bob", "cy"))

    # The contact's page names the campaign; the statistics page charts it
    page.goto(f"{base_url}/contacts/{made['ids'][0]}")
    expect(page.get_by_role("region", name="Campaigns", exact=True)).to_contain_text(f"Trial journey {uid}")
    expect(page.get_by_role("region", name="Tags", exact=True)).to_contain_text(f"engaged-{uid}")
    page.goto(f"{base_url}/campaigns")
    row = page.get_by_role("row").filter(has_text=f"Trial journey {uid}")
    expect(row).to_contain_text("Published")
    expect(row).to_contain_text("3")
    row.get_by_role("link", name=f"Statistics of Trial journey {uid}").click()
    expect(page.get_by_role("heading", name=re.compile("Per day"))).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()


def test_export_a_campaign_and_import_it_back_as_a_draft(signed_in: Page, base_url, app_server, tmp_path):
    page, uid = signed_in, new_uid()
    run_service(app_server, f"""
from mautic_app.services import campaigns
with session_scope() as s:
    c = campaigns.save_campaign(session=s, values={{"name": "Travels {uid}", "events": [
        {{"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {{"add_tags": ["t"]}}}}]}})
    print(json.dumps(c.id))
""")
    page.goto(f"{base_url}/campaigns")
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Export Travels {uid}").click()
    saved = tmp_path / "campaign.json"
    download.value.save_as(saved)
    assert f"Travels {uid}" in saved.read_text()
    page.locator("#campaign-import input[type=file]").set_input_files(str(saved))
    expect(page.get_by_text("Campaign imported: it is a draft until you publish it.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.get_by_role("group", name="Modify contact's tags", exact=True)).to_be_visible()
    page.goto(f"{base_url}/campaigns")
    expect(page.get_by_role("row").filter(has_text=f"Travels {uid}")).to_have_count(2)
