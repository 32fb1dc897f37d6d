"""What recipients do with a sent e-mail: open it (the pixel), click a link (the redirect), read it in the
browser, unsubscribe and resubscribe. Each finds its message by the ledger row's random tracking hash; a hash
that matches nothing changes nothing.

Every event lands on the contact's timeline, counts as activity (last active), and is published on the
e-mail's topic (its stats page) and ``contact_activity`` (the contact's page)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import cache, changefeed
from mautic_app.domain import tracking as tracking_rules
from mautic_app.models import Contact, DoNotContact, Email, EmailClick, EmailLink, EmailStat, FrequencyRule, OutboxMessage
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import bulk, campaign_engine, email_sends, mailer, points, segments, timeline, tracking
from mautic_app.services import contacts as contact_service
from mautic_app.settings import get_settings as app_settings

HASH = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
REDIRECT = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
UTM_KEYS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign", "utmContent": "utm_content"}


def stat_of(*, session: Session, tracking_hash: str) -> EmailStat | None:
    """The message a hash names; None for a malformed or unknown one (forged, truncated, a test send's)."""
    if not HASH.match(tracking_hash or ""):
        return None
    return session.exec(select(EmailStat).where(col(EmailStat.tracking_hash) == tracking_hash)).first()


def _activity(session: Session, stat: EmailStat, event_type: str, details: dict[str, Any]) -> None:
    now = utcnow()
    email = session.get(Email, stat.email_id)
    if stat.contact_id is not None:
        timeline.log(session=session, contact_id=stat.contact_id, event_type=event_type,
                     details={"email_id": stat.email_id, "stat_id": stat.id, "name": email.name if email else "", **details})
        contacts = table_of(Contact)
        session.execute(sa.update(contacts).where(contacts.c.id == stat.contact_id).values(last_active=now))
        changefeed.publish_after_commit(session, "contact_activity", {"ids": [stat.contact_id]})
        # Segments filtering on e-mail activity take the contact in (or out) at once.
        changefeed.publish_after_commit(session, "contacts", {"ids": [stat.contact_id], "action": "email"})
    changefeed.publish_after_commit(session, f"email:{stat.email_id}", {"activity": event_type})
    changefeed.publish_after_commit(session, "emails", {"id": stat.email_id, "action": "stats"})


def record_open(*, session: Session, tracking_hash: str) -> bool:
    """One open (see :func:`record_opens`)."""
    return record_opens(session=session, hashes=[tracking_hash])[0]


def record_opens(*, session: Session, hashes: list[str]) -> list[bool]:
    """Opens, as the pixel's writer takes them in groups, in a few statements for the whole group: every open
    counts in ``open_count``; the first of a message marks it read and counts for its e-mail and contact.
    Returns, per hash, whether it named a message."""
    wanted = {h for h in hashes if HASH.match(h or "")}
    found = {st.tracking_hash: st for st in session.exec(select(EmailStat).where(col(EmailStat.tracking_hash).in_(wanted)))} if wanted else {}
    counts = Counter(h for h in hashes if h in found)
    stats, now = table_of(EmailStat), utcnow()
    by_count: dict[int, list[int]] = defaultdict(list)
    for h, n in counts.items():
        by_count[n].append(cast(int, found[h].id))
    for n, ids in by_count.items():
        session.execute(sa.update(stats).where(stats.c.id.in_(ids)).values(open_count=stats.c.open_count + n, last_opened=now))
    _reads(session, [found[h] for h in counts if not found[h].is_read], now)
    return [h in found for h in hashes]


def _reads(session: Session, unread: list[EmailStat], now: datetime) -> None:
    """Messages read for the first time: of two opens at once (two processes), the one whose update finds the
    message unread is the first."""
    if not unread:
        return
    stats, emails = table_of(EmailStat), table_of(Email)
    firsts = set(session.execute(sa.update(stats).where(stats.c.id.in_([st.id for st in unread]), stats.c.is_read.is_(False))
                                 .values(is_read=True, date_read=now).returning(stats.c.id)).scalars())
    read = [st for st in unread if st.id in firsts]
    if not read:
        return
    per_email = Counter(st.email_id for st in read)
    for email_id, n in per_email.items():
        session.execute(sa.update(emails).where(emails.c.id == email_id).values(read_count=emails.c.read_count + n))
        changefeed.publish_after_commit(session, f"email:{email_id}", {"activity": "email.read"})
        changefeed.publish_after_commit(session, "emails", {"id": email_id, "action": "stats"})
    names = dict(session.execute(sa.select(emails.c.id, emails.c.name).where(emails.c.id.in_(list(per_email)))).tuples().all())
    people = [st for st in read if st.contact_id is not None]
    if not people:
        return
    _contacts_did(session, "email.read", "email.open", now, [
        (cast(int, st.contact_id), st.email_id, {"email_id": st.email_id, "stat_id": st.id, "name": names.get(st.email_id, "")})
        for st in people])


def _contacts_did(session: Session, event_type: str, action_type: str, now: datetime, done: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Contacts opened or clicked (``(contact id, e-mail id, timeline details)``): their timeline lines, last
    active, live updates (segments on e-mail activity too) and the point actions that score it."""
    bulk.log_events(session=session, events=[
        {"contact_id": contact_id, "event_type": event_type, "occurred_at": now, "details": details} for contact_id, _, details in done])
    ids = sorted({contact_id for contact_id, _, _ in done})
    contacts = table_of(Contact)
    session.execute(sa.update(contacts).where(contacts.c.id.in_(ids)).values(last_active=now))
    changefeed.publish_after_commit(session, "contact_activity", {"ids": ids})
    changefeed.publish_after_commit(session, "contacts", {"ids": ids, "action": "email"})
    campaign_engine.contacts_acted(session=session, actions=[(action_type, contact_id, details) for contact_id, _, details in done])
    if points.has_actions(session=session, action_type=action_type):
        for contact_id, email_id, _ in done:
            points.score(session=session, contact_id=contact_id, action_type=action_type, context={"email_id": email_id})


class _Link(NamedTuple):
    id: int
    email_id: int
    url: str
    utm: dict[str, Any]
    email_name: str


# A sent link never changes; a saved e-mail (its UTM tags) or a deleted one clears them all. Statistics published
# on the same topic carry the action "stats" and leave them be.
LINKS: cache.Cache[str, _Link] = cache.named("email_links", topics=["emails:saved"], max_size=20_000)
_UNKNOWN = _Link(0, 0, "", {}, "")


def _links(session: Session, redirect_ids: set[str]) -> dict[str, _Link]:
    """The links behind redirect ids, from the cache or in one query for those it does not hold."""
    found = {r: LINKS.peek(r, _UNKNOWN) for r in redirect_ids}
    wanted = [r for r, link in found.items() if link is _UNKNOWN]
    if wanted:
        changefeed.follow()  # this process hears the saves that clear the cache
        as_of, links = cache.epoch(), table_of(EmailLink)
        for row in session.execute(sa.select(links.c.redirect_id, links.c.id, links.c.email_id, links.c.url, col(Email.utm_tags), col(Email.name))
                                   .join(Email, col(Email.id) == links.c.email_id).where(links.c.redirect_id.in_(wanted))):
            found[row.redirect_id] = _Link(row.id, row.email_id, row.url, row.utm_tags or {}, row.name)
            LINKS.put(row.redirect_id, found[row.redirect_id], as_of=as_of)
    return {r: link for r, link in found.items() if link is not _UNKNOWN}


@dataclass(frozen=True)
class Click:
    """A click resolved before it is written: where the browser goes, and what the writer records."""

    url: str  # where to send the browser (UTM tags and, for a contact, the signed ``ct`` added)
    link_id: int
    email_id: int
    link_url: str  # the link as it was in the e-mail (the timeline shows it)
    email_name: str
    stat_id: int | None = None
    was_read: bool = True  # the message was read when the click was looked up
    contact_id: int | None = None
    public_id: str | None = None  # the contact's tracking id (the click sets the visitor cookie to it)


def with_utm(url: str, utm: dict[str, Any]) -> str:
    """The link with the e-mail's UTM tags added (tags the link already has win)."""
    tags = {UTM_KEYS[k]: str(v) for k, v in (utm or {}).items() if k in UTM_KEYS and v}
    if not tags:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query += [(k, v) for k, v in tags.items() if k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def resolve_clicks(*, session: Session, items: list[tuple[str, str | None]]) -> list[Click | None]:
    """Clicks through ``/r/{redirect_id}?ct={hash}``, read in three queries for a whole group so the browser
    is sent on at once (:func:`record_clicks` writes them afterwards). None when the link does not exist or
    the hash names no message of that link's e-mail (never a redirect then); without a hash it is an
    anonymous click, as in Mautic."""
    stats, contacts = table_of(EmailStat), table_of(Contact)
    links = _links(session, {r for r, _ in items if REDIRECT.match(r or "")})
    hashes = {h for _, h in items if h and HASH.match(h)}
    found = {row.tracking_hash: row for row in session.execute(
        sa.select(stats.c.id, stats.c.email_id, stats.c.contact_id, stats.c.tracking_hash, stats.c.is_read, contacts.c.public_id)
        .outerjoin(contacts, contacts.c.id == stats.c.contact_id).where(stats.c.tracking_hash.in_(hashes)))} if hashes else {}
    public_ids = {row.contact_id: row.public_id for row in found.values() if row.contact_id is not None}
    for contact_id in [c for c, p in public_ids.items() if not p]:  # contacts that never visited: rare
        public_ids[contact_id] = tracking.ensure_public_id(session=session, contact_id=contact_id)
    secret = app_settings().secret_key
    out: list[Click | None] = []
    for redirect_id, tracking_hash in items:
        link = links.get(redirect_id)
        stat = found.get(tracking_hash) if tracking_hash else None
        if link is None or (tracking_hash and (stat is None or stat.email_id != link.email_id)):
            out.append(None)
            continue
        url = with_utm(link.url, link.utm)
        if stat is None:
            out.append(Click(url, link.id, link.email_id, link.url, link.email_name))
            continue
        public_id = public_ids.get(stat.contact_id) if stat.contact_id is not None else None
        if public_id:  # the landing page's tracking script identifies the visitor from this signed token (Mautic's ``ct``)
            token = tracking_rules.sign_contact_token(secret, public_id, "email", link.email_id)
            parts = urlsplit(url)
            url = urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("ct", token)])))
        out.append(Click(url, link.id, link.email_id, link.url, link.email_name, stat.id, bool(stat.is_read), stat.contact_id, public_id))
    return out


