"""Reading tracked visits for marketers: who is on the sites now, visit charts, one contact's visits.

Read-only. Every query is bounded (a window, a range, a limit) and aggregates in SQL, so a
busy site's millions of hits never reach Python. Everything returned that came from a
visitor's browser (URL, title, referrer, browser name) is untrusted text for the caller to
render escaped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from mautic_app.models import Contact, ContactDevice, PageHit
from mautic_app.models.base import utcnow

UNITS = ("hour", "day", "week", "month")
MAX_BUCKETS = 2000  # a chart with more points than this is unreadable; pick a larger unit
# Constants are written into the SQL, not bound: PostgreSQL only groups by an expression it can
# see is the selected one, and two bound copies of 'day' are two different parameters.
_SQLITE_BUCKETS = {
    "hour": lambda c: sa.func.strftime(sa.literal_column("'%Y-%m-%d %H:00:00'"), c),
    "day": lambda c: sa.func.date(c),
    # The Monday of its week, as PostgreSQL's date_trunc('week', ...) gives.
    "week": lambda c: sa.func.date(c, sa.literal_column("'weekday 0'"), sa.literal_column("'-6 days'")),
    "month": lambda c: sa.func.strftime(sa.literal_column("'%Y-%m-01'"), c),
}


def visitor_name(firstname: str | None, lastname: str | None, email: str | None) -> str:
    """The name a marketer sees for a visitor: first and last name, else e-mail, else "Anonymous visitor"."""
    name = " ".join(p.strip() for p in (firstname, lastname) if p and p.strip())
    return name or email or "Anonymous visitor"


def _browser(client_info: Any) -> str:
    return str(client_info.get("name") or "") if isinstance(client_info, dict) else ""


def count_live_visitors(*, session: Session, within: timedelta = timedelta(minutes=30)) -> int:
    """How many contacts viewed a page in the last ``within``."""
    n: int = session.execute(
        sa.select(sa.func.count(sa.distinct(col(PageHit.contact_id))))
        .where(col(PageHit.date_hit) >= utcnow() - within, col(PageHit.contact_id).is_not(None))
    ).scalar_one()
    return n


def live_visitors(*, session: Session, within: timedelta = timedelta(minutes=30), limit: int = 50) -> list[dict[str, Any]]:
    """Who is on the sites now: each contact with hits in the last ``within`` and their latest hit, newest first."""
    recent = (
        sa.select(col(PageHit.contact_id), sa.func.max(PageHit.date_hit).label("last_hit"), sa.func.count().label("hits"))
        .where(col(PageHit.date_hit) >= utcnow() - within, col(PageHit.contact_id).is_not(None))
        .group_by(col(PageHit.contact_id))
        .order_by(sa.desc("last_hit"), sa.desc(col(PageHit.contact_id)))
        .limit(limit)
        .subquery()
    )
    other = aliased(PageHit)
    latest = (  # their latest hit, by the (contact, time) index
        sa.select(col(other.id)).where(col(other.contact_id) == recent.c.contact_id)
        .order_by(col(other.date_hit).desc(), col(other.id).desc()).limit(1).scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            recent.c.contact_id, recent.c.hits, col(PageHit.url), col(PageHit.url_title), col(PageHit.date_hit),
            col(Contact.firstname), col(Contact.lastname), col(Contact.email), col(Contact.is_identified),
            col(ContactDevice.device), col(ContactDevice.client_info),
        )
        .select_from(recent)
        .join(PageHit, col(PageHit.id) == latest)
        .join(Contact, col(Contact.id) == recent.c.contact_id)
        .outerjoin(ContactDevice, col(ContactDevice.id) == PageHit.device_id)
        .order_by(recent.c.last_hit.desc(), recent.c.contact_id.desc())
    ).all()
    return [
        {
            "contact_id": r.contact_id, "name": visitor_name(r.firstname, r.lastname, r.email),
            "identified": bool(r.is_identified), "url": r.url, "title": r.url_title or "", "date_hit": r.date_hit,
            "device": r.device or "", "browser": _browser(r.client_info), "hits": r.hits,
        }
        for r in rows
    ]


def _bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """Half-open [lo, hi) in UTC; a date ``end`` includes its whole day."""
    lo = start if isinstance(start, datetime) else datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = end if isinstance(end, datetime) else datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return lo, hi


def _in_range(lo: datetime, hi: datetime) -> list[sa.ColumnElement[bool]]:
    return [col(PageHit.date_hit) >= lo, col(PageHit.date_hit) < hi]


def _truncate(at: datetime, unit: str) -> datetime:
    at = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        return at
    at = at.replace(hour=0)
    if unit == "week":
        return at - timedelta(days=at.weekday())
    return at.replace(day=1) if unit == "month" else at


def _next(at: datetime, unit: str) -> datetime:
    if unit == "month":
        return at.replace(year=at.year + at.month // 12, month=at.month % 12 + 1)
    return at + {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[unit]


def _as_bucket(value: Any) -> datetime:
    """A bucket key as the database returns it (a string on SQLite, a naive UTC timestamp on PostgreSQL)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def hits_over_time(
    *, session: Session, start: date | datetime, end: date | datetime, unit: str = "day"
) -> list[tuple[datetime, int]]:
    """Page hits per hour, day, week or month (UTC) from ``start`` to ``end``, zero-filled, bucketed in SQL."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    lo, hi = _bounds(start, end)
    buckets: list[datetime] = []
    at = _truncate(lo, unit)
    while at < hi:
        buckets.append(at)
        at = _next(at, unit)
        if len(buckets) > MAX_BUCKETS:
            raise ValueError("too many points for one chart; choose a larger unit")
    if session.get_bind().dialect.name == "sqlite":
        bucket = _SQLITE_BUCKETS[unit](PageHit.date_hit)
    else:
        bucket = sa.func.date_trunc(sa.literal_column(f"'{unit}'"), sa.func.timezone(sa.literal_column("'UTC'"), PageHit.date_hit))
    counts = {
        _as_bucket(b): n
        for b, n in session.execute(sa.select(bucket, sa.func.count()).where(*_in_range(lo, hi)).group_by(bucket)).all()
    }
    return [(b, counts.get(b, 0)) for b in buckets]


def unique_vs_returning(*, session: Session, start: date | datetime, end: date | datetime) -> dict[str, int]:
    """Visitors in the range split into first-time ("new": no hit before ``start``) and "returning"."""
    lo, hi = _bounds(start, end)
    earlier = aliased(PageHit)
    came_before = sa.exists().where(col(earlier.contact_id) == PageHit.contact_id, col(earlier.date_hit) < lo)
    visitors = (
        sa.select(sa.case((came_before, 1), else_=0).label("came_back"))
        .where(*_in_range(lo, hi), col(PageHit.contact_id).is_not(None))
        .group_by(col(PageHit.contact_id))
        .subquery()
    )
    total, returning = session.execute(sa.select(sa.func.count(), sa.func.sum(visitors.c.came_back))).one()
    return {"new": total - (returning or 0), "returning": returning or 0}


def popular_pages(*, session: Session, start: date | datetime, end: date | datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The most viewed pages in the range: hits, unique hits (distinct devices) and the page's latest title."""
    lo, hi = _bounds(start, end)
    top = (
        sa.select(col(PageHit.url_hash), sa.func.count().label("hits"),
                  sa.func.count(sa.distinct(col(PageHit.tracking_id))).label("unique_hits"),
                  sa.func.max(PageHit.id).label("latest_id"))  # its newest hit gives the title, at no extra scan
        .where(*_in_range(lo, hi))
        .group_by(PageHit.url_hash)
        .order_by(sa.desc("hits"), PageHit.url_hash)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        sa.select(top.c.url_hash, top.c.hits, top.c.unique_hits, col(PageHit.url), col(PageHit.url_title))
        .select_from(top)
        .join(PageHit, col(PageHit.id) == top.c.latest_id)
        .order_by(top.c.hits.desc(), top.c.url_hash)
    ).all()
    return [
        {"url_hash": r.url_hash, "url": r.url, "title": r.url_title or "", "hits": r.hits, "unique_hits": r.unique_hits}
        for r in rows
    ]


