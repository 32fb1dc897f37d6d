"""Sending e-mails, each message exactly once: broadcasts of segment e-mails, and template e-mails sent one
at a time (forms, point triggers, the API, campaigns later).

The send ledger (``EmailStat``) decides who has been sent. A broadcast claims its next contacts by inserting
their ledger rows in status "sending" (unique per broadcast and contact), in the same transaction that renews
its lease; it commits, sends with no database connection held, then records each outcome. A worker killed
between the two leaves rows in "sending": whoever takes the lease next marks them "unknown" (they may have gone
out) and never sends them again, so nobody gets a message twice and everybody else still gets theirs.

A broadcast's runs hold a lease on its ``EmailSend`` row: a chain of tasks, each running for a few seconds and
queueing the next, passes the lease along; a lease whose holder died (the same machine says its process is
gone) or ran out is taken over by the next run the beat sweep or a starting worker queues.

These functions open their own transactions (``db.session_scope``) where the work must alternate between the
database and the mail server; everything else takes the caller's session, as every service does.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from mautic_app import changefeed, db
from mautic_app.domain import email_content, email_message, email_tokens
from mautic_app.domain import email_variants as variant_rules
from mautic_app.models import (
    CompanyContact,
    Contact,
    DoNotContact,
    Email,
    EmailLink,
    EmailSegment,
    EmailSend,
    EmailStat,
    FrequencyRule,
    SegmentContact,
    User,
)
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import bulk, email_variants, mailer, points
from mautic_app.services import contacts as contact_service
from mautic_app.services import fields as field_service
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

BROADCAST_TASK = "mautic.emails.send_broadcast"
DELIVER_TASK = "mautic.emails.deliver"
ACTIVE = ("scheduled", "running", "paused", "waiting")  # waiting: an A/B test's share is sent, the winner not chosen yet
LEASE = timedelta(seconds=120)  # a run renews it every batch; a batch never takes this long
RUN_SECONDS = 20.0  # one task's share before it queues the next (so pause and cancel act within a batch)
RETRY_DELAYS = (1.0, 2.0, 4.0)  # a message the server refused for now (4xx) is tried again after these
STUCK_AFTER = timedelta(minutes=10)  # a template send still "sending" this long died with its worker
MARKETING_SOURCES = ("broadcast", "ab_test", "campaign")  # what frequency rules limit
RECIPIENT_FIELDS = frozenset({"email", "firstname", "lastname", "owner_id", "preferred_locale"})  # read for every message
PERIODS = {"DAY": timedelta(days=1), "WEEK": timedelta(days=7), "MONTH": timedelta(days=30)}


class SendError(ValueError):
    """Why an e-mail cannot be sent, in the marketer's words."""


# ---------------------------------------------------------------- what a message is made of


@dataclass
class Content:
    """An e-mail ready to be filled for each contact: tokens parsed once, links pointing at their redirects."""

    email_id: int
    email_type: str
    from_address: str
    from_name: str
    reply_to: str
    bcc: str
    headers: dict[str, str]
    preheader: str
    use_owner_as_sender: bool
    subject: email_tokens.Prepared
    html: email_tokens.Prepared
    text: email_tokens.Prepared
    subject_text: str
    domain: str
    fields: frozenset[str]  # the contact fields its tokens show


CT_MARK = "__mautic_ct__"  # stands for the recipient's tracking hash in rewritten links until it is known


def _prepare(session: Session, email: Email, cfg: mailer.TransportConfig, *, track_links: bool = True) -> Content:
    """Parse an e-mail's parts once for a whole run; its links get their redirects (made once per e-mail)."""
    assert email.id is not None
    html = email.custom_html
    if not html.strip() and email.content_mjml.strip():
        html = email_content.finish_html(email_content.compile_mjml(email.content_mjml))
    text = email.plain_text or email_content.plain_text(html)
    if "{tracking_pixel}" not in html:
        html = html.replace("</body>", "{tracking_pixel}</body>") if "</body>" in html else html + "{tracking_pixel}"
    if track_links:
        redirects = _redirects(session, email.id, email_content.links_in(html))
        base = get_settings().base_url.rstrip("/")
        html = email_content.rewrite_links(html, lambda url: f"{base}/r/{redirects[url]}?ct={CT_MARK}" if url in redirects else None)
    sender = email.from_address or cfg.from_address
    subject, html_part, text_part = email_tokens.prepare(email.subject), email_tokens.prepare(html), email_tokens.prepare(text)
    return Content(
        email_id=email.id, email_type=email.email_type, from_address=sender, from_name=email.from_name or cfg.from_name,
        reply_to=email.reply_to, bcc=email.bcc, headers={str(k): str(v) for k, v in (email.headers or {}).items()},
        preheader=email.preheader, use_owner_as_sender=email.use_owner_as_sender,
        subject=subject, html=html_part, text=text_part, subject_text=email.subject, domain=(sender.rpartition("@")[2] or "localhost"),
        fields=email_tokens.contact_fields(subject, html_part, text_part),
    )


def _redirects(session: Session, email_id: int, urls: Sequence[str]) -> dict[str, str]:
    """Each link's redirect id, made the first time the e-mail goes out with it."""
    if not urls:
        return {}
    known = {link.url: link.redirect_id for link in session.exec(select(EmailLink).where(col(EmailLink.email_id) == email_id))}
    for url in urls:
        if url not in known:
            link = EmailLink(email_id=email_id, url=url, redirect_id=secrets.token_urlsafe(12))
            session.add(link)
            known[url] = link.redirect_id
    session.flush()
    return known


@dataclass
class Recipient:
    stat_id: int
    contact_id: int | None
    address: str
    tracking_hash: str
    message_id: str
    values: dict[str, Any]
    owner: dict[str, Any] | None = None
    company: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    email_id: int = 0  # the version sent (an A/B variant or a translation); 0: the e-mail itself


def _urls(tracking_hash: str) -> dict[str, str]:
    base = get_settings().base_url.rstrip("/")
    return {
        "unsubscribe_url": f"{base}/email/unsubscribe/{tracking_hash}",
        "dnc_url": f"{base}/email/unsubscribe/{tracking_hash}",
        "webview_url": f"{base}/email/view/{tracking_hash}",
        "tracking_pixel_url": f"{base}/email/{tracking_hash}.gif",
        "preferences_url": f"{base}/email/preferences/{tracking_hash}",
    }


