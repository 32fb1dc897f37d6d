"""Segments as a marketer builds them: a live count with each filter, save, members, live joins and leaves."""

from __future__ import annotations

import base64
import re
import time
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import run_service


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
    page.set_viewport_size({"width": 1400, "height": 900})
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
    expect(filter1.get_by_label("Field of filter 1").locator("option", has_text="Country")).to_have_count(0)  # the search took
    filter1.get_by_label("Field of filter 1").select_option(label="City")
    filter1.get_by_label("Operator of filter 1").select_option(label="equals")
    filter1.get_by_label("Value of filter 1").fill(town)
    expect(count).to_have_text("3 contacts match now")
    expect(filter1.get_by_label("Find a field for filter 1")).to_have_value("")  # its work is done once a field is chosen
    operator_box = filter1.get_by_label("Operator of filter 1").bounding_box()
    value_box = filter1.get_by_label("Value of filter 1").bounding_box()
    assert operator_box and value_box and abs(operator_box["y"] - value_box["y"]) < 4, "the value sits on the filter's line"
    expect(page.get_by_role("list", name="Matching contacts")).to_contain_text("Ada")

    page.get_by_role("button", name="Add filter").click()
    filter2 = page.get_by_role("group", name="Filter 2")
    filter2.get_by_label("Field of filter 2").select_option("points")
    # Only the operators a number offers; "starts with" text operators come with their help.
    expect(filter2.get_by_label("Operator of filter 2").locator("option", has_text="greater than or equal")).to_have_count(1)
    filter2.get_by_label("Operator of filter 2").select_option(label="greater than or equal")
    filter2.get_by_label("Value of filter 2").fill("20")
    expect(count).to_have_text("2 contacts match now")

    # A bad regular expression is a clear error, not a failure.
    filter2.get_by_label("Operator of filter 2").select_option(label="regexp")
    filter2.get_by_label("Value of filter 2").fill("([")
    expect(page.get_by_role("alert").filter(has_text="regular expression")).to_be_visible()
    # One that only a backtracking engine runs (and that could stall it) is refused the same way.
    filter2.get_by_label("Value of filter 2").fill("(a)\\1")
    expect(page.get_by_role("alert").filter(has_text="Backreferences")).to_be_visible()
    filter2.get_by_label("Operator of filter 2").select_option(label="greater than or equal")
    filter2.get_by_label("Value of filter 2").fill("20")
    expect(count).to_have_text("2 contacts match now")

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

    # By hand on the segment page: a removal sticks, an addition joins whatever the filters say.
    page.get_by_role("button", name="Remove Bea from the segment").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^1 member$"))).to_be_visible()
    page.get_by_label("Add a contact by hand").fill("nobody@example.com")
    page.get_by_label("Add a contact by hand").press("Enter")
    expect(page.get_by_role("alert").filter(has_text="No contact with that e-mail")).to_be_visible()
    page.get_by_label("Add a contact by hand").fill(f"a.{town}@example.com")
    page.get_by_label("Add a contact by hand").press("Enter")
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^2 members$"))).to_be_visible()
    expect(members).to_contain_text("Ada")

    page.get_by_role("link", name="All segments").click()
    row = page.get_by_role("table", name="Segments").get_by_role("row").filter(has_text=f"High scorers in {town}")
    expect(row.get_by_role("link", name=re.compile(r"^Contacts in High scorers.*: 2$"))).to_be_visible()
    row.get_by_role("button", name=f"Rebuild High scorers in {town}").click()
    # The toast comes with the row's "Rebuilding…" mark, which goes once the worker has rebuilt it.
    expect(page.get_by_text(f"Rebuilding “High scorers in {town}”…")).to_be_visible()
    expect(row.get_by_role("status")).to_have_count(0, timeout=30_000)
    expect(row).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))


