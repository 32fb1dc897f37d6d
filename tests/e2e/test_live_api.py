"""A contact created through the REST API appears in a marketer's open list and dashboard, live."""

from __future__ import annotations

import base64
import re
import uuid

from playwright.sync_api import Page, expect


def test_contact_created_through_api_appears_live(signed_in: Page, base_url: str, app_server: dict, browser):
    page = signed_in
    tile = page.get_by_role("group", name="Contacts")
    expect(tile).to_contain_text(re.compile(r"\d"))  # loaded: a dash shows until then
    before = int(re.sub(r"\D", "", tile.inner_text()))

    list_context = browser.new_context(base_url=base_url, storage_state=page.context.storage_state())
    list_page = list_context.new_page()
    list_page.goto(base_url + "/contacts?search=email%3Aapi-live")
    expect(list_page.get_by_text("No contacts match.")).to_be_visible()

    email = f"api-live-{uuid.uuid4().hex[:8]}@example.com"
    api = page.context.request
    auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{app_server['admin_password']}".encode()).decode()}
    assert api.get(base_url + "/api/contacts", headers={"Content-Type": "application/json"}).status == 401
    response = api.post(base_url + "/api/contacts/new", headers=auth, data={"email": email, "firstname": "Via", "lastname": "Api"})
    assert response.status == 201, response.text()
    contact_id = response.json()["contact"]["id"]

    # No reload: both open pages change on their own.
    table = list_page.get_by_role("table", name="Contacts")
    expect(table).to_contain_text(email, timeout=5_000)
    expect(tile).to_have_text(re.compile(rf"^\D*{before + 1:,}\D*$"), timeout=5_000)  # written as en_US writes it

    table.get_by_role("link", name=re.compile("Via Api")).click()
    expect(list_page).to_have_url(re.compile(rf"/contacts/{contact_id}/?$"))
    expect(list_page.get_by_text("Added through the API").filter(visible=True).first).to_be_visible()
    list_context.close()
