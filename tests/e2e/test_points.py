"""Points as a marketer manages them: a group, a URL action scoring it, a trigger tagging contacts who reach a score."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import reopen, run_service


def row_of(page: Page, table: str, name: str):
    return page.get_by_role("table", name=table).get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=name))


def test_groups_actions_and_triggers(signed_in: Page, base_url: str, app_server: dict):
    page, u = signed_in, uuid.uuid4().hex[:6]
    group, action, trigger, tag = f"Product {u}", f"Pricing visit {u}", f"Hot lead {u}", f"hot-{u}"

    # The sidebar leads to the points pages; a group comes first.
    page.goto(base_url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Points").click()
    expect(page.get_by_role("heading", name="Point actions")).to_be_visible()
    page.get_by_role("navigation", name="Points").get_by_role("link", name="Groups").click()
    expect(page.get_by_role("heading", name="Point groups")).to_be_visible()
    page.get_by_role("button", name="New point group").click()
    dialog = page.get_by_role("dialog", name="New point group")
    dialog.get_by_label("Name").fill(group)
    dialog.get_by_label("Description").fill("Interest in <b>product</b>")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row_of(page, "Point groups", group)).to_contain_text("Interest in <b>product</b>")

    # A URL action: the form asks for the URL, and refuses what is missing beside each field.
    page.get_by_role("navigation", name="Points").get_by_role("link", name="Actions").click()
    page.get_by_role("button", name="New point action").click()
    dialog = page.get_by_role("dialog", name="New point action")
    kind = dialog.get_by_label("When a contact…")
    expect(kind).to_have_value("url.hit")
    expect(kind.locator("option", has_text="Downloads an asset")).to_have_count(0)  # assets are not built yet: not offered
    expect(kind.locator("option", has_text="Is sent an e-mail")).to_have_count(1)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("A name is required.")).to_be_visible()
    expect(dialog.get_by_text("URL is required.")).to_be_visible()
    expect(dialog.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Name").fill(action)
    dialog.get_by_label("URL").fill("https://example.com/pricing*")
    dialog.get_by_label("Comes back within (seconds)").fill("60")
    dialog.get_by_label("Comes back after (seconds)").fill("120")
    dialog.get_by_label("Points change").fill("10")
    dialog.get_by_label("Point group").select_option(label=group)
    dialog.get_by_role("switch", name="Score every time (repeatable)").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("must not be longer")).to_be_visible()
    dialog.get_by_label("Comes back within (seconds)").fill("")
    dialog.get_by_label("Comes back after (seconds)").fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = row_of(page, "Point actions", action)
    expect(row).to_contain_text("Visits https://example.com/pricing*")
    expect(row).to_contain_text("+10")
    expect(row).to_contain_text(group)
    expect(row).to_contain_text("Every time")

    # Edit keeps what was saved and changes what is changed.
    page.get_by_role("button", name=f"Edit {action}").click()
    dialog = page.get_by_role("dialog", name="Edit point action")
    expect(dialog.get_by_label("URL")).to_have_value("https://example.com/pricing*")
    expect(dialog.get_by_label("Point group")).to_have_value(str(run_service(app_server, (
        "from mautic_app.services import points\n"
        "with session_scope() as s:\n"
        f"    print(json.dumps(points.list_groups(session=s, search={group!r})[0][0].id))\n"
    ))))
    dialog.get_by_label("Points change").fill("15")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("+15")

    # A trigger on the group's score with events that tag the contact and put it in a segment.
    segment_id = run_service(app_server, (
        "from mautic_app.services import segments\n"
        "with session_scope() as s:\n"
        f"    print(json.dumps(segments.save_segment(session=s, values={{'name': 'Sales ready {u}', 'filters': []}}).id))\n"
    ))
    page.get_by_role("navigation", name="Points").get_by_role("link", name="Triggers").click()
    page.get_by_role("button", name="New trigger").click()
    dialog = page.get_by_role("dialog", name="New trigger")
    dialog.get_by_role("textbox", name="Name", exact=True).fill(trigger)
    dialog.get_by_label("Minimum points").fill("20")
    dialog.get_by_label("Point group").select_option(label=group)
    dialog.get_by_label("Colour").fill("#ff0000")
    expect(dialog.get_by_role("heading", name="Event 1: Modify tags")).to_be_visible()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("Give tags to add or to remove.")).to_be_visible()
    dialog.get_by_label("Tags to add").fill(tag)
    dialog.get_by_label("Event type").select_option(label="Modify segments")
    dialog.get_by_role("button", name="Add event").click()
    expect(dialog.get_by_role("heading", name="Event 2: Modify segments")).to_be_visible()
    dialog.get_by_label("Add to segments").fill("999999")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("No segment has the id 999999.")).to_be_visible()
    dialog.get_by_label("Add to segments").fill(str(segment_id))
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = row_of(page, "Point triggers", trigger)
    expect(row).to_contain_text(f"Tags: add {tag}")
    expect(row).to_contain_text(group)

    page.get_by_role("button", name=f"Edit {trigger}").click()
    dialog = page.get_by_role("dialog", name="Edit trigger")
    expect(dialog.get_by_label("Tags to add")).to_have_value(tag)
    dialog.get_by_label("Minimum points").fill("30")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("cell").nth(0)).to_have_text("30")

    # Two tracked visits score the group twice; at 30 the trigger tags the contact, once.
    cid = run_service(app_server, (
        "from mautic_app.services import contacts, points\n"
        "with session_scope() as s:\n"
        f"    cid = contacts.create(session=s, values={{'email': 'visitor.{u}@example.com'}}, check_required=False)[0]\n"
        "for hits in (1, 2):\n"
        "    with session_scope() as s:\n"
        "        points.score(session=s, contact_id=cid, action_type='url.hit',\n"
        "                     context={'url': 'https://example.com/pricing?plan=pro', 'hits': hits, 'seconds_since_last': None})\n"
        "print(json.dumps(cid))\n"
    ))
    page.goto(f"{base_url}/contacts/{cid}")
    scores = page.get_by_role("list", name="Point group scores")
    expect(scores.get_by_role("listitem").filter(has_text=group)).to_have_text(re.compile(rf"^{re.escape(group)}\s*30$"))
    expect(page.get_by_role("status", name="Points")).to_have_text("0")
    expect(page.get_by_role("main")).to_contain_text(tag)
    expect(page.get_by_role("main")).to_contain_text(f"Sales ready {u}")
    reopen(page, base_url + "/points/triggers")
    expect(row_of(page, "Point triggers", trigger).get_by_role("cell").nth(3)).to_have_text("1")

    # Deleting asks first, for each of the three.
    page.get_by_role("button", name=f"Delete {trigger}").click()
    page.get_by_role("alertdialog", name="Delete trigger").get_by_role("button", name="Delete").click()
    expect(row_of(page, "Point triggers", trigger)).to_have_count(0)
    reopen(page, base_url + "/points")
    page.get_by_role("button", name=f"Delete {action}").click()
    page.get_by_role("alertdialog", name="Delete point action").get_by_role("button", name="Delete").click()
    expect(row_of(page, "Point actions", action)).to_have_count(0)
    reopen(page, base_url + "/points/groups")
    page.get_by_role("button", name=f"Delete {group}").click()
    confirm = page.get_by_role("alertdialog", name="Delete point group")
    expect(confirm).to_contain_text(group)
    confirm.get_by_role("button", name="Delete").click()
    expect(row_of(page, "Point groups", group)).to_have_count(0)
    reopen(page)
    expect(page.get_by_role("heading", name="Point groups")).to_be_visible()
    expect(row_of(page, "Point groups", group)).to_have_count(0)


def test_the_points_tabs_switch_in_the_page(signed_in: Page, base_url: str):
    """Actions, Triggers and Groups are one click apart, in the same document (no page load between them)."""
    page = signed_in
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base_url + "/points")
    expect(page.get_by_role("heading", name="Point actions")).to_be_visible()
    page.evaluate("window.__samePage = true")
    tabs = page.get_by_role("navigation", name="Points")
    for label, heading in (("Triggers", "Point triggers"), ("Groups", "Point groups"), ("Actions", "Point actions")):
        tabs.get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(tabs.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^\d+ "))).to_be_visible()
    assert page.evaluate("window.__samePage === true"), "the tabs loaded a new document"