def record_clicks(*, session: Session, clicks: list[Click]) -> None:
    """Resolved clicks, written set-based for the group: every click counts on its link, the first click of a
    message on a link counts once more (unique) and for the e-mail; a click proves the message was read (an
    image-blocking reader sends no open); identified clicks land on the timeline, count as activity and score
    "Clicks a link in an e-mail"."""
    if not clicks:
        return
    clicks_t, links, emails, now = table_of(EmailClick), table_of(EmailLink), table_of(Email), utcnow()
    # Which (link, message) pairs were clicked before: one row per pair, however often each was clicked (a link
    # scanner clicks every link of a message again and again).
    stat_ids = {c.stat_id for c in clicks if c.stat_id is not None}
    seen = set(session.execute(sa.select(clicks_t.c.link_id, clicks_t.c.stat_id).distinct().where(
        clicks_t.c.stat_id.in_(stat_ids), clicks_t.c.link_id.in_({c.link_id for c in clicks}))).tuples()) if stat_ids else set()
    hits: Counter[int] = Counter()
    uniques: Counter[int] = Counter()
    unique_per_email: Counter[int] = Counter()
    for c in clicks:
        hits[c.link_id] += 1
        if c.stat_id is None or (c.link_id, c.stat_id) not in seen:
            uniques[c.link_id] += 1
            if c.stat_id is not None:
                seen.add((c.link_id, c.stat_id))
                unique_per_email[c.email_id] += 1
    for link_id, n in hits.items():
        if session.execute(sa.update(links).where(links.c.id == link_id).values(hits=links.c.hits + n, unique_hits=links.c.unique_hits + uniques[link_id])
                           .returning(links.c.id)).first() is None:
            clicks = [c for c in clicks if c.link_id != link_id]  # its e-mail was deleted after the click was looked up
    bulk.insert_rows(session=session, table=EmailClick, columns=("link_id", "stat_id", "contact_id", "date_added"),
                     rows=[(c.link_id, c.stat_id, c.contact_id, now) for c in clicks])
    for email_id, n in unique_per_email.items():
        session.execute(sa.update(emails).where(emails.c.id == email_id).values(click_count=emails.c.click_count + n))
    for email_id in {c.email_id for c in clicks}:
        changefeed.publish_after_commit(session, f"email:{email_id}", {"activity": "email.click"})
        changefeed.publish_after_commit(session, "emails", {"id": email_id, "action": "stats"})
    unread = {c.stat_id for c in clicks if c.stat_id is not None and not c.was_read}
    if unread:
        _reads(session, list(session.exec(select(EmailStat).where(col(EmailStat.id).in_(unread), col(EmailStat.is_read).is_(False)))), now)
    people = [c for c in clicks if c.contact_id is not None]
    if not people:
        return
    _contacts_did(session, "email.click", "email.click", now, [
        (cast(int, c.contact_id), c.email_id, {"email_id": c.email_id, "stat_id": c.stat_id, "name": c.email_name, "url": c.link_url})
        for c in people])


