"""The campaign engine on SQLite and PostgreSQL: Mautic's own campaign tests, ported (conditions split contacts,
chained actions run, later e-mails go on a later pass, opens fire decisions, the no path runs once its wait is
over), plus removal, unpublished campaigns, retries and segment-driven membership."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import db
from mautic_app.models import CampaignLog, CampaignMember, Contact, ContactTag, Email, EmailStat, Tag
from mautic_app.models.base import utcnow
from mautic_app.services import campaign_engine, campaigns, contacts, email_tracking, segments


@pytest.fixture
def session(database):
    """One open session the test commits itself (the engine opens its own, as a worker does)."""
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def tasks(monkeypatch):
    """Tasks the services queue after commit (nothing runs them unless the test does)."""
    sent: list[tuple] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append((task, *args)))
    return sent


def _people(s, n: int, **values) -> list[int]:
    return [contacts.create(session=s, values={"email": f"p{i}@example.com", "firstname": f"P{i}", **values})[0] for i in range(n)]


def _segment(s, ids: list[int], name: str = "Audience") -> int:
    seg = segments.save_segment(session=s, values={"name": name})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    return seg.id


def _email(s, name: str = "Welcome") -> int:
    e = Email(name=name, subject="Hi", custom_html="<p>Hi {contactfield=firstname}</p>", from_address="news@example.org")
    s.add(e)
    s.flush()
    return e.id


def _campaign(session, segment_id: int, events: list[dict], *, publish: bool = True, **extra) -> int:
    c = campaigns.save_campaign(session=session, values={"name": "Onboarding", "lists": [{"id": segment_id}], "events": events,
                                                         "isPublished": publish, **extra})
    session.commit()
    campaign_engine.sync_members(session=session, campaign_id=c.id)
    session.commit()
    return c.id


def _run(session, now=None) -> int:
    """Run the engine as a worker does, in its own sessions (the test's gives its connection back first)."""
    session.commit()
    return abs(campaign_engine.run_due(now=now))


def _tags(s, contact_ids: list[int], tag: str) -> set[int]:
    return set(s.execute(sa.select(col(ContactTag.contact_id)).join(Tag, col(Tag.id) == col(ContactTag.tag_id))
                         .where(col(Tag.tag) == tag, col(ContactTag.contact_id).in_(contact_ids))).scalars())


def _log(s, campaign_id: int) -> list[CampaignLog]:
    s.expire_all()
    return list(s.exec(select(CampaignLog).where(CampaignLog.campaign_id == campaign_id)))


def test_mautics_fifty_contacts_condition_actions_opens_and_no_path(session, tasks):
    """Mautic's CampaignTest: 50 contacts, a condition on country US (8 yes, 42 no), chained actions, an e-mail a
    day later, opening it fires the open decision and the next e-mail, the others take the no path after the wait."""
    us = _people(session, 8, country="United States")
    others = [contacts.create(session=session, values={"email": f"o{i}@example.com", "country": "France"})[0] for i in range(42)]
    seg = _segment(session, us + others)
    welcome, thanks, reminder = _email(session, "Welcome"), _email(session, "Thanks"), _email(session, "Reminder")
    cid = _campaign(session, seg, [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition",
         "properties": {"field": "country", "operator": "=", "value": "United States"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes",
         "properties": {"add_tags": ["us"]}},
        {"id": "new3", "type": "lead.changepoints", "eventType": "action", "parent": "new2", "properties": {"points": 10}},
        {"id": "new4", "type": "email.send", "eventType": "action", "parent": "new3", "properties": {"email": welcome},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d"},
        {"id": "new5", "type": "email.open", "eventType": "decision", "parent": "new4"},
        {"id": "new6", "type": "email.send", "eventType": "action", "parent": "new5", "decisionPath": "yes", "properties": {"email": thanks}},
        {"id": "new7", "type": "email.send", "eventType": "action", "parent": "new5", "decisionPath": "no", "properties": {"email": reminder},
         "triggerMode": "interval", "triggerInterval": 2, "triggerIntervalUnit": "d"},
    ])
    assert _run(session) > 0
    events = {e["type"] + (e.get("decisionPath") or ""): e["id"] for e in campaigns.campaign_json(session=session, campaign_id=cid)["events"]}
    counts = campaigns.node_counts(session=session, campaign_id=cid)
    condition = str(events["lead.field_value"])
    assert (counts[condition]["yes"], counts[condition]["no"]) == (8, 42)
    assert _tags(session, us + others, "us") == set(us)
    session.expire_all()
    assert {c.id: c.points for c in session.exec(select(Contact).where(col(Contact.id).in_(us)))} == dict.fromkeys(us, 10)
    stats = lambda email_id: list(session.exec(select(EmailStat).where(EmailStat.email_id == email_id)))  # noqa: E731
    assert stats(welcome) == []  # a day later, not now
    later = utcnow() + timedelta(days=1, minutes=1)
    assert _run(session, later) == 8
    sent = stats(welcome)
    assert sorted(st.contact_id for st in sent) == sorted(us) and all(st.source == "campaign" for st in sent)
    # Three of them open it: the open decision fires at once and queues the thank-you.
    email_tracking.record_opens(session=session, hashes=[st.tracking_hash for st in sent[:3]])
    session.commit()
    assert ("mautic.campaigns.run",) in tasks
    _run(session, later)
    assert sorted(st.contact_id for st in stats(thanks)) == sorted(st.contact_id for st in sent[:3])
    # A second open of a message that already took its yes path changes nothing.
    email_tracking.record_opens(session=session, hashes=[sent[0].tracking_hash])
    session.commit()
    _run(session, later)
    assert len(stats(thanks)) == 3
    # The other five take the no path once two days have passed, and only they.
    assert _run(session, later + timedelta(days=1)) == 0
    _run(session, later + timedelta(days=2, minutes=1))
    assert sorted(st.contact_id for st in stats(reminder)) == sorted(st.contact_id for st in sent[3:])
    counts = campaigns.node_counts(session=session, campaign_id=cid)
    decision = str(events["email.open"])
    assert (counts[decision]["yes"], counts[decision]["no"], counts[decision]["now"]) == (3, 5, 0)
    # Every event ran once per contact and rotation: nothing is left to run.
    assert _run(session, later + timedelta(days=30)) == 0


def test_remove_from_this_campaign_stops_what_follows(session, tasks):
    ids = _people(session, 3)
    cid = _campaign(session, _segment(session, ids), [
        {"id": "new1", "type": "campaign.addremovelead", "eventType": "action", "properties": {"removeFrom": ["this"]}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "properties": {"add_tags": ["after"]}},
    ])
    _run(session)
    assert _tags(session, ids, "after") == set()
    session.expire_all()
    members = list(session.exec(select(CampaignMember).where(CampaignMember.campaign_id == cid)))
    assert all(m.removed for m in members) and len(members) == 3
    # Removed by the campaign itself: its segment does not bring them back.
    campaign_engine.sync_members(session=session, campaign_id=cid)
    session.commit()
    session.expire_all()
    assert all(m.removed for m in session.exec(select(CampaignMember).where(CampaignMember.campaign_id == cid)))


def test_scheduled_event_of_an_unpublished_campaign_stays_scheduled(session, tasks):
    ids = _people(session, 2)
    cid = _campaign(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["later"]},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "h"},
    ])
    campaigns.set_published(session=session, campaign_id=cid, published=False)
    session.commit()
    assert _run(session, utcnow() + timedelta(hours=2)) == 0
    assert {r.status for r in _log(session, cid)} == {"scheduled"}
    campaigns.set_published(session=session, campaign_id=cid, published=True)
    session.commit()
    assert _run(session, utcnow() + timedelta(hours=2)) == 2
    assert _tags(session, ids, "later") == set(ids)


