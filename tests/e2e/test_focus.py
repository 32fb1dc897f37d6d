"""Focus items as a marketer builds them and a visitor meets them on another site.

The marketer builds a link item in a modal (the preview follows every keystroke) and saves it; a
site on another origin embeds ``/focus/{id}.js`` on one page and lists nothing on another, where
the tracking script loads the item because its page pattern matches. After the timeout the visitor
sees the dialog (focus moved into it), clicks its button, closes it with Escape or the close
button, and does not see it again after converting; the marketer's open statistics follow the
views and the click live.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import TRACKING_SNIPPET, other_site

# Page styles that would break a focus item drawn in the page itself: ours lives in a shadow root.
HOSTILE_CSS = "<style>div, p, a, button { display: none !important; } * { font-size: 3px !important; color: red !important; }</style>"


@pytest.fixture(scope="module")
def site(app_server) -> Iterator[str]:
    """A website on another origin: ``/embed?id=N`` pastes the item's script, ``/auto`` only the tracking snippet,
    ``/shop`` is where the item's button leads."""
    base = app_server["base_url"]

    def page_for(full_path: str) -> str | None:
        path, _, query = full_path.partition("?")
        if path == "/shop":
            return "<!doctype html><html><head><title>Acme shop</title></head><body><h1>Shop</h1></body></html>"
        extra = ""
        if path == "/embed":
            focus_id = query.removeprefix("id=")
            extra = f'<script src="{base}/focus/{int(focus_id)}.js" async></script>' if focus_id.isdigit() else ""
        elif path != "/auto":
            return None
        return (f"<!doctype html><html><head><title>Acme {path}</title>{HOSTILE_CSS}</head><body>"
                f"<h1>Acme</h1><input aria-label='Search the shop'>{TRACKING_SNIPPET.format(base=base)}{extra}</body></html>")

    with other_site(page_for) as url:
        yield url


def _visit(visitor: Page, url: str) -> None:
    visitor.goto(url)
    expect(visitor.locator("body[data-tracked='yes']")).to_be_attached(timeout=10_000)


def test_build_a_focus_item_show_it_on_another_site_and_watch_its_stats(signed_in: Page, base_url: str, browser: Browser,
                                                                         site: str):
    marketer = signed_in
    headline = f"Spring sale {uuid.uuid4().hex[:6]}"

    marketer.goto(base_url + "/focus")
    marketer.get_by_role("link", name="New focus item").click()
    expect(marketer.get_by_role("heading", name="New focus item")).to_be_visible()
    preview = marketer.get_by_role("region", name="Preview")
    marketer.get_by_label("Name").fill(f"{headline} modal")
    marketer.get_by_label("Type").select_option(label="Link")
    marketer.get_by_label("Style").select_option(label="Modal")
    marketer.get_by_label("Placement").select_option(label="Middle")
    marketer.get_by_label("Headline").fill(headline)
    expect(preview).to_contain_text(headline)  # the preview follows the typing
    marketer.get_by_label("Tagline").fill("Only this week")
    expect(preview).to_contain_text("Only this week")
    marketer.get_by_label("Button text", exact=True).fill("Shop now")
    expect(preview).to_contain_text("Shop now")
    marketer.get_by_label("Link URL").fill(f"{site}/shop")
    marketer.get_by_label("Show", exact=True).select_option(label="After a number of seconds")
    marketer.get_by_label("Seconds before showing").fill("4")
    marketer.get_by_label("Show on pages").fill(f"{site}/auto*")
    marketer.get_by_role("button", name="Save focus item").click()
    expect(marketer).to_have_url(re.compile(r"/focus/\d+$"))
    focus_id = int(marketer.url.rsplit("/", 1)[1])
    expect(marketer.get_by_role("heading", name=f"{headline} modal")).to_be_visible()
    expect(marketer.get_by_label("Embed code", exact=True)).to_contain_text(re.compile(rf"/focus/{focus_id}\.js"))
    marketer.get_by_role("button", name="Copy embed code").click()
    assert re.search(rf"/focus/{focus_id}\.js", marketer.evaluate("navigator.clipboard.readText()"))
    views = marketer.get_by_role("group", name="Views")
    clicks = marketer.get_by_role("group", name="Clicks")
    expect(views).to_have_text(re.compile(r"^Views\s*0$"))

    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    # The page embeds the item's script: nothing until the timeout, then a modal dialog with focus inside.
    visitor.goto(f"{site}/embed?id={focus_id}")
    dialog = visitor.get_by_role("dialog", name=headline)
    expect(dialog).to_have_count(0)  # checked as soon as the page has loaded: well before 4 s
    expect(visitor.locator("body[data-tracked='yes']")).to_be_attached(timeout=10_000)
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(dialog).to_contain_text("Only this week")
    shop = dialog.get_by_role("link", name="Shop now")
    expect(shop).to_be_focused()
    expect(shop).to_have_attribute("href", f"{site}/shop")
    with visitor_context.expect_page() as opened:
        shop.click()
    opened.value.close()
    expect(dialog).to_be_visible()  # the link opened in a new window; the item stays until closed
    visitor.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(visitor.get_by_role("textbox", name="Search the shop")).to_be_attached()

    # The marketer's open statistics follow: one view, one click.
    expect(views).to_have_text(re.compile(r"^Views\s*1$"), timeout=10_000)
    expect(clicks).to_have_text(re.compile(r"^Clicks\s*1$"), timeout=10_000)

    # It stops after a conversion (the default): the click was one, so the next page shows nothing, even past
    # its 4 s trigger. The page's clock is moved on rather than waited for: once the page has loaded, the
    # item's script has run and any timer it set fires within run_for.
    visitor.clock.install()
    _visit(visitor, f"{site}/embed?id={focus_id}")
    visitor.clock.run_for(5_500)
    expect(dialog).to_have_count(0)
    # The host page keeps it: when it was shown, converted (c), closed (x); a cookie carries the same.
    assert re.fullmatch(r"\d+\.c\.x", visitor.evaluate(f"() => localStorage.getItem('mautic_focus_{focus_id}')"))
    assert f"mautic_focus_{focus_id}=" in visitor.evaluate("() => document.cookie")
    visitor_context.close()

    # Another visitor, on a page that only carries the tracking snippet: the script loads the item
    # because the page matches "Show on pages". The close button (reached by keyboard) closes it.
    other_context = browser.new_context()
    other = other_context.new_page()
    _visit(other, f"{site}/auto")
    dialog = other.get_by_role("dialog", name=headline)
    expect(dialog).to_be_visible(timeout=15_000)
    expect(dialog.get_by_role("link", name="Shop now")).to_be_focused()
    other.keyboard.press("Shift+Tab")
    close = dialog.get_by_role("button", name="Close")
    expect(close).to_be_focused()
    other.keyboard.press("Shift+Tab")  # focus stays inside the dialog
    expect(dialog.get_by_role("link", name="Shop now")).to_be_focused()
    other.keyboard.press("Tab")
    other.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    other_context.close()

    expect(views).to_have_text(re.compile(r"^Views\s*2$"), timeout=10_000)
    expect(clicks).to_have_text(re.compile(r"^Clicks\s*1$"))
    expect(marketer.get_by_role("group", name="Click rate")).to_contain_text("50.0%")

    # The list shows the item with its numbers.
    marketer.goto(base_url + "/focus")
    row = marketer.get_by_role("row").filter(has_text=f"{headline} modal")
    expect(row).to_contain_text("Link")
    expect(row).to_contain_text("Modal (middle)")
