"""Settings → Custom fields: create (each a real column), edit, reorder and delete contact and company fields."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, reopen


def open_fields(page: Page, base_url: str, obj: str = "contact") -> None:
    page.goto(base_url + "/settings/fields" + ("?object=company" if obj == "company" else ""))
    expect(page.get_by_role("heading", name="Custom fields")).to_be_visible()
    expect(fields_table(page, obj)).to_be_visible()


def fields_table(page: Page, obj: str = "contact"):
    return page.get_by_role("table", name="Contact fields" if obj == "contact" else "Company fields")


def labels(page: Page, obj: str = "contact") -> list[str]:
    """Field labels in list order (a core field's row header also holds its "Core" badge)."""
    return [t.strip().split("\n")[0].strip() for t in fields_table(page, obj).get_by_role("rowheader").all_inner_texts()]


def row_of(page: Page, label: str, obj: str = "contact"):
    return fields_table(page, obj).get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(rf"^{re.escape(label)}")))


def create_field(page: Page, label: str, field_type: str, **extra) -> None:
    page.get_by_role("button", name="New field").click()
    dialog = page.get_by_role("dialog", name=re.compile(r"^New (contact|company) field$"))
    dialog.get_by_label("Label").fill(label)
    dialog.get_by_label("Type").select_option(label=field_type)
    if "options" in extra:
        dialog.get_by_label("Options").fill(extra["options"])
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


def test_lists_core_fields_with_flags_and_tabs(signed_in: Page, base_url):
    page = signed_in
    open_fields(page, base_url)
    expect(page.get_by_role("tab", name="Contact fields")).to_have_attribute("aria-selected", "true")
    email = row_of(page, "Email")
    expect(email).to_contain_text("email")
    expect(email).to_contain_text("Unique identifier")
    expect(email).to_contain_text("Publicly updatable")
    expect(email).to_contain_text("Listable")
    expect(email).to_contain_text("Core")
    # Core fields can be edited but never deleted.
    expect(page.get_by_role("button", name="Edit Email", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Delete Email", exact=True)).to_have_count(0)
    assert labels(page)[:3] == ["Title", "First Name", "Last Name"]

    page.get_by_role("tab", name="Company fields").click()
    expect(page).to_have_url(re.compile(r"object=company"))
    company_name = row_of(page, "Company Name", "company")
    expect(company_name).to_contain_text("companyname")
    expect(company_name).to_contain_text("Required")
    expect(row_of(page, "Industry", "company")).to_contain_text("Select")


def test_create_select_field_and_use_it_on_the_contact_form(signed_in: Page, base_url):
    page = signed_in
    uid = new_uid()
    label = f"Favourite colour {uid}"
    open_fields(page, base_url)
    page.get_by_role("button", name="New field").click()
    dialog = page.get_by_role("dialog", name="New contact field")

    # Errors are shown beside their fields.
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("A label is required.")).to_be_visible()
    expect(dialog.get_by_label("Label")).to_have_attribute("aria-invalid", "true")

    # The alias follows the label until it is edited by hand.
    dialog.get_by_label("Label").fill(label)
    expect(dialog.get_by_label("Alias")).to_have_value(f"favourite_colour_{uid}")
    dialog.get_by_label("Alias").fill("select")
    dialog.get_by_label("Label").fill(label + "!")
    expect(dialog.get_by_label("Alias")).to_have_value("select")

    # Every field type can be chosen; the type decides which properties are asked for.
    type_select = dialog.get_by_label("Type")
    offered = [t.strip() for t in type_select.locator("option").all_inner_texts()]
    for expected in ("Text", "Text area", "Select", "Select - multiple", "Boolean", "Lookup", "Date", "Date / time", "Time",
                     "Timezone", "Email", "HTML", "Number", "Phone", "URL", "Country", "Region", "Locale"):
        assert expected in offered
    type_select.select_option(label="Boolean")
    expect(dialog.get_by_label("Yes label")).to_have_value("Yes")
    expect(dialog.get_by_label("No label")).to_have_value("No")
    type_select.select_option(label="Number")
    expect(dialog.get_by_label("Decimal places")).to_be_visible()
    type_select.select_option(label="Select")
    expect(dialog.get_by_label("Options")).to_be_visible()

    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("This name is reserved.")).to_be_visible()
    expect(dialog.get_by_text("List at least one option.")).to_be_visible()
    dialog.get_by_label("Alias").fill("")
    expect(dialog.get_by_label("Alias")).to_have_value(f"favourite_colour_{uid}")
    dialog.get_by_label("Label").fill(label)
    dialog.get_by_label("Group").select_option("personal")
    dialog.get_by_label("Options").fill("Red\nGreen\n\nBlue")
    dialog.get_by_role("switch", name="Publicly updatable").click()
    expect(dialog.get_by_role("switch", name="Publicly updatable")).to_be_checked()
    expect(dialog.get_by_role("switch", name="Listable")).to_be_checked()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    row = row_of(page, label)
    expect(row).to_contain_text(f"favourite_colour_{uid}")
    expect(row).to_contain_text("Select")
    expect(row).to_contain_text("Personal")
    expect(row).to_contain_text("Publicly updatable")
    expect(row).not_to_contain_text("Required")
    assert labels(page)[-1] == label  # new fields go last

    # Editing keeps alias and type locked and shows the stored options.
    page.get_by_role("button", name=f"Edit {label}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit contact field")
    expect(dialog.get_by_label("Alias")).to_be_disabled()
    expect(dialog.get_by_label("Type")).to_be_disabled()
    expect(dialog.get_by_label("Options")).to_have_value("Red\nGreen\nBlue")
    dialog.get_by_label("Options").fill("Red\nGreen\nBlue\nYellow")
    dialog.get_by_role("switch", name="Required").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Required")

    # The contact form is built from the registry: the new field is there with its options.
    page.goto(base_url + "/contacts/new")
    control = page.get_by_label(label)
    expect(control).to_be_visible()
    expect(control.locator("option", has_text="Yellow")).to_have_count(1)
    expect(control.locator("option", has_text="Green")).to_have_count(1)


