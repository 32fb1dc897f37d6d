"""Writing tracked hits: visitors become contacts, devices, page hits, UTM tags and points.

The tracking routes accept a hit, answer at once and hand the hit here: queued in Redis and
written in batches by a Celery task when Redis is configured, written straight away on the
embedded default. Every hit names its device by the random id the route minted or found, and
its contact by a random public id, so nothing a browser sends can point at another contact.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app import cache, changefeed, ua_data
from mautic_app.db import among, session_scope
from mautic_app.domain import forms as form_rules
from mautic_app.domain import tracking as rules
from mautic_app.domain.fields import is_anonymous
from mautic_app.models import (
    Contact,
    ContactDevice,
    PageHit,
    PointAction,
    TrackingSetting,
)
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import bulk, campaign_engine, contacts, points
from mautic_app.services import fields as field_service
from mautic_app.settings import get_settings as app_settings

log = logging.getLogger(__name__)

DEFAULT_SETTINGS: dict[str, Any] = {
    "do_not_track_ips": [],  # addresses, CIDR ranges or wildcards whose hits are ignored
    "token_max_age_days": 30,  # how long a tracked link's contact token identifies its reader
    # Sites whose pages may receive a form's visitors back (``mauticform[return]``, redirects) and
    # may pre-fill forms from the tracked contact; the page a form was posted from always may.
    "allowed_hosts": [],
}
IDENTITY_SECRET = "identity_secret"  # a tracking setting of its own, never in the cached ones
# Operating systems whose devices the parser leaves untyped: they are desktops.
DESKTOP_OS = {"Windows", "Mac", "GNU/Linux", "Chrome OS", "Ubuntu", "Debian", "Fedora", "FreeBSD", "Linux"}


# ------------------------------------------------------------------ settings


def get_settings(*, session: Session) -> dict[str, Any]:
    rows = {r.key: r.value for r in session.execute(sa.select(TrackingSetting)).scalars()}
    return {k: rows.get(k, v) for k, v in DEFAULT_SETTINGS.items()}


def save_settings(*, session: Session, values: dict[str, Any]) -> dict[str, str]:
    """Store settings; returns field → message for invalid input (nothing saved then)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "do_not_track_ips" in values:
        ips = [p.strip() for p in values["do_not_track_ips"] if p and p.strip()]
        bad = [p for p in ips if not rules.valid_ip_pattern(p)]
        if bad:
            errors["do_not_track_ips"] = "Not an IP address, range or wildcard: " + ", ".join(bad[:5])
        clean["do_not_track_ips"] = ips[:500]
    if "token_max_age_days" in values:
        try:
            days = int(values["token_max_age_days"])
            if not 1 <= days <= 365:
                raise ValueError
            clean["token_max_age_days"] = days
        except (TypeError, ValueError):
            errors["token_max_age_days"] = "Enter a whole number of days from 1 to 365."
    if "allowed_hosts" in values:
        good, bad = form_rules.check_allowed_hosts(values["allowed_hosts"])
        if bad:
            errors["allowed_hosts"] = "Not a host name (www.example.com or *.example.com): " + ", ".join(bad[:5])
        clean["allowed_hosts"] = good
    if errors:
        return errors
    for key, value in clean.items():
        session.merge(TrackingSetting(key=key, value=value))
    changefeed.publish_after_commit(session, "tracking_settings", {"keys": sorted(clean)})
    return {}


def identity_secret(*, session: Session) -> str:
    """The secret sites sign their signed-in visitors' e-mails with (Settings → Tracking), made on first use.

    Kept apart from the settings above: those are cached and read on every hit; this is read only by
    the writer, for a hit that carries a signature, and by the settings page.
    """
    row = session.get(TrackingSetting, IDENTITY_SECRET)
    if row is not None and row.value:
        return str(row.value)
    secret = rules.new_identity_secret()
    try:
        with session.begin_nested():
            session.add(TrackingSetting(key=IDENTITY_SECRET, value=secret))
    except sa.exc.IntegrityError:  # two first uses at once: the second takes the first's
        return str(session.execute(sa.select(col(TrackingSetting.value)).where(col(TrackingSetting.key) == IDENTITY_SECRET)).scalar_one())
    return secret


