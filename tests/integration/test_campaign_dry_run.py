"""The campaign dry run on SQLite and PostgreSQL: its forecast is what the real engine then does (Mautic's 50-contact
campaign, time zones, removal from the campaign, a campaign already under way), it writes and queues nothing, it
stops at the days asked for, the background task keeps its result where the web process reads it, and 20,000
contacts take seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import clock, db
from mautic_app.models import CampaignLog, Contact, Email, EmailStat
from mautic_app.services import bulk, campaign_dry_run, campaign_engine, campaigns, contacts, email_tracking, segments
from mautic_app.tasks import campaign_dry_runs


@pytest.fixture
def session(database):
    """One open session the test commits itself (the engine opens its own, as a worker does)."""
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def tasks(monkeypatch):
    """Tasks sent, now or after a commit (nothing runs them unless the test does)."""
    sent: list[tuple] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append((task, *args)))
    return sent


@pytest.fixture
def test_clock(monkeypatch, tmp_path):
    """The engine's clock, moved forward by the test (``clock.advance``)."""
    monkeypatch.setenv("MAUTIC_CLOCK_FILE", str(tmp_path / "clock"))
    return clock


def _people(s, n: int, prefix: str = "p", **values) -> list[int]:
    return [contacts.create(session=s, values={"email": f"{prefix}{i}@example.com", "firstname": f"{prefix.upper()}{i}", **values})[0]
            for i in range(n)]


def _segment(s, ids: list[int], name: str = "Audience") -> int:
    seg = segments.save_segment(session=s, values={"name": name})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    return seg.id


def _email(s, name: str, *, sent: int = 0, read: int = 0) -> int:
    e = Email(name=name, subject="Hi", custom_html="<p>Hi {contactfield=firstname}</p>", from_address="news@example.org",
              sent_count=sent, read_count=read)
    s.add(e)
    s.flush()
    return e.id


def _draft(s, segment_id: int, events: list[dict], **extra) -> tuple[int, dict[str, str]]:
    """An unpublished campaign, and its event ids by the ``id`` given to each event ("new1" ...)."""
    c = campaigns.save_campaign(session=s, values={"name": "Draft", "lists": [{"id": segment_id}], "events": events,
                                                   "isPublished": False, **extra})
    s.commit()
    saved = sorted(campaigns.campaign_json(session=s, campaign_id=c.id)["events"], key=lambda e: e["id"])  # in the order given
    assert [e["type"] for e in saved] == [e["type"] for e in events]
    return c.id, {given["id"]: str(e["id"]) for given, e in zip(events, saved, strict=True)}


def _publish(s, campaign_id: int) -> None:
    campaigns.set_published(session=s, campaign_id=campaign_id, published=True)
    s.commit()
    campaign_engine.sync_members(session=s, campaign_id=campaign_id)
    s.commit()


def _run(s) -> int:
    """Run what is due at the engine's clock, as the worker does (in its own sessions)."""
    s.commit()
    return abs(campaign_engine.run_due())


def _every_table(s) -> dict[str, int]:
    names = sa.inspect(s.connection()).get_table_names()
    return {t: s.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in names}  # noqa: S608  (the schema's names)


def _dry(s, tasks, campaign_id: int, **kw) -> dict:
    """A dry run, checked to change nothing: every table's rows, nothing queued, nothing waiting for a commit."""
    s.commit()
    before, queued = _every_table(s), len(tasks)
    out = campaign_dry_run.dry_run(session=s, campaign_id=campaign_id, **kw)
    assert not s.new and not s.dirty and not s.deleted
    assert not s.info.get("after_commit") and not s.info.get("after_commit_ready")
    s.rollback()
    assert _every_table(s) == before
    assert len(tasks) == queued
    for e in out["events"].values():
        assert sum(e["by_day"]) == e["reach"] and len(e["by_day"]) == out["days"] + 1
    return out


