"""Companies as a marketer uses them: list (search, sort, paging, live), the form, the detail page and its contacts."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, reopen, run_service


def create_companies(app_server: dict, names: list[str]) -> list[int]:
    return run_service(app_server, (
        f"names = {names!r}\n"
        "with session_scope() as s:\n"
        "    ids = [companies.create(session=s, values={'companyname': n}) for n in names]\n"
        "print(json.dumps(ids))\n"
    ))


def open_list(page: Page, base_url: str, search: str = "") -> None:
    page.goto(base_url + "/companies" + (f"?search={quote(search)}" if search else ""))
    expect(page.get_by_role("heading", name="Companies", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Companies").or_(page.get_by_text("No companies match."))).to_be_visible()


def names_in_list(page: Page) -> list[str]:
    return [t.strip() for t in page.get_by_role("table", name="Companies").get_by_role("rowheader").all_inner_texts()]


def test_list_shows_demo_companies_with_counts_and_searches(signed_in: Page, base_url):
    page = signed_in
    open_list(page, base_url)
    names = names_in_list(page)
    for name in ("Acme Corp", "Globex", "Initech"):
        assert name in names
    table = page.get_by_role("table", name="Companies")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert "Contacts" in headers and "Score" in headers
    acme = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Acme Corp", exact=True))
    contacts_cell = acme.locator("td").nth(headers.index("Contacts") - 1)
    assert int(contacts_cell.inner_text()) > 0
    expect(acme.locator("td").nth(headers.index("Score") - 1)).to_have_text("0")

    search = page.get_by_label("Company search")
    search.fill("glob")
    search.press("Enter")
    expect(page.get_by_text("1 company", exact=True)).to_be_visible()
    assert names_in_list(page) == ["Globex"]
    expect(page).to_have_url(re.compile(r"/companies\?search=glob"))
    search.fill("no such company anywhere")
    search.press("Enter")
    expect(page.get_by_text("No companies match.")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_role("table", name="Companies").get_by_role("rowheader", name="Globex")).to_be_visible()
    assert len(names_in_list(page)) >= 8


def test_sort_and_paging(signed_in: Page, base_url, app_server):
    page = signed_in
    tag = new_uid()
    create_companies(app_server, [f"Paging {tag} {i:02d}" for i in range(12)])
    open_list(page, base_url, search=f"Paging {tag}")
    expect(page.get_by_text("12 companies", exact=True)).to_be_visible()
    page.get_by_label("Rows per page").select_option("10")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    assert names_in_list(page) == [f"Paging {tag} {i:02d}" for i in range(10)]
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    assert names_in_list(page) == [f"Paging {tag} 10", f"Paging {tag} 11"]
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    # Sorting by name the other way starts again at page 1, from the end of the alphabet.
    header = page.get_by_role("columnheader", name="Name")
    expect(header).to_have_attribute("aria-sort", "ascending")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    assert names_in_list(page) == [f"Paging {tag} {i:02d}" for i in range(11, 1, -1)]


def test_create_edit_and_delete_a_company(signed_in: Page, base_url):
    page = signed_in
    name = f"Vandelay Industries {new_uid()}"
    open_list(page, base_url)
    page.get_by_role("link", name="New company").click()
    expect(page).to_have_url(re.compile(r"/companies/new"))
    expect(page.get_by_role("heading", name="New company")).to_be_visible()
    form = page.get_by_role("form", name="New company")

    # Required, and each field checks its own type.
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Company Name is required.")).to_be_visible()
    expect(form.get_by_label("Company Name")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Company Name").fill(name)
    form.get_by_label("Company Email").fill("not-an-email")
    form.get_by_label("Number of Employees").fill("120")
    form.get_by_label("City").fill("New York")
    form.get_by_label("Country").select_option("United States")
    form.get_by_label("Industry").select_option("Manufacturing")
    form.get_by_label("Description").fill("Importer and exporter of <script>alert(1)</script> latex")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    expect(form.get_by_label("Company Email")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Company Email").fill("art@vandelay.example")
    form.get_by_label("Score").fill("7")
    form.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/companies/\d+$"))
    company_url = page.url
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("art@vandelay.example")
    expect(details).to_contain_text("New York")
    expect(details).to_contain_text("United States")
    expect(details).to_contain_text("Manufacturing")
    expect(details).to_contain_text("120")
    expect(details).to_contain_text("Importer and exporter of <script>alert(1)</script> latex")
    expect(page.get_by_role("region", name="Summary").get_by_label("Score")).to_have_text("7")
    expect(page.get_by_role("region", name="Contacts")).to_contain_text("No contacts are linked to this company yet.")

    # A second company cannot take the same name.
    reopen(page, base_url + "/companies/new")
    form = page.get_by_role("form", name="New company")
    form.get_by_label("Company Name").fill(name.upper())
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("A company with this name already exists.")).to_be_visible()

    # Edit: the form shows the stored values; a blank clears a field.
    page.goto(company_url)
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/companies/\d+/edit$"))
    form = page.get_by_role("form", name=f"Edit {name}")
    expect(form.get_by_label("Company Name")).to_have_value(name)
    expect(form.get_by_label("City")).to_have_value("New York")
    expect(form.get_by_label("Industry")).to_have_value("Manufacturing")
    form.get_by_label("City").fill("Newark")
    form.get_by_label("Number of Employees").fill("")
    form.get_by_label("Company Name").fill("Globex")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("A company with this name already exists.")).to_be_visible()
    form.get_by_label("Company Name").fill(name + " Ltd")
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(company_url)
    expect(page.get_by_role("heading", name=name + " Ltd")).to_be_visible()
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Newark")
    expect(details).not_to_contain_text("Number of Employees")

    # Delete asks first, then goes back to the list where the company is gone.
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm = page.get_by_role("alertdialog", name="Delete company")
    expect(confirm).to_contain_text(name + " Ltd")
    confirm.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/companies/?$"))
    open_list(page, base_url, search=name)
    expect(page.get_by_text("No companies match.")).to_be_visible()
    page.goto(company_url)
    expect(page.get_by_text("This company does not exist")).to_be_visible()


def test_delete_from_the_list(signed_in: Page, base_url, app_server):
    page = signed_in
    name = f"Short lived {new_uid()}"
    create_companies(app_server, [name])
    open_list(page, base_url, search=name)
    page.get_by_role("button", name=f"Delete {name}").click()
    page.get_by_role("alertdialog", name="Delete company").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No companies match.")).to_be_visible()


def test_company_contacts_link_and_unlink(signed_in: Page, base_url, app_server):
    page = signed_in
    tag = new_uid()
    email = f"kramer.{tag}@example.com"
    [contact_id] = run_service(app_server, (
        "with session_scope() as s:\n"
        f"    cid, _ = contacts.create(session=s, values={{'firstname': 'Cosmo', 'lastname': 'Kramer{tag}', 'email': {email!r}}},"
        " check_required=False)\n"
        "print(json.dumps([cid]))\n"
    ))
    [company_id] = create_companies(app_server, [f"Kramerica {tag}"])

    # A demo company lists its contacts (paged), each a link to the contact.
    open_list(page, base_url, search="Acme Corp")
    page.get_by_role("link", name="Acme Corp", exact=True).click()
    expect(page.get_by_role("heading", name="Acme Corp")).to_be_visible()
    linked = page.get_by_role("table", name="Linked contacts")
    expect(linked.get_by_role("rowheader").first).to_be_visible()
    first = linked.get_by_role("rowheader").first.get_by_role("link")
    expect(first).to_have_attribute("href", re.compile(r"^/contacts/\d+$"))

    page.goto(f"{base_url}/companies/{company_id}")
    expect(page.get_by_role("heading", name=f"Kramerica {tag}")).to_be_visible()
    contacts_region = page.get_by_role("region", name="Contacts")
    expect(contacts_region).to_contain_text("No contacts are linked to this company yet.")
    search = page.get_by_label("Link a contact", exact=True)
    search.fill(f"kramer.{tag}@")
    page.get_by_role("button", name="Find").click()
    results = page.get_by_role("list", name="Matching contacts")
    expect(results.get_by_role("listitem")).to_have_count(1)
    expect(results).to_contain_text(email)
    results.get_by_role("button", name=f"Link Cosmo Kramer{tag}").click()
    expect(results).to_contain_text("Linked")
    row = page.get_by_role("table", name="Linked contacts").get_by_role("row").filter(has_text=email)
    expect(row).to_be_visible()
    expect(row).to_contain_text("Primary company")
    expect(contacts_region).to_contain_text("1 contact")

    # The contact now names the company as its primary company.
    row.get_by_role("link", name=f"Cosmo Kramer{tag}").click()
    expect(page).to_have_url(re.compile(rf"/contacts/{contact_id}$"))
    expect(page.get_by_text(f"Kramerica {tag}").first).to_be_visible()

    page.goto(f"{base_url}/companies/{company_id}")
    page.get_by_role("button", name=f"Unlink Cosmo Kramer{tag}").click()
    expect(page.get_by_role("region", name="Contacts")).to_contain_text("No contacts are linked to this company yet.")
    result = run_service(app_server, (
        "with session_scope() as s:\n"
        f"    print(json.dumps(contacts.read(session=s, contact_id={contact_id})['company']))\n"
    ))
    assert result is None

    # Searching for something that matches nothing says so.
    search.fill(f"nobody.{tag}@nowhere")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("No contact matches.")).to_be_visible()


def test_company_pages_update_live(signed_in: Page, base_url, app_server):
    page = signed_in
    tag = new_uid()
    open_list(page, base_url, search=f"Live {tag}")
    expect(page.get_by_text("No companies match.")).to_be_visible()
    [company_id] = create_companies(app_server, [f"Live {tag}"])
    expect(page.get_by_role("table", name="Companies").get_by_role("rowheader", name=f"Live {tag}")).to_be_visible()

    page.goto(f"{base_url}/companies/{company_id}")
    expect(page.get_by_role("heading", name=f"Live {tag}")).to_be_visible()
    run_service(app_server, (
        "with session_scope() as s:\n"
        f"    companies.update(session=s, company_id={company_id}, values={{'companycity': 'Lisbon'}}, score=42)\n"
        "print(json.dumps(True))\n"
    ))
    expect(page.get_by_role("region", name="Details")).to_contain_text("Lisbon")
    expect(page.get_by_role("region", name="Summary").get_by_label("Score")).to_have_text("42")