def test_field_value_in_list_sends_others_and_blanks_to_no(session, tasks):
    """Mautic's test: ``in [v1, v3]`` takes matching contacts to yes, the rest (a contact with no value too) to no."""
    v1 = contacts.create(session=session, values={"email": "a@example.com", "city": "v1"})[0]
    v2 = contacts.create(session=session, values={"email": "b@example.com", "city": "v2"})[0]
    v3 = contacts.create(session=session, values={"email": "c@example.com", "city": "v3"})[0]
    blank = contacts.create(session=session, values={"email": "d@example.com"})[0]
    _campaign(session, _segment(session, [v1, v2, v3, blank]), [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition", "properties": {"field": "city", "operator": "in", "value": ["v1", "v3"]}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes", "properties": {"add_tags": ["yes"]}},
        {"id": "new3", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "no", "properties": {"add_tags": ["no"]}},
    ])
    _run(session)
    _run(session)
    assert _tags(session, [v1, v2, v3, blank], "yes") == {v1, v3}
    assert _tags(session, [v1, v2, v3, blank], "no") == {v2, blank}


def test_a_failing_action_is_retried_an_hour_later_then_shown_failed(session, tasks):
    ids = _people(session, 2)
    mail = _email(session)
    cid = _campaign(session, _segment(session, ids), [
        {"id": "new1", "type": "email.send", "eventType": "action", "properties": {"email": mail}}])
    session.execute(sa.delete(Email).where(col(Email.id) == mail))
    session.commit()
    now = utcnow()
    _run(session, now)
    rows = _log(session, cid)
    assert {(r.status, r.attempts) for r in rows} == {("scheduled", 1)} and "no longer exists" in rows[0].metadata_["error"] or \
        "does not exist" in rows[0].metadata_["error"]
    assert _run(session, now + timedelta(minutes=30)) == 0
    _run(session, now + timedelta(hours=1, minutes=1))
    _run(session, now + timedelta(hours=2, minutes=2))
    assert {(r.status, r.attempts) for r in _log(session, cid)} == {("failed", 3)}
    assert campaigns.node_counts(session=session, campaign_id=cid)[str(rows[0].event_id)]["failed"] == 2