def test_mautics_fifty_contacts_forecast_is_what_the_real_run_does(session, tasks, test_clock):
    """Mautic's CampaignTest as a forecast: a condition on country US (8 yes, 42 no), tag, points, an e-mail a day later,
    an open decision (the e-mail's real open rate picks who opens) with a thank-you on yes and a reminder two days
    later on no. Then the real engine runs 30 days, the same contacts opening: every node counts the same."""
    us = _people(session, 8, country="United States")
    others = _people(session, 42, "o", country="France")
    welcome = _email(session, "Welcome", sent=100, read=40)  # opened 40 times in 100 sends so far: 40%
    thanks, reminder = _email(session, "Thanks"), _email(session, "Reminder")
    cid, ids = _draft(session, _segment(session, us + others), [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition",
         "properties": {"field": "country", "operator": "=", "value": "United States"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes", "properties": {"add_tags": ["us"]}},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "properties": {"points": 10}},
        {"id": "new4", "type": "email.send", "eventType": "action", "parent": "new3", "properties": {"email": welcome},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d"},
        {"id": "new5", "type": "email.open", "eventType": "decision", "parent": "new4"},
        {"id": "new6", "type": "email.send", "eventType": "action", "parent": "new5", "decisionPath": "yes", "properties": {"email": thanks}},
        {"id": "new7", "type": "email.send", "eventType": "action", "parent": "new5", "decisionPath": "no", "properties": {"email": reminder},
         "triggerMode": "interval", "triggerInterval": 2, "triggerIntervalUnit": "d"},
        {"id": "new8", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "no", "properties": {"add_tags": ["elsewhere"]}},
    ])
    forecast = _dry(session, tasks, cid, days=30)
    ev = {k: forecast["events"][v] for k, v in ids.items()}
    openers = {c for c in us if campaign_dry_run.expected_to_act(c, ids["new5"], 0.4)}
    assert 0 < len(openers) < 8, "the hash picks none or all: choose another open rate for a test that shows both paths"
    assert forecast["audience"] == 50 and forecast["days"] == 30
    assert (ev["new1"]["reach"], ev["new1"]["yes"], ev["new1"]["no"]) == (50, 8, 42)
    assert [ev[k]["reach"] for k in ("new2", "new3", "new4", "new8")] == [8, 8, 8, 42]
    assert (ev["new5"]["reach"], ev["new5"]["yes"], ev["new5"]["no"]) == (8, len(openers), 8 - len(openers))
    assert (ev["new6"]["reach"], ev["new7"]["reach"]) == (len(openers), 8 - len(openers))
    assert (ev["new1"]["first_day"], ev["new2"]["last_day"], ev["new4"]["first_day"], ev["new4"]["last_day"]) == (0, 0, 1, 1)
    assert (ev["new7"]["first_day"], ev["new7"]["last_day"]) == (3, 3)  # two days after the e-mail
    assert 1 <= ev["new6"]["first_day"] <= ev["new6"]["last_day"] < 3  # within the decision's wait
    assert [s["email"] for s in ev["new2"]["samples"]] == [f"p{i}@example.com" for i in range(5)]
    assert ev["new2"]["samples"][0]["name"] == "P0" and ev["new8"]["samples"][0]["email"] == "o0@example.com"
    assert any("40%" in c for c in forecast["caveats"]) and any("today's data" in c for c in forecast["caveats"])

    # The real run, the clock moving a day at a time; the contacts the forecast expected to open do.
    _publish(session, cid)
    _run(session)
    # Under way: a second dry run goes on from the event log (the condition and tags are done, the e-mail is due).
    again = _dry(session, tasks, cid, days=30)["events"]
    assert (again[ids["new1"]]["reach"], again[ids["new8"]]["reach"], again[ids["new4"]]["reach"]) == (0, 0, 8)
    assert again[ids["new5"]]["yes"] == len(openers)
    test_clock.advance(timedelta(days=1, minutes=2))
    _run(session)
    sent = list(session.exec(select(EmailStat).where(EmailStat.email_id == welcome)))
    assert len(sent) == 8
    email_tracking.record_opens(session=session, hashes=[st.tracking_hash for st in sent if st.contact_id in openers])
    session.commit()
    _run(session)
    for _ in range(29):
        test_clock.advance(timedelta(days=1))
        _run(session)
    real = campaigns.node_counts(session=session, campaign_id=cid)
    for key, event_id in ids.items():
        r, f = real.get(event_id, {"done": 0, "now": 0, "yes": 0, "no": 0}), forecast["events"][event_id]
        if key == "new5":  # a decision: reached when it starts waiting, done once it takes a path
            assert (r["done"] + r["now"], r["yes"], r["no"]) == (f["reach"], f["yes"], f["no"]), key
        else:
            assert (r["done"], r["yes"], r["no"]) == (f["reach"], f["yes"], f["no"]), key
    days = {str(event_id): sorted({_day(d, forecast) for (d,) in session.execute(
        sa.select(col(CampaignLog.date_triggered)).where(col(CampaignLog.event_id) == int(event_id), col(CampaignLog.status) == "done"))})
        for event_id in ids.values()}
    for key in ("new1", "new2", "new4", "new7", "new8"):
        f = forecast["events"][ids[key]]
        if f["reach"]:
            assert days[ids[key]] == sorted({f["first_day"], f["last_day"]}), key


def _day(moment: datetime, forecast: dict) -> int:
    """The day of a real run's moment counted as the forecast counts them (0: the day the dry run started)."""
    origin = datetime.fromisoformat(forecast["now"])
    return (moment.replace(tzinfo=moment.tzinfo or UTC) - origin) // timedelta(days=1)


def test_the_days_asked_for_are_the_limit(session, tasks):
    """An event 40 days later is not reached in 30 simulated days (nor is its decision's no path), but is in 45."""
    ids = _people(session, 4)
    mail = _email(session, "Welcome")
    cid, ev = _draft(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["in"]}},
        {"id": "new2", "type": "lead.changepoints", "eventType": "action", "parent": "new1", "properties": {"points": 1},
         "triggerMode": "interval", "triggerInterval": 40, "triggerIntervalUnit": "d"},
        {"id": "new3", "type": "email.send", "eventType": "action", "parent": "new1", "properties": {"email": mail},
         "triggerMode": "interval", "triggerInterval": 29, "triggerIntervalUnit": "d"},
        {"id": "new4", "type": "email.open", "eventType": "decision", "parent": "new3"},
        {"id": "new5", "type": "lead.changetags", "eventType": "action", "parent": "new4", "decisionPath": "no", "properties": {"add_tags": ["idle"]},
         "triggerMode": "interval", "triggerInterval": 5, "triggerIntervalUnit": "d"},
    ])
    month = _dry(session, tasks, cid, days=30)["events"]
    assert [month[ev[k]]["reach"] for k in ("new1", "new2", "new3", "new4", "new5")] == [4, 0, 4, 4, 0]
    assert month[ev["new2"]]["first_day"] is None and month[ev["new3"]]["first_day"] == 29 and month[ev["new4"]]["no"] == 0
    longer = _dry(session, tasks, cid, days=45)["events"]
    assert (longer[ev["new2"]]["reach"], longer[ev["new2"]]["first_day"], longer[ev["new2"]]["by_day"][40]) == (4, 40, 4)
    assert (longer[ev["new5"]]["first_day"], longer[ev["new4"]]["no"]) == (34, 4)
    with pytest.raises(ValueError):
        campaign_dry_run.dry_run(session=session, campaign_id=cid, days=0)
    with pytest.raises(LookupError):
        campaign_dry_run.dry_run(session=session, campaign_id=cid + 1000)


