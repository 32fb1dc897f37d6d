"""Sending through a real SMTP server: broadcasts reach each member once, skip who may not be e-mailed,
survive refusals, pause, resume, cancel and dead workers; template sends go once however often they are
delivered."""

from __future__ import annotations

import email.utils
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from mautic_app import db
from mautic_app.domain.email_variants import Plan
from mautic_app.models import Email, EmailLink, EmailSegment, EmailSend, EmailStat, FrequencyRule
from mautic_app.models.base import utcnow
from mautic_app.services import companies, contacts, email_sends, mailer, segments
from tests.integration.smtp_sink import smtp_sink

HTML = ('<html><body><p>Hello {contactfield=firstname|friend}</p>'
        '<a href="https://example.com/offer">Offer</a> <a href="{unsubscribe_url}">Unsubscribe</a></body></html>')


@pytest.fixture
def sink(monkeypatch):
    with smtp_sink() as s:
        monkeypatch.setenv("MAUTIC_MAILER_DSN", s.dsn)
        yield s


@pytest.fixture
def queued(monkeypatch):
    """E-mail tasks the services queue after commit, in order (nothing runs them unless the test does)."""
    sent: list[tuple] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append((task, *args)) if task.startswith("mautic.emails.") else None)
    return sent


def _people(s, n: int, prefix: str, **values) -> list[int]:
    return [contacts.create(session=s, values={"email": f"{prefix}{i}@example.com", "firstname": f"P{i}", **values})[0] for i in range(n)]


def _segment(s, name: str, ids: list[int]) -> int:
    seg = segments.save_segment(session=s, values={"name": name})
    segments.add_contacts(session=s, segment_id=seg.id, contact_ids=ids)
    return seg.id


def _email(s, included: list[int], excluded: list[int] = (), **values) -> int:
    e = Email(**({"name": "Newsletter", "email_type": "list", "subject": "Hi {contactfield=firstname}", "custom_html": HTML,
                  "from_address": "news@example.org", "from_name": "News"} | values))
    s.add(e)
    s.flush()
    for seg in included:
        s.add(EmailSegment(email_id=e.id, segment_id=seg))
    for seg in excluded:
        s.add(EmailSegment(email_id=e.id, segment_id=seg, excluded=True))
    return e.id


def _run(send_id: int, chain: str = "test", batch: int = 7) -> None:
    while email_sends.run_broadcast(send_id=send_id, chain=chain, seconds=60, batch=batch):
        pass


def _statuses(s, send_id: int) -> dict[str, int]:
    rows = s.execute(sa.select(EmailStat.status, sa.func.count()).where(EmailStat.send_id == send_id).group_by(EmailStat.status)).all()
    return dict(rows)


def test_broadcast_reaches_each_member_once(session, sink, queued):
    with session() as s:
        a, b = _people(s, 12, "a"), _people(s, 5, "b")
        out = _people(s, 3, "x")
        dnc = _people(s, 1, "dnc")
        contacts.add_dnc(session=s, contact_id=dnc[0], reason=3)
        paused = _people(s, 1, "paused")
        s.add(FrequencyRule(contact_id=paused[0], channel="email", pause_from=utcnow() - timedelta(days=1), pause_to=utcnow() + timedelta(days=1)))
        # a[0:4] are in both segments; out is in an included and the excluded segment
        seg1 = _segment(s, "One", a + out + dnc + paused)
        seg2 = _segment(s, "Two", a[:4] + b)
        excluded = _segment(s, "Not these", out)
        email_id = _email(s, [seg1, seg2], [excluded])
        send = email_sends.start_broadcast(session=s, email_id=email_id)
        send_id = send.id
        assert send.total == 12 + 5 + 2  # the do-not-contact and paused contacts are counted, then skipped
    assert queued[0][0] == email_sends.BROADCAST_TASK
    _run(send_id)
    expected = {f"a{i}@example.com" for i in range(12)} | {f"b{i}@example.com" for i in range(5)}
    got = sink.to()
    assert sorted(got) == sorted(expected)  # each once; nobody excluded, unsubscribed or paused
    with session() as s:
        progress = email_sends.progress(session=s, send_id=send_id)
        assert (progress["status"], progress["sent"], progress["skipped"], progress["failed"], progress["unknown"]) == ("finished", 17, 2, 0, 0)
        assert _statuses(s, send_id) == {"sent": 17, "skipped": 2}
        assert s.get(Email, email_id).sent_count == 17
        link = s.exec(select(EmailLink).where(EmailLink.email_id == email_id)).one()
        stat = s.exec(select(EmailStat).where(EmailStat.email_address == "a3@example.com")).one()
        assert link.url == "https://example.com/offer"
    message = next(m for m in sink.messages if "a3@example.com" in m["To"])
    assert message["Subject"] == "Hi P3"
    assert message["Message-ID"] == stat.message_id
    assert message["List-Unsubscribe"] == f"<{email_sends._urls(stat.tracking_hash)['unsubscribe_url']}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert f"/r/{link.redirect_id}?ct={stat.tracking_hash}" in html and "https://example.com/offer" not in html
    assert f"/email/{stat.tracking_hash}.gif" in html
    assert "Hello P3" in html