def test_reorder_and_delete_fields(signed_in: Page, base_url):
    page = signed_in
    uid = new_uid()
    first, second = f"Shoe size {uid}", f"Hat size {uid}"
    open_fields(page, base_url)
    create_field(page, first, "Number")
    create_field(page, second, "Text")
    order = labels(page)
    assert order[-2:] == [first, second]

    page.get_by_role("button", name=f"Move {second} up").click()
    expect(fields_table(page).get_by_role("rowheader").nth(len(order) - 2)).to_have_text(second)
    expect(fields_table(page).get_by_role("rowheader").last).to_have_text(first)
    assert labels(page)[-2:] == [second, first]
    expect(page.get_by_role("button", name=f"Move {first} down")).to_be_disabled()
    expect(page.get_by_role("button", name="Move Title up")).to_be_disabled()

    # The order is stored: it survives a reload.
    reopen(page)
    expect(fields_table(page)).to_be_visible()
    assert labels(page)[-2:] == [second, first]
    page.get_by_role("button", name=f"Move {second} down").click()
    expect(fields_table(page).get_by_role("rowheader").last).to_have_text(second)

    # Deleting a custom field asks first and removes it.
    page.get_by_role("button", name=f"Delete {first}", exact=True).click()
    confirm = page.get_by_role("alertdialog", name="Delete field")
    expect(confirm).to_contain_text(first)
    confirm.get_by_role("button", name="Cancel").click()
    expect(row_of(page, first)).to_be_visible()
    page.get_by_role("button", name=f"Delete {first}", exact=True).click()
    page.get_by_role("alertdialog", name="Delete field").get_by_role("button", name="Delete").click()
    expect(row_of(page, first)).to_have_count(0)
    reopen(page)
    expect(row_of(page, second)).to_be_visible()
    assert first not in labels(page)


def test_company_field_appears_on_the_company_form(signed_in: Page, base_url):
    page = signed_in
    label = f"Stock ticker {new_uid()}"
    open_fields(page, base_url, "company")
    expect(page.get_by_role("tab", name="Company fields")).to_have_attribute("aria-selected", "true")
    create_field(page, label, "Text")
    expect(row_of(page, label, "company")).to_contain_text("Text")
    page.goto(base_url + "/companies/new")
    expect(page.get_by_label(label)).to_be_visible()


def test_fields_settings_are_for_administrators_only(page: Page, base_url):
    page.goto(base_url + "/settings/fields")
    expect(page).to_have_url(re.compile(r"/login"))