def _context(content: Content, r: Recipient, today: date | None = None) -> email_tokens.TokenContext:
    return email_tokens.TokenContext(
        contact=r.values, company=r.company, owner=r.owner, urls=_urls(r.tracking_hash), signature=_signature(r.owner, content.from_name),
        subject=content.subject_text, today=today or date.today(), extra=r.extra,
    )


def render(content: Content, r: Recipient, *, today: date | None = None, subject_prefix: str = "",
           to_name: str | None = None) -> email_message.Outgoing:
    """One recipient's message: tokens filled (contact values escaped in HTML), links carrying their hash;
    addressed to the contact by name unless ``to_name`` is given (a copy to someone else)."""
    ctx = _context(content, r, today)
    urls = ctx.urls
    from_address, from_name = content.from_address, content.from_name
    if content.use_owner_as_sender and r.owner and r.owner.get("email"):
        from_address = r.owner["email"]
        from_name = f"{r.owner.get('first_name', '')} {r.owner.get('last_name', '')}".strip()
    marketing = content.email_type == "list"
    return email_message.build_message(
        from_address=from_address, from_name=from_name, to_address=r.address,
        to_name=" ".join(str(r.values.get(k) or "") for k in ("firstname", "lastname")).strip() if to_name is None else to_name,
        subject=subject_prefix + email_tokens.render(content.subject, ctx, html=False),
        html=email_tokens.render(content.html, ctx, html=True).replace(CT_MARK, r.tracking_hash),
        text=email_tokens.render(content.text, ctx, html=False),
        reply_to=content.reply_to, bcc=content.bcc, headers={**content.headers, "X-Mautic-Stat": r.tracking_hash},
        message_id=r.message_id, list_unsubscribe_url=urls["unsubscribe_url"] if marketing else None,
        list_unsubscribe_post=marketing, preheader=content.preheader,
    )


def _signature(owner: dict[str, Any] | None, from_name: str) -> str:
    name = f"{owner.get('first_name', '')} {owner.get('last_name', '')}".strip() if owner else ""
    return f"Best regards, {name or from_name}"


def _owners(session: Session, owner_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not owner_ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(owner_ids))).all()
    return {u.id: {"first_name": u.first_name, "last_name": u.last_name, "email": u.email, "position": u.position, "username": u.username}
            for u in users if u.id is not None}


def _companies(session: Session, contact_ids: list[int], fields: frozenset[str] | None = None) -> dict[int, dict[str, Any]]:
    """Each contact's primary company's values (all, or those of ``fields``): contact field tokens fall back to them."""
    t = field_service.table(session=session, obj="company")
    selected = [t] if fields is None else [t.c[f] for f in sorted(fields) if f in t.c]
    if not selected:
        return {}
    cc = table_of(CompanyContact)
    rows = session.execute(
        sa.select(cc.c.contact_id, *selected).join(t, t.c.id == cc.c.company_id)
        .where(db.among(session, cc.c.contact_id, contact_ids), cc.c.is_primary.is_(True))
    ).mappings().all()
    return {r["contact_id"]: {k: v for k, v in r.items() if k != "contact_id"} for r in rows}


# ---------------------------------------------------------------- broadcasts: starting, pausing, progress


def _segments(session: Session, email_id: int) -> tuple[list[int], list[int]]:
    rows = session.exec(select(EmailSegment).where(col(EmailSegment.email_id) == email_id)).all()
    return [r.segment_id for r in rows if not r.excluded], [r.segment_id for r in rows if r.excluded]


def _pending(family: list[int], included: list[int], excluded: list[int], after: int = 0) -> sa.Select[Any]:
    """Contacts of the included segments, not in an excluded one, with an address, this e-mail (none of its
    ``family`` of versions) not yet theirs: a contact in two included segments is one row. ``after``: only ids
    above it (a broadcast's cursor, so each batch starts where the last one ended instead of scanning everyone
    sent so far)."""
    sc, contacts, stats = table_of(SegmentContact), table_of(Contact), table_of(EmailStat)
    excluded_sc = sc.alias("excluded_members")
    # The cursor is repeated on the joined tables: a planner that merges them by contact id then starts at the
    # cursor instead of reading every member and every message sent so far (each batch would cost more).
    query = (
        sa.select(contacts.c.id).where(
            contacts.c.id > after,
            sa.exists().where(sc.c.contact_id == contacts.c.id, sc.c.contact_id > after, sc.c.segment_id.in_(included),
                              sc.c.manually_removed.is_(False)),
            contacts.c.email.is_not(None), contacts.c.email != "",
            ~sa.exists().where(stats.c.email_id.in_(family), stats.c.contact_id == contacts.c.id, stats.c.contact_id > after),
        )
    )
    if excluded:
        query = query.where(~sa.exists().where(excluded_sc.c.contact_id == contacts.c.id, excluded_sc.c.segment_id.in_(excluded),
                                               excluded_sc.c.manually_removed.is_(False)))
    return query


def problems(email: Email, *, included: list[int] | None = None) -> list[str]:
    """What stops an e-mail from going out, in the marketer's words (empty: it can be sent)."""
    found = []
    if not email.subject.strip():
        found.append("It has no subject.")
    if not (email.custom_html.strip() or email.content_mjml.strip()):
        found.append("It has no content.")
    if not email.is_published:
        found.append("It is not published.")
    if included is not None and not included:
        found.append("It has no segment to go to.")
    return found


def pending_count(*, session: Session, email_id: int) -> int:
    """How many contacts a broadcast started now would send to."""
    included, excluded = _segments(session, email_id)
    if not included:
        return 0
    family = email_variants.family(session=session, email_id=email_id)
    return int(session.execute(sa.select(sa.func.count()).select_from(_pending(family, included, excluded).subquery())).scalar_one())