def new_identity_secret(*, session: Session) -> str:
    """Replace the identity secret: signatures made with the old one no longer identify anyone."""
    secret = rules.new_identity_secret()
    session.merge(TrackingSetting(key=IDENTITY_SECRET, value=secret))
    changefeed.publish_after_commit(session, "tracking_settings", {"keys": [IDENTITY_SECRET]})
    return secret


# Every tracked hit and form post reads the settings: kept until they are saved anywhere.
SETTINGS: cache.Cache[None, dict[str, Any]] = cache.named("tracking_settings", topics=["tracking_settings"])


def cached_settings() -> dict[str, Any]:
    def load() -> dict[str, Any]:
        with session_scope() as session:
            return get_settings(session=session)

    return SETTINGS.get_or_load(None, load)


def settings_if_fresh() -> dict[str, Any] | None:
    """The settings without blocking, or None when they must be read."""
    return SETTINGS.peek(None)


# ------------------------------------------------------------------ devices and user agents


# Today's desktop browsers on Windows, macOS and Linux, their agent and nothing else. Matomo's device
# lookup tries thousands of brand patterns on an agent (about 20 ms for each new one, the writer's
# largest cost on a site with varied visitors) and never finds a device in these, so it is skipped
# for them: checked against the library's own fixtures and a thousand current desktop agents, the
# results are the same. Anything else (a Steam Deck, a Surface, an in-app browser) gets the full lookup.
PLAIN_DESKTOP_AGENT = re.compile(
    r"Mozilla/5\.0 \((?:Windows NT \d+\.\d+; (?:Win64; x64|WOW64)|Macintosh; Intel Mac OS X \d+[._]\d+(?:[._]\d+)?"
    r"|X11; (?:Ubuntu; )?Linux x86_64)(?:; rv:[\d.]+)?\) (?:AppleWebKit/[\d.]+ \(KHTML, like Gecko\)|Gecko/\d+)"
    r"(?: (?:Chrome|Safari|Firefox|Version|Edg|OPR)/[\d.]+)+"
)


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> dict[str, Any]:
    """Device, OS and browser from a user agent (Matomo's device detector, as Mautic uses)."""
    from device_detector import DeviceDetector

    ua_data.install()  # its data without its crash-prone YAML parser (see ua_data)
    skip_device = PLAIN_DESKTOP_AGENT.fullmatch(user_agent) is not None
    return describe_agent(DeviceDetector(user_agent, skip_device_detection=skip_device).parse())


def describe_agent(d: Any) -> dict[str, Any]:
    """What is stored of a parsed agent: a device with no type of its own on a desktop OS is a desktop."""
    details = d.all_details
    os_info, client, device = details.get("os") or {}, details.get("client") or {}, details.get("device") or {}
    kind = device.get("type") or ""
    if not kind and (os_info.get("family") or os_info.get("name")) in DESKTOP_OS:
        kind = "desktop"
    engine = client.get("engine")
    return {
        "is_bot": bool(d.is_bot()),
        "device": kind or None,
        "brand": device.get("brand") or None,
        "model": device.get("model") or None,
        "os_name": os_info.get("name") or None,
        "os_shortname": os_info.get("short_name") or None,
        "os_version": os_info.get("version") or None,
        "os_platform": os_info.get("platform") or None,
        "client": {
            "name": client.get("name") or "",
            "version": client.get("version") or "",
            "engine": engine.get("default", "") if isinstance(engine, dict) else (engine or ""),
            "type": str(getattr(client.get("type"), "value", client.get("type") or "")),
        },
    }


