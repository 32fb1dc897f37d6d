"""A/B tests and translations through the real broadcast engine and an SMTP server: the test's share goes out
split between the versions, the broadcast waits, the winner by open rate goes to the rest, nobody gets two
versions; a contact who prefers French gets the French translation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from mautic_app.models import Contact, Email, EmailSend, EmailStat
from mautic_app.models.base import utcnow
from mautic_app.services import email_sends, email_tracking, email_variants, emails
from tests.integration.test_email_sends import _email, _people, _run, _segment, queued, sink  # noqa: F401  (fixtures)


def _subjects(server) -> list[str]:
    return [str(m["Subject"]) for m in server.messages]


def test_an_ab_test_sends_its_share_then_the_winner_to_the_rest(session, sink, queued):  # noqa: F811
    with session() as s:
        people = _people(s, 40, "ab")
        email_id = _email(s, [_segment(s, "Everyone", people)], subject="Plain offer")
        variant = email_variants.add_variant(session=s, email_id=email_id)
        variant.subject = "Bold offer"
        s.add(variant)
        variant_id = variant.id
        email_variants.save_settings(session=s, email_id=email_id, values={"test_percent": 50, "criterion": "open_rate",
                                                                           "winner_after_hours": 2}, weights={})
        send_id = email_sends.start_broadcast(session=s, email_id=email_id).id
    _run(send_id)
    assert len(sink.messages) == 20  # half the audience, then it waits
    assert {"Plain offer", "Bold offer"} == set(_subjects(sink))
    with session() as s:
        send = s.get(EmailSend, send_id)
        assert send.status == "waiting" and send.scheduled_at >= utcnow() + timedelta(hours=1, minutes=59)
        assert email_sends.due_and_stalled(session=s) == []  # not before its time
        bold = [st.tracking_hash for st in s.exec(select(EmailStat).where(EmailStat.email_id == variant_id))]
        assert 0 < len(bold) < 20
        email_tracking.record_opens(session=s, hashes=bold[:2])  # the bold one is opened more
    with session() as s:
        assert email_sends.due_and_stalled(session=s, now=utcnow() + timedelta(hours=3)) == [send_id]
        assert email_variants.overview(session=s, email_id=email_id)["winner_id"] == variant_id
    _run(send_id)
    subjects = _subjects(sink)
    assert len(subjects) == 40 and subjects[20:] == ["Bold offer"] * 20
    addresses = [str(m["To"]) for m in sink.messages]
    assert len(set(addresses)) == 40  # nobody had two versions
    with session() as s:
        assert s.get(EmailSend, send_id).status == "finished"
        assert s.get(Email, variant_id).sent_count == 20 + len(bold) and s.get(Email, email_id).sent_count == 20 - len(bold)
        versions = email_variants.overview(session=s, email_id=variant_id)["versions"]  # from the variant's page too
        assert [v["id"] for v in versions] == [email_id, variant_id] and versions[1]["read_rate"] != "0.0%"


def test_the_versions_are_checked(session):
    with session() as s:
        template = Email(name="Welcome", email_type="template", subject="Hi", custom_html="<p>Hi</p>")
        s.add(template)
        s.flush()
        with pytest.raises(emails.EmailError):  # A/B tests are for segment e-mails
            email_variants.add_variant(session=s, email_id=template.id)
        french = email_variants.add_translation(session=s, email_id=template.id, language="fr")
        for bad in ("fr", "en", "", "../x", "f" * 40):
            with pytest.raises(emails.EmailError):
                email_variants.add_translation(session=s, email_id=template.id, language=bad)
        with pytest.raises(emails.EmailError):  # not a translation of a translation
            email_variants.add_translation(session=s, email_id=french.id, language="de")


def test_a_contact_gets_the_translation_of_its_language(session, sink, queued):  # noqa: F811
    with session() as s:
        template = Email(name="Welcome", email_type="template", subject="Welcome", custom_html="<p>Hi</p>", from_address="a@example.org")
        s.add(template)
        s.flush()
        french = email_variants.add_translation(session=s, email_id=template.id, language="fr")
        french.subject, french.custom_html = "Bienvenue", "<p>Salut</p>"
        s.add(french)
        ann, marie, pierre = _people(s, 3, "t")
        s.get(Contact, marie).preferred_locale = "fr_FR"
        s.get(Contact, pierre).preferred_locale = "de"  # no German version: the e-mail itself
        stats = [email_sends.send_to_contact(session=s, email_id=template.id, contact_id=c, source="api").id for c in (ann, marie, pierre)]
    for stat_id in stats:
        assert email_sends.deliver(stat_id=stat_id) == "sent"
    assert _subjects(sink) == ["Welcome", "Bienvenue", "Welcome"]
    with session() as s:
        assert s.get(EmailStat, stats[1]).email_id == french.id
