"""Log-in, the shell and the dashboard, as a marketer sees them."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_PASSWORD, log_in


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


def test_the_session_cookie_is_out_of_scripts_reach(page, base_url):
    log_in(page, base_url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "mautic_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "mautic_session" not in page.evaluate("() => document.cookie")


def test_sign_in_returns_to_the_page_asked_for(page, base_url):
    page.goto(base_url + "/contacts?search=example")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    log_in_here(page)
    expect(page).to_have_url(re.compile(r"/contacts/?\?search=example$"))


def test_repeated_wrong_passwords_make_you_wait(page, base_url):
    """After a few failures the account must wait, and the wait is said plainly; other accounts go on."""
    page.goto(base_url + "/login")
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    for _ in range(5):
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill("guess-123456")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        page.goto(base_url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill("guess-123456")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Too many failed sign-ins\. Wait \d+ seconds?, then try again\.$"))
    log_in(page, base_url)


def log_in_here(page) -> None:
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Account menu")).to_be_visible()


def test_phone_width_has_menu(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, base_url)
    # A click before the page has hydrated opens nothing (it failed twice on a busy CI run): click until it opens.
    menu = page.get_by_role("dialog").get_by_role("link", name="Contacts")
    for _ in range(10):
        page.get_by_role("button", name="Open menu").click()
        try:
            menu.wait_for(state="visible", timeout=1500)
            break
        except PlaywrightTimeoutError:
            continue
    expect(menu).to_be_visible()
    context.close()


def test_a_grey_button_shows_its_focus_ring(signed_in, base_url):
    """Reached by keyboard, the top bar's ghost button shows a ring a marketer can see."""
    page = signed_in
    page.goto(base_url + "/segments")
    toggle = page.get_by_role("button", name="Toggle dark mode")
    expect(toggle).to_be_visible()
    page.keyboard.press("Tab")  # keyboard use: focus rings are drawn from now on
    toggle.focus()
    expect(toggle).to_have_css("outline-style", "solid")
    expect(toggle).to_have_css("outline-width", "2px")
    expect(toggle).to_have_css("outline-offset", "2px")  # outside the button (Radix draws it inside, where it barely shows)


def test_the_first_tab_stop_skips_to_the_content(signed_in, base_url):
    """Keyboard users pass the sidebar's dozen links in one key press, at 1400x900."""
    page = signed_in
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base_url + "/segments")
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    assert urlsplit(page.url).path.rstrip("/") == "/segments"  # the page stayed; only focus moved
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main, [role=main]') !== null")
    assert focused, "the next Tab stop after the skip is inside the content"


def test_a_date_and_time_is_one_tab_stop(signed_in, base_url):
    """Publish dates are typed in one box (Chromium's date-time input takes a Tab stop per part)."""
    page = signed_in
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base_url + "/points")
    page.get_by_role("button", name="New point action").click()
    start = page.get_by_label("Publish from (UTC)")
    start.fill("2026-12-31 09:00")
    start.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Publish until (UTC)")).to_be_focused()
    page.get_by_label("Publish until (UTC)").fill("31/12/2026")
    assert page.get_by_label("Publish until (UTC)").evaluate("e => !e.checkValidity()"), "a date not in the shown form is refused"
