"""Focus items against real databases: the service, ``/focus/{id}.js``, the stats pixel (with the
contact's timeline), the tracking reply naming items for a page, and the change feed."""

from __future__ import annotations

import gzip
import json
import warnings
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mautic_app.domain import focus as rules
from mautic_app.models import Contact, ContactEvent, FocusItem, FocusStat, Form
from mautic_app.models.base import utcnow
from mautic_app.services import focus
from tests.integration.conftest import visit, visitor_browser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SITE = "https://shop.example"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
HOSTILE = "</script><img src=x onerror=alert(1)>\u2028"


@pytest.fixture
def site(database, monkeypatch) -> Iterator[TestClient]:
    """A visitor's browser on another site."""
    with visitor_browser(monkeypatch, origin=SITE) as c:
        yield c


def save(session, focus_id=None, **values) -> int:
    base = {"name": "Sale bar", "type": "link", "style": "bar",
            "properties": {"placement": "bottom", "link_url": "https://shop.example/sale", "headline": "20% off"}}
    if focus_id is None:
        values = base | values | {"properties": base["properties"] | values.get("properties", {})}
    with session() as s:
        return focus.save_focus(session=s, focus_id=focus_id, values=values).id


def rows(session, model, *where):
    with session() as s:
        return s.execute(sa.select(model).where(*where)).scalars().all()


# ---------------------------------------------------------------- the service


def test_save_list_change_delete(session):
    first = save(session, name="Bottom bar")
    second = save(session, name="Welcome modal", type="notice", style="modal",
                  properties={"placement": "middle", "headline": "Hello", "button_text": "Got it"})
    with session() as s:
        total, items = focus.list_focus(session=s)
        assert total == 2 and [i.name for i in items] == ["Bottom bar", "Welcome modal"]
        assert focus.list_focus(session=s, search="welc")[1][0].id == second
    with session() as s:
        focus.save_focus(session=s, focus_id=first, values={"properties": {"tagline": "Today only"}})
    with session() as s:
        item = focus.get_focus(session=s, focus_id=first)
        assert item.properties["tagline"] == "Today only" and item.properties["headline"] == "20% off"
        assert item.date_modified is not None
    with session() as s:
        focus.delete_focus(session=s, focus_id=first)
    assert [i.id for i in rows(session, FocusItem)] == [second]
    with session() as s, pytest.raises(focus.FocusError) as exc:
        focus.get_focus(session=s, focus_id=first)
    assert exc.value.status == 404


def test_bad_input_is_refused_and_nothing_is_stored(session):
    with session() as s, pytest.raises(focus.FocusError) as exc:
        focus.save_focus(session=s, values={"name": "x", "type": "link", "style": "bar",
                                            "properties": {"link_url": "javascript:alert(1)", "colors": {"primary": "red"}}})
    assert {"link_url", "color_primary"} <= set(exc.value.errors)
    with session() as s, pytest.raises(focus.FocusError) as exc:
        focus.save_focus(session=s, values={"name": "x", "type": "form", "style": "modal", "form_id": 999})
    assert "form_id" in exc.value.errors
    assert rows(session, FocusItem) == []


def test_a_form_item_keeps_its_form(session):
    with session() as s:
        form = Form(name="Newsletter", alias="newsletter")
        s.add(form)
        s.flush()
        form_id = form.id
    fid = save(session, type="form", style="modal", form_id=form_id, properties={"placement": "middle"})
    with session() as s:
        assert focus.get_focus(session=s, focus_id=fid).form_id == form_id
        assert {"value": str(form_id), "label": "Newsletter"} in focus.form_choices(session=s)


# ---------------------------------------------------------------- /focus/{id}.js