def public_id_of_device(*, session: Session, device_id: str) -> str | None:
    """The public id of the contact a device belongs to (for a cache miss in the request path)."""
    return session.execute(
        sa.select(col(Contact.public_id)).join(ContactDevice, col(ContactDevice.contact_id) == col(Contact.id))
        .where(col(ContactDevice.tracking_id) == device_id)
    ).scalar()


def public_ids_of_devices(*, session: Session, device_ids: list[str]) -> dict[str, str]:
    """Device id → its contact's public id, for those of ``device_ids`` we issued (one query for a batch)."""
    if not device_ids:
        return {}
    return dict(session.execute(
        sa.select(col(ContactDevice.tracking_id), col(Contact.public_id)).join(Contact, col(ContactDevice.contact_id) == col(Contact.id))
        .where(among(session, ContactDevice.tracking_id, sorted(set(device_ids))), col(Contact.public_id).is_not(None))
    ).tuples().all())


def ensure_public_id(*, session: Session, contact_id: int) -> str:
    current: str | None = session.execute(sa.select(col(Contact.public_id)).where(col(Contact.id) == contact_id)).scalar()
    if current:
        return current
    new = rules.new_id()
    session.execute(sa.update(Contact).where(col(Contact.id) == contact_id).values(public_id=new))
    return new


def contact_token(*, session: Session, contact_id: int, channel: str = "email", channel_id: int | None = None) -> str:
    """A signed token to put on tracked links (``?ct=...``) so a click identifies its contact."""
    public_id = ensure_public_id(session=session, contact_id=contact_id)
    return rules.sign_contact_token(app_settings().secret_key, public_id, channel, channel_id)


# ------------------------------------------------------------------ the writer