def record_click(*, session: Session, redirect_id: str, tracking_hash: str | None) -> Click | None:
    """One click, resolved and written (the API and tests; the route answers first and writes in groups)."""
    click = resolve_clicks(session=session, items=[(redirect_id, tracking_hash)])[0]
    if click is not None:
        record_clicks(session=session, clicks=[click])
    return click


def web_view(*, session: Session, tracking_hash: str) -> str | None:
    """The message's HTML as it was sent (from the outbox copy, else rendered again), for "view in browser"."""
    stat = stat_of(session=session, tracking_hash=tracking_hash)
    if stat is None:
        return None
    stat.viewed_in_browser = True
    session.add(stat)
    kept = session.exec(select(OutboxMessage).where(col(OutboxMessage.stat_id) == stat.id)).first()
    if kept is not None:
        shown = mailer.outbox_message(session=session, message_id=kept.id or 0)
        if shown:
            return shown["html"]
    return email_sends.rendered_for(session=session, stat=stat)


def is_unsubscribed(*, session: Session, stat: EmailStat) -> bool:
    if stat.contact_id is None:
        return False
    row = session.exec(select(DoNotContact).where(col(DoNotContact.contact_id) == stat.contact_id, col(DoNotContact.channel) == "email")).first()
    return row is not None