def test_time_zones_hours_and_weekdays_give_the_engines_days(session, tasks):
    """An action a day later at 09:00 on weekdays, in each contact's zone: the forecast's days are those of the rows
    the real engine schedules."""
    zones = ["Pacific/Auckland", "America/Los_Angeles", "Asia/Tokyo", "Europe/Paris", None]
    ids = [contacts.create(session=session, values={"email": f"z{i}@example.com", "timezone": zones[i % len(zones)]})[0] for i in range(25)]
    cid, ev = _draft(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["local"]},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d", "triggerHour": "09:00",
         "triggerRestrictedDaysOfWeek": [1, 2, 3, 4, 5]},
    ])
    forecast = _dry(session, tasks, cid, days=10)
    _publish(session, cid)
    scheduled = [d for (d,) in session.execute(sa.select(col(CampaignLog.trigger_date)).where(col(CampaignLog.campaign_id) == cid))]
    assert len(scheduled) == 25
    by_day = [0] * 11
    for d in scheduled:
        by_day[_day(d, forecast)] += 1
    assert forecast["events"][ev["new1"]]["by_day"] == by_day


def test_removal_from_this_campaign_stops_the_other_branch_too(session, tasks, test_clock):
    """US contacts are removed from the campaign at once; a second root event two days later then runs only for the
    others, in the forecast as in the real run."""
    us, others = _people(session, 3, country="United States"), _people(session, 2, "o", country="France")
    cid, ev = _draft(session, _segment(session, us + others), [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition",
         "properties": {"field": "country", "operator": "=", "value": "United States"}},
        {"id": "new2", "type": "campaign.addremovelead", "eventType": "action", "parent": "new1", "decisionPath": "yes",
         "properties": {"removeFrom": ["this"]}},
        {"id": "new3", "type": "lead.changetags", "eventType": "action", "parent": "new2", "properties": {"add_tags": ["after"]}},
        {"id": "new4", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["later"]},
         "triggerMode": "interval", "triggerInterval": 2, "triggerIntervalUnit": "d"},
    ])
    forecast = _dry(session, tasks, cid, days=30)["events"]
    assert [forecast[ev[k]]["reach"] for k in ("new1", "new2", "new3", "new4")] == [5, 3, 0, 2]
    _publish(session, cid)
    _run(session)
    test_clock.advance(timedelta(days=2, minutes=1))
    _run(session)
    real = campaigns.node_counts(session=session, campaign_id=cid)
    assert [real.get(ev[k], {}).get("done", 0) for k in ("new1", "new2", "new3", "new4")] == [5, 3, 0, 2]


