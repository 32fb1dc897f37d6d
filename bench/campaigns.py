"""The campaign engine over 100,000 contacts, on PostgreSQL (with Redis) and on the embedded default (SQLite).

1. condition → tag → points, run by the real engine (``campaign_engine.run_due``, the body of the Celery task),
   against a hand-written SQL batch doing the same tag and points updates on the same contacts in the same run
   (the physical limit: two set-based statements, no log), and against set-based statements writing everything the
   engine writes (its log rows too, which the timeline reads: the floor for keeping Mautic's records);
2. condition → tag → points → send e-mail, in contact-events per second (goal: 2,000/s), the messages then
   delivered to an SMTP sink in another process (reported on its own);
3. the dry run of that campaign (goal: under 10 s).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import sqlalchemy as sa

from bench.common import report, scratch_database, scratch_folder, scratch_redis, use_database
from bench.email import _free_port

CONTACTS = int(os.environ.get("BENCH_CAMPAIGN_CONTACTS", "100000"))


def _seed(db, n: int) -> tuple[int, int]:
    from mautic_app.models import Email
    from mautic_app.models.base import utcnow
    from mautic_app.services import bulk, segments

    with db.session_scope() as session:
        seg_id = segments.save_segment(session=session, values={"name": "Everyone"}).id
    now = utcnow()
    for start in range(0, n, 10_000):
        with db.session_scope() as session:
            ids = bulk.new_contacts(session=session, rows=[
                {"email": f"person{i}@example{i % 50}.com", "firstname": f"First{i}", "country": "United States" if i % 4 else "France"}
                for i in range(start, min(n, start + 10_000))])
            bulk.insert_rows(session=session, table=sa.table("segment_contacts", sa.column("segment_id"), sa.column("contact_id"),
                                                             sa.column("date_added"), sa.column("manually_added"), sa.column("manually_removed")),
                             columns=("segment_id", "contact_id", "date_added", "manually_added", "manually_removed"),
                             rows=[(seg_id, cid, now, False, False) for cid in ids])
    with db.session_scope() as session:
        email = Email(name="Welcome", subject="Welcome {contactfield=firstname}", custom_html="<p>Hello {contactfield=firstname}</p>",
                      from_address="news@shop.example")
        session.add(email)
        session.flush()
        return int(seg_id or 0), int(email.id or 0)


def _campaign(db, seg_id: int, name: str, tag: str, email_id: int | None) -> int:
    from mautic_app.services import campaigns

    events = [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition", "properties": {"field": "email", "operator": "!empty"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes", "properties": {"add_tags": [tag]}},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "properties": {"points": 5}},
    ]
    if email_id:
        events.append({"id": "new4", "type": "email.send", "eventType": "action", "parent": "new3", "properties": {"email": email_id}})
    with db.session_scope() as session:
        return int(campaigns.save_campaign(session=session, values={"name": name, "lists": [{"id": seg_id}], "events": events,
                                                                   "isPublished": False}).id or 0)


def _publish_and_join(db, campaign_id: int) -> float:
    from mautic_app.services import campaign_engine, campaigns

    with db.session_scope() as session:
        campaigns.set_published(session=session, campaign_id=campaign_id, published=True)
    t0 = time.perf_counter()
    with db.session_scope() as session:
        campaign_engine.sync_members(session=session, campaign_id=campaign_id)
    return time.perf_counter() - t0


def _engine(db, campaign_id: int) -> tuple[float, int]:
    from mautic_app.services import campaign_engine

    t0 = time.perf_counter()
    while campaign_engine.run_due(seconds=600) < 0:
        pass
    took = time.perf_counter() - t0
    with db.session_scope() as session:
        done = session.execute(sa.text("SELECT count(*) FROM campaign_log WHERE campaign_id = :c AND status = 'done'"),
                               {"c": campaign_id}).scalar_one()
    return took, done


def _hand_written(db, seg_id: int) -> float:
    """The same tag and points for the same contacts, as two statements a DBA would write."""
    with db.session_scope() as session:
        session.execute(sa.text("INSERT INTO tags (tag) VALUES ('by-hand')"))
    t0 = time.perf_counter()
    with db.session_scope() as session:
        session.execute(sa.text(
            "INSERT INTO contact_tags (contact_id, tag_id) SELECT c.id, (SELECT id FROM tags WHERE tag = 'by-hand') FROM contacts c "
            "JOIN segment_contacts s ON s.contact_id = c.id AND s.segment_id = :seg WHERE c.email IS NOT NULL AND c.email <> ''"), {"seg": seg_id})
        session.execute(sa.text(
            "UPDATE contacts SET points = points + 5 WHERE id IN (SELECT contact_id FROM segment_contacts WHERE segment_id = :seg) "
            "AND email IS NOT NULL AND email <> ''"), {"seg": seg_id})
    return time.perf_counter() - t0


def _hand_written_with_log(db, campaign_id: int) -> float:
    """The same campaign's writes, as set-based statements: what the engine stores (each event's log row done, which
    is also the timeline's line; the tag, the points), with none of its bookkeeping (no batches). The floor for an
    engine that keeps Mautic's campaign log."""
    from mautic_app.models import CampaignEvent, CampaignLog, ContactTag
    from mautic_app.models.base import table_of, utcnow

    t, ct = table_of(CampaignLog), table_of(ContactTag)
    contacts = sa.table("contacts", sa.column("id"), sa.column("email"), sa.column("points"), sa.column("date_modified"))
    with db.session_scope() as session:
        session.execute(sa.text("INSERT INTO tags (tag) VALUES ('by-hand-log')"))
        tag_id = session.execute(sa.text("SELECT id FROM tags WHERE tag = 'by-hand-log'")).scalar_one()
        condition, tag, points = session.execute(sa.select(CampaignEvent.id).where(CampaignEvent.campaign_id == campaign_id)
                                                 .order_by(CampaignEvent.id)).scalars().all()
    now = utcnow()
    columns = ["campaign_id", "event_id", "contact_id", "rotation", "status", "trigger_date", "date_triggered", "system_triggered",
               "attempts", "metadata", "date_added"]

    def logged(after: int, event: int) -> sa.Insert:
        src = t.alias("src")
        return sa.insert(t).from_select(columns, sa.select(
            src.c.campaign_id, sa.literal(event), src.c.contact_id, src.c.rotation, sa.literal("done"), sa.literal(now, t.c.trigger_date.type),
            sa.literal(now, t.c.date_triggered.type), sa.true(), sa.literal(0), sa.literal({}, t.c.metadata.type),
            sa.literal(now, t.c.date_added.type)).where(src.c.event_id == after, src.c.status == "done"))

    t0 = time.perf_counter()
    with db.session_scope() as session:
        session.execute(sa.update(t).where(t.c.event_id == condition, t.c.status == "scheduled", t.c.contact_id.in_(
            sa.select(contacts.c.id).where(contacts.c.email.is_not(None), contacts.c.email != ""))).values(
            status="done", path="yes", date_triggered=now))
        session.execute(logged(condition, tag))
        session.execute(sa.insert(ct).from_select(["contact_id", "tag_id"], sa.select(t.c.contact_id, sa.literal(tag_id))
                                                  .where(t.c.event_id == tag)))
        session.execute(logged(tag, points))
        session.execute(sa.update(contacts).where(contacts.c.id.in_(sa.select(t.c.contact_id).where(t.c.event_id == points)))
                        .values(points=contacts.c.points + 5, date_modified=now))
    return time.perf_counter() - t0