class _Batch:
    """What one batch learns as it goes, and the rows it has yet to write.

    Hits, timeline events and IP links are written set-based at the end (or before anything
    that reads them back: identification, URL scoring), so a batch costs a handful of
    statements, not several per hit.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.devices: dict[str, tuple[int, int]] = {}  # tracking id → (device row id, contact id)
        self.public_ids: dict[str, int] = {}  # public id → contact id
        self.previous: dict[int, dict[str, Any]] = {}  # device row → its latest hit not yet stored
        self.seen_urls: set[tuple[str, str]] = set()
        self.contact_ids: set[int] = set()
        self.cache_updates: dict[str, str] = {}  # device tracking id → public id, for the route's cache
        self.last_active: dict[int, datetime] = {}
        self.last_seen: dict[int, datetime] = {}  # device row → its latest hit here
        self.created: dict[int, datetime] = {}  # contacts created by this batch → the last_active they got
        self.created_devices: set[int] = set()  # device rows created by this batch, their last_seen already right
        self.score_urls = False  # any published "visits a URL" point action at all?
        self.hits: list[dict[str, Any]] = []
        self.events: list[bulk.Event] = []
        self.left: dict[int, datetime] = {}  # device row → when its stored open hit was left
        self.ips: dict[tuple[int, str], datetime] = {}


HIT_COLUMNS = ("contact_id", "device_id", "date_hit", "date_left", "url", "url_hash", "url_title", "referer", "user_agent",
               "remote_host", "ip_address", "code", "page_language", "browser_languages", "tracking_id", "source", "query", "is_unique")
# Tables a burst of hits grows: the queued writer keeps their statistics fresh (db.refresh_statistics).
STATS_TABLES = ("contacts", "contact_devices", "page_hits", "ip_addresses", "contact_ip_addresses", "contact_events")


def record_hits(*, session: Session, hits: Iterable[dict[str, Any]], max_age: timedelta = timedelta(days=1)) -> dict[str, str]:
    """Write a batch of queued hits in order; returns device id → public id where that changed.

    A hit keeps its time unless that is in the future or older than ``max_age`` (then it is now):
    queued hits are seconds old, demo visits weeks.

    Bots (by the user-agent parser) are dropped here. A proven claim (a signed ``ct`` token or
    e-mail signature) may merge the visitor into a known contact, keeping every hit; publicly
    updatable fields without proof only fill in the visitor's own anonymous contact. Publishes ``hits`` and ``contacts`` once the caller commits. Should the
    batch fail, its hits are written one by one so a single bad hit loses only itself; a database that
    is busy or gone (``OperationalError``) fails the whole call instead, so nothing is taken for stored.
    """
    hits = [h for h in hits if isinstance(h, dict) and h.get("device") and isinstance(h.get("page"), dict)]
    try:
        with session.begin_nested():
            return _write(session, hits, max_age)
    except sa.exc.OperationalError:
        raise  # the database is busy or gone: nothing is stored, and the caller is told so
    except Exception:  # noqa: BLE001
        log.exception("tracking batch of %s failed; writing its hits one by one", len(hits))
    updates: dict[str, str] = {}
    for hit in hits:
        try:
            with session.begin_nested():
                updates |= _write(session, [hit], max_age)
        except sa.exc.OperationalError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("tracking hit dropped: %s", {k: hit.get(k) for k in ("device", "at", "source")})
    return updates


def _write(session: Session, hits: list[dict[str, Any]], max_age: timedelta) -> dict[str, str]:
    if session.connection().dialect.name == "postgresql":
        # The writer's statements are prepared once and run for ever: a plan cached while the
        # tables were small (seq scans) would stay as they grow. Plan each run for the tables as they are.
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))
    batch = _Batch(session)
    _preload(batch, hits)
    accepted = []
    issued = set(batch.devices) | {h["device"] for h in hits if h.get("pid")}
    for hit in hits:
        if hit["device"] not in issued:
            continue  # a device id we never issued, and no new visitor to create: nothing to attach it to
        ua = parse_user_agent(hit.get("ua") or "")
        if not ua["is_bot"]:
            accepted.append((hit, ua, _parse_time(hit.get("at"), max_age)))
    _create_visitors(batch, accepted)
    for hit, _ua, at in accepted:
        _record_one(batch, hit, at)
    _flush(batch)
    _finish(batch)
    return batch.cache_updates


def _preload(batch: _Batch, hits: list[dict[str, Any]]) -> None:
    s = batch.session
    batch.score_urls = bool(s.execute(sa.select(sa.exists().where(
        col(PointAction.type) == "url.hit", col(PointAction.is_published).is_(True)))).scalar())
    device_ids = list({h["device"] for h in hits})
    for i in range(0, len(device_ids), 500):
        for tracking_id, row_id, contact_id in s.execute(
            sa.select(col(ContactDevice.tracking_id), col(ContactDevice.id), col(ContactDevice.contact_id))
            .where(among(s, col(ContactDevice.tracking_id), device_ids[i:i + 500]))
        ):
            batch.devices[tracking_id] = (row_id, contact_id)
    missing = list({h["pid"] for h in hits if h["device"] not in batch.devices and h.get("pid")})
    for i in range(0, len(missing), 500):
        for public_id, contact_id in s.execute(
            sa.select(col(Contact.public_id), col(Contact.id)).where(among(s, col(Contact.public_id), missing[i:i + 500]))
        ):
            batch.public_ids[public_id] = contact_id
    # Which (page, device) pairs were seen before, for unique hits: only known devices have any.
    pairs = sorted({(rules.url_hash(h["page"]["url"]), h["device"]) for h in hits if h["device"] in batch.devices})
    if not pairs:
        return
    if s.connection().dialect.name == "postgresql":
        # One index probe per pair (url_hash, tracking_id), whatever the pages and devices have in common.
        v = bulk.unnested(h=([h for h, _ in pairs], sa.String()), t=([t for _, t in pairs], sa.String())).subquery("v")
        seen = s.execute(sa.select(v.c.h, v.c.t).where(sa.exists().where(col(PageHit.url_hash) == v.c.h, col(PageHit.tracking_id) == v.c.t)))
        batch.seen_urls.update((h, t) for h, t in seen)
        return
    hashes = sorted({h for h, _ in pairs})
    known_devices = sorted({t for _, t in pairs})
    for i in range(0, len(hashes), 500):
        for url_hash, tracking_id in s.execute(
            sa.select(col(PageHit.url_hash), col(PageHit.tracking_id)).distinct()
            .where(col(PageHit.url_hash).in_(hashes[i:i + 500]), col(PageHit.tracking_id).in_(known_devices))
        ):
            batch.seen_urls.add((url_hash, tracking_id))


def _create_visitors(batch: _Batch, accepted: list[tuple[dict[str, Any], dict[str, Any], datetime]]) -> None:
    """New visitors' anonymous contacts and new devices, each kind in one statement.

    They are written with their latest time in this batch, so they need no update at its end.
    """
    s = batch.session
    new_devices: dict[str, tuple[dict[str, Any], dict[str, Any], datetime]] = {}
    latest: dict[str, datetime] = {}
    for hit, ua, at in accepted:
        if hit["device"] not in batch.devices:
            new_devices.setdefault(hit["device"], (hit, ua, at))
            latest[hit["device"]] = max(at, latest.get(hit["device"], at))
    new_people: dict[str, tuple[datetime, datetime]] = {}  # public id → (first seen, last seen)
    for tracking_id, (hit, _ua, at) in new_devices.items():
        if hit["pid"] not in batch.public_ids:
            first, last = new_people.get(hit["pid"], (at, latest[tracking_id]))
            new_people[hit["pid"]] = (min(first, at), max(last, latest[tracking_id]))
    if new_people:
        created = bulk.new_contacts(session=s, source="tracking", events=batch.events, rows=[
            {"public_id": pid, "date_added": first, "last_active": last} for pid, (first, last) in new_people.items()])
        for contact_id, (public_id, (_first, last)) in zip(created, new_people.items(), strict=True):
            batch.public_ids[public_id] = contact_id
            batch.created[contact_id] = last
    if not new_devices:
        return
    rows = []
    for tracking_id, (hit, ua, at) in new_devices.items():
        contact_id = batch.public_ids[hit["pid"]]
        rows.append((contact_id, tracking_id, ua["device"], ua["brand"], ua["model"], ua["os_name"], ua["os_shortname"],
                     ua["os_version"], ua["os_platform"], ua["client"], at, latest[tracking_id]))
        batch.events.append({"contact_id": contact_id, "event_type": "device_added", "occurred_at": at, "details": {
            "device": ua["device"], "brand": ua["brand"], "model": ua["model"], "os": ua["os_name"], "browser": ua["client"]["name"],
        }})
    device_ids = bulk.insert_new_rows(session=s, table=ContactDevice, columns=DEVICE_COLUMNS, rows=rows)
    for row_id, (contact_id, tracking_id, *_) in zip(device_ids, rows, strict=True):
        batch.devices[tracking_id] = (row_id, contact_id)
        batch.created_devices.add(row_id)


DEVICE_COLUMNS = ("contact_id", "tracking_id", "device", "device_brand", "device_model", "device_os_name", "device_os_shortname",
                  "device_os_version", "device_os_platform", "client_info", "date_added", "last_seen")


def _record_one(batch: _Batch, hit: dict[str, Any], at: datetime) -> None:
    s = batch.session
    device_row, contact_id = batch.devices[hit["device"]]
    if hit.get("ct") or hit.get("fields") or hit.get("tags"):
        _flush(batch)  # identification reads and moves stored rows: store this batch's so far
        contact_id = _identify(batch, hit, contact_id, device_row)
    page = hit["page"]
    url_hash = rules.url_hash(page["url"])
    row = {
        "contact_id": contact_id, "device_id": device_row, "date_hit": at, "date_left": None, "url": page["url"],
        "url_hash": url_hash, "url_title": page.get("title"), "referer": page.get("referrer"),
        "user_agent": hit.get("ua") or None, "remote_host": None, "ip_address": hit.get("ip"), "code": 200,
        "page_language": page.get("language"), "browser_languages": hit.get("langs") or [],
        "tracking_id": hit["device"], "source": hit.get("source") or "mtc", "query": rules.query_of(page["url"]),
        "is_unique": (url_hash, hit["device"]) not in batch.seen_urls,
    }
    batch.seen_urls.add((url_hash, hit["device"]))
    previous = batch.previous.get(device_row)
    if previous is not None:
        previous["date_left"] = at
    else:
        batch.left[device_row] = at  # its open hit already stored, if any
    batch.previous[device_row] = row
    batch.hits.append(row)
    if hit.get("ip"):
        batch.ips.setdefault((contact_id, hit["ip"]), at)
    utm = rules.utm_values(page["url"])
    if utm:
        contacts.add_utm(session=s, contact_id=contact_id, data=utm | {
            "url": page["url"], "referer": page.get("referrer"), "user_agent": hit.get("ua"), "query": row["query"],
        })
    if batch.score_urls:
        _flush(batch)  # the action's conditions count this contact's stored hits
        _score(s, contact_id, page["url"], url_hash, at)
    batch.last_active[contact_id] = max(at, batch.last_active.get(contact_id, at))
    batch.last_seen[device_row] = max(at, batch.last_seen.get(device_row, at))
    batch.contact_ids.add(contact_id)


def _flush(batch: _Batch) -> None:
    """Write what is pending: when stored hits were left, the new hits, IP links, timeline events."""
    s = batch.session
    if batch.left:  # before the new hits go in: only hits already stored are "open" here
        _close_open_hits(s, batch.left)
        batch.left = {}
    if batch.hits:
        bulk.insert_rows(session=s, table=PageHit, columns=HIT_COLUMNS, rows=[[row[c] for c in HIT_COLUMNS] for row in batch.hits])
        batch.events.extend(
            {"contact_id": row["contact_id"], "event_type": "page_hit", "occurred_at": row["date_hit"],
             "details": {"url": row["url"], "title": row["url_title"] or ""}}
            for row in batch.hits
        )
        campaign_engine.contacts_acted(session=s, actions=[
            ("page.pagehit", row["contact_id"], {"url": row["url"], "referer": row["referer"], "device_id": row["device_id"]})
            for row in batch.hits if row["contact_id"] is not None])
        batch.hits, batch.previous = [], {}
    if batch.ips:
        _link_ips(batch)
    if batch.events:
        bulk.log_events(session=s, events=batch.events)
        batch.events = []


def _close_open_hits(s: Session, left: dict[int, datetime]) -> None:
    """Each device's latest stored hit, if still open, was left at the given time.

    Only a device's latest hit can be open, so this probes one row per device through the
    (device, id) index; matching every open hit of the device instead walked all its hits.
    """
    t = table_of(PageHit)
    if s.connection().dialect.name == "postgresql":
        # The open check sits inside the lateral probe: a planner that thinks few hits are open
        # (statistics lag behind a busy table) then has no reason to scan them all.
        v = bulk.unnested(k=(list(left), sa.Integer()), v=(list(left.values()), t.c.date_left.type)).subquery("v")
        p = t.alias("p")
        latest = (sa.select(p.c.id, p.c.date_left).where(p.c.device_id == v.c.k)
                  .order_by(p.c.id.desc()).limit(1).lateral("latest"))
        open_hits = sa.select(v.c.v, latest.c.id).select_from(v.join(latest, sa.true())).where(latest.c.date_left.is_(None)).subquery("o")
        s.execute(sa.update(t).where(t.c.id == open_hits.c.id).values(date_left=open_hits.c.v))
        return
    mine = t.alias("mine")
    newest = sa.select(sa.func.max(mine.c.id)).where(mine.c.device_id == sa.bindparam("k")).scalar_subquery()
    s.execute(sa.update(t).where(t.c.id == newest, t.c.date_left.is_(None)).values(date_left=sa.bindparam("v")),
              [{"k": k, "v": v} for k, v in left.items()])


def _link_ips(batch: _Batch) -> None:
    """New (contact, IP) pairs: the addresses, the links and an "IP address added" event each."""
    pending, batch.ips = batch.ips, {}
    new = bulk.link_ips(session=batch.session, pairs=pending)
    batch.events.extend({"contact_id": c, "event_type": "ip_added", "occurred_at": pending[c, ip], "details": {"ip": ip}} for c, ip in new)


def _identify(batch: _Batch, hit: dict[str, Any], contact_id: int, device_row: int) -> int:
    """Apply a hit's claim to be someone (see ``rules.settle_claim``), then its tags.

    Only a proven claim (a signed click token, an e-mail signed with the identity secret) merges the
    visitor into a known contact; an unproven one only fills the visitor's own anonymous contact.
    """
    s = batch.session
    values = _public_values(s, hit.get("fields") or {})
    proven, has_proof = _proof(s, hit)
    if values or has_proof:
        row = contacts.read(session=s, contact_id=contact_id) if values and not has_proof else None
        claim = rules.settle_claim(visitor=contact_id, visitor_is_anonymous=row is not None and is_anonymous(row),
                                   proven=proven, has_proof=has_proof, values=values, owners=_owners(s, values))
        if claim.merge_into is not None:
            contact_id = _move_visitor(batch, hit, contact_id, claim.merge_into, device_row)
        if claim.values:
            try:
                contacts.update(session=s, contact_id=contact_id, values=claim.values, source="tracking", public_only=True)
            except contacts.ContactError as exc:  # keep the valid values, drop the rest
                kept = {k: v for k, v in claim.values.items() if k not in exc.errors}
                if kept:
                    contacts.update(session=s, contact_id=contact_id, values=kept, source="tracking", public_only=True)
    if hit.get("tags"):
        contacts.modify_tags(session=s, contact_ids=[contact_id], tags=hit["tags"])
    return contact_id


def _proof(s: Session, hit: dict[str, Any]) -> tuple[int | None, bool]:
    """(the contact a hit proves its visitor is, whether it proved anything): a signed click token, or
    the e-mail in its fields signed with the identity secret (naming nobody yet if no contact has it).

    Settings are read through this session: the writer holds its connection, and must not ask for another.
    """
    if hit.get("ct"):
        days = _stored_setting(s, "token_max_age_days")
        public_id = rules.read_contact_token(app_settings().secret_key, hit["ct"], days * 86400)
        target = s.execute(sa.select(col(Contact.id)).where(col(Contact.public_id) == public_id)).scalar() if public_id else None
        if target is not None:
            return target, True
    email = (hit.get("fields") or {}).get("email")
    if hit.get("sig") and rules.email_signature_valid(_stored_setting(s, IDENTITY_SECRET), email, hit["sig"]):
        return contacts.find_existing(session=s, values={"email": email}), True
    return None, False


def _owners(s: Session, values: dict[str, Any]) -> dict[str, int]:
    """Which contact already holds each unique identifier value a claim names (one look-up per identifier)."""
    owners = {}
    for spec in field_service.specs(session=s, obj="contact"):
        if spec.is_unique_identifier and spec.alias in values:
            owner = contacts.find_existing(session=s, values={spec.alias: values[spec.alias]})
            if owner is not None:
                owners[spec.alias] = owner
    return owners


def _stored_setting(s: Session, key: str) -> Any:
    row = s.get(TrackingSetting, key)
    return row.value if row is not None else DEFAULT_SETTINGS.get(key)


def _public_values(s: Session, fields: dict[str, str]) -> dict[str, Any]:
    if not fields:
        return {}
    public = {spec.alias for spec in field_service.specs(session=s, obj="contact") if spec.is_publicly_updatable}
    return {k: v for k, v in fields.items() if k in public and v not in (None, "")}


def _move_visitor(batch: _Batch, hit: dict[str, Any], current: int, target: int, device_row: int) -> int:
    """The visitor turned out to be ``target``: an anonymous visitor is merged into it (every hit
    moves along); a known one only hands this device over, so nobody's record is overwritten."""
    s = batch.session
    row = contacts.read(session=s, contact_id=current)
    if row is not None and is_anonymous(row):
        winner = contacts.merge(session=s, winner_id=target, loser_id=current)
        moved = [d for d, (_, c) in batch.devices.items() if c == current]
    else:
        s.execute(sa.update(ContactDevice).where(col(ContactDevice.id) == device_row).values(contact_id=target))
        winner = target
        moved = [hit["device"]]
    public_id = ensure_public_id(session=s, contact_id=winner)
    for tracking_id in moved:
        batch.devices[tracking_id] = (batch.devices[tracking_id][0], winner)
        batch.cache_updates[tracking_id] = public_id
    for tracking_id in s.execute(sa.select(col(ContactDevice.tracking_id)).where(col(ContactDevice.contact_id) == winner)).scalars():
        batch.cache_updates[tracking_id] = public_id
    batch.contact_ids.discard(current)
    batch.last_active.pop(current, None)
    return winner