def test_the_guard_refuses_writes(session):
    with campaign_dry_run.read_only(session), pytest.raises(campaign_dry_run.DryRunWrote):
        session.execute(sa.text("UPDATE contacts SET points = 1"))
    session.rollback()
    with campaign_dry_run.read_only(session), pytest.raises(campaign_dry_run.DryRunWrote):
        session.execute(sa.text("SELECT id FROM contacts FOR UPDATE"))
    session.rollback()
    session.execute(sa.text("UPDATE contacts SET points = 1"))  # outside, the session writes as before
    session.rollback()


def test_the_background_task_keeps_its_result_for_the_web_process(session, tasks, database):
    """Queued, it is a task; run, its progress and then its forecast are kept where ``stored`` reads them (Redis with
    PostgreSQL here, a file in the data folder with SQLite, as the app without Redis has it)."""
    ids = _people(session, 3)
    cid, ev = _draft(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]}}])
    try:
        session.commit()  # the task opens its own session, as a worker does
        tasks.clear()
        campaign_dry_run.queue(campaign_id=cid, days=7)
        assert tasks == [(campaign_dry_run.TASK, cid, 7)]
        assert campaign_dry_run.stored(cid)["status"] == "queued"
        seen: list[dict] = []
        real_store = campaign_dry_run.store

        def spy(campaign_id, payload):
            seen.append(payload)
            real_store(campaign_id, payload)

        campaign_dry_run.store = spy  # type: ignore[assignment]
        try:
            result = campaign_dry_runs.dry_run(cid, 7)
        finally:
            campaign_dry_run.store = real_store  # type: ignore[assignment]
        assert [p["status"] for p in seen][0] == "running" and seen[-1]["status"] == "done"
        kept = campaign_dry_run.stored(cid)
        assert kept["status"] == "done" and kept["events"][ev["new1"]]["reach"] == 3 == result["events"][ev["new1"]]["reach"]
        assert kept["days"] == 7 and kept["audience"] == 3
        campaign_dry_runs.dry_run(cid + 1000, 7)
        assert campaign_dry_run.stored(cid + 1000)["status"] == "failed"
        assert campaign_dry_run.stored(cid + 2000) is None
        if database.backend == "sqlite":
            assert (db.get_settings().data_dir / "dry_runs" / f"campaign-{cid}.json").exists()
    finally:
        if database.backend == "postgresql":
            import redis

            redis.Redis.from_url(db.get_settings().redis_url).delete(*(f"mautic:campaign_dry_run:{c}" for c in (cid, cid + 1000)))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # a smoke test of size; the figures are in bench
