"""The public e-mail routes on a delivered message: the pixel, click redirects, view in browser and
unsubscribing; forged hashes and links of other e-mails go nowhere."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from mautic_app import db
from mautic_app.models import ContactEvent, DoNotContact, Email, EmailClick, EmailLink, EmailStat
from mautic_app.services import contacts, email_sends

HTML = ('<html><body><p>Hi {contactfield=firstname}</p><a href="https://shop.example/offer?x=1">Offer</a>'
        '<a href="{unsubscribe_url}">Unsubscribe</a></body></html>')


@pytest.fixture
def delivered(session, monkeypatch):
    """A template e-mail delivered to one contact through the outbox; returns (email id, stat, contact id)."""
    monkeypatch.delenv("MAUTIC_MAILER_DSN", raising=False)
    monkeypatch.setattr(db, "send_task", lambda *a: None)

    def make(name="Ann", subject="Welcome", utm=None):
        with session() as s:
            cid = contacts.create(session=s, values={"email": f"{name.lower()}@example.com", "firstname": name})[0]
            e = Email(name=subject, email_type="template", subject=subject, custom_html=HTML, from_address="news@shop.example",
                      utm_tags=utm or {})
            s.add(e)
            s.flush()
            stat_id = email_sends.send_to_contact(session=s, email_id=e.id, contact_id=cid, source="api").id
            email_id = e.id
        assert email_sends.deliver(stat_id=stat_id) == "sent"
        with session() as s:
            return email_id, s.get(EmailStat, stat_id), cid

    return make


def _opened(client, session, stat, times: int = 1) -> None:
    """Fetch the pixel ``times`` times, then wait for its writer (the GIF answers before the open is written)."""
    for _ in range(times):
        assert client.get(f"/email/{stat.tracking_hash}.gif").headers["content-type"] == "image/gif"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session() as s:
            if s.get(EmailStat, stat.id).open_count >= (stat.open_count or 0) + times:
                return
        time.sleep(0.02)
    raise AssertionError("the opens were not written")


def _clicks_written(session, link_id: int, hits: int) -> None:
    """Wait for the click writer (the redirect answers before the click is written)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session() as s:
            if s.get(EmailLink, link_id).hits >= hits:
                return
        time.sleep(0.02)
    raise AssertionError("the clicks were not written")


def _events(session, cid, kind):
    with session() as s:
        return s.exec(select(ContactEvent).where(ContactEvent.contact_id == cid, ContactEvent.event_type == kind)).all()


def test_open_pixel_counts_once_as_read_and_every_time(client, session, delivered):
    email_id, stat, cid = delivered()
    _opened(client, session, stat, 3)
    with session() as s:
        st = s.get(EmailStat, stat.id)
        assert (st.is_read, st.open_count) == (True, 3) and st.date_read is not None
        assert s.get(Email, email_id).read_count == 1
    assert len(_events(session, cid, "email.read")) == 1


def test_unknown_or_forged_hash_is_still_a_gif_and_writes_nothing(client, session, delivered):
    _email_id, stat, _cid = delivered()
    for name in ("nope", stat.tracking_hash[:-3], stat.tracking_hash + "x", "%3Cscript%3E"):
        r = client.get(f"/email/{name}.gif")
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    _opened(client, session, stat)  # written after the bogus ones (one writer, in order)
    with session() as s:
        assert s.get(EmailStat, stat.id).open_count == 1  # none of them counted


def test_click_redirects_to_the_link_with_utm_tags_and_identifies(client, session, delivered):
    email_id, stat, cid = delivered(utm={"utmSource": "mautic", "utmCampaign": "autumn"})
    with session() as s:
        link = s.exec(select(EmailLink).where(EmailLink.email_id == email_id)).one()
    assert link.url == "https://shop.example/offer?x=1"
    r = client.get(f"/r/{link.redirect_id}?ct={stat.tracking_hash}", follow_redirects=False)
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    query = parse_qs(target.query)
    assert (target.netloc, target.path) == ("shop.example", "/offer")
    assert query["x"] == ["1"] and query["utm_source"] == ["mautic"] and query["utm_campaign"] == ["autumn"] and query["ct"]
    assert "mtc_id" in r.cookies
    client.get(f"/r/{link.redirect_id}?ct={stat.tracking_hash}", follow_redirects=False)
    _clicks_written(session, link.id, 2)
    with session() as s:
        link = s.get(EmailLink, link.id)
        assert (link.hits, link.unique_hits) == (2, 1)
        assert s.get(Email, email_id).click_count == 1
        assert s.get(EmailStat, stat.id).is_read  # a click proves the open
        assert len(s.exec(select(EmailClick)).all()) == 2
    assert _events(session, cid, "email.click")[0].details["url"] == "https://shop.example/offer?x=1"


