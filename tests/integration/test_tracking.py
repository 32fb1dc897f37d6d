"""The tracking routes and the hit writer, on SQLite (written at once) and PostgreSQL + Redis (queued).

Each test talks HTTP to the public app as a site's visitor would, then reads what was stored.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mautic_app.models import Contact, ContactDevice, ContactEvent, PageHit, UtmTag
from mautic_app.queues import form_posts, hits, redis_queue
from mautic_app.services import contacts, tracking, users

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
VISITOR_IP = "203.0.113.50"
SITE = "https://shop.example"


@pytest.fixture
def site(database, session, monkeypatch) -> Iterator[TestClient]:
    """A visitor's browser on the marketer's site (an allowed site of Settings → Tracking): posts hits
    with its own cookies and an Origin header. Other sites: see test_security_tracking."""
    from mautic_app.web.app import build_public_app

    woken = []
    monkeypatch.setattr("mautic_app.web.tracking._wake_writer", lambda: woken.append(1))
    if redis_queue.enabled():
        redis_queue.sync_client().delete(hits.QUEUE, hits.LOCK)
    with session() as s:
        tracking.save_settings(session=s, values={"allowed_hosts": ["shop.example"]})
        s.commit()
    with TestClient(build_public_app(), client=(VISITOR_IP, 50000),
                    headers={"User-Agent": IPHONE, "Origin": SITE, "Accept-Language": "fr-FR,fr;q=0.9"}) as c:
        yield c
    if redis_queue.enabled():
        redis_queue.sync_client().delete(hits.QUEUE, hits.LOCK)


def flush() -> None:
    """What the Celery writer does between a hit and the marketer's screen (nothing to do on SQLite)."""
    if redis_queue.enabled():
        taken, more = hits.drain(linger=0)
        assert not more


def visit(client: TestClient, url: str, **fields) -> dict:
    r = client.post("/mtc/event", data={"page_url": url, "page_title": fields.pop("title", "A page"), **fields})
    assert r.status_code == 200, r.text
    flush()
    return r.json()


def rows(session, model, *where):
    with session() as s:
        return s.execute(sa.select(model).where(*where)).scalars().all()


def test_a_new_visitor_becomes_an_anonymous_contact_with_a_device_and_a_hit(site, session):
    reply = visit(site, f"{SITE}/shoes?utm_source=news&utm_medium=email", title="<script>alert(1)</script>")
    assert reply["success"] == 1 and reply["device_id"] and reply["id"]
    assert not reply["id"].isdigit()  # the public id reveals no row number
    assert site.cookies.get("mautic_device_id") == reply["device_id"]
    assert site.cookies.get("mtc_id") == reply["id"]

    [contact] = rows(session, Contact, Contact.public_id == reply["id"])
    assert contact.is_identified is False and contact.email is None
    [device] = rows(session, ContactDevice, ContactDevice.contact_id == contact.id)
    assert device.tracking_id == reply["device_id"]
    assert (device.device, device.device_brand, device.device_os_name) == ("smartphone", "Apple", "iOS")
    assert device.client_info["name"] == "Mobile Safari"
    [hit] = rows(session, PageHit, PageHit.contact_id == contact.id)
    assert hit.url_title == "<script>alert(1)</script>"  # stored as inert text
    assert hit.ip_address == VISITOR_IP and hit.browser_languages == ["fr-FR", "fr"] and hit.is_unique
    assert hit.query == {"utm_source": "news", "utm_medium": "email"}
    [utm] = rows(session, UtmTag, UtmTag.contact_id == contact.id)
    assert (utm.utm_source, utm.utm_medium) == ("news", "email")
    kinds = {e.event_type for e in rows(session, ContactEvent, ContactEvent.contact_id == contact.id)}
    assert {"created", "device_added", "page_hit", "utm", "ip_added"} <= kinds


