"""The tracking settings page: the snippet to paste, never-tracked addresses, token lifetime."""

from __future__ import annotations

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