def test_add_to_a_segment_in_bulk_and_remove_by_hand_on_the_contact_page(signed_in: Page, base_url, app_server):
    page, u = signed_in, uuid.uuid4().hex[:6]
    ids = make_contacts(app_server, [{"firstname": f"Hand{i}", "lastname": f"Picked{u}", "email": f"hand{u}.{i}@example.com"}
                                     for i in range(2)])
    name = f"VIP list {u}"
    run_service(app_server, (
        "from mautic_app.services import segments\n"
        "with session_scope() as s:\n"
        f"    segments.save_segment(session=s, values={{'name': {name!r}, 'alias': 'vip-{u}'}})\n"
        "print(json.dumps(1))\n"
    ))
    page.goto(base_url + f"/contacts?search=email:hand{u}")
    table_rows = page.get_by_role("table").get_by_role("row")
    expect(table_rows).to_have_count(3)  # the header and two contacts
    page.get_by_role("checkbox", name="Select all contacts on this page").click()
    page.get_by_role("toolbar", name="Bulk actions").get_by_role("button", name="Add to segment").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a segment.")
    dialog.get_by_label("Segment").select_option(label=name)
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    page.get_by_label("Contact search").fill(f"segment:vip-{u}")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(table_rows).to_have_count(3)

    page.goto(base_url + f"/contacts/{ids[0]}")
    card = page.get_by_role("list", name="Segments")
    expect(card.get_by_role("link", name=name)).to_be_visible()
    expect(card).to_contain_text("added by hand")
    page.get_by_role("button", name=f"Remove from segment {name}").click()
    expect(page.get_by_text("In no segment.")).to_be_visible()
    page.get_by_label("Add to segment").select_option(label=name)
    page.get_by_role("button", name="Add", exact=True).last.click()
    expect(page.get_by_role("list", name="Segments").get_by_role("link", name=name)).to_be_visible()


def test_a_contact_changed_a_second_after_a_segment_is_saved_joins_it(signed_in: Page, base_url, app_server):
    """Through the API, as an integration would: the watcher knows of the new segment at once."""
    page = signed_in
    town = f"Town{uuid.uuid4().hex[:6]}"
    (later,) = make_contacts(app_server, [{"email": f"later.{town}@example.com", "firstname": "Lou", "city": "Elsewhere"}])
    api = page.context.request
    auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{app_server['admin_password']}".encode()).decode()}
    saved = api.post(base_url + "/api/segments/new", headers=auth, data={
        "name": f"Followers in {town}",
        "filters": [{"glue": "and", "field": "city", "object": "lead", "type": "text", "operator": "=", "properties": {"filter": town}}]})
    assert saved.status == 201, saved.text()
    segment_id = saved.json()["list"]["id"]
    deadline = time.monotonic() + 30
    while not api.get(f"{base_url}/api/segments/{segment_id}", headers=auth).json()["list"]["lastBuiltDate"]:
        assert time.monotonic() < deadline, "the saved segment was never built"
        time.sleep(0.2)  # built with nobody in it: from now on only the watcher can bring Lou in

    assert api.patch(f"{base_url}/api/contacts/{later}/edit", headers=auth, data={"city": town}).ok
    page.goto(f"{base_url}/segments/{segment_id}")
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^1 member$"))).to_be_visible(timeout=15_000)
    expect(page.get_by_role("table", name="Members")).to_contain_text("Lou")


def test_countries_and_time_zones_are_picked_not_typed(signed_in: Page, base_url):
    page = signed_in
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base_url + "/segments/new")
    expect(page.get_by_role("heading", name="New segment")).to_be_visible()
    page.get_by_role("button", name="Add filter").click()
    row = page.get_by_role("group", name="Filter 1")
    row.get_by_label("Field of filter 1").select_option(label="Country")
    row.get_by_label("Operator of filter 1").select_option(label="equals")
    value = row.get_by_label("Value of filter 1")
    expect(value.locator("option", has_text="France")).to_have_count(1)
    value.select_option(label="France")
    expect(page.get_by_role("status").filter(has_text=re.compile(r"match"))).to_contain_text("match now")
    # Many of them: typed with | between, each suggested from the list as it is typed.
    row.get_by_label("Operator of filter 1").select_option(label="including")
    expect(row.get_by_role("textbox", name="Value of filter 1")).to_be_visible()  # the select has made way
    typed = row.get_by_label("Value of filter 1")  # a combobox once its suggestions are attached
    typed.fill("France|Germ")
    typed.press("y")
    typed.press("Backspace")
    suggested = page.evaluate("[...document.getElementById(document.activeElement.getAttribute('list')).options].map(o => o.value)")
    assert "France|Germany" in suggested and not any("France|France" in s for s in suggested)
    row.get_by_label("Field of filter 1").select_option(label="Preferred Timezone")
    row.get_by_label("Operator of filter 1").select_option(label="equals")
    expect(row.get_by_label("Value of filter 1").locator("option", has_text="Europe/Paris")).to_have_count(1)
