"""Numbers and series for the dashboard, over a range of the user's own days (their time zone)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mautic_app.db import day_in_zone
from mautic_app.domain.locale_format import day_bounds
from mautic_app.models import Contact, EmailClick, EmailStat, PageHit
from mautic_app.models.base import table_of
from mautic_app.services import visitors

WEEKLY_AFTER_DAYS = 92  # longer ranges chart page hits per week, so a year stays readable


def tiles(*, session: Session, start: date, end: date, timezone: str = "UTC") -> dict[str, int]:
    """Total, identified and anonymous contacts now, and those created in the range, in one scan."""
    lo, hi = day_bounds(start, end, timezone)
    added = col(Contact.date_added)
    total, identified, new = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(col(Contact.is_identified) == sa.true()),
            sa.func.count().filter(added >= lo, added < hi),
        ).select_from(Contact)
    ).one()
    return {"total": total, "identified": identified, "anonymous": total - identified, "new": new}


def _per_day(session: Session, column: Any, start: date, end: date, timezone: str, *where: Any) -> list[int]:
    """Rows on each of the user's days from ``start`` to ``end`` inclusive, zero-filled."""
    lo, hi = day_bounds(start, end, timezone)
    day = day_in_zone(session, column, timezone)
    counts = {str(d)[:10]: int(n) for d, n in session.execute(
        sa.select(day, sa.func.count()).where(column >= lo, column < hi, *where).group_by(day)).all()}
    return [counts.get((start + timedelta(days=i)).isoformat(), 0) for i in range((end - start).days + 1)]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def contacts_per_day(*, session: Session, start: date, end: date, timezone: str = "UTC") -> list[tuple[date, int]]:
    """Contacts created on each day from ``start`` to ``end`` inclusive, zero-filled."""
    return list(zip(_days(start, end), _per_day(session, col(Contact.date_added), start, end, timezone), strict=True))


def visits(*, session: Session, start: date, end: date, timezone: str = "UTC") -> dict[str, Any]:
    """The dashboard's visit charts for ``start`` to ``end`` inclusive: hits per day (per week, from the range's first
    day, past three months), new vs returning visitors, popular pages and device types."""
    lo, hi = day_bounds(start, end, timezone)
    daily = list(zip(_days(start, end), _per_day(session, col(PageHit.date_hit), start, end, timezone), strict=True))
    if (end - start).days >= WEEKLY_AFTER_DAYS:
        daily = [(daily[i][0], sum(n for _, n in daily[i:i + 7])) for i in range(0, len(daily), 7)]
    return {
        "hits": daily,
        "weekly": (end - start).days >= WEEKLY_AFTER_DAYS,
        "returning": visitors.unique_vs_returning(session=session, start=lo, end=hi),
        "pages": visitors.popular_pages(session=session, start=lo, end=hi, limit=10),
        "devices": visitors.device_types(session=session, start=lo, end=hi),
    }


def email_activity(*, session: Session, start: date, end: date, timezone: str = "UTC") -> dict[str, Any]:
    """Messages sent, opened (first opens) and clicks on each day from ``start`` to ``end``, zero-filled, and
    the totals over the range."""
    stats, clicks = table_of(EmailStat), table_of(EmailClick)
    series = {"sent": _per_day(session, stats.c.date_sent, start, end, timezone, stats.c.status == "sent"),
              "opened": _per_day(session, stats.c.date_read, start, end, timezone),
              "clicked": _per_day(session, clicks.c.date_added, start, end, timezone)}
    return {"days": _days(start, end), **series, "totals": {k: sum(v) for k, v in series.items()}}