def start_broadcast(*, session: Session, email_id: int, scheduled_at: datetime | None = None, user_id: int | None = None) -> EmailSend:
    """Send a segment e-mail to every member of its segments who has not had it yet, now or at
    ``scheduled_at``. One broadcast of an e-mail at a time."""
    email = session.get(Email, email_id)
    if email is None:
        raise SendError("This e-mail does not exist (it may have been deleted).")
    if email.email_type != "list":
        raise SendError("Only segment e-mails are broadcast; template e-mails are sent by forms, point triggers, campaigns and the API.")
    included, _excluded = _segments(session, email_id)
    found = problems(email, included=included)
    if found:
        raise SendError(" ".join(found))
    if session.exec(select(EmailSend).where(col(EmailSend.email_id) == email_id, col(EmailSend.status).in_(ACTIVE))).first():
        raise SendError("This e-mail is already being sent (or scheduled): pause, resume or cancel that broadcast.")
    now = utcnow()
    due = scheduled_at is None or scheduled_at <= now
    if email.variant_start_date is None and email_variants.plan(session=session, email=email).testing:
        email.variant_start_date = scheduled_at or now  # the A/B test's clock starts with its first broadcast
        session.add(email)
    send = EmailSend(email_id=email_id, status="running" if due else "scheduled", scheduled_at=scheduled_at,
                     total=pending_count(session=session, email_id=email_id), created_by=user_id, started_at=now if due else None)
    session.add(send)
    session.flush()
    assert send.id is not None
    if due:
        db.enqueue(session, BROADCAST_TASK, send.id, new_chain())
    _announce(session, send)
    return send


def new_chain() -> str:
    return secrets.token_hex(8)


def _change(session: Session, send_id: int, *, to: str, allowed_from: tuple[str, ...]) -> EmailSend:
    send = session.get(EmailSend, send_id)
    if send is None:
        raise SendError("This broadcast does not exist.")
    if send.status not in allowed_from:
        raise SendError(f"This broadcast is {send.status}.")
    send.status = to
    if to in ("cancelled",):
        send.finished_at = utcnow()
    session.add(send)
    session.flush()
    _announce(session, send)
    return send


def pause(*, session: Session, send_id: int) -> EmailSend:
    """Stop after the batch in flight; the rest wait for resume."""
    return _change(session, send_id, to="paused", allowed_from=("running", "scheduled", "waiting"))


def resume(*, session: Session, send_id: int) -> EmailSend:
    send = _change(session, send_id, to="running", allowed_from=("paused",))
    send.started_at = send.started_at or utcnow()
    db.enqueue(session, BROADCAST_TASK, send_id, new_chain())
    return send


def cancel(*, session: Session, send_id: int) -> EmailSend:
    """Stop for good; contacts not reached yet are not sent (a new broadcast would reach them)."""
    return _change(session, send_id, to="cancelled", allowed_from=ACTIVE)