def test_a_second_broadcast_sends_only_to_new_members(session, sink, queued):
    with session() as s:
        first = _people(s, 4, "m")
        seg = _segment(s, "Members", first)
        email_id = _email(s, [seg])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    with session() as s:
        with pytest.raises(email_sends.SendError):
            email_sends.start_broadcast(session=s, email_id=999999)
        later = _people(s, 2, "late")
        segments.add_contacts(session=s, segment_id=seg, contact_ids=later)
        assert email_sends.pending_count(session=s, email_id=email_id) == 2
        again = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(again)
    assert sorted(sink.to()) == sorted([f"m{i}@example.com" for i in range(4)] + ["late0@example.com", "late1@example.com"])


def test_contact_values_are_escaped_in_html_only(session, sink, queued):
    with session() as s:
        ids = _people(s, 1, "esc")
        contacts.update(session=s, contact_id=ids[0], values={"firstname": "<b>Bo</b>"})
        email_id = _email(s, [_segment(s, "Esc", ids)])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    message = sink.messages[0]
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "&lt;b&gt;Bo&lt;/b&gt;" in html and "<b>Bo</b>" not in html
    assert "<b>Bo</b>" in text


def test_tokens_read_only_the_fields_they_show_and_fall_back_to_the_company(session, sink, queued):
    with session() as s:
        ids = _people(s, 2, "co", city="Lyon")
        acme = companies.create(session=s, values={"companyname": "Acme", "companycity": "Paris"})
        companies.link_contact(session=s, company_id=acme, contact_id=ids[0])
        email_id = _email(s, [_segment(s, "Co", ids)], custom_html="<p>{contactfield=city} {contactfield=companyname|none}</p>")
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    bodies = {m["To"].addresses[0].addr_spec if hasattr(m["To"], "addresses") else m["To"]: m for m in sink.messages}
    texts = {to: next(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == "text/html")
             for to, m in bodies.items()}
    assert "<p>Lyon Acme</p>" in next(t for to, t in texts.items() if "co0@" in to)
    assert "<p>Lyon none</p>" in next(t for to, t in texts.items() if "co1@" in to)