def device_types(*, session: Session, start: date | datetime, end: date | datetime) -> list[tuple[str, int]]:
    """Page hits in the range per device type ("desktop", "smartphone", ...; "" when unknown), most first."""
    lo, hi = _bounds(start, end)
    kind = sa.func.coalesce(ContactDevice.device, sa.literal_column("''"))
    rows = session.execute(
        sa.select(kind, sa.func.count())
        .select_from(PageHit)
        .outerjoin(ContactDevice, col(ContactDevice.id) == PageHit.device_id)
        .where(*_in_range(lo, hi))
        .group_by(kind)
        .order_by(sa.func.count().desc(), kind)
    ).all()
    return [(k, n) for k, n in rows]


def contact_hits(*, session: Session, contact_id: int, start: int = 0, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """One contact's page visits newest first, a page at a time, with their total."""
    total = session.execute(sa.select(sa.func.count()).where(col(PageHit.contact_id) == contact_id)).scalar_one()
    rows = session.execute(
        sa.select(col(PageHit.id), col(PageHit.date_hit), col(PageHit.url), col(PageHit.url_title), col(PageHit.referer),
                  col(ContactDevice.device), col(ContactDevice.client_info))
        .outerjoin(ContactDevice, col(ContactDevice.id) == PageHit.device_id)
        .where(col(PageHit.contact_id) == contact_id)
        .order_by(col(PageHit.date_hit).desc(), col(PageHit.id).desc())
        .offset(max(start, 0))
        .limit(limit)
    ).all()
    return total, [
        {"id": r.id, "date_hit": r.date_hit, "url": r.url, "title": r.url_title or "", "referrer": r.referer or "",
         "device": r.device or "", "browser": _browser(r.client_info)}
        for r in rows
    ]


def contact_devices(*, session: Session, contact_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The devices a contact was seen on, most recently seen first (tracking ids are never returned)."""
    rows = session.execute(
        sa.select(ContactDevice)
        .where(col(ContactDevice.contact_id) == contact_id)
        .order_by(sa.func.coalesce(ContactDevice.last_seen, ContactDevice.date_added).desc(), col(ContactDevice.id).desc())
        .limit(limit)
    ).scalars().all()
    return [
        {"id": d.id, "device": d.device or "", "brand": d.device_brand or "", "model": d.device_model or "",
         "os": " ".join(p for p in (d.device_os_name, d.device_os_version) if p), "browser": _browser(d.client_info),
         "browser_version": str((d.client_info or {}).get("version") or ""), "last_seen": d.last_seen or d.date_added}
        for d in rows
    ]