def test_a_returning_visitor_is_recognised_by_its_device_cookie(site, session):
    first = visit(site, f"{SITE}/a")
    second = visit(site, f"{SITE}/a")
    third = visit(site, f"{SITE}/b")
    assert first["id"] == second["id"] == third["id"]
    assert first["device_id"] == second["device_id"]
    [contact] = rows(session, Contact, Contact.public_id == first["id"])
    hits = sorted(rows(session, PageHit, PageHit.contact_id == contact.id), key=lambda h: h.id)
    assert [h.is_unique for h in hits] == [True, False, True]
    assert hits[0].date_left is not None and hits[1].date_left is not None and hits[2].date_left is None
    assert site.get("/mtc").json() == {"id": first["id"], "sid": first["device_id"], "device_id": first["device_id"]}
    assert len(rows(session, Contact)) == 1


def test_the_device_id_may_travel_as_a_parameter(site, session):
    first = visit(site, f"{SITE}/a")
    site.cookies.clear()
    again = visit(site, f"{SITE}/b", mautic_device_id=first["device_id"])
    assert again["id"] == first["id"]


def test_a_forged_device_id_or_contact_id_takes_over_nobody(site, session):
    victim = visit(site, f"{SITE}/a")
    site.cookies.clear()
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/x", "mautic_device_id": "f" * 24, "mtc_id": victim["id"]},
                  cookies={"mtc_id": victim["id"]})
    flush()
    reply = r.json()
    assert reply["id"] != victim["id"] and reply["device_id"] != "f" * 24
    assert len(rows(session, Contact)) == 2
    with session() as s:
        victim_row = s.execute(sa.select(Contact.id).where(Contact.public_id == victim["id"])).scalar_one()
    assert len(rows(session, PageHit, PageHit.contact_id == victim_row)) == 1


def test_a_signed_email_merges_the_visitor_into_the_known_contact_with_every_hit(site, session):
    """The site signs its signed-in user's e-mail (an unsigned one merges nobody: test_security_tracking)."""
    from mautic_app.domain import tracking as rules

    with session() as s:
        known, _ = contacts.create(session=s, values={"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"})
        signature = rules.sign_email(tracking.identity_secret(session=s), "ann@example.com")
    anon = visit(site, f"{SITE}/a")
    visit(site, f"{SITE}/b")
    reply = visit(site, f"{SITE}/c", email="ANN@example.com", email_signature=signature, firstname="Mallory", tags="vip,-cold")
    with session() as s:
        assert s.get(Contact, known).public_id == anon["id"]  # the browser's id now names Ann
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar() == 1
        ann = s.get(Contact, known)
        assert ann.firstname == "Ann"  # firstname is not publicly updatable
        assert contacts.tags_of(session=s, ids=[known])[known] == ["vip"]
    assert len(rows(session, PageHit, PageHit.contact_id == known)) == 3
    assert site.get("/mtc").json()["id"] == anon["id"]
    assert reply["success"] == 1
    kinds = [e.event_type for e in rows(session, ContactEvent, ContactEvent.contact_id == known)]
    assert "merged" in kinds and kinds.count("page_hit") == 3


def test_publicly_updatable_fields_fill_an_anonymous_visitor(site, session):
    reply = visit(site, f"{SITE}/a", email="new@example.com", city="Paris")
    [contact] = rows(session, Contact, Contact.public_id == reply["id"])
    assert contact.email == "new@example.com" and contact.is_identified
    assert contact.city is None  # not publicly updatable


def test_an_invalid_public_value_is_dropped_not_fatal(site, session):
    reply = visit(site, f"{SITE}/a", email="not an email")
    [contact] = rows(session, Contact, Contact.public_id == reply["id"])
    assert contact.email is None
    assert len(rows(session, PageHit, PageHit.contact_id == contact.id)) == 1


def test_a_signed_click_token_identifies_and_a_forged_one_does_not(site, session):
    with session() as s:
        known, _ = contacts.create(session=s, values={"email": "bob@example.com"})
        token = tracking.contact_token(session=s, contact_id=known)
    visit(site, f"{SITE}/landing?ct=forged{token[6:]}")
    assert len(rows(session, Contact)) == 2
    visit(site, f"{SITE}/landing?ct={token}")
    assert len(rows(session, Contact)) == 1
    assert len(rows(session, PageHit, PageHit.contact_id == known)) == 2


