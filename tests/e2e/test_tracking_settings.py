"""The tracking settings page: the snippet to paste, the identity secret, never-tracked addresses, token lifetime."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import reopen


def test_snippet_and_settings(signed_in: Page, base_url: str):
    page = signed_in
    page.get_by_role("navigation", name="Main").first.get_by_role("link", name="Tracking").click()
    expect(page.get_by_role("heading", name="Tracking", exact=True)).to_be_visible()
    code = page.get_by_label("Tracking code")
    expect(code).to_contain_text(f"'{base_url}/mtc.js','mt'")
    expect(code).to_contain_text("mt('send', 'pageview');")
    expect(page.get_by_role("button", name="Copy tracking code")).to_be_enabled()

    addresses = page.get_by_label("Addresses never tracked")
    addresses.fill("203.0.113.7\nnot an address")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Not an IP address, range or wildcard: not an address")).to_be_visible()

    addresses.fill("203.0.113.7\n10.0.0.0/8\n192.168.*.*")
    page.get_by_label("Days a tracked link identifies its reader").fill("14")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Tracking settings saved.")).to_be_visible()

    reopen(page)
    expect(page.get_by_label("Addresses never tracked")).to_have_value("203.0.113.7\n10.0.0.0/8\n192.168.*.*")
    expect(page.get_by_label("Days a tracked link identifies its reader")).to_have_value("14")
    page.get_by_label("Addresses never tracked").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Tracking settings saved.")).to_be_visible()


def test_the_identity_secret_is_shown_and_replaced_on_request(signed_in: Page, base_url: str):
    page = signed_in
    page.get_by_role("navigation", name="Main").first.get_by_role("link", name="Tracking").click()
    expect(page.get_by_role("heading", name="Identifying signed-in visitors")).to_be_visible()
    secret = page.get_by_label("Identity secret")
    expect(secret).to_have_value(re.compile(r"^[0-9a-f]{64}$"))  # made on first use
    old = secret.input_value()
    expect(page.get_by_label("Signature example")).to_contain_text("email_signature")
    expect(page.get_by_role("button", name="Copy identity secret")).to_be_enabled()

    page.get_by_role("button", name="Generate a new secret").click()
    dialog = page.get_by_role("alertdialog", name="Generate a new secret?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(secret).to_have_value(old)

    page.get_by_role("button", name="Generate a new secret").click()
    page.get_by_role("alertdialog", name="Generate a new secret?").get_by_role("button", name="Generate new secret").click()
    expect(page.get_by_text("A new identity secret was generated.")).to_be_visible()
    expect(secret).not_to_have_value(old)
    expect(secret).to_have_value(re.compile(r"^[0-9a-f]{64}$"))
    new = secret.input_value()

    reopen(page)
    expect(page.get_by_label("Identity secret")).to_have_value(new)  # kept, not made again
