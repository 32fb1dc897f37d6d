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
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.models import Contact, DoNotContact, Email, EmailClick, EmailLink, EmailStat, FrequencyRule, OutboxMessage
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import bulk, email_sends, mailer, points, segments, timeline, tracking
from mautic_app.services import contacts as contact_service

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
    changefeed.publish_after_commit(session, "emails", {"id": stat.email_id})


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


def _read(session: Session, stat: EmailStat) -> None:
    """The message was read (a link in it clicked): once per message, for the e-mail and the contact."""
    if not stat.is_read:
        _reads(session, [stat], utcnow())


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
        changefeed.publish_after_commit(session, "emails", {"id": email_id})
    names = dict(session.execute(sa.select(emails.c.id, emails.c.name).where(emails.c.id.in_(list(per_email)))).tuples().all())
    people = [st for st in read if st.contact_id is not None]
    if not people:
        return
    ids = sorted({cast(int, st.contact_id) for st in people})
    bulk.log_events(session=session, events=[
        {"contact_id": cast(int, st.contact_id), "event_type": "email.read", "occurred_at": now,
         "details": {"email_id": st.email_id, "stat_id": st.id, "name": names.get(st.email_id, "")}} for st in people])
    contacts = table_of(Contact)
    session.execute(sa.update(contacts).where(contacts.c.id.in_(ids)).values(last_active=now))
    changefeed.publish_after_commit(session, "contact_activity", {"ids": ids})
    changefeed.publish_after_commit(session, "contacts", {"ids": ids, "action": "email"})  # segments on e-mail activity
    if points.has_actions(session=session, action_type="email.open"):
        for st in people:
            points.score(session=session, contact_id=cast(int, st.contact_id), action_type="email.open", context={"email_id": st.email_id})


@dataclass
class Click:
    url: str  # where to send the browser
    contact_id: int | None


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


def record_click(*, session: Session, redirect_id: str, tracking_hash: str | None) -> Click | None:
    """A click through ``/r/{redirect_id}``: None when the link does not exist, or the hash names a message of
    another e-mail (never a redirect then). Without a hash it is an anonymous click, as in Mautic."""
    if not REDIRECT.match(redirect_id or ""):
        return None
    link = session.exec(select(EmailLink).where(col(EmailLink.redirect_id) == redirect_id)).first()
    if link is None:
        return None
    stat = None
    if tracking_hash:
        stat = stat_of(session=session, tracking_hash=tracking_hash)
        if stat is None or stat.email_id != link.email_id:
            return None
    assert link.id is not None
    clicks, links = table_of(EmailClick), table_of(EmailLink)
    unique = stat is None or session.execute(sa.select(clicks.c.id).where(clicks.c.link_id == link.id, clicks.c.stat_id == stat.id)).first() is None
    session.execute(sa.update(links).where(links.c.id == link.id).values(hits=links.c.hits + 1, unique_hits=links.c.unique_hits + int(unique)))
    session.add(EmailClick(link_id=link.id, stat_id=stat.id if stat else None, contact_id=stat.contact_id if stat else None))
    email = session.get(Email, link.email_id)
    url = with_utm(link.url, email.utm_tags if email else {})
    if stat is None:
        return Click(url, None)
    if unique:
        emails = table_of(Email)
        session.execute(sa.update(emails).where(emails.c.id == link.email_id).values(click_count=emails.c.click_count + 1))
    _read(session, stat)  # a click proves the message was read (an image-blocking reader sends no open)
    _activity(session, stat, "email.click", {"url": link.url})
    if stat.contact_id is not None:
        # The landing page's tracking script identifies the visitor from this signed token (Mautic's ``ct``).
        token = tracking.contact_token(session=session, contact_id=stat.contact_id, channel="email", channel_id=link.email_id)
        parts = urlsplit(url)
        url = urlunsplit(parts._replace(query=urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("ct", token)])))
    return Click(url, stat.contact_id)


def public_id(*, session: Session, contact_id: int) -> str:
    return tracking.ensure_public_id(session=session, contact_id=contact_id)


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
