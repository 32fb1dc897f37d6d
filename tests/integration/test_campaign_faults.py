"""The campaign engine under faults.

- A real Celery worker runs a campaign (condition → add tag → add points → send e-mail to a real SMTP server) and
  is killed with SIGKILL in the middle of one of its batches, while some but not all log rows are done; a new worker
  finishes it. Counted by their effects, every event ran exactly once for every contact: the tag once, the points
  once (+7, never +14), one timeline line, one ledger row and one message at the SMTP server per recipient, every
  log row done once. On PostgreSQL (with Redis as the broker) Redis is also restarted while the second worker is
  in the middle of the campaign, and the work resumes. SQLite runs the same with the filesystem broker.
- Four engines at once on PostgreSQL over the same due rows never run one event for one contact twice.

Redis here is a private ``redis-server`` started by ``test_faults`` (the shared one is never restarted).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mautic_app import db as db_module
from mautic_app.models import Email
from mautic_app.models.base import utcnow
from mautic_app.services import bulk, campaign_engine, campaigns, contacts, email_sends, mailer, segments, timeline
from mautic_app.settings import get_settings
from mautic_app.tasks.celery_app import make_app
from tests.integration.smtp_sink import smtp_sink
from tests.integration.test_faults import (  # noqa: F401  (fixtures)
    Worker,
    _in_transaction,
    _wait_for,
    celery_client,
    private_redis,
    workers,
)

pytestmark = pytest.mark.timeout(240)

# Fewer on SQLite: its filesystem broker hands a worker about two tasks a second, and each batch that changes contacts
# queues their segments' re-evaluation ahead of the e-mails' delivery.
CONTACTS = {"sqlite": 500, "postgresql": 1500}
BATCH = 50  # many small transactions: the kill lands inside one
POINTS = 7


def _campaign(s, ids: list[int], email_id: int) -> int:
    seg = segments.save_segment(session=s, values={"name": "Everyone"})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    c = campaigns.save_campaign(session=s, values={"name": "Kill test", "lists": [{"id": seg.id}], "isPublished": True, "events": [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition", "properties": {"field": "email", "operator": "!empty"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes",
         "properties": {"add_tags": ["killed-once"]}},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "properties": {"points": POINTS}},
        {"id": "new4", "type": "email.send", "eventType": "action", "parent": "new3", "properties": {"email": email_id}},
    ]})
    return c.id


def _state(session, campaign_id: int) -> dict[str, int]:
    with session() as s:
        rows = dict(s.execute(sa.text("SELECT status, count(*) FROM campaign_log WHERE campaign_id = :c GROUP BY status"),
                              {"c": campaign_id}).tuples().all())
        stats = dict(s.execute(sa.text("SELECT status, count(*) FROM email_stats GROUP BY status")).tuples().all())
    return {"done": rows.get("done", 0), "scheduled": rows.get("scheduled", 0), "failed": rows.get("failed", 0),
            "queued": stats.get("queued", 0), "sending": stats.get("sending", 0), "sent": stats.get("sent", 0),
            "unknown": stats.get("unknown", 0)}


def _sending(session) -> set[str]:
    """Recipients whose message a worker has claimed and not yet recorded (in flight)."""
    with session() as s:
        return set(s.execute(sa.text("SELECT email_address FROM email_stats WHERE status = 'sending'")).scalars())


def _wake_engine(session) -> None:
    """What the beat does every 15 s: wake the engine (a wake-up lost with the broker is made up this way)."""
    try:
        with session() as s:
            db_module.enqueue(s, campaign_engine.RUN_TASK)
    except Exception:  # noqa: BLE001  (the broker is still coming back: the next call queues it)
        pass


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_worker_killed_mid_campaign_and_started_again_runs_every_event_exactly_once(
        database, session, workers, tmp_path, private_redis, override_settings, celery_client, monkeypatch, request):  # noqa: F811
    n, pg = CONTACTS[database.backend], database.backend == "postgresql"
    if pg:  # PostgreSQL + Redis (the private one, so it can be restarted); SQLite + the filesystem broker
        import redis

        redis.Redis(port=private_redis.port).flushall()
        override_settings(redis_url=private_redis.url)
        client = make_app(get_settings())
        monkeypatch.setattr(db_module, "send_task", lambda task, *args: client.send_task(task, args=list(args)))
    addresses = {f"k{i}@example.com" for i in range(n)}
    with smtp_sink() as sink:
        with session() as s:
            mailer.save_settings(session=s, values={"kind": "smtp", "host": sink.host, "port": str(sink.port), "security": "none",
                                                    "from_address": "news@example.org"})
            ids = bulk.new_contacts(session=s, rows=[{"email": a} for a in sorted(addresses)])
            e = Email(name="Once", subject="Once", custom_html="<p>Once</p>", from_address="news@example.org")
            s.add(e)
            s.flush()
            campaign_id = _campaign(s, ids, e.id)
        env = {"MAUTIC_CAMPAIGN_BATCH_SIZE": str(BATCH)}
        workers.append(first := Worker(tmp_path, "celery", **env))
        first.wait_ready()
        with session() as s:  # joins the segment's members; the engine runs from the task it queues
            campaign_engine.sync_members(session=s, campaign_id=campaign_id)
            db_module.enqueue(s, campaign_engine.RUN_TASK)
        total = 4 * n  # condition, tag, points, e-mail
        _wait_for(lambda: _state(session, campaign_id)["done"] >= total // 3, 120, "the campaign did not get a third of the way",
                  every=0.02, diagnose=first.log_tail)
        # Inside one of the engine's batches (its transaction open), no message being handed to the SMTP server.
        _wait_for(lambda: _in_transaction(database) and not _sending(session), 30, "no batch was being run", every=0.002,
                  diagnose=first.log_tail)
        first.kill()
        at_kill = _state(session, campaign_id)
        in_flight = _sending(session)  # normally none; a message claimed just before the kill may or may not have gone
        assert 0 < at_kill["done"] < total, at_kill
        time.sleep(0.5)
        assert _state(session, campaign_id)["done"] == at_kill["done"]  # nothing runs it now

        workers.append(second := Worker(tmp_path, "celery", **env))
        second.wait_ready()
        _wake_engine(session)
        at_restart = None
        if pg:  # Redis goes away and comes back while the second worker is in the middle of the campaign
            _wait_for(lambda: _state(session, campaign_id)["done"] >= at_kill["done"] + n // 4, 60, "the second worker did not resume",
                      every=0.02, diagnose=second.log_tail)
            private_redis.stop()
            at_restart = _state(session, campaign_id)
            time.sleep(1)
            private_redis.start()
            assert at_restart["done"] < total, f"the campaign finished before Redis was restarted: {at_restart}"

        woken = [time.monotonic()]

        def finished() -> bool:
            if _state(session, campaign_id)["done"] == total:
                return True
            if time.monotonic() - woken[0] > 3:  # the beat, faster: a run task lost with Redis is made up for
                woken[0] = time.monotonic()
                _wake_engine(session)
            return False

        _wait_for(finished, 120, "the campaign did not finish after the restart", every=0.2,
                  diagnose=lambda: f"{_state(session, campaign_id)}\n{second.log_tail()}")
        with session() as s:  # what the e-mail beat does: queue again the messages whose task died with a worker
            email_sends.due_and_stalled(session=s, now=utcnow() + timedelta(minutes=2))
        _wait_for(lambda: (st := _state(session, campaign_id))["queued"] == 0 and st["sending"] == len(in_flight), 120,
                  "the messages were not delivered", every=0.2, diagnose=lambda: f"{_state(session, campaign_id)}\n{second.log_tail()}")
        if in_flight:  # the dead worker's claim, once it is old enough: "delivery unknown", never sent again
            with session() as s:
                email_sends.due_and_stalled(session=s, now=utcnow() + email_sends.STUCK_AFTER + timedelta(minutes=1))
        final = _state(session, campaign_id)

        with session() as s:
            log = s.execute(sa.text("SELECT count(*), count(DISTINCT event_id || '-' || contact_id), count(DISTINCT contact_id) "
                                    "FROM campaign_log WHERE campaign_id = :c AND status = 'done'"), {"c": campaign_id}).one()
            per_event = s.execute(sa.text("SELECT count(DISTINCT event_id) FROM campaign_log WHERE campaign_id = :c"),
                                  {"c": campaign_id}).scalar_one()
            points = dict(s.execute(sa.text("SELECT points, count(*) FROM contacts GROUP BY points")).tuples().all())
            some = s.execute(sa.text("SELECT id FROM contacts ORDER BY id LIMIT 100")).scalars().all()
            lines = {timeline.event_count(session=s, contact_id=cid, types=["points"]) for cid in some}
            tags = s.execute(sa.text("SELECT count(*), count(DISTINCT contact_id) FROM contact_tags")).one()
            stats = s.execute(sa.text("SELECT count(*), count(DISTINCT contact_id) FROM email_stats")).one()
            status_of = dict(s.execute(sa.text("SELECT email_address, status FROM email_stats")).tuples().all())
        # every log row done, once: one per event and contact
        assert tuple(log) == (total, total, n) and per_event == 4 and final["failed"] == 0 and final["scheduled"] == 0, (log, final)
        assert points == {POINTS: n}, points  # +7 once each: a batch run twice would show 14
        assert lines == {1}  # one "points" line on each timeline
        assert tuple(tags) == (n, n)  # the tag once each
        assert tuple(stats) == (n, n)  # one message in the ledger per contact
        received = Counter(sink.to())
        assert set(received) <= addresses and max(received.values()) == 1, [a for a, k in received.items() if k > 1]  # nobody twice
        # Exactly one message per contact at the SMTP server. Only a message claimed at the very moment of the kill (none,
        # normally: the kill lands in the engine's batch) may be missing, and its ledger row then says "delivery unknown".
        assert set(received) >= addresses - in_flight, sorted(addresses - in_flight - set(received))[:10]
        assert {a for a, st in status_of.items() if st != "sent"} == {a for a in in_flight if status_of.get(a) == "unknown"}
        assert final["sent"] + final["unknown"] == n and final["unknown"] == len(in_flight), final
        if not in_flight:
            assert received == Counter(addresses)
        print(f"[{request.node.callspec.id}] {n} contacts; killed at {at_kill['done']}/{total} log rows done, {len(in_flight)} "
              f"message(s) in flight; Redis restarted at {at_restart['done'] if at_restart else '-'}; {sum(received.values())} messages "
              f"received, {final['sent']} sent, {final['unknown']} unknown")


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_engines_at_once_never_run_one_event_for_one_contact_twice(database, session, monkeypatch):
    monkeypatch.setattr(db_module, "send_task", lambda *_args: None)
    n = 800
    with session() as s:
        ids = [contacts.create(session=s, values={"email": f"t{i}@example.com"})[0] for i in range(n)]
        seg = segments.save_segment(session=s, values={"name": "Both"})
        segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
        c = campaigns.save_campaign(session=s, values={"name": "Race", "lists": [{"id": seg.id}], "isPublished": True, "events": [
            {"id": "new1", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 1}},
            {"id": "new2", "type": "lead.changepoints", "eventType": "action", "parent": "new1", "properties": {"points": 1}}]})
        campaign_id = c.id
    with session() as s:
        campaign_engine.sync_members(session=s, campaign_id=campaign_id)
    ran: list[int] = []
    start = threading.Barrier(4)

    def engine() -> None:
        start.wait()
        ran.append(abs(campaign_engine.run_due(limit=40)))

    threads = [threading.Thread(target=engine) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(ran) == 2 * n and all(ran), ran  # every engine took a share, together each row once
    with session() as s:
        assert dict(s.execute(sa.text("SELECT points, count(*) FROM contacts GROUP BY points")).tuples().all()) == {2: n}
        per_contact = Counter(timeline.event_count(session=s, contact_id=cid, types=["points"]) for cid in ids)
        assert per_contact == {2: n}  # two lines on each timeline (one per event), never three
        done = s.execute(sa.text("SELECT count(*), count(DISTINCT event_id || '-' || contact_id) FROM campaign_log "
                                 "WHERE campaign_id = :c AND status = 'done'"), {"c": campaign_id}).one()
        assert tuple(done) == (2 * n, 2 * n)