def _one(label: str, url: str, data_dir, port: int, redis_url: str | None = None) -> None:
    db = use_database(url, data_dir=data_dir, redis_url=redis_url)
    from mautic_app.services import campaign_dry_run, email_sends, mailer

    queued: list[int] = []
    db.send_task = lambda task, *args: queued.extend(args[0]) if task == email_sends.DELIVER_MANY_TASK else None  # type: ignore[assignment]
    with db.session_scope() as session:
        mailer.save_settings(session=session, values={"kind": "smtp", "host": "127.0.0.1", "port": str(port), "security": "none",
                                                      "from_address": "news@shop.example"})
    t0 = time.perf_counter()
    seg_id, email_id = _seed(db, CONTACTS)
    print(f"[{label}] seeded {CONTACTS:,} contacts in one segment in {time.perf_counter() - t0:.1f} s", flush=True)
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

    # 1. condition → tag → points, against the hand-written batch
    plain = _campaign(db, seg_id, "Tag and score", "engine", None)
    joined = _publish_and_join(db, plain)
    took, done = _engine(db, plain)
    hand = _hand_written(db, seg_id)
    print(f"[{label}] condition → tag → points: {done:,} contact-events in {took:.1f} s ({done / took:,.0f}/s); "
          f"joining {CONTACTS:,} members {joined:.1f} s; hand-written tag + points {hand:.2f} s", flush=True)
    # per contact: the engine's three events against the batch's two updates of the same contacts
    report(f"[{label}] engine vs hand-written tag+points (contacts/s)", CONTACTS / took, CONTACTS / hand, unit="/s",
           goal="goal: ratio >= 0.33 (within 3x)")
    floor_campaign = _campaign(db, seg_id, "By hand, with the log", "by-hand-log", None)
    _publish_and_join(db, floor_campaign)
    floor = _hand_written_with_log(db, floor_campaign)
    report(f"[{label}] engine vs hand-written with its log (contacts/s)", CONTACTS / took, CONTACTS / floor, unit="/s",
           goal="(the same rows the engine writes: 3 log rows, the tag, the points)")

    # 2. and 3. with the e-mail, and its dry run first
    full = _campaign(db, seg_id, "Tag, score and welcome", "welcomed", email_id)
    with db.session_scope() as session:
        forecast = campaign_dry_run.dry_run(session=session, campaign_id=full, days=30)
    print(f"[{label}] dry run of condition → tag → points → e-mail over {forecast['audience']:,} contacts: {forecast['seconds']:.1f} s "
          f"(goal < 10 s)", flush=True)
    _publish_and_join(db, full)
    took, done = _engine(db, full)
    print(f"[{label}] condition → tag → points → send e-mail: {done:,} contact-events in {took:.1f} s: {done / took:,.0f} "
          f"contact-events/s (goal >= 2,000/s)", flush=True)
    t0 = time.perf_counter()
    for i in range(0, len(queued), 2000):
        email_sends.deliver_many(stat_ids=queued[i:i + 2000])
    sent = time.perf_counter() - t0
    print(f"[{label}] then {len(queued):,} messages delivered to the SMTP sink in {sent:.1f} s ({len(queued) / sent:,.0f}/s)", flush=True)


def run() -> None:
    port = _free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.email", "sink", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        with scratch_database("mautic_bench_campaigns") as url, scratch_folder("mautic-bench-campaigns-pg") as folder, \
                scratch_redis("campaigns") as redis_url:  # the PostgreSQL deployment's: change feed through Redis
            _one("postgresql", url, folder, port, redis_url)
        with scratch_folder("mautic-bench-campaigns") as folder:
            _one("sqlite", f"sqlite:///{folder / 'bench.db'}", folder, port)
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    run()
