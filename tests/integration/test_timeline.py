"""A contact's timeline merges its own lines with the send ledger (sent and failed e-mails) and the campaign log
(campaign events), on SQLite and PostgreSQL: newest first, filtered by type, paged by cursor without a line lost or
shown twice, counted, and carried over when two contacts merge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from mautic_app import db
from mautic_app.models import Email, EmailStat
from mautic_app.models.base import utcnow
from mautic_app.services import campaign_engine, campaigns, contacts, segments, timeline


@pytest.fixture
def session(database, monkeypatch):
    monkeypatch.setattr(db, "send_task", lambda *_args: None)
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s


def _stat(s, email_id: int, contact_id: int, status: str, at, n: int) -> None:
    s.add(EmailStat(email_id=email_id, contact_id=contact_id, email_address="ann@example.com", tracking_hash=f"h{contact_id}-{n}",
                    status=status, error="" if status == "sent" else "550 <b>no such user</b>", date_sent=at if status == "sent" else None,
                    date_added=at))


def _ann_with_history(s) -> tuple[int, int]:
    """Ann: created, noted, sent two e-mails (one failed), and through a campaign tagged and scored."""
    cid = contacts.create(session=s, values={"email": "ann@example.com", "firstname": "Ann"})[0]
    contacts.add_note(session=s, contact_id=cid, text="Met at the fair")
    news = Email(name="News <1>", subject="Hi", custom_html="<p>Hi</p>", from_address="news@example.org")
    s.add(news)
    s.flush()
    now = utcnow()
    _stat(s, news.id, cid, "sent", now - timedelta(days=2), 1)
    _stat(s, news.id, cid, "failed", now - timedelta(days=1), 2)
    _stat(s, news.id, cid, "queued", now, 3)  # not sent yet: no line
    seg = segments.save_segment(session=s, values={"name": "Fair"})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=[cid])
    c = campaigns.save_campaign(session=s, values={"name": "Welcome", "lists": [{"id": seg.id}], "isPublished": True, "events": [
        {"id": "new1", "name": "Tag as fair", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["fair"]}},
        {"id": "new2", "name": "Score", "type": "lead.changepoints", "eventType": "action", "parent": "new1", "properties": {"points": 5}}]})
    s.commit()
    campaign_engine.sync_members(session=s, campaign_id=c.id)
    s.commit()
    while campaign_engine.run_due() < 0:
        pass
    return cid, news.id


def test_the_timeline_merges_lines_ledger_and_campaign_log_newest_first(session):
    cid, _ = _ann_with_history(session)
    lines = timeline.events(session=session, contact_id=cid, limit=100)
    texts = [timeline.describe(line) for line in lines]
    assert [line.occurred_at.replace(tzinfo=None) for line in lines] == sorted((line.occurred_at.replace(tzinfo=None) for line in lines),
                                                                             reverse=True)
    assert "Campaign Welcome: Score (5 points)" in texts and "Campaign Welcome: Tag as fair (added fair)" in texts
    assert "Sent e-mail News <1>" in texts  # text; the page escapes it
    assert "E-mail News <1> failed: 550 <b>no such user</b>" in texts
    assert sum(t.startswith("Sent e-mail") for t in texts) == 1  # the queued message has no line yet
    assert {line.event_type for line in lines} >= {"created", "note", "email.sent", "email.failed", "points", "tags"}
    assert timeline.event_count(session=session, contact_id=cid, types=None) == len(lines)
    # the lines of one type, whichever table keeps them
    assert [timeline.describe(line) for line in timeline.events(session=session, contact_id=cid, types=["points"])] == \
        ["Campaign Welcome: Score (5 points)"]
    assert [line.event_type for line in timeline.events(session=session, contact_id=cid, types=["email.sent", "email.failed"])] == \
        ["email.failed", "email.sent"]
    assert timeline.event_count(session=session, contact_id=cid, types=["campaign"]) == 0
    assert timeline.event_count(session=session, contact_id=cid, types=["tags", "note"]) == 2


def test_paging_by_cursor_shows_every_line_once(session):
    cid, _ = _ann_with_history(session)
    for i in range(7):  # lines at the very same moment as each other: the cursor still tells them apart
        timeline.log(session=session, contact_id=cid, event_type="note", details={"text": f"n{i}"}, at=utcnow().replace(microsecond=0))
    session.commit()
    everything = [line.key for line in timeline.events(session=session, contact_id=cid, limit=1000)]
    paged, before = [], None
    while True:
        page = timeline.events(session=session, contact_id=cid, limit=3, before=before)
        paged += [line.key for line in page]
        if len(page) < 3:
            break
        before = page[-1].cursor
    assert paged == everything and len(set(paged)) == len(paged) > 10
    assert timeline.events(session=session, contact_id=cid, limit=3, before="not|a cursor") == \
        timeline.events(session=session, contact_id=cid, limit=3)  # a broken cursor starts from the newest


def test_a_merge_carries_sent_e_mails_and_campaign_history_to_the_winner(session):
    loser, _ = _ann_with_history(session)
    winner = contacts.create(session=session, values={"email": "ann.b@example.com"})[0]
    session.commit()
    contacts.merge(session=session, winner_id=winner, loser_id=loser)
    session.commit()
    kinds = [line.event_type for line in timeline.events(session=session, contact_id=winner, limit=100)]
    assert {"email.sent", "email.failed", "points", "tags", "merged"} <= set(kinds)
