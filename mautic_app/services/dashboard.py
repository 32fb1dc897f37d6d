"""Numbers and series for the dashboard."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app.models import Contact, EmailClick, EmailStat
from mautic_app.models.base import table_of, utcnow
from mautic_app.services import visitors


def tiles(*, session: Session) -> dict[str, int]:
    """Total, identified, anonymous and created-today counts in one scan."""
    today = datetime.combine(utcnow().date(), time.min, tzinfo=utcnow().tzinfo)
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(col(Contact.is_identified) == sa.true()),
            sa.func.count().filter(col(Contact.date_added) >= today),
        ).select_from(Contact)
    ).one()
    total, identified, new_today = row
    return {"total": total, "identified": identified, "anonymous": total - identified, "new_today": new_today}


def contacts_per_day(*, session: Session, start: date, end: date) -> list[tuple[date, int]]:
    """Contacts created on each day from ``start`` to ``end`` inclusive, zero-filled."""
    tz = utcnow().tzinfo
    lo = datetime.combine(start, time.min, tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    if session.get_bind().dialect.name == "sqlite":
        day = sa.func.date(Contact.date_added)
    else:
        day = sa.func.date(sa.func.timezone("UTC", Contact.date_added))
    counts: dict[date, int] = {}
    for d, n in session.execute(
        sa.select(day, sa.func.count()).where(col(Contact.date_added) >= lo, col(Contact.date_added) < hi).group_by(day)
    ).all():
        counts[d if isinstance(d, date) else date.fromisoformat(str(d)[:10])] = n
    days = (end - start).days + 1
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


def visits(*, session: Session, start: date, end: date) -> dict[str, Any]:
    """The dashboard's visit charts for ``start`` to ``end`` inclusive: daily hits (weekly past three
    months, so a year stays readable), new vs returning visitors, popular pages and device types."""
    unit = "day" if (end - start).days < 92 else "week"
    return {
        "hits": visitors.hits_over_time(session=session, start=start, end=end, unit=unit),
        "returning": visitors.unique_vs_returning(session=session, start=start, end=end),
        "pages": visitors.popular_pages(session=session, start=start, end=end, limit=10),
        "devices": visitors.device_types(session=session, start=start, end=end),
    }


def email_activity(*, session: Session, start: date, end: date) -> dict[str, Any]:
    """Messages sent, opened (first opens) and clicks on each day from ``start`` to ``end``, zero-filled, and
    the totals over the range."""
    tz = utcnow().tzinfo
    lo = datetime.combine(start, time.min, tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    sqlite = session.get_bind().dialect.name == "sqlite"
    stats, clicks = table_of(EmailStat), table_of(EmailClick)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]

    def per_day(column: Any, *where: Any) -> list[int]:
        day = sa.func.date(column) if sqlite else sa.func.date(sa.func.timezone("UTC", column))
        counts = {d if isinstance(d, date) else date.fromisoformat(str(d)[:10]): int(n) for d, n in session.execute(
            sa.select(day, sa.func.count()).where(column >= lo, column < hi, *where).group_by(day)).all()}
        return [counts.get(d, 0) for d in days]

    series = {"sent": per_day(stats.c.date_sent, stats.c.status == "sent"), "opened": per_day(stats.c.date_read),
              "clicked": per_day(clicks.c.date_added)}
    return {"days": days, **series, "totals": {k: sum(v) for k, v in series.items()}}
