"""A site on another origin pastes Mautic's standard snippet: its visitor shows up live in the
marketer's open browser, is identified by an e-mail the site signs with the identity secret of
Settings → Tracking, merges into the known contact with every page visit, and scores points from
a "visits a URL" action. The site is not an allowed site: it is tracked on the ids its own pages keep."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import other_site

SNIPPET = """<script>
    (function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    }})(window,document,'script','{base}/mtc.js','mt');
    mt('send', 'pageview'{fields}, {{onload: function() {{ document.body.dataset.tracked = 'yes'; }}}});
</script>"""

def _page(base: str, title: str, fields: str = ", {}") -> str:
    return (f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"{SNIPPET.format(base=base, fields=fields)}</body></html>")

@pytest.fixture(scope="module")
def site(app_server) -> Iterator[dict]:
    """A small website on another origin (``localhost`` vs the app's ``127.0.0.1``, another port).
    Its sign-up page is added by the test, once it has the secret to sign the e-mail with."""
    base = app_server["base_url"]
    pages = {"/": _page(base, "Acme home"), "/pricing": _page(base, "Acme pricing")}

    with other_site(lambda path: pages.get(path.split("?", 1)[0])) as url:
        yield {"url": url, "pages": pages}

def _auth(app_server: dict) -> dict[str, str]:
    token = base64.b64encode(f"admin:{app_server['admin_password']}".encode()).decode()
    return {"Authorization": "Basic " + token}

def _visit(visitor: Page, url: str) -> None:
    visitor.goto(url)
    expect(visitor.locator("body[data-tracked='yes']")).to_be_attached(timeout=10_000)

def test_a_visitor_is_tracked_live_identified_merged_and_scored(signed_in: Page, base_url: str, app_server: dict,
                                                                  browser: Browser, site: dict):
    site_url, email = site["url"], f"known-{uuid.uuid4().hex[:8]}@example.com"
    marketer = signed_in
    api = marketer.context.request
    # The site's server signs its signed-in user's e-mail with the secret the admin copies from Settings → Tracking.
    marketer.goto(base_url + "/settings/tracking")
    secret = marketer.get_by_label("Identity secret")
    expect(secret).to_have_value(re.compile(r"^[0-9a-f]{64}$"))
    signature = hmac.new(secret.input_value().encode(), email.encode(), hashlib.sha256).hexdigest()
    site["pages"]["/thanks"] = _page(base_url, "Thanks for signing up",
                                     f", {{email: '{email}', email_signature: '{signature}', tags: 'trial'}}")
    # A known contact, and a URL action worth 7 points for the pricing page.
    known = api.post(base_url + "/api/contacts/new", headers=_auth(app_server),
                     data={"email": email, "firstname": "Known", "lastname": "Buyer"})
    assert known.status == 201, known.text()
    known_id = known.json()["contact"]["id"]
    action = api.post(base_url + "/api/points/new", headers=_auth(app_server), data={
        "name": "Looked at pricing", "type": "url.hit", "delta": 7, "properties": {"page_url": f"{site_url}/pricing*"},
    })
    assert action.status == 201, action.text()

    marketer.goto(base_url + "/visitors")
    expect(marketer.get_by_role("heading", name="Visitors", exact=True)).to_be_visible()
    table = marketer.get_by_role("table", name="Live visitors")

    visitor_context = browser.new_context()
    visitor = visitor_context.new_page()
    _visit(visitor, site_url + "/")
    # The marketer's page changes on its own: a new anonymous visitor on the home page.
    row = table.get_by_role("row").filter(has_text="Acme home")
    expect(row).to_contain_text("Anonymous visitor", timeout=10_000)
    _visit(visitor, site_url + "/pricing")
    expect(table.get_by_role("row").filter(has_text="Acme pricing")).to_contain_text("Anonymous visitor", timeout=10_000)

    # The visitor signs up: the page identifies them by their signed e-mail, and they become the known contact.
    _visit(visitor, site_url + "/thanks")
    expect(table.get_by_role("row").filter(has_text="Thanks for signing up")).to_contain_text("Known Buyer", timeout=10_000)
    expect(table).not_to_contain_text("Acme pricing")  # the anonymous row merged away

    marketer.goto(f"{base_url}/contacts/{known_id}")
    visits = marketer.get_by_role("table", name="Page visits")
    for title in ("Acme home", "Acme pricing", "Thanks for signing up"):
        expect(visits).to_contain_text(title)
    expect(marketer.get_by_text("Looked at pricing").first).to_be_visible()
    expect(marketer.get_by_role("status", name="Points")).to_have_text("7")
    expect(marketer.get_by_text("trial").first).to_be_visible()

    # The contact's browser keeps the id it was given; /mtc answers for it, with ids only.
    ids = visitor.evaluate("() => ({id: localStorage.getItem('mtc_id'), device: localStorage.getItem('mautic_device_id')})")
    assert ids["id"] and ids["device"] and not ids["id"].isdigit()
    current = api.get(f"{base_url}/mtc?mautic_device_id={ids['device']}").json()
    assert current == {"id": ids["id"], "sid": ids["device"], "device_id": ids["device"]}
    visitor_context.close()
