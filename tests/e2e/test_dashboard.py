"""The dashboard read at a desk and on a phone: a range of one's own days, numbers in one's own locale."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect


def test_a_custom_range_moves_the_tiles_and_charts(signed_in: Page, base_url: str):
    page = signed_in
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(base_url + "/")
    new = page.get_by_role("group", name="New in these days")
    expect(new).to_contain_text(re.compile(r"\d"))
    page.get_by_role("combobox", name="Date range").click()
    page.get_by_role("option", name="From – to…").click()
    custom = page.get_by_role("form", name="Custom range")
    long_ago = datetime.now(UTC).date() - timedelta(days=3 * 365)
    custom.get_by_label("From").fill(long_ago.isoformat())
    custom.get_by_label("to", exact=True).fill((long_ago + timedelta(days=6)).isoformat())
    custom.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status", name="Days shown")).to_have_text(re.compile(rf"{long_ago.year}.*–"))
    expect(new).to_have_text(re.compile(r"^\D*0$"))  # nobody was created back then
    custom.get_by_label("From").fill("2026-12-09")
    custom.get_by_label("to", exact=True).fill("2026-12-01")
    custom.get_by_role("button", name="Show").click()
    expect(custom.get_by_role("alert")).to_have_text("The first day comes after the last.")


def test_numbers_follow_the_users_locale(signed_in: Page, base_url: str, browser):
    """German grouping on the tiles once the user picks German; the admin's own choice is put back after."""
    page = signed_in
    page.goto(base_url + "/account")
    page.get_by_label("Language and number format").select_option("de_DE")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    try:
        page.goto(base_url + "/")
        read_rate = page.get_by_role("group", name="Read rate")
        expect(read_rate).to_contain_text(re.compile(r"\d,\d\s?%"))  # 37,5 %: German decimals
    finally:
        page.goto(base_url + "/account")
        page.get_by_label("Language and number format").select_option("en_US")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Your profile is saved.")).to_be_visible()


def test_a_phone_reads_the_dashboard_without_the_chart_toolbar(browser, base_url: str):
    from tests.e2e.conftest import log_in

    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, base_url)
    chart = page.get_by_role("region", name="E-mails over time", exact=True)
    expect(chart.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    chart.locator(".js-plotly-plot").first.tap()
    expect(page.locator(".modebar")).to_have_count(0)
    legend = chart.locator(".legend").first
    box, plot = legend.bounding_box(), chart.locator(".js-plotly-plot").first.bounding_box()
    assert box and plot and box["width"] > plot["width"] / 2 and box["y"] < plot["y"] + 60, "the legend is a row above the plot"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing scrolls sideways"
    context.close()