def test_membership_follows_the_source_segment_and_leaving_cancels_pending(session, tasks):
    ids = _people(session, 3)
    seg = _segment(session, ids[:2])
    cid = _campaign(session, seg, [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["x"]},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d"}])
    assert campaigns.member_counts(session=session, campaign_ids=[cid]) == {cid: 2}
    segments.add_contacts(session=session, segment_id=seg, contact_ids=[ids[2]])
    segments.remove_contacts(session=session, segment_id=seg, contact_ids=[ids[0]])
    session.commit()
    assert campaign_engine.sync_members(session=session, campaign_id=cid) == {"joined": 1, "left": 1}
    session.commit()
    by_contact = {r.contact_id: r.status for r in _log(session, cid)}
    assert by_contact == {ids[0]: "cancelled", ids[1]: "scheduled", ids[2]: "scheduled"}
    _run(session, utcnow() + timedelta(days=1, minutes=1))
    assert _tags(session, ids, "x") == {ids[1], ids[2]}


def test_adding_twice_or_replaying_never_runs_an_event_twice(session, tasks):
    ids = _people(session, 2)
    cid = _campaign(session, _segment(session, ids), [
        {"id": "new1", "type": "lead.changepoints", "eventType": "action", "properties": {"points": 5}}])
    campaign_engine.add_contacts(session=session, campaign_id=cid, contact_ids=ids, manually=True)
    campaign_engine.sync_members(session=session, campaign_id=cid)
    session.commit()
    _run(session)
    _run(session)
    session.expire_all()
    assert [c.points for c in session.exec(select(Contact).where(col(Contact.id).in_(ids)))] == [5, 5]
    # A manual removal and a manual add back is a new entry: a new rotation runs the event again.
    campaign_engine.remove_contacts(session=session, campaign_id=cid, contact_ids=[ids[0]])
    campaign_engine.add_contacts(session=session, campaign_id=cid, contact_ids=[ids[0]])
    session.commit()
    _run(session)
    session.expire_all()
    assert session.get(Contact, ids[0]).points == 10 and session.get(Contact, ids[1]).points == 5


def test_publishing_refuses_a_campaign_that_does_not_validate(session, tasks):
    seg = _segment(session, _people(session, 1))
    with pytest.raises(campaigns.CampaignError) as caught:
        campaigns.save_campaign(session=session, values={"name": "Broken", "lists": [{"id": seg}], "isPublished": True, "events": [
            {"id": "new1", "type": "email.send", "eventType": "action", "properties": {}},
            {"id": "new2", "type": "email.open", "eventType": "decision", "parent": "new1"},
            {"id": "new3", "type": "lead.changetags", "eventType": "action", "parent": "new2", "decisionPath": "no",
             "properties": {"add_tags": ["x"]}},
        ]})
    messages = " ".join(m for ms in caught.value.events.values() for m in ms)
    assert "E-mail" in messages and "no path needs a wait" in messages


def _row_counts(s) -> dict[str, int]:
    tables = ("campaign_log", "campaign_members", "contact_tags", "email_stats", "contact_events", "contacts")
    return {t: s.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}  # noqa: S608  (fixed names)


def test_dry_run_forecasts_what_the_real_run_does_and_changes_nothing(session, tasks):
    """The dry run of a draft gives the per-event counts a real run reaches later, and writes or queues nothing."""
    from mautic_app.services import campaign_dry_run

    us = _people(session, 8, country="United States")
    others = [contacts.create(session=session, values={"email": f"o{i}@example.com", "country": "France"})[0] for i in range(12)]
    seg = _segment(session, us + others)
    welcome = _email(session)
    c = campaigns.save_campaign(session=session, values={"name": "Draft", "lists": [{"id": seg}], "isPublished": False, "events": [
        {"id": "new1", "type": "lead.field_value", "eventType": "condition", "properties": {"field": "country", "operator": "=", "value": "United States"}},
        {"id": "new2", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "yes", "properties": {"add_tags": ["us"]}},
        {"id": "new3", "type": "email.send", "eventType": "action", "parent": "new2", "properties": {"email": welcome},
         "triggerMode": "interval", "triggerInterval": 1, "triggerIntervalUnit": "d"},
        {"id": "new4", "type": "email.open", "eventType": "decision", "parent": "new3"},
        {"id": "new5", "type": "lead.changepoints", "eventType": "action", "parent": "new4", "decisionPath": "no", "properties": {"points": 1},
         "triggerMode": "interval", "triggerInterval": 3, "triggerIntervalUnit": "d"},
        {"id": "new6", "type": "lead.changetags", "eventType": "action", "parent": "new1", "decisionPath": "no", "properties": {"add_tags": ["x"]},
         "triggerMode": "interval", "triggerInterval": 40, "triggerIntervalUnit": "d"},
    ]})
    session.commit()
    ids = {e["type"] + (e.get("decisionPath") or ""): str(e["id"]) for e in campaigns.campaign_json(session=session, campaign_id=c.id)["events"]}
    before, queued = _row_counts(session), len(tasks)
    forecast = campaign_dry_run.dry_run(session=session, campaign_id=c.id, days=30)
    session.rollback()
    assert _row_counts(session) == before and len(tasks) == queued
    ev = forecast["events"]
    assert forecast["audience"] == 20
    assert (ev[ids["lead.field_value"]]["yes"], ev[ids["lead.field_value"]]["no"]) == (8, 12)
    assert ev[ids["lead.changetagsyes"]]["reach"] == 8 and ev[ids["email.send"]]["first_day"] == 1
    assert ev[ids["email.open"]]["no"] == 8 and ev[ids["lead.changepointsno"]]["reach"] == 8  # never sent: nobody expected to open
    assert ev[ids["lead.changetagsno"]]["reach"] == 0  # 40 days later: outside the 30 simulated
    assert len(ev[ids["lead.changetagsyes"]]["samples"]) == 5
    # The real run reaches the same counts.
    campaigns.set_published(session=session, campaign_id=c.id, published=True)
    session.commit()
    campaign_engine.sync_members(session=session, campaign_id=c.id)
    start = utcnow()
    for day in range(0, 31):
        _run(session, start + timedelta(days=day, minutes=1))
    real = campaigns.node_counts(session=session, campaign_id=c.id)
    for key in ("lead.field_value", "lead.changetagsyes", "email.send", "lead.changepointsno"):
        assert real[ids[key]]["done"] == ev[ids[key]]["reach"], key


def test_webhooks_go_to_public_hosts_only_signed_and_retried(session, tasks, override_settings):
    """A webhook to this machine is refused at publishing (and at sending) unless an admin allows it; allowed, it
    posts the contact as JSON signed with the instance's key, and a failing receiver is tried again later."""
    import base64
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from celery.exceptions import Retry

    from mautic_app.settings import get_settings
    from mautic_app.tasks import campaigns as campaign_tasks

    got: list[tuple[dict, bytes]] = []
    answers = [500, 200]

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0))
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    ids = _people(session, 1)
    seg = _segment(session, ids)
    hook = {"id": "new1", "type": "campaign.sendwebhook", "eventType": "action", "properties": {"url": url, "additional_data": {"source": "test"}}}
    session.commit()
    with pytest.raises(campaigns.CampaignError) as refused:
        campaigns.save_campaign(session=session, values={"name": "Hook", "lists": [{"id": seg}], "isPublished": True, "events": [hook]})
    assert "MAUTIC_OUTGOING_ALLOW_PRIVATE" in str(refused.value)
    session.rollback()
    override_settings(outgoing_allow_private=("127.0.0.1",))
    cid = _campaign(session, seg, [hook])
    _run(session)
    queued = [t for t in tasks if t[0] == campaign_engine.WEBHOOK_TASK]
    assert len(queued) == 1
    with pytest.raises(Retry):  # the receiver answered 500: tried again later
        campaign_tasks.send_webhook(*queued[0][1:])
    campaign_tasks.send_webhook(*queued[0][1:])
    server.shutdown()
    headers, body = got[-1]
    data = json.loads(body)
    assert data["campaign_id"] == cid and data["contact"]["email"] == "p0@example.com" and data["data"] == {"source": "test"}
    expected = base64.b64encode(hmac.new(get_settings().secret_key.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["X-Mautic-Signature"] == expected and len(got) == 2


def test_members_added_by_hand_before_publishing_start_when_it_is_published(session, tasks):
    ids = _people(session, 2)
    empty = _segment(session, [], name="Nobody yet")
    c = campaigns.save_campaign(session=session, values={"name": "Later", "lists": [{"id": empty}], "events": [
        {"id": "new1", "type": "lead.changetags", "eventType": "action", "properties": {"add_tags": ["started"]}}]})
    campaign_engine.add_contacts(session=session, campaign_id=c.id, contact_ids=ids)
    session.commit()
    assert _run(session) == 0  # a draft runs nothing
    campaigns.set_published(session=session, campaign_id=c.id, published=True)
    session.commit()
    campaign_engine.sync_members(session=session, campaign_id=c.id)
    _run(session)
    assert _tags(session, ids, "started") == set(ids)