def test_bots_marketers_and_do_not_track_addresses_are_not_tracked(site, session, admin_credentials):
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/"}, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert r.json()["success"] == 0
    with session() as s:
        admin = users.authenticate(session=s, username=admin_credentials[0], password=admin_credentials[1])
        token = users.start_session(session=s, user=admin)
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/"}, cookies={"mautic_session": token})
    assert r.json()["success"] == 0
    with session() as s:
        assert tracking.save_settings(session=s, values={"do_not_track_ips": ["203.0.113.0/24"]}) == {}
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/"})
    assert r.json()["success"] == 0
    flush()
    assert rows(session, Contact) == [] and rows(session, PageHit) == []


def test_behind_a_trusted_proxy_the_forwarded_visitor_is_recorded(site, session, change_settings):
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/direct"},
                  headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"})
    assert "secure" not in r.headers["set-cookie"].lower()  # nobody's header is believed by default
    change_settings(trusted_proxies=("203.0.113.0/24",))
    site.cookies.clear()
    r = site.post("/mtc/event", data={"page_url": f"{SITE}/proxied"},
                  headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.1", "X-Forwarded-Proto": "https"})
    assert "secure" in r.headers["set-cookie"].lower() and "samesite=none" in r.headers["set-cookie"].lower()
    flush()
    by_page = {h.url.rsplit("/", 1)[1]: h.ip_address for h in rows(session, PageHit)}
    assert by_page == {"direct": VISITOR_IP, "proxied": "198.51.100.1"}


def test_bad_requests_get_clear_errors_never_a_500(site, session):
    assert site.post("/mtc/event", data={"page_title": "no url"}).status_code == 400
    assert site.post("/mtc/event", data={"page_url": "javascript:alert(1)"}).status_code == 400
    r = site.post("/mtc/event", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["message"]
    assert site.post("/mtc/event", content=b"[1,2]", headers={"Content-Type": "application/json"}).status_code == 400
    assert site.post("/mtc/event", content=b"page_url=" + b"x" * 40000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413
    assert site.post("/mtc/event", content=b"page_url=%ff%fe", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 400
    r = site.get("/mtracking.gif", params={"page_title": "no url"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    flush()
    assert rows(session, PageHit) == []


def test_json_bodies_the_pixel_and_cors(site, session):
    r = site.post("/mtc/event", json={"page_url": f"{SITE}/json", "tags": ["a", "b"]})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == SITE
    assert r.headers["access-control-allow-credentials"] == "true"
    pre = site.options("/mtc/event", headers={"Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "POST" in pre.headers["access-control-allow-methods"]
    gif = site.get("/mtracking.gif", params={"page_url": f"{SITE}/pixel", "page_title": "Pixel"})
    assert gif.status_code == 200 and gif.content.startswith(b"GIF89a")
    flush()
    assert {h.url for h in rows(session, PageHit)} == {f"{SITE}/json", f"{SITE}/pixel"}
    assert {h.source for h in rows(session, PageHit)} == {"mtc", "pixel"}
    script = site.get("/mtc.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_hits_publish_live_updates(site, session, monkeypatch):
    published = []  # every announcement, by Redis or by the change feed's table, reaches the watchers
    monkeypatch.setattr("mautic_app.changefeed._notify_watchers", lambda topic, payload: published.append((topic, payload)))
    reply = visit(site, f"{SITE}/live")
    with session() as s:
        cid = s.execute(sa.select(Contact.id).where(Contact.public_id == reply["id"])).scalar_one()
    assert ("hits", {"contact_ids": [cid]}) in [(t, {"contact_ids": p.get("contact_ids")}) for t, p in published if t == "hits"]
    assert any(t == "contacts" and cid in p["ids"] for t, p in published)


def test_devices_and_page_hits_through_the_api(site, session, admin_credentials):
    reply = visit(site, f"{SITE}/api-check", title="Checking")
    with session() as s:
        cid = s.execute(sa.select(Contact.id).where(Contact.public_id == reply["id"])).scalar_one()
    site.auth = admin_credentials
    devices = site.get(f"/api/contacts/{cid}/devices").json()
    assert devices["total"] == 1
    [d] = devices["devices"]
    assert d["device"] == "smartphone" and d["deviceBrand"] == "Apple" and d["lead"] == {"id": cid}
    assert reply["device_id"] not in str(devices)  # the tracking id is a credential: never served
    listed = site.get("/api/devices").json()
    assert listed["total"] == "1" and str(d["id"]) in listed["devices"]
    assert site.get(f"/api/devices/{d['id']}").json()["device"]["id"] == d["id"]
    assert site.get("/api/devices/999999").status_code == 404
    assert site.get("/api/contacts/999999/devices").status_code == 404
    activity = site.get(f"/api/contacts/{cid}/activity", params={"filters[includeEvents][]": "page_hit"}).json()
    assert [e["details"]["url"] for e in activity["events"]] == [f"{SITE}/api-check"]
    site.auth = None
    assert site.get(f"/api/contacts/{cid}/devices").status_code == 401


def test_a_busy_batch_is_written_set_based_and_correctly(site, session):
    """Many visitors in one batch (PostgreSQL queues them; SQLite writes each at once)."""
    replies = []
    for i in range(30):
        site.cookies.clear()  # a new browser each time
        replies.append(site.post("/mtc/event", data={"page_url": f"{SITE}/p{i % 3}"}).json())
    site.cookies.clear()
    for r in replies[:10]:
        for page in ("p0", "p1"):
            site.post("/mtc/event", data={"page_url": f"{SITE}/{page}", "mautic_device_id": r["device_id"]})
    flush()
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar() == 30
        assert s.execute(sa.select(sa.func.count()).select_from(PageHit)).scalar() == 50
        first = s.execute(sa.select(Contact.id).where(Contact.public_id == replies[0]["id"])).scalar_one()
        hits = s.execute(sa.select(PageHit).where(PageHit.contact_id == first).order_by(PageHit.id)).scalars().all()
        assert [h.url.rsplit("/", 1)[1] for h in hits] == ["p0", "p0", "p1"]
        assert [h.is_unique for h in hits] == [True, False, True]
        assert [h.date_left is not None for h in hits] == [True, True, False]
        # Created in this batch (PostgreSQL) or updated hit by hit (SQLite): both end at the latest hit.
        assert s.get(Contact, first).last_active == hits[-1].date_hit
        assert s.get(ContactDevice, hits[-1].device_id).last_seen == hits[-1].date_hit
        events = s.execute(sa.select(ContactEvent.event_type).where(ContactEvent.contact_id == first)).scalars().all()
        assert sorted(events) == ["created", "device_added", "ip_added", "page_hit", "page_hit", "page_hit"]


def test_one_bad_hit_loses_only_itself(site, session, monkeypatch):
    real = contacts.add_utm

    def fragile(**kw):
        if "boom" in kw["data"].get("utm_source", ""):
            raise RuntimeError("simulated failure")
        return real(**kw)

    monkeypatch.setattr(contacts, "add_utm", fragile)
    site.post("/mtc/event", data={"page_url": f"{SITE}/ok?utm_source=fine"})
    site.post("/mtc/event", data={"page_url": f"{SITE}/bad?utm_source=boom"})
    site.post("/mtc/event", data={"page_url": f"{SITE}/ok2"})
    flush()
    assert {h.url for h in rows(session, PageHit)} == {f"{SITE}/ok?utm_source=fine", f"{SITE}/ok2"}


def test_routes_wake_the_writer_only_when_none_is_draining(database):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    import asyncio

    r = redis_queue.sync_client()
    r.delete(hits.QUEUE, hits.LOCK)

    async def push():
        return await hits.push({"device": "d" * 24, "page": {"url": "https://a.example/"}})

    assert asyncio.run(push()) == (True, None)
    lock = r.lock(hits.LOCK, timeout=10)
    assert lock.acquire(blocking=False)
    assert asyncio.run(push()) == (False, None)  # the drainer holding the lock will see it
    lock.release()
    r.delete(hits.QUEUE)


def test_a_process_wakes_each_writer_at_most_every_so_often(monkeypatch):
    """Until a woken writer takes its lock every push sees none held: those pushes must not each send a task."""
    from types import SimpleNamespace

    clock = SimpleNamespace(monotonic=lambda: 100.0)
    monkeypatch.setattr(redis_queue, "time", clock)
    monkeypatch.setattr(redis_queue, "_last_wake", {})
    assert redis_queue.claim_wake(hits.QUEUE)
    assert not redis_queue.claim_wake(hits.QUEUE)
    assert redis_queue.claim_wake(form_posts.QUEUE)  # each queue has its own writer
    clock.monotonic = lambda: 100.0 + redis_queue.WAKE_EVERY_SECONDS
    assert redis_queue.claim_wake(hits.QUEUE)


def test_the_push_connection_recovers_and_reports_redis_errors(database, monkeypatch):
    """A dropped connection costs only the pushes in flight; the next push reconnects. Error replies raise."""
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    import asyncio

    from redis.exceptions import ResponseError

    r = redis_queue.sync_client()
    queue = hits.QUEUE
    r.delete(queue)
    hit = {"device": "d" * 24, "page": {"url": "https://a.example/"}}

    async def scenario():
        await hits.push(hit)
        pusher = hits._pusher()
        host, port = pusher.connection.transport.get_extra_info("sockname")[:2]
        r.client_kill_filter(_id=None, addr=f"{host}:{port}")  # Redis drops the push connection
        await asyncio.sleep(0.05)
        assert not pusher.connection.usable
        await hits.push(hit)  # reconnected
        monkeypatch.setattr(hits, "QUEUE", hits.LOCK)  # make RPUSH hit a key of the wrong type
        r.set(hits.LOCK, "held")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await hits.push(hit)
        r.delete(hits.LOCK)

    asyncio.run(scenario())
    assert r.llen(queue) == 2
    r.delete(queue)


DESKTOP_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
]
DEVICE_AGENTS = {  # desktop-looking agents that name a device: they keep the full lookup
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 SteamDeck": "console",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36": "smartphone",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1": "tablet",
}


@pytest.mark.parametrize("agent", DESKTOP_AGENTS)
def test_desktop_agents_skip_the_device_lookup_and_read_the_same(agent):
    """The shortcut for plain desktop browsers gives exactly what the full parse gives."""
    from device_detector import DeviceDetector

    assert tracking.PLAIN_DESKTOP_AGENT.fullmatch(agent)
    parsed = tracking.parse_user_agent(agent)
    assert parsed == tracking.describe_agent(DeviceDetector(agent, check_cache=False).parse())
    assert parsed["device"] == "desktop" and parsed["client"]["name"]


@pytest.mark.parametrize(("agent", "kind"), DEVICE_AGENTS.items())
def test_agents_naming_a_device_keep_the_full_lookup(agent, kind):
    assert not tracking.PLAIN_DESKTOP_AGENT.fullmatch(agent)
    assert tracking.parse_user_agent(agent)["device"] == kind


def test_only_the_writers_worker_loads_the_agent_patterns_as_it_starts(monkeypatch):
    """Loaded before the first hit, the parser's patterns no longer hold that hit back by a second or two."""
    from types import SimpleNamespace

    from mautic_app.tasks import tracking as tracking_tasks
    from mautic_app.tasks.celery_app import WRITERS_QUEUE

    def worker(*queues):
        return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=dict.fromkeys(queues)))))

    parsed = []
    monkeypatch.setattr(tracking, "parse_user_agent", parsed.append)
    tracking_tasks.load_agent_patterns(sender=worker("celery"))
    assert parsed == []
    tracking_tasks.load_agent_patterns(sender=worker(WRITERS_QUEUE))
    assert parsed == list(tracking_tasks.SAMPLE_AGENTS)