def progress_of(send: EmailSend, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    done = send.sent + send.failed + send.unknown + send.skipped
    total = max(send.total, done)
    elapsed = (now - send.started_at).total_seconds() if send.started_at else 0.0
    rate = done / elapsed if elapsed > 0 and done else 0.0
    left = max(0, total - done)
    return {
        "id": send.id, "email_id": send.email_id, "status": send.status, "total": total, "sent": send.sent,
        "failed": send.failed, "unknown": send.unknown, "skipped": send.skipped, "done": done,
        "percent": round(100 * done / total) if total else (100 if send.status == "finished" else 0),
        "rate": round(rate, 1), "seconds_left": round(left / rate) if rate and send.status == "running" else None,
        "scheduled_at": send.scheduled_at.isoformat() if send.scheduled_at else None, "error": send.error,
    }


def progress(*, session: Session, send_id: int) -> dict[str, Any] | None:
    send = session.get(EmailSend, send_id)
    return progress_of(send) if send else None


def latest_send(*, session: Session, email_id: int) -> dict[str, Any] | None:
    send = session.exec(select(EmailSend).where(col(EmailSend.email_id) == email_id).order_by(col(EmailSend.id).desc())).first()
    return progress_of(send) if send else None


def _announce(session: Session, send: EmailSend) -> None:
    changefeed.publish_after_commit(session, f"email:{send.email_id}", {"progress": progress_of(send)})
    changefeed.publish_after_commit(session, "emails", {"id": send.email_id, "action": "stats"})


# ---------------------------------------------------------------- broadcasts: running


def worker_id(chain: str) -> str:
    return f"{chain}@{socket.gethostname()}:{os.getpid()}"


def _holder_gone(owner: str) -> bool:
    """The lease's holder is a process of this machine that no longer runs (killed, crashed)."""
    chain_host, _, pid = owner.rpartition(":")
    host = chain_host.partition("@")[2]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's: only its lease running out tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _take(session: Session, send_id: int, me: str, now: datetime) -> EmailSend | None:
    """Take the broadcast's lease for this run: free, ours (the chain passing it on), run out, or held by a
    process that died. Rows a dead holder left in "sending" become "unknown" (never re-sent)."""
    send = session.get(EmailSend, send_id)
    if send is None or send.status != "running":
        return None
    owner = send.lease_owner
    chain = me.partition("@")[0]
    mine = owner is not None and owner.partition("@")[0] == chain
    if owner is not None and not mine and send.lease_until is not None and send.lease_until > now and not _holder_gone(owner):
        return None
    sends = table_of(EmailSend)
    owner_is = sends.c.lease_owner.is_(None) if owner is None else sends.c.lease_owner == owner
    taken = session.execute(sa.update(sends).where(sends.c.id == send_id, sends.c.status == "running", owner_is)
                            .values(lease_owner=me, lease_until=now + LEASE))
    if db.rows_changed(taken) != 1:
        return None  # someone else took it in between
    stats = table_of(EmailStat)
    session.execute(sa.delete(stats).where(stats.c.send_id == send_id, stats.c.status == "reserved"))  # never handed over: claimed again
    lost = db.rows_changed(session.execute(sa.update(stats).where(stats.c.send_id == send_id, stats.c.status == "sending")
                                           .values(status="unknown", error="The worker sending it stopped; it may have been delivered.")))
    session.refresh(send)
    if lost:
        log.warning("broadcast %s: %s messages were in flight when their worker died; marked delivery unknown", send_id, lost)
        send.unknown += lost
        session.add(send)
        _announce(session, send)
    return send


def _renew(session: Session, send_id: int, me: str, now: datetime, *, running: bool = True) -> bool:
    """Extend the lease if it is still ours (and, for claiming more, the broadcast still running)."""
    sends = table_of(EmailSend)
    query = sa.update(sends).where(sends.c.id == send_id, sends.c.lease_owner == me)
    if running:
        query = query.where(sends.c.status == "running")
    return db.rows_changed(session.execute(query.values(lease_until=now + LEASE))) == 1


def _let_go(session: Session, send_id: int, me: str) -> None:
    sends = table_of(EmailSend)
    session.execute(sa.update(sends).where(sends.c.id == send_id, sends.c.lease_owner == me).values(lease_owner=None, lease_until=None))


def _frequency_blocked(session: Session, contact_ids: list[int], now: datetime) -> set[int]:
    """Contacts a marketing message now would take past their frequency rule (their own, else the
    installation's), or who paused e-mail."""
    rules = {r.contact_id: r for r in session.exec(select(FrequencyRule).where(
        db.among(session, col(FrequencyRule.contact_id), contact_ids), col(FrequencyRule.channel) == "email"))}
    blocked = {cid for cid, r in rules.items() if r.pause_from and r.pause_to and r.pause_from <= now <= r.pause_to}
    default = mailer.frequency_rule(session=session)
    limits: dict[int, tuple[int, timedelta]] = {}
    for cid in contact_ids:
        rule = rules.get(cid)
        if rule and rule.frequency_number and rule.frequency_time in PERIODS:
            limits[cid] = (rule.frequency_number, PERIODS[rule.frequency_time])
        elif default is not None:
            limits[cid] = default
    if not limits:
        return blocked
    stats = table_of(EmailStat)
    oldest = now - max(period for _n, period in limits.values())
    counted = session.execute(
        sa.select(stats.c.contact_id, stats.c.date_sent).where(
            db.among(session, stats.c.contact_id, list(limits)), stats.c.source.in_(MARKETING_SOURCES),
            stats.c.status.in_(("sent", "unknown")), stats.c.date_sent >= oldest)
    ).all()
    sent: dict[int, list[datetime]] = {}
    for cid, when in counted:
        sent.setdefault(cid, []).append(when)
    for cid, (number, period) in limits.items():
        if sum(1 for when in sent.get(cid, ()) if when >= now - period) >= number:
            blocked.add(cid)
    return blocked


def _tracking_hashes(n: int) -> list[str]:
    """``n`` unguessable hashes, each like ``secrets.token_urlsafe(24)``, from one read of the system's randomness
    (a read per message is a system call per message)."""
    raw = secrets.token_bytes(24 * n)
    return [base64.urlsafe_b64encode(raw[i:i + 24]).decode() for i in range(0, 24 * n, 24)]


@dataclass
class Claim:
    recipients: list[Recipient]
    skipped: int
    test_done: bool = False  # an A/B test's share has been sent: the broadcast waits for the winner


def _claim(session: Session, send: EmailSend, me: str, size: int, content: Content, plan: variant_rules.Plan, *,
           reserve: bool = False) -> Claim | None:
    """Renew the lease and claim the next contacts (ledger rows in "sending", or "reserved" for a batch claimed
    while the one before is still going out), each with the version of the e-mail ``plan`` gives them; None when
    the broadcast stopped being ours (paused, cancelled, taken over). While an A/B test runs, only its share of
    the audience is claimed, an even sample across contact ids. ``content``: the versions' domain and the
    contact fields their tokens show (only those are read)."""
    assert send.id is not None
    now = utcnow()
    if not _renew(session, send.id, me, now):
        return None
    included, excluded = _segments(session, send.email_id)
    family = email_variants.family(session=session, email_id=send.email_id)
    stats, by_id = table_of(EmailStat), table_of(Contact).c.id
    source = "ab_test" if plan.testing else "broadcast"
    if plan.testing:
        room = variant_rules.test_size(send.total, plan.test_percent) - int(session.execute(
            sa.select(sa.func.count()).where(stats.c.send_id == send.id)).scalar_one())
        ids = list(session.execute(_pending(family, included, excluded).order_by(email_variants.sample_order(by_id))
                                   .limit(min(size, room))).scalars()) if room > 0 else []
        if not ids:
            return Claim([], 0, test_done=True)
    else:
        # The cursor: the highest contact id sent so far (one step back along the send's unique index). After an
        # A/B test, only the rows sent since count: the test's are a sample from anywhere.
        cursor = sa.select(sa.func.max(stats.c.contact_id)).where(stats.c.send_id == send.id)
        after = session.execute(cursor.where(stats.c.source == source) if plan.weights else cursor).scalar() or 0
        ids = list(session.execute(_pending(family, included, excluded, after).order_by(by_id).limit(size)).scalars())
        if not ids and after:  # members who joined behind the cursor while it ran
            ids = list(session.execute(_pending(family, included, excluded).order_by(by_id).limit(size)).scalars())
    if not ids:
        return Claim([], 0)
    values = contact_service.read_many(session=session, ids=ids, columns=content.fields | RECIPIENT_FIELDS)
    dnc_table = table_of(DoNotContact)
    dnc = set(session.execute(sa.select(dnc_table.c.contact_id).where(
        db.among(session, dnc_table.c.contact_id, ids), dnc_table.c.channel == "email")).scalars())
    blocked = _frequency_blocked(session, [i for i in ids if i not in dnc], now)
    owners = _owners(session, {v["owner_id"] for v in values.values() if v.get("owner_id")})
    companies = _companies(session, ids, content.fields)
    rows: list[tuple[Any, ...]] = []
    recipients: list[Recipient] = []
    skipped = 0
    for cid, tracking_hash in zip(ids, _tracking_hashes(len(ids)), strict=True):
        v = values[cid]
        version = plan.version_for(cid, v.get("preferred_locale"))
        mid = email_message.message_id(version, cid, f"b{send.id}", content.domain)
        reason = "Do not contact" if cid in dnc else "Frequency rule" if cid in blocked else ""
        status = "skipped" if reason else "reserved" if reserve else "sending"
        rows.append((version, cid, send.id, v.get("email") or "", tracking_hash, status, mid, reason, source, now, 0, {}, False, 0, False))
        if reason:
            skipped += 1
        else:
            owner = owners.get(v["owner_id"]) if v.get("owner_id") else None
            recipients.append(Recipient(0, cid, v.get("email") or "", tracking_hash, mid, v, owner, companies.get(cid, {}), email_id=version))
    stat_ids = bulk.insert_new_rows(session=session, table=EmailStat, columns=(
        "email_id", "contact_id", "send_id", "email_address", "tracking_hash", "status", "message_id", "error", "source", "date_added",
        "retry_count", "tokens", "is_read", "open_count", "viewed_in_browser"),
        rows=rows)
    by_contact = {row[1]: sid for row, sid in zip(rows, stat_ids, strict=True)}
    for r in recipients:
        r.stat_id = by_contact[r.contact_id] if r.contact_id is not None else 0
    if skipped:
        send.skipped += skipped
        session.add(send)
    return Claim(recipients, skipped)


@dataclass
class Outcome:
    status: str  # sent | failed | unknown
    answer: str
    tries: int


def _rendered(contents: dict[int, Content], recipients: Sequence[Recipient]) -> tuple[list[tuple[email_message.Outgoing, int]], dict[int, Outcome]]:
    """Each recipient's message, from the version of the e-mail it gets, or the reason it cannot be one (a line
    break a contact's value would put into the subject or a name): that message fails alone, the others go."""
    messages, refused = [], {}
    for r in recipients:
        try:
            messages.append((render(contents[r.email_id], r), r.stat_id))
        except email_message.HeaderError as exc:
            refused[r.stat_id] = Outcome("failed", f"Not sent: {exc}", 0)
    return messages, refused


def _deliver(transport: mailer.Transport, messages: Sequence[tuple[email_message.Outgoing, int]],
             wait: Callable[[float], None] = time.sleep) -> dict[int, Outcome]:
    """Send a batch over the transport's connections; messages the server refused for now are tried again
    after a pause, alone (one bad address never holds the others back or sends them twice)."""
    outcomes: dict[int, Outcome] = {}
    todo = messages
    for attempt in range(len(RETRY_DELAYS) + 1):
        results = transport.send_many(todo)
        again = []
        for (msg, stat_id), result in zip(todo, results, strict=True):
            if result.outcome == "temporary" and attempt < len(RETRY_DELAYS):
                again.append((msg, stat_id))
            else:
                status = {"sent": "sent", "unknown": "unknown"}.get(result.outcome, "failed")
                outcomes[stat_id] = Outcome(status, result.answer, attempt + 1)
        if not again:
            break
        wait(RETRY_DELAYS[attempt])
        todo = again
    return outcomes


def _record(session: Session, send_id: int | None, me: str | None, outcomes: dict[int, Outcome],
            recipients: Sequence[Recipient], now: datetime) -> bool:
    """Write each message's outcome and the counters (the timeline reads sent and failed messages from the ledger);
    False when the lease was lost meanwhile (its new holder already marked these "unknown")."""
    if send_id is not None and me is not None and not _renew(session, send_id, me, now, running=False):
        return False  # paused or cancelled meanwhile still records what went out
    bulk.update_rows(session=session, table=EmailStat, changes={
        stat_id: {"status": o.status, "error": "" if o.status == "sent" else o.answer[:2000], "retry_count": o.tries - 1,
                  "date_sent": now if o.status in ("sent", "unknown") else None}
        for stat_id, o in outcomes.items()})
    counts = {k: sum(1 for o in outcomes.values() if o.status == k) for k in ("sent", "failed", "unknown")}
    by_stat = {r.stat_id: r for r in recipients}
    if send_id is not None:
        send = session.get(EmailSend, send_id)
        assert send is not None
        send.sent += counts["sent"]
        send.failed += counts["failed"]
        send.unknown += counts["unknown"]
        session.add(send)
        _announce(session, send)
    emails = table_of(Email)
    sent = [by_stat[stat_id] for stat_id, o in outcomes.items() if o.status == "sent" and stat_id in by_stat]
    for email_id, n in Counter(r.email_id for r in sent).items():  # per version each message was made from
        session.execute(sa.update(emails).where(emails.c.id == email_id).values(sent_count=emails.c.sent_count + n))
    if sent and points.has_actions(session=session, action_type="email.send"):
        for r in sent:
            if r.contact_id is None:
                continue
            try:
                points.score(session=session, contact_id=r.contact_id, action_type="email.send", context={"email_id": r.email_id})
            except contact_service.ContactError:  # deleted while its message went out
                continue
    return True


def run_broadcast(*, send_id: int, chain: str, seconds: float = RUN_SECONDS, batch: int | None = None) -> bool:
    """One run of a broadcast: batches until ``seconds`` are used; True when there is more to send (the
    task queues the next run of the chain, which inherits the lease)."""
    me = worker_id(chain)
    batch = batch or get_settings().email_batch_size
    with db.session_scope() as session:
        send = _take(session, send_id, me, utcnow())
        if send is None:
            return False
        email = session.get(Email, send.email_id)
        cfg = mailer.config(session=session)
        plan = email_variants.plan(session=session, email=email) if email is not None else variant_rules.Plan(send.email_id)
        contents: dict[int, Content] = {}
        try:
            for version in [session.get(Email, i) for i in plan.email_ids()]:
                if version is not None and version.id is not None:
                    contents[version.id] = _prepare(session, version, cfg)
        except email_content.ContentError as exc:
            error = f"The content of “{version.name if version else ''}” does not compile: {exc}"
        else:
            error = "" if email is not None else "The e-mail was deleted."
        content = contents.get(send.email_id) or next(iter(contents.values()), None)
        if content is not None:  # claims read what any version's tokens show
            content = replace(content, fields=frozenset().union(*(c.fields for c in contents.values())))
        if error or content is None:
            send.status, send.error, send.finished_at = "paused", error, utcnow()
            _let_go(session, send_id, me)
            _announce(session, send)
            return False
    batch = mailer.batch_for(cfg, batch)  # the transport keeps to its rate limit (shared by every sender)
    deadline = time.monotonic() + seconds
    with db.session_scope() as session:
        claim = _settle(session, send_id, me, _claim_next(session, send_id, me, batch, content, plan))
    if claim is None:
        return False
    with mailer.open_transport(cfg) as transport, ThreadPoolExecutor(1, thread_name_prefix="broadcast") as courier:
        messages, refused = _rendered(contents, claim.recipients)
        while True:
            going = courier.submit(_deliver, transport, messages) if messages else None
            # While this batch goes out, the next one is claimed and made. It stays "reserved" until this one is
            # recorded, so a worker killed now leaves one batch of unknown outcome, and the next is claimed again.
            following: Claim | None = None
            more = time.monotonic() < deadline
            if more:
                with db.session_scope() as session:
                    following = _claim_next(session, send_id, me, batch, content, plan, reserve=True)
            next_messages, next_refused = _rendered(contents, following.recipients) if following else ([], {})
            outcomes = refused | (going.result() if going else {})
            with db.session_scope() as session:  # paused or cancelled meanwhile, what went out is recorded
                if not _record(session, send_id, me, outcomes, claim.recipients, utcnow()):
                    return False
                if not more:
                    return True  # the next run of the chain goes on from here, holding the lease
                following = _settle(session, send_id, me, following)  # handed over; or finished, waiting, stopped
            if following is None:
                return False
            claim, messages, refused = following, next_messages, next_refused


def _claim_next(session: Session, send_id: int, me: str, batch: int, content: Content, plan: variant_rules.Plan, *,
                reserve: bool = False) -> Claim | None:
    send = session.get(EmailSend, send_id)
    return _claim(session, send, me, batch, content, plan, reserve=reserve) if send is not None else None


def _settle(session: Session, send_id: int, me: str, claim: Claim | None) -> Claim | None:
    """What a claimed batch means once the one before it is recorded: the batch to send now (a reserved one is
    handed over), or None when the broadcast finished, waits for its A/B test's winner, or stopped being ours
    (the lease is let go, a reserved batch released)."""
    send = session.get(EmailSend, send_id)
    stats = table_of(EmailStat)
    if claim is None or send is None or not _renew(session, send_id, me, utcnow()):
        session.execute(sa.delete(stats).where(stats.c.send_id == send_id, stats.c.status == "reserved"))
        _let_go(session, send_id, me)
        return None
    if claim.test_done:
        email = session.get(Email, send.email_id)
        send.status = "waiting"
        send.scheduled_at = max(utcnow(), email_variants.winner_due_at(email)) if email is not None else utcnow()
        session.add(send)
        _let_go(session, send_id, me)
        _announce(session, send)
        return None
    if not claim.recipients and not claim.skipped:
        _finish(session, send_id, me)
        return None
    session.execute(sa.update(stats).where(stats.c.send_id == send_id, stats.c.status == "reserved").values(status="sending"))
    return claim


def _finish(session: Session, send_id: int, me: str) -> None:
    send = session.get(EmailSend, send_id)
    if send is None:
        return
    send.status, send.finished_at, send.lease_owner, send.lease_until = "finished", utcnow(), None, None
    send.total = send.sent + send.failed + send.unknown + send.skipped
    session.add(send)
    _announce(session, send)


# ---------------------------------------------------------------- the beat sweep


def due_and_stalled(*, session: Session, now: datetime | None = None) -> list[int]:
    """Broadcasts to (re)start now: scheduled ones whose time has come (they start running), and running
    ones nobody holds, whose lease ran out, or whose holder died. Template sends that died in flight are
    marked "unknown"; ones whose task was lost are queued again."""
    now = now or utcnow()
    found = []
    for send in session.exec(select(EmailSend).where(col(EmailSend.status).in_(("scheduled", "running", "waiting")))):
        assert send.id is not None
        if send.status == "waiting":
            if send.scheduled_at is None or send.scheduled_at <= now:  # the A/B test ran its time: the winner goes to the rest
                email_variants.choose_winner(session=session, email_id=send.email_id)
                send.status = "running"
                session.add(send)
                _announce(session, send)
                found.append(send.id)
        elif send.status == "scheduled":
            if send.scheduled_at is not None and send.scheduled_at <= now:
                send.status, send.started_at = "running", now
                send.total = pending_count(session=session, email_id=send.email_id)
                session.add(send)
                _announce(session, send)
                found.append(send.id)
        elif send.lease_owner is None or (send.lease_until is not None and send.lease_until <= now) or _holder_gone(send.lease_owner):
            found.append(send.id)
    stats = table_of(EmailStat)
    session.execute(sa.update(stats).where(stats.c.send_id.is_(None), stats.c.status == "sending", stats.c.date_added < now - STUCK_AFTER)
                    .values(status="unknown", error="The worker sending it stopped; it may have been delivered."))
    lost = list(session.execute(sa.select(stats.c.id).where(
        stats.c.send_id.is_(None), stats.c.status == "queued", stats.c.date_added < now - timedelta(minutes=1)).order_by(stats.c.id)).scalars())
    for i in range(0, len(lost), DELIVER_GROUP):
        db.enqueue(session, DELIVER_MANY_TASK, tuple(lost[i:i + DELIVER_GROUP]))
    for send_id in found:
        db.enqueue(session, BROADCAST_TASK, send_id, new_chain())
    return found


# ---------------------------------------------------------------- template e-mails, one at a time


def send_to_contact(*, session: Session, email_id: int, contact_id: int, source: str, source_id: int | None = None,
                    tokens: dict[str, Any] | None = None) -> EmailStat:
    """Queue a template e-mail (or a segment e-mail sent by hand) to one contact: its ledger row now, the
    message after the commit (``deliver``). A contact who may not be e-mailed gets a "skipped" row."""
    email = session.get(Email, email_id)
    if email is None:
        raise SendError("This e-mail does not exist (it may have been deleted).")
    found = problems(email)
    if found:
        raise SendError(" ".join(found))
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise SendError("This contact does not exist.")
    extra = {str(k): str(v) for k, v in (tokens or {}).items()}
    for name, value in extra.items():
        email_message.check_header(f"token {name}", value)  # tokens may reach the subject
    dnc = session.exec(select(DoNotContact).where(col(DoNotContact.contact_id) == contact_id, col(DoNotContact.channel) == "email")).first()
    reason = "Do not contact" if dnc else "" if contact.email else "No e-mail address"
    version = email_variants.plan(session=session, email=email).version_for(contact_id, contact.preferred_locale)  # its language
    stat = EmailStat(email_id=version, contact_id=contact_id, email_address=contact.email or "", tracking_hash=secrets.token_urlsafe(24),
                     status="skipped" if reason else "queued", error=reason, source=source[:32], source_id=source_id, tokens=extra)
    session.add(stat)
    session.flush()
    assert stat.id is not None
    if not reason:
        db.enqueue(session, DELIVER_TASK, stat.id)
    return stat


def send_to_contacts(*, session: Session, email_id: int, contact_ids: Sequence[int], source: str, source_id: int | None = None,
                     marketing: bool = True) -> dict[int, Queued]:
    """Queue a template e-mail to many contacts at once (a campaign's batch): one ledger row each, in the caller's
    transaction, delivered after the commit in groups (``deliver_many``). Contacts who may not be e-mailed (do
    not contact, for a marketing e-mail; no address) get a "skipped" row."""
    email = session.get(Email, email_id)
    if email is None:
        raise SendError("This e-mail does not exist (it may have been deleted).")
    found = problems(email)
    if found:
        raise SendError(" ".join(found))
    ids = sorted({int(c) for c in contact_ids})
    people = {r.id: r for r in session.execute(sa.select(col(Contact.id), col(Contact.email), col(Contact.preferred_locale))
                                               .where(db.among(session, col(Contact.id), ids)))}
    dnc = set(session.execute(sa.select(col(DoNotContact.contact_id)).where(
        db.among(session, col(DoNotContact.contact_id), ids), col(DoNotContact.channel) == "email")).scalars()) if marketing else set()
    plan = email_variants.plan(session=session, email=email)
    hashes = _tracking_hashes(len(people))
    now = utcnow()
    rows: list[tuple[Any, ...]] = []
    out: dict[int, Queued] = {}
    for (cid, person), tracking_hash in zip(sorted(people.items()), hashes, strict=True):
        reason = "Do not contact" if cid in dnc else "" if person.email else "No e-mail address"
        status = "skipped" if reason else "queued"
        rows.append((plan.version_for(cid, person.preferred_locale), cid, person.email or "", tracking_hash, status, "", reason, 0,
                     source[:32], source_id, {}, False, 0, False, now))
        out[cid] = Queued(0, status, reason)
    # Set-based (COPY on PostgreSQL): a campaign's batch queues thousands at once.
    ids = bulk.insert_new_rows(session=session, table=EmailStat, columns=STAT_COLUMNS, rows=rows)
    for (cid, _person), stat_id in zip(sorted(people.items()), ids, strict=True):
        out[cid] = Queued(stat_id, out[cid].status, out[cid].error)
    queued = [q.stat_id for q in out.values() if q.status == "queued"]
    for i in range(0, len(queued), DELIVER_GROUP):
        db.enqueue(session, DELIVER_MANY_TASK, tuple(queued[i:i + DELIVER_GROUP]))
    return out


STAT_COLUMNS = ("email_id", "contact_id", "email_address", "tracking_hash", "status", "message_id", "error", "retry_count", "source",
                "source_id", "tokens", "is_read", "open_count", "viewed_in_browser", "date_added")


@dataclass(frozen=True)
class Queued:
    """A message a batch queued: its ledger row, and "queued" or "skipped" (with why)."""

    stat_id: int
    status: str
    error: str


DELIVER_GROUP = 100  # template messages one delivery task sends over one connection
DELIVER_MANY_TASK = "mautic.emails.deliver_many"


def deliver(*, stat_id: int) -> str | None:
    """Send one queued template e-mail (see :func:`deliver_many`)."""
    return deliver_many(stat_ids=[stat_id]).get(stat_id)


def deliver_many(*, stat_ids: Sequence[int]) -> dict[int, str]:
    """Send queued template e-mails: claim their ledger rows ("queued" -> "sending"), send with no connection
    held, over one connection, record. A row claimed already (a second delivery of it) is left alone."""
    with db.session_scope() as session:
        stats = table_of(EmailStat)
        claimed = sorted(session.execute(sa.update(stats).where(stats.c.id.in_(list(stat_ids)), stats.c.status == "queued")
                                         .values(status="sending").returning(stats.c.id)).scalars())
        if not claimed:
            return {}
        cfg = mailer.config(session=session)
        contents: dict[int, Content] = {}
        recipients: list[Recipient] = []
        outcomes: dict[int, Outcome] = {}
        for stat in session.execute(sa.select(EmailStat).where(col(EmailStat.id).in_(claimed))).scalars():
            assert stat.id is not None
            email = session.get(Email, stat.email_id)
            if email is None or stat.contact_id is None:
                stat.status, stat.error = "failed", "The e-mail or the contact was deleted."
                session.add(stat)
                outcomes[stat.id] = Outcome("failed", stat.error, 0)
                continue
            if stat.email_id not in contents:
                try:
                    contents[stat.email_id] = _prepare(session, email, cfg)
                except email_content.ContentError as exc:
                    stat.status, stat.error = "failed", f"The e-mail's content does not compile: {exc}"
                    session.add(stat)
                    outcomes[stat.id] = Outcome("failed", stat.error, 0)
                    continue
            recipients.append(_recipient(session, stat, contents[stat.email_id].domain))
        failed_already = dict(outcomes)
    messages, outcomes = _rendered(contents, recipients)
    if messages:
        with mailer.open_transport(cfg) as transport:
            outcomes |= _deliver(transport, messages)
    if recipients:
        with db.session_scope() as session:
            _record(session, None, None, outcomes, recipients, utcnow())
    return {stat_id: o.status for stat_id, o in (failed_already | outcomes).items()}


def _recipient(session: Session, stat: EmailStat, domain: str) -> Recipient:
    assert stat.id is not None and stat.contact_id is not None
    values = contact_service.read_many(session=session, ids=[stat.contact_id]).get(stat.contact_id, {})
    owner = _owners(session, {values["owner_id"]}).get(values["owner_id"]) if values.get("owner_id") else None
    mid = stat.message_id or email_message.message_id(stat.email_id, stat.contact_id, f"s{stat.id}", domain)
    stat.message_id = mid
    session.add(stat)
    return Recipient(stat.id, stat.contact_id, stat.email_address, stat.tracking_hash, mid, values, owner,
                     _companies(session, [stat.contact_id]).get(stat.contact_id, {}), dict(stat.tokens or {}), email_id=stat.email_id)


# ---------------------------------------------------------------- previews and tests


SAMPLE_CONTACT = {"firstname": "Ann", "lastname": "Example", "email": "ann@example.com", "company": "Example Ltd"}


def _sample(session: Session, contact_id: int | None) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    if contact_id is None:
        return dict(SAMPLE_CONTACT), None, {}
    values = contact_service.read_many(session=session, ids=[contact_id]).get(contact_id)
    if values is None:
        raise SendError("This contact does not exist.")
    owner = _owners(session, {values["owner_id"]}).get(values["owner_id"]) if values.get("owner_id") else None
    return values, owner, _companies(session, [contact_id]).get(contact_id, {})


def render_draft(*, session: Session, subject: str, source: str, mjml: bool, plain: str = "", from_name: str = "",
                 contact_id: int | None = None) -> dict[str, str]:
    """Content as ``contact_id`` (or a sample contact) would get it, saved or not: subject, HTML and text with
    tokens filled, links as written (nothing is tracked); "error" says why it does not compile."""
    try:
        html = email_content.finish_html(email_content.compile_mjml(source)) if mjml else email_content.finish_html(source)
    except email_content.ContentError as exc:
        return {"subject": subject, "html": "", "text": "", "error": str(exc)}
    values, owner, company = _sample(session, contact_id)
    ctx = email_tokens.TokenContext(contact=values, company=company, owner=owner, urls=_urls("preview"),
                                    signature=_signature(owner, from_name), subject=subject, today=date.today(), extra={})
    text = plain or email_content.plain_text(html)
    return {"subject": email_tokens.render(email_tokens.prepare(subject), ctx, html=False),
            "html": email_tokens.render(email_tokens.prepare(html), ctx, html=True),
            "text": email_tokens.render(email_tokens.prepare(text), ctx, html=False), "error": ""}


def render_preview(*, session: Session, email_id: int, contact_id: int | None = None) -> dict[str, str]:
    """A saved e-mail as ``contact_id`` (or a sample contact) would get it."""
    email = session.get(Email, email_id)
    if email is None:
        raise SendError("This e-mail does not exist (it may have been deleted).")
    mjml = bool(email.content_mjml.strip())
    return render_draft(session=session, subject=email.subject, source=email.content_mjml if mjml else email.custom_html, mjml=mjml,
                        plain=email.plain_text, from_name=email.from_name, contact_id=contact_id)


SEND_COPY_TASK = "mautic.emails.send_copy"


def _valid_address(to_address: str) -> str:
    try:
        return validate_email(to_address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise SendError(f"{to_address!r} is not a valid e-mail address: {exc}") from exc


def send_copy(*, email_id: int, to_address: str, contact_id: int | None = None, subject_prefix: str = "") -> str:
    """Send the e-mail to any address now, as ``contact_id`` (or a sample contact) would get it, with no
    tracking and nothing recorded: a test, or a form's "send an e-mail to a user". Returns the server's answer;
    raises :class:`SendError` with it."""
    address = _valid_address(to_address)
    with db.session_scope() as session:
        email = session.get(Email, email_id)
        if email is None:
            raise SendError("This e-mail does not exist (it may have been deleted).")
        cfg = mailer.config(session=session)
        content = _prepare(session, email, cfg, track_links=False)
        values, owner, company = _sample(session, contact_id)
    recipient = Recipient(0, contact_id, address, "copy", email_message.message_id(email_id, 0, f"t{secrets.token_hex(6)}", content.domain),
                          values, owner, company, email_id=email_id)
    message = render(content, recipient, subject_prefix=subject_prefix, to_name="")
    with mailer.open_transport(cfg) as transport:
        result = transport.send_many([(message, None)])[0]
    if result.outcome != "sent":
        raise SendError(f"The server did not take the message: {result.answer}")
    return result.answer


def send_test(*, email_id: int, to_address: str, contact_id: int | None = None) -> str:
    """A test of the e-mail to any address, subject marked "[Test]" (see :func:`send_copy`)."""
    return send_copy(email_id=email_id, to_address=to_address, contact_id=contact_id, subject_prefix="[Test] ")


def send_notice(*, to_addresses: list[str], subject: str, html: str, text: str) -> str:
    """A message of the app's own (a form's results) from the default sender, no tracking; the server's answer."""
    with db.session_scope() as session:
        cfg = mailer.config(session=session)
    email_message.check_header("subject", subject)
    domain = cfg.from_address.rpartition("@")[2] or "localhost"
    messages = [(email_message.build_message(from_address=cfg.from_address, from_name=cfg.from_name, to_address=_valid_address(a), to_name="",
                                             subject=subject, html=html, text=text,
                                             message_id=email_message.message_id(0, 0, f"n{secrets.token_hex(6)}", domain)), None)
                for a in to_addresses]
    with mailer.open_transport(cfg) as transport:
        results = transport.send_many(messages)
    refused = [r.answer for r in results if r.outcome != "sent"]
    if refused:
        raise SendError(f"The server did not take the message: {refused[0]}")
    return results[0].answer if results else ""


def rendered_for(*, session: Session, stat: EmailStat) -> str | None:
    """The HTML of a sent message, filled again for its contact ("view in browser" of a delivered one)."""
    email = session.get(Email, stat.email_id)
    if email is None or stat.contact_id is None:
        return None
    content = _prepare(session, email, mailer.config(session=session))
    recipient = _recipient(session, stat, content.domain)
    return email_tokens.render(content.html, _context(content, recipient), html=True).replace(CT_MARK, stat.tracking_hash)