def test_script_of_a_published_item(site, session):
    fid = save(session, properties={"placement": "bottom", "link_url": "https://shop.example/sale?a=1&b=2",
                                    "headline": HOSTILE, "tagline": HOSTILE, "button_text": "Shop <now>"})
    r = site.get(f"/focus/{fid}.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.headers["access-control-allow-origin"] == SITE
    body = r.text
    assert "</script" not in body.lower() and "<img" not in body and "\u2028" not in body
    config = json.loads(body[body.rindex("})(window, document, ") + len("})(window, document, "):body.rindex(");")])
    assert config["id"] == fid and config["style"] == "bar" and config["placement"] == "bottom"
    assert config["headline"] == HOSTILE.strip() and config["button"] == "Shop <now>"
    assert config["link"] == "https://shop.example/sale?a=1&b=2" and config["base"] == "http://testserver"
    assert len(gzip.compress(r.content)) < 10 * 1024


@pytest.mark.parametrize("path", ["/focus/999999.js", "/focus/0.js", "/focus/abc.js", "/focus/99999999999999999999.js",
                                  "/focus/1%27%3Balert(1).js", "/focus/-1.js"])
def test_unknown_ids_answer_404_javascript(site, path):
    r = site.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.text.startswith("/*") and r.text.strip().endswith("*/")
    assert "alert" not in r.text


def test_unpublished_or_outside_its_window_answers_404(site, session):
    hidden = save(session, is_published=False)
    later = save(session, publish_up=(utcnow() + timedelta(days=1)).isoformat())
    over = save(session, publish_down=(utcnow() - timedelta(minutes=1)).isoformat())
    live = save(session, publish_up=(utcnow() - timedelta(days=1)).isoformat(), publish_down=(utcnow() + timedelta(days=1)).isoformat())
    for fid in (hidden, later, over):
        assert site.get(f"/focus/{fid}.js").status_code == 404
    assert site.get(f"/focus/{live}.js").status_code == 200


# ---------------------------------------------------------------- the pixel


def test_pixel_records_stats_and_the_known_contacts_timeline(site, session):
    fid = save(session, name="Sale bar")
    reply = visit(site, f"{SITE}/pricing")
    device = reply["device_id"]
    [contact] = rows(session, Contact, Contact.public_id == reply["id"])
    for kind in ("view", "click", "conversion"):
        r = site.get(f"/focus/{fid}/viewpixel.gif", params={"type": kind, "mautic_device_id": device})
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif" and r.content.startswith(b"GIF89a")
    r = site.post(f"/focus/{fid}/viewpixel.gif?type=click&mautic_device_id={device}")  # what sendBeacon sends
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    stats = rows(session, FocusStat, FocusStat.focus_id == fid)
    assert sorted(s.type for s in stats) == ["click", "click", "conversion", "view"]
    assert {s.contact_id for s in stats} == {contact.id}
    events = rows(session, ContactEvent, ContactEvent.contact_id == contact.id, ContactEvent.event_type.like("focus_%"))
    assert sorted(e.event_type for e in events) == ["focus_click", "focus_click", "focus_conversion", "focus_view"]
    assert all(e.details == {"name": "Sale bar", "focus_id": fid} for e in events)
    with session() as s:
        assert focus.stat_totals(session=s, focus_ids=[fid]) == {fid: {"view": 1, "click": 2, "conversion": 1}}
        today = utcnow().date()
        series = focus.stats_per_day(session=s, focus_id=fid, start=today - timedelta(days=2), end=today)
    assert series["view"] == [(today - timedelta(days=2), 0), (today - timedelta(days=1), 0), (today, 1)]
    assert series["click"][-1] == (today, 2)


def test_pixel_ignores_bogus_input_but_always_answers_a_gif(site, session):
    fid = save(session)
    for path, params in [
        (f"/focus/{fid}/viewpixel.gif", {"type": "purchase"}),
        (f"/focus/{fid}/viewpixel.gif", {"type": "view' OR 1=1--"}),
        ("/focus/999999/viewpixel.gif", {"type": "view"}),
        ("/focus/abc/viewpixel.gif", {}),
        ("/focus/99999999999999999999/viewpixel.gif", {}),
    ]:
        r = site.get(path, params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert rows(session, FocusStat) == []
    # A forged or unknown device id records an anonymous view: no contact, no timeline line.
    for device in ("f" * 24, "not a device id <script>", "1' OR '1'='1"):
        assert site.get(f"/focus/{fid}/viewpixel.gif", params={"mautic_device_id": device}).status_code == 200
    stats = rows(session, FocusStat)
    assert len(stats) == 3 and {s.type for s in stats} == {"view"} and {s.contact_id for s in stats} == {None}
    assert rows(session, ContactEvent, ContactEvent.event_type.like("focus_%")) == []
    bot = site.get(f"/focus/{fid}/viewpixel.gif", headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert bot.status_code == 200 and len(rows(session, FocusStat)) == 3


def test_a_stat_is_announced_on_the_change_feed(site, session, monkeypatch):
    from mautic_app import changefeed

    heard = []
    monkeypatch.setattr(changefeed, "_notify_watchers", lambda topic, payload: heard.append((topic, payload)))
    fid = save(session)
    site.get(f"/focus/{fid}/viewpixel.gif")
    assert ("focus", {"ids": [fid], "actions": ["saved"]}) in heard
    assert ("focus", {"ids": [fid], "actions": ["stat"]}) in heard


# ---------------------------------------------------------------- the tracking reply


def test_tracking_reply_names_published_items_matching_the_page(site, session):
    bar = save(session, properties={"show_on": [f"{SITE}/pricing*"]})
    modal = save(session, name="Everywhere", type="notice", style="modal",
                 properties={"placement": "middle", "show_on": ["shop.example/*"]})
    save(session, name="Embedded by hand")  # no patterns
    save(session, name="Hidden", is_published=False, properties={"show_on": ["*"]})
    reply = visit(site, f"{SITE}/pricing/team")
    assert reply["success"] == 1 and reply["device_id"] and reply["focus"] == sorted([bar, modal])
    assert visit(site, f"{SITE}/about")["focus"] == [modal]
    assert visit(site, "https://elsewhere.example/pricing")["focus"] == []


def test_tracking_reply_uses_cached_patterns(site, session, monkeypatch):
    """The hit path reads the patterns once, not per hit; a save refreshes them, a view (published on the
    same topic) does not."""
    fid = save(session, properties={"show_on": [f"{SITE}/*"]})
    reads = []
    original = focus.published_show_on
    monkeypatch.setattr(focus, "published_show_on", lambda **kw: reads.append(1) or original(**kw))
    for _ in range(5):
        assert visit(site, f"{SITE}/x")["focus"] == [fid]
    assert len(reads) == 1
    with session() as s:
        assert focus.record_stat(session=s, focus_id=fid, stat_type="view")
    assert visit(site, f"{SITE}/x")["focus"] == [fid]
    assert len(reads) == 1
    save(session, fid, properties={"show_on": [f"{SITE}/y"]})
    assert visit(site, f"{SITE}/x")["focus"] == []
    assert len(reads) == 2


def test_rules_module_and_route_agree_on_stat_types():
    assert rules.STAT_TYPES == ("view", "click", "conversion")