def test_click_on_another_emails_link_or_a_forged_hash_is_a_404(client, session, delivered):
    email_a, stat_a, _ = delivered("Ann", "A")
    email_b, stat_b, _ = delivered("Bob", "B")
    with session() as s:
        link_a = s.exec(select(EmailLink).where(EmailLink.email_id == email_a)).one()
    for url in (f"/r/{link_a.redirect_id}?ct={stat_b.tracking_hash}", f"/r/{link_a.redirect_id}?ct={stat_a.tracking_hash[:-2]}",
                f"/r/{link_a.redirect_id}?ct=forged-forged-forged-forged", "/r/notalink123?ct=" + stat_a.tracking_hash,
                "/r/..%2F..%2Fhttps:evil.example"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 404, url
        assert "location" not in r.headers
    # without a hash the link still works, as an anonymous click (Mautic does the same)
    r = client.get(f"/r/{link_a.redirect_id}", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("https://shop.example/offer")


def test_one_click_unsubscribe_sets_do_not_contact(client, session, delivered):
    email_id, stat, cid = delivered()
    r = client.post(f"/email/unsubscribe/{stat.tracking_hash}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    with session() as s:
        dnc = s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).one()
        assert (dnc.channel, dnc.reason, dnc.channel_id) == ("email", 1, email_id)
    assert _events(session, cid, "email.unsubscribed")


def test_unsubscribe_page_confirms_and_resubscribes(client, session, delivered):
    _email_id, stat, cid = delivered()
    page = client.get(f"/email/unsubscribe/{stat.tracking_hash}")
    assert page.status_code == 200 and "ann@example.com" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post(f"/email/unsubscribe/{stat.tracking_hash}", data={"token": token, "action": "unsubscribe"})
    assert "is unsubscribed" in done.text and "Resubscribe" in done.text
    with session() as s:
        assert s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).first() is not None
    back = client.post(f"/email/unsubscribe/{stat.tracking_hash}", data={"token": token, "action": "resubscribe"})
    assert "gets our e-mails again" in back.text
    with session() as s:
        assert s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).first() is None


def test_a_token_for_another_message_or_a_bad_hash_is_a_404(client, session, delivered):
    _e1, stat_a, cid_a = delivered("Ann", "A")
    _e2, stat_b, cid_b = delivered("Bob", "B")
    page = client.get(f"/email/unsubscribe/{stat_a.tracking_hash}")
    token_a = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    r = client.post(f"/email/unsubscribe/{stat_b.tracking_hash}", data={"token": token_a, "action": "unsubscribe"})
    assert r.status_code == 404
    assert client.get("/email/unsubscribe/forged-forged-forged-forged").status_code == 404
    assert client.get(f"/email/unsubscribe/{stat_a.tracking_hash[:-1]}").status_code == 404
    with session() as s:
        assert s.exec(select(DoNotContact)).all() == []


def test_texts_are_escaped_and_the_web_view_is_sandboxed(client, session, delivered):
    _email_id, stat, _cid = delivered("Eve", "<script>alert(1)</script>")
    page = client.get(f"/email/unsubscribe/{stat.tracking_hash}")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    view = client.get(f"/email/view/{stat.tracking_hash}")
    assert view.status_code == 200 and "Hi Eve" in view.text
    assert view.headers["content-security-policy"] == "sandbox"
    assert client.get("/email/view/forged-forged-forged-forged").status_code == 404


def test_opening_scores_and_a_trigger_sends_an_email(client, session, delivered):
    from mautic_app.models import Contact
    from mautic_app.services import points

    email_id, stat, cid = delivered()
    with session() as s:
        points.save_action(session=s, action_id=None, name="Opens", type="email.open", delta=10, properties={"emails": [email_id]})
        trigger = points.save_trigger(session=s, trigger_id=None, name="Warm", points=10, color="#ff0000",
                                      events=[{"type": "email.send", "properties": {"emails": [email_id]}}])
        assert trigger.id
    _opened(client, session, stat, 2)  # only the first open scores
    with session() as s:
        assert s.get(Contact, cid).points == 10
        sent = s.exec(select(EmailStat).where(EmailStat.contact_id == cid, EmailStat.source == "point_trigger")).all()
        assert [(x.email_id, x.status) for x in sent] == [(email_id, "queued")]


