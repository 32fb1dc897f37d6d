"""Stages as a marketer manages them: list with contact counts, create / edit in a dialog, delete, live."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, reopen, run_service


def open_stages(page: Page, base_url: str) -> None:
    page.goto(base_url + "/stages")
    expect(page.get_by_role("heading", name="Stages", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Stages")).to_be_visible()


def stage_names(page: Page) -> list[str]:
    return [t.strip() for t in page.get_by_role("table", name="Stages").get_by_role("rowheader").all_inner_texts()]


def row_of(page: Page, name: str):
    return page.get_by_role("table", name="Stages").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=name, exact=True))


def test_demo_stages_are_listed_with_contact_counts(signed_in: Page, base_url):
    page = signed_in
    open_stages(page, base_url)
    names = stage_names(page)
    for name in ("Lead", "Marketing qualified", "Sales qualified", "Customer"):
        assert name in names
    # Ordered by weight: Lead (10) comes before Customer (40).
    assert names.index("Lead") < names.index("Customer")
    lead = row_of(page, "Lead")
    expect(lead.get_by_role("cell").nth(0)).to_have_text("10")
    count_link = lead.get_by_role("link", name=re.compile(r"^Contacts in Lead: \d+$"))
    expect(count_link).to_be_visible()
    count = int(count_link.inner_text())
    assert count > 0  # the demo puts contacts in every stage
    count_link.click()
    expect(page).to_have_url(re.compile(r"/contacts\?search=stage"))


def test_create_edit_and_delete_a_stage(signed_in: Page, base_url):
    page = signed_in
    name = f"Nurture {new_uid()}"
    open_stages(page, base_url)

    page.get_by_role("button", name="New stage").click()
    dialog = page.get_by_role("dialog", name="New stage")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("A name is required.")
    expect(dialog.get_by_label("Name")).to_have_attribute("aria-invalid", "true")

    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Weight").fill("15")
    dialog.get_by_label("Description").fill("Warming up <b>leads</b>")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = row_of(page, name)
    expect(row).to_be_visible()
    expect(row.get_by_role("cell").nth(0)).to_have_text("15")
    # Text from the database is shown as text, never as markup.
    expect(row.get_by_role("cell").nth(1)).to_have_text("Warming up <b>leads</b>")
    expect(row.get_by_role("link", name=f"Contacts in {name}: 0")).to_be_visible()
    names = stage_names(page)
    assert names.index("Lead") < names.index(name) < names.index("Marketing qualified")

    # A name another stage has is refused beside the field.
    page.get_by_role("button", name=f"Edit {name}").click()
    dialog = page.get_by_role("dialog", name="Edit stage")
    expect(dialog.get_by_label("Name")).to_have_value(name)
    expect(dialog.get_by_label("Weight")).to_have_value("15")
    dialog.get_by_label("Name").fill("Lead")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("Another stage has this name.")
    dialog.get_by_label("Weight").fill("1.5")
    dialog.get_by_label("Name").fill(name + " renamed")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text("Weight is a whole number.")
    dialog.get_by_label("Weight").fill("45")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    renamed = row_of(page, name + " renamed")
    expect(renamed.get_by_role("cell").nth(0)).to_have_text("45")
    expect(row_of(page, name)).to_have_count(0)
    assert stage_names(page)[-1] == name + " renamed"  # the heaviest stage comes last

    # Delete asks first; cancelling keeps the stage.
    page.get_by_role("button", name=f"Delete {name} renamed").click()
    confirm = page.get_by_role("alertdialog", name="Delete stage")
    expect(confirm).to_contain_text(name + " renamed")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(renamed).to_be_visible()
    page.get_by_role("button", name=f"Delete {name} renamed").click()
    page.get_by_role("alertdialog", name="Delete stage").get_by_role("button", name="Delete").click()
    expect(renamed).to_have_count(0)
    reopen(page)
    expect(page.get_by_role("table", name="Stages")).to_be_visible()
    assert name + " renamed" not in stage_names(page)


def test_stage_list_updates_live(signed_in: Page, base_url, app_server):
    page = signed_in
    open_stages(page, base_url)
    name = f"Live stage {new_uid()}"
    stage_id = run_service(app_server, (
        "from mautic_app.services import stages\n"
        "with session_scope() as s:\n"
        f"    sid = stages.save_stage(session=s, stage_id=None, name={name!r}, weight=99).id\n"
        "print(json.dumps(sid))\n"
    ))
    expect(row_of(page, name)).to_be_visible()
    run_service(app_server, (
        "from mautic_app.services import stages\n"
        "with session_scope() as s:\n"
        f"    stages.delete_stage(session=s, stage_id={stage_id})\n"
        "print(json.dumps(True))\n"
    ))
    expect(row_of(page, name)).to_have_count(0)
