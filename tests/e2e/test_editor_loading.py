"""Opening a record after another one never shows the first one's values.

Reflex keeps one state per page for a tab, so when a marketer goes from record A's editor to record
B's (by clicking links: the tab's state is reused), the page's vars still hold A until B's load
replaces them. Each test opens A, moves to B through the app's own links, and watches every frame
and every DOM change from the moment it leaves A: while the address bar shows B, A's values appear
in no field and no heading; B's arrive; text typed at once into B is
kept. The last test reads the start-up log.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_uid, run_service

# Samples the page at every animation frame and after every DOM change: the address, and whether the
# main region's fields (their values) or headings hold each marker. DOM changes are seen before the
# browser paints them, so a value shown for a single frame is caught too. (Not the whole text: for a
# moment after a click the address is already B's while the list that links to A and B still shows.)
WATCH_JS = """([old, fresh]) => {
  window.__samples = [];
  const sample = () => {
    const main = document.querySelector('[role="main"]');
    if (!main) return;
    const parts = [];
    for (const el of main.querySelectorAll('input, textarea, select')) parts.push(el.value);
    for (const el of main.querySelectorAll('h1, h2, h3, h4, h5, h6, [role="heading"]')) parts.push(el.textContent);
    const text = parts.join('\\n');
    window.__samples.push({path: location.pathname, old: text.includes(old), fresh: text.includes(fresh)});
  };
  new MutationObserver(sample).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  const tick = () => { sample(); if (window.__samples.length < 200000) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""



def _create(app_server: dict, body: str) -> int:
    return run_service(app_server, body)


def _watch(page: Page, old: str, fresh: str) -> None:
    page.evaluate(WATCH_JS, [old, fresh])


def _assert_never_shown(page: Page, path: str, old: str, fresh: str) -> None:
    """While the address was ``path``, ``old`` was never on the page, and ``fresh`` was."""
    samples = page.evaluate("window.__samples")
    here = [s for s in samples if s["path"].rstrip("/") == path]
    assert here, f"the page was never sampled at {path}"
    stale = [s for s in here if s["old"]]
    assert not stale, f"{len(stale)} of {len(here)} samples at {path} showed the previous record's {old!r}"
    assert any(s["fresh"] for s in here), f"{fresh!r} never appeared at {path}"


def _expect_field(page: Page, label: str, value: str) -> None:
    expect(_box(page, label)).to_have_value(value)


def _box(page: Page, label: str):
    return page.get_by_role("main").get_by_role("textbox", name=label, exact=True)


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_form_editor_after_another_form(signed_in: Page, base_url: str, app_server: dict):
    uid = new_uid()
    a, b = f"Alpha form {uid}", f"Bravo form {uid}"
    ids = _create(app_server, (
        "from mautic_app.services import forms\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for name in {json.dumps([a, b])}:\n"
        "        ids.append(forms.save_form(session=s, form_id=None, values={'name': name, 'description': name + ' notes'},\n"
        "                                   fields=[], actions=[]).id)\n"
        "    s.commit()\n"
        "print(json.dumps(ids))\n"
    ))
    page = signed_in
    page.goto(f"{base_url}/forms/{ids[0]}")
    _expect_field(page, "Name", a)
    _watch(page, a, b)
    _nav(page, "Forms")
    page.get_by_role("link", name=b, exact=True).click()
    # Typed at once, while B may still be loading: the load never overwrites it.
    _box(page, "Description").fill(f"typed {uid}")
    _expect_field(page, "Name", b)
    page.wait_for_timeout(500)
    _expect_field(page, "Description", f"typed {uid}")
    _assert_never_shown(page, f"/forms/{ids[1]}", a, b)


def test_segment_editor_after_another_segment(signed_in: Page, base_url: str, app_server: dict):
    uid = new_uid()
    a, b = f"Alpha segment {uid}", f"Bravo segment {uid}"
    ids = _create(app_server, (
        "from mautic_app.services import segments\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for name in {json.dumps([a, b])}:\n"
        "        ids.append(segments.save_segment(session=s, values={'name': name, 'description': name + ' notes', 'filters': []}).id)\n"
        "    s.commit()\n"
        "print(json.dumps(ids))\n"
    ))
    page = signed_in
    page.goto(f"{base_url}/segments/{ids[0]}")
    _expect_field(page, "Name", a)
    _watch(page, a, b)
    _nav(page, "Segments")
    page.get_by_role("link", name=b, exact=True).click()
    _expect_field(page, "Name", b)
    _assert_never_shown(page, f"/segments/{ids[1]}", a, b)


def test_focus_editor_after_another_focus_item(signed_in: Page, base_url: str, app_server: dict):
    uid = new_uid()
    a, b = f"Alpha focus {uid}", f"Bravo focus {uid}"
    ids = _create(app_server, (
        "from mautic_app.services import focus\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for name in {json.dumps([a, b])}:\n"
        "        ids.append(focus.save_focus(session=s, values={'name': name, 'description': name + ' notes',\n"
        "                                                     'properties': {'headline': name + ' headline'}}).id)\n"
        "    s.commit()\n"
        "print(json.dumps(ids))\n"
    ))
    page = signed_in
    page.goto(f"{base_url}/focus/{ids[0]}")
    _expect_field(page, "Name", a)
    _watch(page, a, b)
    _nav(page, "Focus items")
    page.get_by_role("link", name=b, exact=True).click()
    _expect_field(page, "Name", b)
    _assert_never_shown(page, f"/focus/{ids[1]}", a, b)


def test_contact_pages_after_another_contact(signed_in: Page, base_url: str, app_server: dict):
    uid = new_uid()
    a, b = f"Alpha{uid}", f"Bravo{uid}"
    ids = _create(app_server, (
        "from mautic_app.services import contacts\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for name in {json.dumps([a, b])}:\n"
        "        ids.append(contacts.create(session=s, values={'firstname': name, 'lastname': 'Loading',\n"
        "                                                      'email': name.lower() + '@example.com'}, check_required=False)[0])\n"
        "    s.commit()\n"
        "print(json.dumps(ids))\n"
    ))
    page = signed_in
    page.goto(f"{base_url}/contacts/{ids[0]}")
    expect(page.get_by_role("heading", name=re.compile(a))).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Edit", exact=True).click()
    _expect_field(page, "First Name", a)
    _watch(page, a, b)
    _nav(page, "Contacts")
    page.get_by_label("Contact search").fill(f"{b.lower()}@example.com")  # the list's own box (the top bar's steps aside)
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=re.compile(b)).first.click()
    expect(page.get_by_role("heading", name=re.compile(b))).to_be_visible()
    _assert_never_shown(page, f"/contacts/{ids[1]}", a, b)
    page.get_by_role("main").get_by_role("link", name="Edit", exact=True).click()
    # Typed at once, while the editor may still be loading: the load never throws it away.
    _box(page, "Last Name").fill(f"Typed{uid}")
    _expect_field(page, "First Name", b)
    page.wait_for_timeout(500)
    _expect_field(page, "Last Name", f"Typed{uid}")
    _assert_never_shown(page, f"/contacts/{ids[1]}/edit", a, b)


def test_company_pages_after_another_company(signed_in: Page, base_url: str, app_server: dict):
    uid = new_uid()
    a, b = f"Alpha company {uid}", f"Bravo company {uid}"
    ids = _create(app_server, (
        "from mautic_app.services import companies\n"
        "ids = []\n"
        "with session_scope() as s:\n"
        f"    for name in {json.dumps([a, b])}:\n"
        "        ids.append(companies.create(session=s, values={'companyname': name, 'companycity': name + ' town'}))\n"
        "    s.commit()\n"
        "print(json.dumps(ids))\n"
    ))
    page = signed_in
    page.goto(f"{base_url}/companies/{ids[0]}")
    expect(page.get_by_role("heading", name=a)).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Edit", exact=True).click()
    _expect_field(page, "Company Name", a)
    _watch(page, a, b)
    _nav(page, "Companies")
    search = page.get_by_role("main").get_by_role("textbox", name=re.compile("search", re.I)).first
    search.fill(b)
    search.press("Enter")
    page.get_by_role("link", name=b, exact=True).click()
    expect(page.get_by_role("heading", name=b)).to_be_visible()
    _assert_never_shown(page, f"/companies/{ids[1]}", a, b)
    page.get_by_role("main").get_by_role("link", name="Edit", exact=True).click()
    _expect_field(page, "Company Name", b)
    _assert_never_shown(page, f"/companies/{ids[1]}/edit", a, b)


def test_start_up_log_has_no_redefined_pages(app_server: dict):
    """Every page is registered once: the workers that serve the app do not add them a second time."""
    logs = sorted((Path(app_server["data_dir"]) / "logs").glob("*.log"))
    assert logs, "the app wrote no log"
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert "App running" in text or "App Running" in text
    assert "is being redefined" not in text
