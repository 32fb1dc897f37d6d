"""Reading tracked visits (services.visitors) on SQLite and PostgreSQL.

Hits are inserted directly with chosen times, since the writer stamps hits with the time
they arrive; one test goes through the writer to check both sides agree on the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mautic_app.domain.tracking import new_id, url_hash
from mautic_app.models import ContactDevice, PageHit
from mautic_app.models.base import utcnow
from mautic_app.services import contacts, tracking, visitors

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")


def _contact(s, **values) -> int:
    return contacts.create(session=s, values=values, check_required=False)[0]


def _device(s, contact_id: int, kind: str | None, browser: str = "", **extra) -> int:
    d = ContactDevice(contact_id=contact_id, tracking_id=new_id(), device=kind, client_info={"name": browser, "version": "1"},
                      last_seen=extra.pop("last_seen", None), **extra)
    s.add(d)
    s.flush()
    return d.id


def _hit(s, contact_id: int, device_id: int | None, at: datetime, url: str, title: str | None = None, referer: str | None = None) -> int:
    tracking_id = s.get(ContactDevice, device_id).tracking_id if device_id else None
    h = PageHit(contact_id=contact_id, device_id=device_id, date_hit=at, url=url, url_hash=url_hash(url), url_title=title,
                referer=referer, tracking_id=tracking_id)
    s.add(h)
    s.flush()
    return h.id


@pytest.fixture
def people(session) -> dict[str, int]:
    """Alice (known, desktop), Bob (e-mail only, phone) and an anonymous visitor (tablet)."""
    with session() as s:
        ids = {
            "alice": _contact(s, firstname="Alice", lastname="Ash", email="alice@example.com"),
            "bob": _contact(s, email="bob@example.com"),
            "anon": _contact(s),
        }
        ids["alice_pc"] = _device(s, ids["alice"], "desktop", "Chrome")
        ids["bob_phone"] = _device(s, ids["bob"], "smartphone", "Mobile Safari")
        ids["anon_tablet"] = _device(s, ids["anon"], "tablet", "Firefox")
    return ids


def test_live_visitors_lists_each_recent_visitor_once_with_their_latest_hit_newest_first(session, people):
    now = utcnow()
    with session() as s:
        _hit(s, people["alice"], people["alice_pc"], now - timedelta(minutes=50), "https://shop.example/old")
        _hit(s, people["alice"], people["alice_pc"], now - timedelta(minutes=10), "https://shop.example/a", "A")
        _hit(s, people["alice"], people["alice_pc"], now - timedelta(minutes=2), "https://shop.example/b", "<script>x</script>")
        _hit(s, people["anon"], people["anon_tablet"], now - timedelta(minutes=1), "https://shop.example/c")
        _hit(s, people["bob"], people["bob_phone"], now - timedelta(minutes=40), "https://shop.example/gone")

    with session() as s:
        rows = visitors.live_visitors(session=s, within=timedelta(minutes=30))
        assert visitors.count_live_visitors(session=s, within=timedelta(minutes=30)) == 2
        assert [r["contact_id"] for r in visitors.live_visitors(session=s, within=timedelta(minutes=30), limit=1)] == [people["anon"]]
        wider = visitors.live_visitors(session=s, within=timedelta(hours=1))

    assert [r["contact_id"] for r in rows] == [people["anon"], people["alice"]]
    anon, alice = rows
    assert (anon["name"], anon["identified"], anon["device"], anon["browser"], anon["hits"]) == (
        "Anonymous visitor", False, "tablet", "Firefox", 1)
    assert alice["name"] == "Alice Ash" and alice["identified"] and alice["hits"] == 2  # the 50-minute-old hit is outside
    assert (alice["url"], alice["title"]) == ("https://shop.example/b", "<script>x</script>")
    assert alice["date_hit"] > now - timedelta(minutes=3)
    assert [r["contact_id"] for r in wider] == [people["anon"], people["alice"], people["bob"]]
    assert wider[1]["hits"] == 3 and wider[2]["name"] == "bob@example.com"


def test_hits_over_time_buckets_in_sql_and_fills_gaps(session, people, database):
    with session() as s:
        for at in (MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=1, minutes=30), MONDAY + timedelta(days=2, hours=23),
                   MONDAY + timedelta(days=7), MONDAY - timedelta(seconds=1), MONDAY + timedelta(days=35)):
            _hit(s, people["alice"], people["alice_pc"], at, "https://shop.example/")

    with session() as s:
        days = visitors.hits_over_time(session=s, start=MONDAY.date(), end=MONDAY.date() + timedelta(days=7))
        hours = visitors.hits_over_time(session=s, start=MONDAY, end=MONDAY + timedelta(hours=3), unit="hour")
        weeks = visitors.hits_over_time(session=s, start=date(2026, 3, 4), end=date(2026, 3, 10), unit="week")
        months = visitors.hits_over_time(session=s, start=date(2026, 2, 1), end=date(2026, 4, 30), unit="month")
        with pytest.raises(ValueError):
            visitors.hits_over_time(session=s, start=MONDAY, end=MONDAY, unit="fortnight")

    assert len(days) == 8 and days[0] == (MONDAY, 2)
    assert [n for _, n in days] == [2, 0, 1, 0, 0, 0, 0, 1]
    assert hours == [(MONDAY, 0), (MONDAY + timedelta(hours=1), 2), (MONDAY + timedelta(hours=2), 0)]
    # Weeks start on Monday on both databases; the range's first week counts only hits inside the range.
    assert weeks == [(MONDAY, 1), (MONDAY + timedelta(days=7), 1)]
    assert months == [(datetime(2026, 2, 1, tzinfo=UTC), 0), (datetime(2026, 3, 1, tzinfo=UTC), 5),
                      (datetime(2026, 4, 1, tzinfo=UTC), 1)]


def test_unique_vs_returning_counts_visitors_seen_before_the_range_as_returning(session, people):
    with session() as s:
        _hit(s, people["alice"], people["alice_pc"], MONDAY - timedelta(days=3), "https://shop.example/")
        _hit(s, people["alice"], people["alice_pc"], MONDAY + timedelta(hours=2), "https://shop.example/")
        _hit(s, people["alice"], people["alice_pc"], MONDAY + timedelta(hours=3), "https://shop.example/x")
        _hit(s, people["bob"], people["bob_phone"], MONDAY + timedelta(hours=4), "https://shop.example/")
        _hit(s, people["bob"], people["bob_phone"], MONDAY + timedelta(days=1), "https://shop.example/")
        _hit(s, people["anon"], people["anon_tablet"], MONDAY + timedelta(days=9), "https://shop.example/")

    with session() as s:
        assert visitors.unique_vs_returning(session=s, start=MONDAY.date(), end=MONDAY.date() + timedelta(days=6)) == {
            "new": 1, "returning": 1}
        assert visitors.unique_vs_returning(session=s, start=date(2020, 1, 1), end=date(2020, 1, 2)) == {"new": 0, "returning": 0}


def test_popular_pages_and_device_types_over_a_range(session, people):
    shoes, hats = "https://shop.example/shoes", "https://shop.example/hats"
    with session() as s:
        for contact, device in (("alice", "alice_pc"), ("alice", "alice_pc"), ("bob", "bob_phone"), ("anon", "anon_tablet")):
            _hit(s, people[contact], people[device], MONDAY + timedelta(hours=1), shoes, "Old shoes")
        _hit(s, people["anon"], people["anon_tablet"], MONDAY + timedelta(hours=5), shoes, "Shoes <b>sale</b>")
        _hit(s, people["bob"], people["bob_phone"], MONDAY + timedelta(hours=2), hats)
        _hit(s, people["bob"], None, MONDAY + timedelta(hours=3), hats, "Hats")
        _hit(s, people["bob"], people["bob_phone"], MONDAY - timedelta(days=1), "https://shop.example/before")

    with session() as s:
        pages = visitors.popular_pages(session=s, start=MONDAY.date(), end=MONDAY.date())
        top1 = visitors.popular_pages(session=s, start=MONDAY.date(), end=MONDAY.date(), limit=1)
        kinds = visitors.device_types(session=s, start=MONDAY.date(), end=MONDAY.date())

    assert [(p["url"], p["hits"], p["unique_hits"], p["title"]) for p in pages] == [
        (shoes, 5, 3, "Shoes <b>sale</b>"), (hats, 2, 1, "Hats")]
    assert pages[0]["url_hash"] == url_hash(shoes) and [p["url"] for p in top1] == [shoes]
    assert kinds == [("desktop", 2), ("smartphone", 2), ("tablet", 2), ("", 1)]  # a hit without a device is unknown


def test_a_contacts_hits_are_paged_newest_first_with_their_device(session, people):
    with session() as s:
        ids = [_hit(s, people["alice"], people["alice_pc"], MONDAY + timedelta(minutes=i), f"https://shop.example/{i}",
                    f"Page {i}", referer="https://search.example/?q=shoes") for i in range(5)]
        _hit(s, people["bob"], people["bob_phone"], MONDAY, "https://shop.example/bob")

    with session() as s:
        total, first = visitors.contact_hits(session=s, contact_id=people["alice"], limit=2)
        _, last = visitors.contact_hits(session=s, contact_id=people["alice"], start=4, limit=2)
        none = visitors.contact_hits(session=s, contact_id=people["anon"])

    assert total == 5 and [h["id"] for h in first] == [ids[4], ids[3]] and [h["id"] for h in last] == [ids[0]]
    assert first[0] | {"date_hit": None} == {
        "id": ids[4], "date_hit": None, "url": "https://shop.example/4", "title": "Page 4",
        "referrer": "https://search.example/?q=shoes", "device": "desktop", "browser": "Chrome"}
    assert first[0]["date_hit"] == MONDAY + timedelta(minutes=4)
    assert none == (0, [])


def test_a_contacts_devices_most_recently_seen_first(session, people):
    with session() as s:
        _device(s, people["alice"], "smartphone", "Chrome Mobile", device_brand="Google", device_model="Pixel 8",
                device_os_name="Android", device_os_version="14", last_seen=MONDAY)
        older = s.get(ContactDevice, people["alice_pc"])
        older.last_seen = MONDAY - timedelta(days=3)
        older.device_os_name = "Windows"

    with session() as s:
        devices = visitors.contact_devices(session=s, contact_id=people["alice"])

    assert [(d["device"], d["brand"], d["model"], d["os"], d["browser"], d["last_seen"]) for d in devices] == [
        ("smartphone", "Google", "Pixel 8", "Android 14", "Chrome Mobile", MONDAY),
        ("desktop", "", "", "Windows", "Chrome", MONDAY - timedelta(days=3)),
    ]
    assert all("tracking_id" not in d for d in devices)


def test_hits_written_by_the_tracking_writer_show_up_as_live_visitors(session):
    device, public_id = new_id(), new_id()
    hit = {"at": utcnow().isoformat(), "ip": "203.0.113.9", "ua": CHROME, "device": device, "pid": public_id, "new": True,
           "page": {"url": "https://shop.example/live", "title": "Live <i>page</i>", "referrer": "https://ref.example/"}}
    with session() as s:
        tracking.record_hits(session=s, hits=[hit])

    with session() as s:
        [row] = visitors.live_visitors(session=s)
        total, [visit] = visitors.contact_hits(session=s, contact_id=row["contact_id"])
        [dev] = visitors.contact_devices(session=s, contact_id=row["contact_id"])
        assert s.execute(sa.select(sa.func.count()).select_from(PageHit)).scalar() == 1

    assert (row["name"], row["url"], row["title"], row["device"], row["browser"], row["hits"]) == (
        "Anonymous visitor", "https://shop.example/live", "Live <i>page</i>", "desktop", "Chrome", 1)
    assert total == 1 and visit["referrer"] == "https://ref.example/"
    assert (dev["device"], dev["os"].split(" ")[0], dev["browser"]) == ("desktop", "Windows", "Chrome")


def test_the_writer_keeps_a_hits_time_unless_it_is_older_than_allowed(session):
    """Queued hits are seconds old: one claiming to be days old is stamped now, unless the caller allows it."""
    two_days_ago = utcnow() - timedelta(days=2)

    def write(**limit) -> datetime:
        hit = {"at": two_days_ago.isoformat(), "ua": CHROME, "device": new_id(), "pid": new_id(),
               "page": {"url": "https://shop.example/old"}}
        with session() as s:
            tracking.record_hits(session=s, hits=[hit], **limit)
            at = s.execute(sa.select(PageHit.date_hit).where(PageHit.tracking_id == hit["device"])).scalar_one()
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    assert write() > utcnow() - timedelta(minutes=1)
    assert write(max_age=timedelta(days=3)) == two_days_ago


def test_demo_data_has_visits_returning_visitors_and_someone_on_the_site_now(session):
    from mautic_app.services import setup

    with session() as s:
        assert setup.seed_demo(session=s, contacts=40)
    with session() as s:
        assert not setup.seed_demo(session=s)  # once only
        today = utcnow().date()
        pages = visitors.popular_pages(session=s, start=today - timedelta(days=61), end=today)
        kinds = dict(visitors.device_types(session=s, start=today - timedelta(days=61), end=today))
        live = visitors.live_visitors(session=s)
        month = visitors.unique_vs_returning(session=s, start=today - timedelta(days=29), end=today)
        hits = s.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(PageHit.device_id))).select_from(PageHit)).one()
        timeline = s.execute(sa.text("SELECT count(*) FROM contact_events WHERE event_type = 'page_hit'")).scalar()
        campaign = s.execute(sa.text("SELECT count(*) FROM utm_tags WHERE utm_campaign = 'spring-launch'")).scalar()
        before_added = s.execute(sa.text(
            "SELECT count(*) FROM contact_events e JOIN contacts c ON c.id = e.contact_id WHERE e.occurred_at < c.date_added")).scalar()
        seeded_now = s.execute(sa.text("SELECT count(*) FROM contact_events WHERE event_type = 'created' AND occurred_at > :t"),
                               {"t": utcnow() - timedelta(minutes=5)}).scalar()

    assert 0 < len(pages) <= 8 and all(p["url"].startswith(setup.SITE) for p in pages)
    assert sum(p["hits"] for p in pages) == hits[0] and hits[1] > 10
    assert timeline == hits[0]  # every visit is on its contact's timeline
    assert {"desktop", "smartphone"} <= set(kinds)
    assert len(live) == 3
    assert month["new"] > 0 and month["returning"] > 0
    assert campaign > 0
    assert before_added == 0 and seeded_now < 10  # timelines start when their contacts were added, not at seeding