def test_twenty_thousand_contacts(session, tasks):
    """A performance smoke test (no timing asserted): condition → tag → points → e-mail → open decision."""
    n = 20_000
    seg = segments.save_segment(session=session, values={"name": "Many"}).id
    ids = bulk.new_contacts(session=session, rows=[{"email": f"m{i}@example.com", "firstname": f"M{i}",
                                                    "country": "United States" if i % 4 else "France"} for i in range(n)])
    bulk.insert_rows(session=session, table=sa.table("segment_contacts", sa.column("segment_id"), sa.column("contact_id"),
                                                     sa.column("date_added"), sa.column("manually_added"), sa.column("manually_removed")),
                     columns=("segment_id", "contact_id", "date_added", "manually_added", "manually_removed"),
                     rows=[(seg, c, clock.now(), False, False) for c in ids])
    mail = _email(session, "Welcome", sent=1000, read=300)
    session.commit()
    db.refresh_statistics(db.get_engine(), ("contacts", "segment_contacts"))  # as an import leaves them (and autovacuum would)
    cid, ev = _draft(session, seg, [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition",
         "properties": {"field": "country", "operator": "=", "value": "United States"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes", "properties": {"add_tags": ["us"]}},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "properties": {"points": 5}},
        {"id": "new4", "type": "email.send", "eventType": "action", "parent": "new3", "properties": {"email": mail}},
        {"id": "new5", "type": "email.open", "eventType": "decision", "parent": "new4"},
        {"id": "new6", "type": "lead.changetags", "eventType": "action", "parent": "new5", "decisionPath": "no", "properties": {"add_tags": ["idle"]},
         "triggerMode": "interval", "triggerInterval": 3, "triggerIntervalUnit": "d"},
    ])
    t0 = time.perf_counter()
    forecast = _dry(session, tasks, cid, days=30)
    took = time.perf_counter() - t0
    e = forecast["events"]
    assert forecast["audience"] == n and e[ev["new1"]]["yes"] == 15_000 and e[ev["new4"]]["reach"] == 15_000
    assert e[ev["new5"]]["yes"] + e[ev["new6"]]["reach"] == 15_000 and 0.25 < e[ev["new5"]]["yes"] / 15_000 < 0.35
    print(f"\n[{db.get_engine().dialect.name}] dry run over {n:,} contacts: {forecast['seconds']:.2f} s "
          f"({took:.2f} s with the checks around it)")


def test_a_jump_back_runs_its_target_again_once(session, tasks, test_clock):
    """Jump to event: the target runs again for the contacts, what follows it does not (its rows exist): in the
    forecast as in the real run, each node counts its contacts once."""
    ids = _people(session, 4)
    cid, ev = _draft(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 1}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "properties": {"add_tags": ["a"]},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d"},
        {"id": "new3", "type": "campaign.jump_to_event", "eventType": "action", "parent": "new2", "properties": {"jumpToEvent": "new1"}},
    ])
    forecast = _dry(session, tasks, cid, days=30)["events"]
    assert [forecast[ev[k]]["reach"] for k in ("new1", "new2", "new3")] == [4, 4, 4]
    assert (forecast[ev["new1"]]["first_day"], forecast[ev["new3"]]["first_day"]) == (0, 1)
    _publish(session, cid)
    _run(session)
    test_clock.advance(timedelta(days=1, minutes=1))
    _run(session)
    test_clock.advance(timedelta(days=1, minutes=1))
    _run(session)
    real = campaigns.node_counts(session=session, campaign_id=cid)
    assert [real[ev[k]]["done"] for k in ("new1", "new2", "new3")] == [4, 4, 4]
    session.expire_all()
    assert sorted(c.points for c in session.exec(select(Contact).where(col(Contact.id).in_(ids)))) == [2, 2, 2, 2]  # ran twice
