"""Log-in, the shell and the dashboard, as a marketer sees them."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_pages_require_sign_in(page, base_url):
    page.goto(base_url + "/contacts")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Log in to Mautic")).to_be_visible()


def test_wrong_password_is_refused(page, base_url):
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


def test_log_in_shows_dashboard_and_log_out(page, base_url):
    log_in(page, base_url)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("group", name="Contacts")).to_contain_text(re.compile(r"\d+"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts")).to_be_visible()
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_phone_width_has_menu(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, base_url)
    page.get_by_role("button", name="Open menu").click()
    expect(page.get_by_role("dialog").get_by_role("link", name="Contacts")).to_be_visible()
    context.close()
