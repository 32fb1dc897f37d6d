"""Tracked visits as a marketer sees them: the Visitors page, the dashboard's visitor panel and
charts, and a contact's page visits and devices, each following new hits without a reload.

Hits are written straight into the app's database by another process and announced on the
change feed the way the tracking writer does once its batch commits.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"device": "smartphone", "device_brand": "Apple", "device_model": "iPhone", "device_os_name": "iOS",
         "device_os_version": "17", "client_info": {"name": "Mobile Safari", "version": "17.0"}}
DESKTOP = {"device": "desktop", "device_os_name": "Windows", "client_info": {"name": "Firefox", "version": "128"}}
SEED = '''
import json
from datetime import timedelta
from mautic_app import changefeed
from mautic_app.db import session_scope
from mautic_app.domain.tracking import new_id, url_hash
from mautic_app.models import ContactDevice, PageHit
from mautic_app.models.base import utcnow
from mautic_app.services import contacts


def visitor(values, device):
    with session_scope() as s:
        cid = contacts.create(session=s, values=values, check_required=False)[0]
        d = ContactDevice(contact_id=cid, tracking_id=new_id(), **device)
        s.add(d)
        s.flush()
        return cid, d.id


def hit(cid, device_id, url, title, referer=None, seconds_ago=0):
    with session_scope() as s:
        s.add(PageHit(contact_id=cid, device_id=device_id, url=url, url_hash=url_hash(url), url_title=title,
                      referer=referer, tracking_id=s.get(ContactDevice, device_id).tracking_id,
                      date_hit=utcnow() - timedelta(seconds=seconds_ago)))
    changefeed.publish("hits", {"contact_ids": [cid]})
    changefeed.publish("contacts", {"ids": [cid], "action": "hit"})
'''


def seed(app_server: dict, body: str):
    """Run ``body`` after the SEED helpers in a process with the app's environment; it prints JSON."""
    result = subprocess.run([sys.executable, "-c", SEED + body], env=app_server["env"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def row_of(table: Locator, name: str) -> Locator:
    return table.get_by_role("row").filter(has=table.page.get_by_role("rowheader", name=name, exact=True))


def test_visitors_page_lists_who_is_on_the_sites_and_follows_new_hits(signed_in: Page, base_url: str, app_server: dict):
    page, u = signed_in, uuid.uuid4().hex[:6]
    ada = f"Ada Visit{u}"
    cid, dev = seed(app_server, f'''
cid, dev = visitor({{"firstname": "Ada", "lastname": "Visit{u}", "email": "ada-{u}@example.com"}}, {PHONE!r})
hit(cid, dev, "https://shop.example/pricing", "Pricing <b>{u}</b>")
print(json.dumps([cid, dev]))''')

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Visitors").click()
    expect(page.get_by_role("heading", name="Visitors", exact=True)).to_be_visible()
    table = page.get_by_role("table", name="Live visitors")
    row = row_of(table, ada)
    expect(row).to_contain_text(f"Pricing <b>{u}</b>")  # a tracked title is text, never markup
    expect(row.get_by_role("link", name="https://shop.example/pricing")).to_have_attribute("href", "https://shop.example/pricing")
    expect(row).to_contain_text("Smartphone · Mobile Safari")
    expect(row.get_by_role("cell").last).to_have_text("1")

    # Ada moves on and someone new arrives on a page whose address is a script: the open page follows.
    page.evaluate("window.__stillHere = true")
    seed(app_server, f'''
hit({cid}, {dev}, "https://shop.example/checkout", "Checkout {u}")
eve, eve_dev = visitor({{"firstname": "Eve", "lastname": "Script{u}"}}, {DESKTOP!r})
hit(eve, eve_dev, "javascript:alert(1)", "<img src=x onerror=alert(1)>")
print("[]")''')
    expect(row).to_contain_text(f"Checkout {u}", timeout=5_000)
    expect(row.get_by_role("cell").last).to_have_text("2")
    eve_row = row_of(table, f"Eve Script{u}")
    expect(eve_row).to_contain_text("<img src=x onerror=alert(1)>", timeout=5_000)
    expect(eve_row).to_contain_text("javascript:alert(1)")
    expect(eve_row.get_by_role("link")).to_have_count(1)  # the visitor's name; the script address is not a link
    expect(eve_row).to_contain_text("Desktop · Firefox")
    assert page.evaluate("window.__stillHere") is True

    page.get_by_label("Active in the last").select_option("5")
    expect(page.get_by_role("status").filter(has_text="in the last 5 minutes")).to_be_visible()
    expect(row).to_be_visible()

    row.get_by_role("link", name=ada).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{cid}/?$"))


def test_a_visitor_whose_last_hit_leaves_the_window_drops_off_the_visitors_page(signed_in: Page, base_url: str,
                                                                              app_server: dict):
    page, u = signed_in, uuid.uuid4().hex[:6]
    seed(app_server, f'''
cid, dev = visitor({{"firstname": "Flo", "lastname": "Gone{u}"}}, {DESKTOP!r})
hit(cid, dev, "https://shop.example/bye", "Bye", seconds_ago=5 * 60 - 25)
print("[]")''')
    page.goto(base_url + "/visitors")
    page.get_by_label("Active in the last").select_option("5")
    row = row_of(page.get_by_role("table", name="Live visitors"), f"Flo Gone{u}")
    expect(row).to_be_visible()
    expect(row).to_be_hidden(timeout=40_000)  # 25 s to leave the window, then the next quiet moment on the feed


def test_dashboard_shows_live_visitors_and_visit_charts(signed_in: Page, base_url: str, app_server: dict):
    page, u = signed_in, uuid.uuid4().hex[:6]
    page.goto(base_url + "/")
    panel = page.get_by_role("region", name="Live visitors", exact=True)
    expect(panel).to_be_visible()
    expect(page.get_by_role("group", name="Contacts")).to_contain_text(re.compile(r"\d"))  # the tiles still work
    charts = {name: page.get_by_role("region", name=name, exact=True)
              for name in ("Contacts created", "Page hits over time", "New vs returning visitors", "Popular pages", "Device types")}
    for chart in charts.values():
        expect(chart.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    # The demo site's visits fill them from the start; its home page, also visited through a campaign
    # link with the same title, shows as two bars named by their addresses.
    expect(charts["Popular pages"]).to_contain_text("Pricing | Acme Cloud")
    expect(charts["Popular pages"]).to_contain_text("www.example.com/?utm_source=newsletter")
    expect(charts["New vs returning visitors"]).to_contain_text("Returning visitors")

    seed(app_server, f'''
cid, dev = visitor({{"firstname": "Bea", "lastname": "Dash{u}"}}, {PHONE!r})
for _ in range(5):  # the most visited page of the run, whatever other tests visited: it makes the top 10
    hit(cid, dev, "https://shop.example/dash-{u}", "Dash <i>page</i> {u}")
print("[]")''')
    expect(panel.get_by_role("link", name=f"Bea Dash{u}")).to_be_visible(timeout=5_000)
    expect(panel).to_contain_text(f"Dash <i>page</i> {u}")
    expect(panel.get_by_role("status")).to_have_text(re.compile(r"^[1-9]\d*$"))
    # The range charts catch up too (they redraw at most every few seconds on a busy site); a page
    # title in a chart label is shown as typed, not read as Plotly markup.
    expect(charts["Popular pages"]).to_contain_text(f"Dash <i>page</i> {u}")
    expect(charts["Device types"]).to_contain_text("Smartphone")
    expect(charts["New vs returning visitors"]).to_contain_text("New visitors")


def test_contact_page_shows_visits_devices_and_utm_tags_and_follows_new_hits(signed_in: Page, base_url: str, app_server: dict):
    page, u = signed_in, uuid.uuid4().hex[:6]
    cid, dev = seed(app_server, f'''
cid, dev = visitor({{"firstname": "Cy", "lastname": "Page{u}"}}, {PHONE!r})
for n in range(20):
    hit(cid, dev, f"https://shop.example/earlier-{{n}}", f"Earlier {{n}}")
hit(cid, dev, "javascript:alert(1)", "<script>window.__xss = 1</script>", referer="https://search.example/?q=<b>shoes</b>")
with session_scope() as s:
    contacts.add_utm(session=s, contact_id=cid, data={{"utm_source": "news-{u}", "utm_medium": "email"}})
print(json.dumps([cid, dev]))''')

    page.goto(f"{base_url}/contacts/{cid}")
    expect(page.get_by_role("heading", name=f"Cy Page{u}")).to_be_visible()
    visits = page.get_by_role("region", name="Page visits", exact=True)
    expect(visits).to_contain_text("<script>window.__xss = 1</script>")
    expect(visits).to_contain_text("javascript:alert(1)")
    expect(visits).to_contain_text("https://search.example/?q=<b>shoes</b>")
    expect(visits).to_contain_text("Smartphone · Mobile Safari")
    expect(visits.get_by_role("link")).to_have_count(0)  # tracked addresses are inert text here
    assert page.evaluate("window.__xss") is None
    devices = page.get_by_role("region", name="Devices", exact=True)
    for text in ("Smartphone", "Apple iPhone", "iOS 17", "Mobile Safari 17.0", "Last seen"):
        expect(devices).to_contain_text(text)
    expect(page.get_by_role("region", name="UTM tags", exact=True)).to_contain_text(f"Source: news-{u} · Medium: email")

    page.evaluate("window.__stillHere = true")
    seed(app_server, f'''
hit({cid}, {dev}, "https://shop.example/live-{u}", "Live visit {u}")
print("[]")''')
    expect(visits.get_by_role("row").nth(1)).to_contain_text(f"Live visit {u}", timeout=5_000)  # newest first
    assert page.evaluate("window.__stillHere") is True

    # Visits come a page at a time.
    expect(visits).to_contain_text("1–20 of 22")
    expect(visits.get_by_role("button", name="Newer page visits")).to_be_disabled()
    visits.get_by_role("button", name="Older page visits").click()
    expect(visits).to_contain_text("21–22 of 22")
    expect(visits.get_by_role("row")).to_have_count(3)  # the header and the two oldest
    expect(visits).to_contain_text("Earlier 0")