def _score(s: Session, contact_id: int, url: str, url_hash: str, at: datetime) -> None:
    hits, previous = s.execute(
        sa.select(sa.func.count(), sa.func.max(PageHit.date_hit))
        .where(col(PageHit.contact_id) == contact_id, col(PageHit.url_hash) == url_hash, col(PageHit.date_hit) < at)
    ).one()
    since = (at - _aware(previous)).total_seconds() if previous else None
    points.score(session=s, contact_id=contact_id, action_type="url.hit",
                 context={"url": url, "hits": hits + 1, "seconds_since_last": since}, at=at)


def _finish(batch: _Batch) -> None:
    s = batch.session
    # Rows this batch created already hold their latest times: rewriting them would only cost.
    last_active = {c: at for c, at in batch.last_active.items() if c not in batch.created or at > batch.created[c]}
    bulk.update_rows(session=s, table=Contact, changes={c: {"last_active": at} for c, at in last_active.items()})
    last_seen = {d: at for d, at in batch.last_seen.items() if d not in batch.created_devices}
    bulk.update_rows(session=s, table=ContactDevice, changes={d: {"last_seen": at} for d, at in last_seen.items()})
    if batch.contact_ids:
        ids = sorted(batch.contact_ids)
        changefeed.publish_after_commit(s, "hits", {"contact_ids": ids[:1000]})
        changefeed.publish_after_commit(s, "contacts", {"ids": ids[:1000], "action": "hit"})


def _parse_time(value: Any, max_age: timedelta) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return utcnow()
    at = _aware(at)
    now = utcnow()
    return min(at, now) if now - at < max_age else now


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------ reads for the API


def list_devices(*, session: Session, start: int = 0, limit: int = 30, contact_id: int | None = None) -> tuple[int, list[ContactDevice]]:
    """Devices newest first, optionally one contact's, with the total."""
    where = [col(ContactDevice.contact_id) == contact_id] if contact_id is not None else []
    total = session.execute(sa.select(sa.func.count()).select_from(ContactDevice).where(*where)).scalar_one()
    rows = session.execute(
        sa.select(ContactDevice).where(*where).order_by(col(ContactDevice.id).desc()).offset(start).limit(limit)
    ).scalars().all()
    return total, list(rows)


def get_device(*, session: Session, device_id: int) -> ContactDevice | None:
    return session.get(ContactDevice, device_id)