def test_one_bad_address_never_holds_back_the_others(session, sink, queued, monkeypatch):
    monkeypatch.setattr(email_sends, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    sink.refuse.add("r1@example.com")
    sink.refuse_once.add("r2@example.com")
    with session() as s:
        email_id = _email(s, [_segment(s, "R", _people(s, 5, "r"))])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    assert sorted(sink.to()) == ["r0@example.com", "r2@example.com", "r3@example.com", "r4@example.com"]
    with session() as s:
        bad = s.exec(select(EmailStat).where(EmailStat.email_address == "r1@example.com")).one()
        retried = s.exec(select(EmailStat).where(EmailStat.email_address == "r2@example.com")).one()
        assert (bad.status, retried.status, retried.retry_count) == ("failed", "sent", 1)
        assert "550" in bad.error
        assert email_sends.progress(session=s, send_id=send_id)["failed"] == 1


def test_pause_resume_and_cancel(session, sink, queued):
    with session() as s:
        email_id = _email(s, [_segment(s, "P", _people(s, 10, "p"))])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    # the first batch goes out, then the marketer pauses: the next batch, claimed meanwhile, never goes
    real_deliver = email_sends._deliver

    def deliver_then_pause(transport, messages):
        outcomes = real_deliver(transport, messages)
        with db.session_scope() as other:
            email_sends.pause(session=other, send_id=send_id)
        return outcomes

    email_sends._deliver = deliver_then_pause
    try:
        assert email_sends.run_broadcast(send_id=send_id, chain="c1", seconds=60, batch=3) is False
    finally:
        email_sends._deliver = real_deliver
    assert len(sink.messages) == 3
    with session() as s:
        assert email_sends.progress(session=s, send_id=send_id)["status"] == "paused"
        assert s.get(EmailSend, send_id).lease_owner is None
        assert _statuses(s, send_id) == {"sent": 3}  # the reserved batch was let go, to be claimed again
        email_sends.resume(session=s, send_id=send_id)
    _run(send_id, chain="c2", batch=3)
    assert len(sink.to()) == len(set(sink.to())) == 10
    with session() as s:
        email_id2 = _email(s, [_segment(s, "Q", _people(s, 3, "q"))])
        send2 = email_sends.start_broadcast(session=s, email_id=email_id2).id
        email_sends.cancel(session=s, send_id=send2)
    assert email_sends.run_broadcast(send_id=send2, chain="c3") is False
    assert not [m for m in sink.to() if m.startswith("q")]


def test_messages_in_flight_when_a_worker_died_are_never_resent(session, sink, queued):
    with session() as s:
        email_id = _email(s, [_segment(s, "D", _people(s, 6, "d"))])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    # a worker of this machine claimed two contacts and reserved the next two while those went out, then died
    # before recording (its pid is gone)
    dead = f"old@{socket.gethostname()}:999999"
    with session() as s:
        s.execute(sa.update(EmailSend).where(EmailSend.id == send_id).values(lease_owner=dead, lease_until=utcnow() + timedelta(minutes=5)))
    with session() as s:
        content = email_sends._prepare(s, s.get(Email, email_id), mailer.config(session=s))
        claim = email_sends._claim(s, s.get(EmailSend, send_id), dead, 2, content, Plan(email_id))
        in_flight = {r.address for r in claim.recipients}
        reserved = email_sends._claim(s, s.get(EmailSend, send_id), dead, 2, content, Plan(email_id), reserve=True)
        never_handed_over = {r.address for r in reserved.recipients}
    with session() as s:
        assert email_sends.due_and_stalled(session=s) == [send_id]  # the sweep sees the dead holder
    _run(send_id, chain="new")
    got = sink.to()
    assert len(got) == len(set(got)) == 4 and not in_flight & set(got) and never_handed_over <= set(got)
    with session() as s:
        assert _statuses(s, send_id) == {"sent": 4, "unknown": 2}
        assert email_sends.progress(session=s, send_id=send_id)["unknown"] == 2


def test_a_live_holder_keeps_its_broadcast(session, sink, queued):
    with session() as s:
        email_id = _email(s, [_segment(s, "L", _people(s, 2, "l"))])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
        s.execute(sa.update(EmailSend).where(EmailSend.id == send_id)
                  .values(lease_owner="other@elsewhere:1", lease_until=utcnow() + timedelta(minutes=1)))
    assert email_sends.run_broadcast(send_id=send_id, chain="mine") is False
    assert sink.messages == []
    with session() as s:
        assert email_sends.due_and_stalled(session=s) == []
        s.execute(sa.update(EmailSend).where(EmailSend.id == send_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    with session() as s:
        assert email_sends.due_and_stalled(session=s) == [send_id]  # another machine's lease ran out


def test_scheduled_broadcast_starts_when_due(session, sink, queued):
    with session() as s:
        email_id = _email(s, [_segment(s, "S", _people(s, 2, "s"))])
        send = email_sends.start_broadcast(session=s, email_id=email_id, scheduled_at=utcnow() + timedelta(hours=1))
        send_id = send.id
        assert send.status == "scheduled" and not queued
        assert email_sends.due_and_stalled(session=s) == []
        assert email_sends.due_and_stalled(session=s, now=utcnow() + timedelta(hours=2)) == [send_id]
    assert queued[-1][:2] == (email_sends.BROADCAST_TASK, send_id)
    _run(send_id)
    assert sorted(sink.to()) == ["s0@example.com", "s1@example.com"]


def test_template_send_goes_once_however_often_delivered(session, sink, queued):
    with session() as s:
        (cid,) = _people(s, 1, "t")
        email_id = _email(s, [], email_type="template")
        stat = email_sends.send_to_contact(session=s, email_id=email_id, contact_id=cid, source="api", tokens={"{code}": "X1"})
        stat_id = stat.id
    assert queued == [(email_sends.DELIVER_TASK, stat_id)]
    assert email_sends.deliver(stat_id=stat_id) == "sent"
    assert email_sends.deliver(stat_id=stat_id) is None  # a redelivered task finds the row claimed
    assert sink.to() == ["t0@example.com"]
    message = sink.messages[0]
    assert "List-Unsubscribe" not in message  # transactional: no list headers
    assert email.utils.parseaddr(message["From"]) == ("News", "news@example.org")
    with session() as s:
        assert s.get(EmailStat, stat_id).status == "sent"
        with pytest.raises(ValueError, match="token"):
            email_sends.send_to_contact(session=s, email_id=email_id, contact_id=cid, source="api", tokens={"{x}": "a\r\nBcc: evil@example.com"})


def test_do_not_contact_template_send_is_skipped(session, sink, queued):
    with session() as s:
        (cid,) = _people(s, 1, "n")
        contacts.add_dnc(session=s, contact_id=cid, reason=1)
        email_id = _email(s, [], email_type="template")
        stat = email_sends.send_to_contact(session=s, email_id=email_id, contact_id=cid, source="form")
        assert (stat.status, stat.error) == ("skipped", "Do not contact")
    assert queued == [] and sink.messages == []


def test_preview_and_test_send(session, sink, queued):
    with session() as s:
        (cid,) = _people(s, 1, "v")
        email_id = _email(s, [], email_type="template")
        preview = email_sends.render_preview(session=s, email_id=email_id, contact_id=cid)
        sample = email_sends.render_preview(session=s, email_id=email_id)
    assert preview["subject"] == "Hi P0" and "Hello P0" in preview["html"] and "https://example.com/offer" in preview["html"]
    assert "Hello Ann" in sample["html"]
    answer = email_sends.send_test(email_id=email_id, to_address="me@example.net", contact_id=cid)
    assert "250" in answer or "Queued" in answer
    assert sink.messages[-1]["Subject"] == "[Test] Hi P0"
    with pytest.raises(email_sends.SendError):
        email_sends.send_test(email_id=email_id, to_address="not an address")
    with session() as s:
        assert s.exec(select(EmailStat)).all() == []  # a test is not a send


def test_a_contact_value_that_would_break_a_header_fails_that_message_alone(session, sink, queued):
    with session() as s:
        ids = _people(s, 3, "h")
        contacts.update(session=s, contact_id=ids[1], values={"firstname": "Eve\r\nBcc: victim@example.com"})
        email_id = _email(s, [_segment(s, "H", ids)])
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    assert sorted(sink.to()) == ["h0@example.com", "h2@example.com"]
    assert not any("victim" in str(m) for m in sink.messages)
    with session() as s:
        bad = s.exec(select(EmailStat).where(EmailStat.email_address == "h1@example.com")).one()
        assert bad.status == "failed" and "line break" in bad.error
        assert email_sends.progress(session=s, send_id=send_id)["status"] == "finished"