def unsubscribe(*, session: Session, stat: EmailStat) -> None:
    """Do not contact by e-mail, reason "unsubscribed", naming the e-mail it came from."""
    if stat.contact_id is None or is_unsubscribed(session=session, stat=stat):
        return
    email = session.get(Email, stat.email_id)
    contact_service.add_dnc(session=session, contact_id=stat.contact_id, channel="email", reason=1, channel_id=stat.email_id,
                            comments=f"Unsubscribed from e-mail {email.name if email else stat.email_id}")
    _activity(session, stat, "email.unsubscribed", {})


def resubscribe(*, session: Session, stat: EmailStat) -> None:
    if stat.contact_id is None or not is_unsubscribed(session=session, stat=stat):
        return
    contact_service.remove_dnc(session=session, contact_id=stat.contact_id, channel="email")
    _activity(session, stat, "email.resubscribed", {})


# ---------------------------------------------------------------- the preference center


def preferences(*, session: Session, stat: EmailStat) -> dict[str, Any]:
    """What the contact of a message may change: e-mail on or off, the segments marked for the preference
    center that they are in, and a pause."""
    assert stat.contact_id is not None
    shown = [{"id": seg.id, "name": seg.public_name or seg.name}
             for seg, _added, _manual in segments.memberships(session=session, contact_id=stat.contact_id) if seg.is_preference_center]
    rule = session.exec(select(FrequencyRule).where(col(FrequencyRule.contact_id) == stat.contact_id, col(FrequencyRule.channel) == "email")).first()
    return {"email": stat.email_address, "subscribed": not is_unsubscribed(session=session, stat=stat), "segments": shown,
            "pause_from": rule.pause_from.date().isoformat() if rule and rule.pause_from else "",
            "pause_to": rule.pause_to.date().isoformat() if rule and rule.pause_to else ""}


def save_preferences(*, session: Session, stat: EmailStat, subscribed: bool, leave: list[int], pause_from: date | None,
                     pause_to: date | None) -> None:
    """Apply the preference center's form; only segments it offered can be left."""
    assert stat.contact_id is not None
    if pause_from and pause_to and pause_to < pause_from:
        raise ValueError("The pause ends before it starts.")
    (unsubscribe if not subscribed else resubscribe)(session=session, stat=stat)
    offered = {s["id"] for s in preferences(session=session, stat=stat)["segments"]}
    for segment_id in set(leave) & offered:
        segments.remove_contacts(session=session, segment_id=segment_id, contact_ids=[stat.contact_id])
    rule = session.exec(select(FrequencyRule).where(col(FrequencyRule.contact_id) == stat.contact_id, col(FrequencyRule.channel) == "email")).first()
    if rule is None and not (pause_from or pause_to):
        return
    rule = rule or FrequencyRule(contact_id=stat.contact_id, channel="email")
    rule.pause_from = datetime.combine(pause_from, time.min, tzinfo=UTC) if pause_from else None
    rule.pause_to = datetime.combine(pause_to, time.max, tzinfo=UTC) if pause_to else None
    session.add(rule)
