"""The dashboard counts a user's own days: a contact created at 23:30 UTC is tomorrow's in Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from mautic_app.models import Contact
from mautic_app.services import contacts, dashboard


def test_days_and_tiles_follow_the_users_time_zone(session):
    with session() as s:
        late, early = (contacts.create(session=s, values={"email": f"{n}@example.com"})[0] for n in ("late", "early"))
        for cid, at in ((late, datetime(2026, 12, 4, 23, 30, tzinfo=UTC)), (early, datetime(2026, 12, 4, 0, 30, tzinfo=UTC))):
            s.execute(sa.update(Contact).where(Contact.id == cid).values(date_added=at))
    with session() as s:
        days = (date(2026, 12, 3), date(2026, 12, 5))
        in_utc = dashboard.contacts_per_day(session=s, start=days[0], end=days[1], timezone="UTC")
        in_paris = dashboard.contacts_per_day(session=s, start=days[0], end=days[1], timezone="Europe/Paris")
        in_new_york = dashboard.contacts_per_day(session=s, start=days[0], end=days[1], timezone="America/New_York")
        assert [n for _, n in in_utc] == [0, 2, 0]
        assert [n for _, n in in_paris] == [0, 1, 1]
        assert [n for _, n in in_new_york] == [1, 1, 0]
        one_day = dashboard.tiles(session=s, start=date(2026, 12, 5), end=date(2026, 12, 5), timezone="Europe/Paris")
        assert (one_day["total"], one_day["new"]) == (2, 1)