def test_being_sent_and_clicking_score(client, session, delivered):
    from mautic_app.models import Contact
    from mautic_app.services import points

    with session() as s:
        points.save_action(session=s, action_id=None, name="Sent", type="email.send", delta=2)
        points.save_action(session=s, action_id=None, name="Clicks", type="email.click", delta=5, repeatable=True)
    email_id, stat, cid = delivered()
    with session() as s:
        assert s.get(Contact, cid).points == 2
        link = s.exec(select(EmailLink).where(EmailLink.email_id == email_id)).one()
    for _ in range(2):
        client.get(f"/r/{link.redirect_id}?ct={stat.tracking_hash}", follow_redirects=False)
    _clicks_written(session, link.id, 2)
    with session() as s:
        assert s.get(Contact, cid).points == 12  # every click scores a repeatable action


def test_segment_filters_on_email_activity(client, session, delivered):
    from mautic_app.services import segments

    email_id, stat, cid = delivered("Ann", "A")
    _other_email, _other_stat, bob = delivered("Bob", "B")

    def members(field, operator="in"):
        with session() as s:
            found = segments.preview(session=s, filters=[{"glue": "and", "field": field, "operator": operator, "value": [str(email_id)]}])
        return {row["id"] for row in found["sample"]} if found["total"] else set()

    assert members("lead_email_sent") == {cid}
    assert members("lead_email_received") == set() and members("email_clicked_link") == set()
    _opened(client, session, stat)
    with session() as s:
        link = s.exec(select(EmailLink).where(EmailLink.email_id == email_id)).one()
    client.get(f"/r/{link.redirect_id}?ct={stat.tracking_hash}", follow_redirects=False)
    _clicks_written(session, link.id, 1)
    assert members("lead_email_received") == {cid} and members("email_clicked_link") == {cid}
    assert bob in members("lead_email_received", "!in") and cid not in members("lead_email_received", "!in")


def test_dashboard_email_activity(client, session, delivered):
    from mautic_app.models.base import utcnow
    from mautic_app.services import dashboard

    _email_id, stat, _cid = delivered()
    _opened(client, session, stat)
    today = utcnow().date()
    with session() as s:
        data = dashboard.email_activity(session=s, start=today, end=today)
    assert (data["sent"], data["opened"], data["clicked"], data["totals"]) == ([1], [1], [0], {"sent": 1, "opened": 1, "clicked": 0})


def test_the_contacts_emails(client, session, delivered):
    from mautic_app.services import emails

    email_id, stat, cid = delivered("Ann", "Welcome")
    _opened(client, session, stat)
    with session() as s:
        link = s.exec(select(EmailLink).where(EmailLink.email_id == email_id)).one()
    client.get(f"/r/{link.redirect_id}?ct={stat.tracking_hash}", follow_redirects=False)
    _clicks_written(session, link.id, 1)
    with session() as s:
        (row,) = emails.sent_to_contact(session=s, contact_id=cid)
    assert (row["name"], row["status"], row["opened"], row["clicked"]) == ("Welcome", "Sent", 1, 1)


