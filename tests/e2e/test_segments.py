"""Segments as a marketer builds them: a live count with each filter, save, members, live joins and leaves."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.test_stages import run_service


def make_contacts(app_server: dict, people: list[dict]) -> list[int]:
    return run_service(app_server, (
        "from mautic_app.services import contacts\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for values in {people!r}:\n"
        "        ids.append(contacts.create(session=s, values=values, check_required=False)[0])\n"
        "print(json.dumps(ids))\n"
    ))


def change_city(app_server: dict, contact_id: int, city: str) -> None:
    """Edited elsewhere (as the API or another marketer would): the open segment page must follow."""
    run_service(app_server, (
        "from mautic_app.services import contacts\n"
        "with session_scope() as s:\n"
        f"    contacts.update(session=s, contact_id={contact_id}, values={{'city': {city!r}}})\n"
        "print(json.dumps(1))\n"
    ))


def test_build_a_segment_watch_the_count_and_see_members_join_and_leave_live(signed_in: Page, base_url, app_server):
    page = signed_in
    town = f"Town{uuid.uuid4().hex[:6]}"
    _ada, _bea, cy, outsider = make_contacts(app_server, [
        {"email": f"a.{town}@example.com", "firstname": "Ada", "city": town, "points": 10},
        {"email": f"b.{town}@example.com", "firstname": "Bea", "city": town, "points": 20},
        {"email": f"c.{town}@example.com", "firstname": "Cy", "city": town, "points": 30},
        {"email": f"d.{town}@example.com", "firstname": "Dee", "city": "Elsewhere", "points": 40},
    ])

    page.goto(base_url + "/segments")
    page.get_by_role("link", name="New segment").click()
    expect(page.get_by_role("heading", name="New segment")).to_be_visible()
    page.get_by_label("Name").fill(f"High scorers in {town}")
    count = page.get_by_role("status").filter(has_text=re.compile(r"match"))

    page.get_by_role("button", name="Add filter").click()
    filter1 = page.get_by_role("group", name="Filter 1")
    filter1.get_by_label("Find a field for filter 1").fill("cit")
    filter1.get_by_label("Field of filter 1").select_option(label="City")
    filter1.get_by_label("Operator of filter 1").select_option(label="equals")
    filter1.get_by_label("Value of filter 1").fill(town)
    expect(count).to_have_text("3 contacts match")
    expect(page.get_by_role("list", name="Matching contacts")).to_contain_text("Ada")

    page.get_by_role("button", name="Add filter").click()
    filter2 = page.get_by_role("group", name="Filter 2")
    filter2.get_by_label("Field of filter 2").select_option("points")
    # Only the operators a number offers; "starts with" text operators come with their help.
    expect(filter2.get_by_label("Operator of filter 2").locator("option", has_text="greater than or equal")).to_have_count(1)
    filter2.get_by_label("Operator of filter 2").select_option(label="greater than or equal")
    filter2.get_by_label("Value of filter 2").fill("20")
    expect(count).to_have_text("2 contacts match")

    # A bad regular expression is a clear error, not a failure.
    filter2.get_by_label("Operator of filter 2").select_option(label="regexp")
    filter2.get_by_label("Value of filter 2").fill("([")
    expect(page.get_by_role("alert").filter(has_text="regular expression")).to_be_visible()
    filter2.get_by_label("Operator of filter 2").select_option(label="greater than or equal")
    filter2.get_by_label("Value of filter 2").fill("20")
    expect(count).to_have_text("2 contacts match")

    page.get_by_role("button", name="Save segment").click()
    expect(page).to_have_url(re.compile(r"/segments/\d+$"))
    members = page.get_by_role("table", name="Members")
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^2 members$"))).to_be_visible(timeout=30_000)
    expect(members).to_contain_text("Bea")
    expect(members).to_contain_text("Cy")

    # Edited elsewhere: one joins (moves to the town), one leaves (moves away) — the open page follows.
    change_city(app_server, outsider, town)
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^3 members$"))).to_be_visible(timeout=30_000)
    expect(members).to_contain_text("Dee")
    change_city(app_server, cy, "Elsewhere")
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^2 members$"))).to_be_visible(timeout=30_000)
    expect(members).not_to_contain_text("Cy")

    page.get_by_role("link", name="All segments").click()
    row = page.get_by_role("table", name="Segments").get_by_role("row").filter(has_text=f"High scorers in {town}")
    expect(row.get_by_role("link", name=re.compile(r"^Contacts in High scorers.*: 2$"))).to_be_visible()
    row.get_by_role("button", name=f"Rebuild High scorers in {town}").click()
    expect(row).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"), timeout=30_000)
