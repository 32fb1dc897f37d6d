"""Settings → Users: administrators create, edit and delete users; marketers cannot reach settings."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in, new_uid, reopen


def open_users(page: Page, base_url: str) -> None:
    page.goto(base_url + "/settings/users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("table", name="Users")).to_be_visible()


def row_of(page: Page, username: str):
    return page.get_by_role("table", name="Users").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{re.escape(username)}")))


def create_user(page: Page, username: str, password: str, *, first: str = "", last: str = "", email: str = "",
                admin: bool = False) -> None:
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog", name="New user")
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("First name").fill(first)
    dialog.get_by_label("Last name").fill(last)
    dialog.get_by_label("E-mail").fill(email)
    dialog.get_by_label("Password").fill(password)
    if admin:
        dialog.get_by_role("switch", name="Administrator").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_admin_cannot_delete_themselves(signed_in: Page, base_url):
    page = signed_in
    open_users(page, base_url)
    admin = row_of(page, "admin")
    expect(admin).to_contain_text("You")
    expect(admin).to_contain_text("Administrator")
    expect(page.get_by_role("button", name="Delete admin", exact=True)).to_be_disabled()
    # Your own administrator and active switches are locked on.
    page.get_by_role("button", name="Edit admin", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit user")
    expect(dialog.get_by_role("switch", name="Administrator")).to_be_checked()
    expect(dialog.get_by_role("switch", name="Administrator")).to_be_disabled()
    expect(dialog.get_by_role("switch", name="Active")).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()


def test_create_user_then_sign_in_as_a_marketer(signed_in: Page, base_url):
    page = signed_in
    username = f"elaine_{new_uid()}"
    password = "benes-pass-123"
    open_users(page, base_url)

    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog", name="New user")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("A username is required.")).to_be_visible()
    expect(dialog.get_by_text("Use at least 8 characters.")).to_be_visible()
    expect(dialog.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_role("switch", name="Active")).to_be_checked()
    expect(dialog.get_by_role("switch", name="Administrator")).not_to_be_checked()

    dialog.get_by_label("Username").fill("admin")
    dialog.get_by_label("E-mail").fill("not an address")
    dialog.get_by_label("Password").fill("short")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("This username is taken.")).to_be_visible()
    expect(dialog.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    expect(dialog.get_by_text("Use at least 8 characters.")).to_be_visible()

    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("First name").fill("Elaine")
    dialog.get_by_label("Last name").fill("Benes")
    dialog.get_by_label("E-mail").fill(f"{username}@pendant.example")
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = row_of(page, username)
    expect(row).to_contain_text("Elaine Benes")
    expect(row).to_contain_text(f"{username}@pendant.example")
    expect(row).to_contain_text("Marketer")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Never")

    # Editing with a blank password keeps the current one.
    page.get_by_role("button", name=f"Edit {username}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit user")
    expect(dialog.get_by_label("Username")).to_have_value(username)
    expect(dialog.get_by_label("Password")).to_have_value("")
    expect(dialog.get_by_text("Leave blank to keep the current password.")).to_be_visible()
    dialog.get_by_label("Last name").fill("Benes-Peterman")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Elaine Benes-Peterman")

    # The new user signs in; a marketer sees no settings and cannot open them.
    log_out(page)
    log_in(page, base_url, username=username, password=password)
    expect(page.get_by_role("button", name="Account menu")).to_contain_text("Elaine Benes-Peterman")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Companies")).to_be_visible()
    expect(nav.get_by_role("link", name="Custom fields")).to_have_count(0)
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_text("Settings")).to_have_count(0)
    page.goto(base_url + "/settings/users")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(base_url + "/settings/fields")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="Custom fields")).to_have_count(0)


def test_deactivate_and_delete_a_user(signed_in: Page, base_url, browser):
    page = signed_in
    username = f"newman_{new_uid()}"
    password = "hello-newman-1"
    open_users(page, base_url)
    create_user(page, username, password, first="Newman")
    row = row_of(page, username)
    expect(row).to_contain_text("Active")

    # An inactive user cannot sign in.
    page.get_by_role("button", name=f"Edit {username}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit user")
    dialog.get_by_role("switch", name="Active").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Inactive")
    other = browser.new_context(base_url=base_url).new_page()
    other.goto(base_url + "/login")
    other.get_by_label("Username").fill(username)
    other.get_by_label("Password").fill(password)
    other.get_by_role("button", name="Log in").click()
    expect(other.get_by_role("alert")).to_have_text("Wrong username or password.")
    other.context.close()

    # Delete asks first; cancelling keeps the user.
    page.get_by_role("button", name=f"Delete {username}", exact=True).click()
    confirm = page.get_by_role("alertdialog", name="Delete user")
    expect(confirm).to_contain_text(username)
    confirm.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    page.get_by_role("button", name=f"Delete {username}", exact=True).click()
    page.get_by_role("alertdialog", name="Delete user").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    reopen(page)
    expect(page.get_by_role("table", name="Users")).to_be_visible()
    expect(row_of(page, username)).to_have_count(0)


def test_a_user_disabled_or_demoted_loses_access_at_once(signed_in: Page, base_url, browser):
    """The server re-reads the user before every action, not only when a page loads."""
    page = signed_in
    username, password = f"kramer_{new_uid()}", "giddy-up-kramer-1"
    open_users(page, base_url)
    create_user(page, username, password, first="Cosmo", admin=True)
    other = browser.new_context(base_url=base_url).new_page()
    log_in(other, base_url, username=username, password=password)
    open_users(other, base_url)

    # Demoted while the users page is open: the next click is refused and sends them home.
    page.get_by_role("button", name=f"Edit {username}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit user")
    dialog.get_by_role("switch", name="Administrator").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    other.get_by_role("button", name="New user").click()
    expect(other.get_by_text("Only administrators can do this.")).to_be_visible()
    expect(other.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(other.get_by_role("dialog", name="New user")).to_have_count(0)

    # Disabled while on the contacts list: the next keystroke in the search box goes to the login page.
    other.goto(base_url + "/contacts")
    expect(other.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    page.get_by_role("button", name=f"Edit {username}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Edit user")
    dialog.get_by_role("switch", name="Active").click()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    other.get_by_label("Contact search").fill("nobody")
    expect(other).to_have_url(re.compile(r"/login"))
    expect(other.get_by_role("heading", name="Log in to Mautic")).to_be_visible()
    other.context.close()


def test_a_marketer_changes_their_own_name_and_password(signed_in: Page, base_url, browser):
    """The user menu's "My account": a marketer (no settings) renames themselves and changes their password,
    proving the current one; their other browser is signed out."""
    page = signed_in
    open_users(page, base_url)
    username, password = f"elaine_{new_uid()}", "get-out-elaine-1"
    create_user(page, username, password, first="Elaine")
    log_out(page)
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, base_url, username=username, password=password)
    other = browser.new_context().new_page()
    log_in(other, base_url, username=username, password=password)

    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="My account").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    page.get_by_label("Last name").fill("Benes")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("button", name="Account menu")).to_contain_text("Elaine Benes")

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("yada-yada-yada-1")
    page.get_by_label("New password again").fill("yada-yada-yada-1")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("This is not your current password.")).to_be_visible()
    page.get_by_label("Current password").fill(password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_label("Current password")).to_have_value("")  # the form empties once it is done
    expect(page.get_by_text("This is not your current password.")).to_be_hidden()
    reopen(other, base_url + "/contacts")
    expect(other).to_have_url(re.compile(r"/login"))
    log_out(page)
    log_in(page, base_url, username=username, password="yada-yada-yada-1")
    other.context.close()