def test_preference_center_leaves_lists_pauses_and_turns_email_off(client, session, delivered):
    from mautic_app.models import FrequencyRule, Segment
    from mautic_app.services import segments

    _email_id, stat, cid = delivered()
    with session() as s:
        shown = segments.save_segment(session=s, values={"name": "Weekly tips"})
        shown.is_preference_center = True
        hidden = segments.save_segment(session=s, values={"name": "Internal scoring"})
        for seg in (shown, hidden):
            segments.add_contacts(session=s, segment_id=seg.id, contact_ids=[cid])
        shown_id, hidden_id = shown.id, hidden.id
    page = client.get(f"/email/preferences/{stat.tracking_hash}")
    assert page.status_code == 200 and "Weekly tips" in page.text and "Internal scoring" not in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    r = client.post(f"/email/preferences/{stat.tracking_hash}", data={"token": token, "email": "1", "pause_from": "2027-01-01",
                                                                     "pause_to": "2027-01-31", "keep": []})
    assert r.status_code == 200 and "Saved." in r.text
    with session() as s:
        member_of = {seg.id for seg, _a, _m in segments.memberships(session=s, contact_id=cid)}
        assert shown_id not in member_of and hidden_id in member_of  # only what was offered can be left
        rule = s.exec(select(FrequencyRule).where(FrequencyRule.contact_id == cid)).one()
        assert (rule.pause_from.date().isoformat(), rule.pause_to.date().isoformat()) == ("2027-01-01", "2027-01-31")
        assert s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).first() is None
        assert s.get(Segment, hidden_id) is not None
    r = client.post(f"/email/preferences/{stat.tracking_hash}", data={"token": token})  # e-mail unticked
    assert r.status_code == 200
    with session() as s:
        assert s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).one().reason == 1
    assert client.post(f"/email/preferences/{stat.tracking_hash}", data={"token": "forged", "email": "1"}).status_code == 404
    assert client.get("/email/preferences/forged-forged-forged-forged").status_code == 404


def test_a_group_of_opens_is_written_together(session, delivered):
    from mautic_app.services import email_tracking

    _e1, first, cid = delivered("Ann", "A")
    _e2, second, _ = delivered("Bob", "B")
    with session() as s:
        done = email_tracking.record_opens(session=s, hashes=[first.tracking_hash, "bogus-bogus-bogus-bogus", first.tracking_hash,
                                                              second.tracking_hash])
    assert done == [True, False, True, True]
    with session() as s:
        a, b = s.get(EmailStat, first.id), s.get(EmailStat, second.id)
        assert (a.open_count, a.is_read, b.open_count, b.is_read) == (2, True, 1, True)
        assert s.get(Email, first.email_id).read_count == 1 and s.get(Email, second.email_id).read_count == 1
    assert len(_events(session, cid, "email.read")) == 1
    with session() as s:
        email_tracking.record_opens(session=s, hashes=[first.tracking_hash])  # read already: counted, nothing else
    with session() as s:
        assert s.get(EmailStat, first.id).open_count == 3 and s.get(Email, first.email_id).read_count == 1
    assert len(_events(session, cid, "email.read")) == 1


def test_a_group_of_clicks_is_resolved_then_written_together(session, delivered):
    """Two clicks of one message, one of another, one anonymous and two that go nowhere, in one group: the
    first click of a message on a link is the unique one, whatever the group holds."""
    from mautic_app.services import email_tracking

    email_a, first, cid = delivered("Ann", "A")
    _email_b, second, _ = delivered("Bob", "B")
    with session() as s:
        link_a = s.exec(select(EmailLink).where(EmailLink.email_id == email_a)).one()
        link_b = s.exec(select(EmailLink).where(EmailLink.email_id == second.email_id)).one()
        clicks = email_tracking.resolve_clicks(session=s, items=[
            (link_a.redirect_id, first.tracking_hash), (link_a.redirect_id, first.tracking_hash), (link_b.redirect_id, second.tracking_hash),
            (link_a.redirect_id, None), (link_a.redirect_id, second.tracking_hash), ("nolinkhere", first.tracking_hash)])
    assert [c is None for c in clicks] == [False, False, False, False, True, True]
    assert clicks[0].contact_id == cid and clicks[0].public_id and "ct=" in clicks[0].url and clicks[3].contact_id is None
    with session() as s:
        email_tracking.record_clicks(session=s, clicks=[c for c in clicks if c is not None])
    with session() as s:
        a, b = s.get(EmailLink, link_a.id), s.get(EmailLink, link_b.id)
        assert (a.hits, a.unique_hits, b.hits, b.unique_hits) == (3, 2, 1, 1)  # the anonymous click is unique by itself
        assert s.get(Email, email_a).click_count == 1 and s.get(EmailStat, first.id).is_read
    assert len(_events(session, cid, "email.click")) == 2 and len(_events(session, cid, "email.read")) == 1
    with session() as s:  # a later group knows the earlier clicks
        email_tracking.record_clicks(session=s, clicks=[email_tracking.resolve_clicks(session=s, items=[(link_a.redirect_id, first.tracking_hash)])[0]])
    with session() as s:
        assert (s.get(EmailLink, link_a.id).unique_hits, s.get(Email, email_a).click_count) == (2, 1)
