"""Bounces and complaints: provider webhooks believed only when signed, each counted once, hard bounces and
complaints making the contact do-not-contact, the bounce mailbox's reports, and texts kept inert."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlmodel import select

from mautic_app import db
from mautic_app.domain import bounces as rules
from mautic_app.models import DoNotContact, Email, EmailBounce, EmailStat
from mautic_app.services import bounces, contacts, email_sends, timeline
from mautic_app.web import email_webhooks

KEY = "mailgun-signing-key"
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(SENDGRID_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture
def sent(session, monkeypatch):
    """A message delivered (through the outbox) to ann@example.com; returns (stat, contact id)."""
    monkeypatch.delenv("MAUTIC_MAILER_DSN", raising=False)
    monkeypatch.setattr(db, "send_task", lambda *a: None)
    with session() as s:
        cid = contacts.create(session=s, values={"email": "ann@example.com", "firstname": "Ann"})[0]
        e = Email(name="News", subject="News", custom_html="<p>x</p>")
        s.add(e)
        s.flush()
        stat_id = email_sends.send_to_contact(session=s, email_id=e.id, contact_id=cid, source="api").id
        bounces.save_webhook_secrets(session=s, values={"mailgun_signing_key": KEY, "postmark_token": "pm-token",
                                                        "sendgrid_public_key": SENDGRID_PUBLIC})
    email_sends.deliver(stat_id=stat_id)
    with session() as s:
        return s.get(EmailStat, stat_id), cid


def _mailgun(event: dict, key: str = KEY, timestamp: int | None = None, token: str = "tok-1") -> dict:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {"signature": {"timestamp": ts, "token": token, "signature": hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()},
            "event-data": event}


def _dnc(session, cid):
    with session() as s:
        return s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).first()


def test_mailgun_permanent_failure_sets_do_not_contact_once(client, session, sent):
    stat, cid = sent
    event = {"id": "ev-1", "event": "failed", "severity": "permanent", "recipient": "ann@example.com",
             "delivery-status": {"description": "<script>alert(1)</script> mailbox unavailable"}}
    r = client.post("/mailer/mailgun/callback", json=_mailgun(event))
    assert r.status_code == 200, r.text
    client.post("/mailer/mailgun/callback", json=_mailgun(event, token="tok-2"))  # the provider's retry
    with session() as s:
        rows = s.exec(select(EmailBounce)).all()
        assert len(rows) == 1 and rows[0].stat_id == stat.id and rows[0].reason.startswith("<script>")  # kept as text
        assert s.get(EmailStat, stat.id).status == "failed"
        dnc = s.exec(select(DoNotContact).where(DoNotContact.contact_id == cid)).one()
        [line] = timeline.events(session=s, contact_id=cid, types=["dnc"])
    assert (dnc.reason, dnc.channel_id) == (2, stat.email_id)
    assert dnc.comments == "Bounced: <script>alert(1)</script> mailbox unavailable"  # text; pages render it escaped
    assert timeline.describe(line) == "Added do not contact (email): Bounced"


@pytest.mark.parametrize("tamper", ["key", "old", "garbage"])
def test_mailgun_unsigned_or_stale_or_malformed_stores_nothing(client, session, sent, tamper):
    _stat, cid = sent
    event = {"id": "ev-x", "event": "failed", "severity": "permanent", "recipient": "ann@example.com"}
    if tamper == "garbage":
        r = client.post("/mailer/mailgun/callback", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400
    else:
        body = _mailgun(event, key="wrong") if tamper == "key" else _mailgun(event, timestamp=int(time.time()) - 3600)
        assert client.post("/mailer/mailgun/callback", json=body).status_code == 403
    with session() as s:
        assert s.exec(select(EmailBounce)).all() == []
    assert _dnc(session, cid) is None


def test_mailgun_temporary_failure_only_counts(client, session, sent):
    _stat, cid = sent
    r = client.post("/mailer/mailgun/callback", json=_mailgun({"id": "ev-2", "event": "failed", "severity": "temporary",
                                                                "recipient": "ann@example.com"}))
    assert r.status_code == 200
    with session() as s:
        assert [b.kind for b in s.exec(select(EmailBounce)).all()] == ["soft"]
    assert _dnc(session, cid) is None


def test_postmark_needs_its_token_and_a_complaint_unsubscribes(client, session, sent):
    _stat, cid = sent
    body = {"RecordType": "SpamComplaint", "ID": 42, "Email": "ann@example.com", "Description": "Marked as spam"}
    assert client.post("/mailer/postmark/callback?token=wrong", json=body).status_code == 403
    assert _dnc(session, cid) is None
    assert client.post("/mailer/postmark/callback?token=pm-token", json=body).status_code == 200
    dnc = _dnc(session, cid)
    assert dnc.reason == 1 and "Complaint" in dnc.comments


def test_bounce_mailbox_reports(session, sent):
    stat, cid = sent
    raw = rules.build_dsn(recipient="ann@example.com", status="5.1.1", diagnostic="550 no such user")
    raw = raw.replace(b"Subject: (original)", f"Message-ID: {stat.message_id}\nSubject: (original)".encode())
    with session() as s:
        assert bounces.record_reports(session=s, raw_messages=[raw, b"Subject: hello\n\nnot a bounce\n"]) == 1
    with session() as s:
        assert s.exec(select(EmailBounce)).one().stat_id == stat.id
    assert _dnc(session, cid).reason == 2


def test_too_large_is_refused(client, sent):
    r = client.post("/mailer/mailgun/callback", content=b"x" * (1 << 20 + 1), headers={"content-type": "application/json"})
    assert r.status_code in (400, 413)


def _sendgrid(client, events, *, key=SENDGRID_KEY, age: int = 0, body: bytes | None = None, signed: bytes | None = None):
    """Post ``events`` (or raw ``body``) signed as SendGrid does: ECDSA over timestamp + body (or over ``signed``)."""
    body = json.dumps(events).encode() if body is None else body
    ts = str(int(time.time()) - age)
    signature = base64.b64encode(key.sign(ts.encode() + (body if signed is None else signed), ec.ECDSA(hashes.SHA256()))).decode()
    return client.post("/mailer/sendgrid/callback", content=body, headers={
        "content-type": "application/json", "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        "X-Twilio-Email-Event-Webhook-Signature": signature})


@pytest.mark.parametrize(("event", "dnc_reason"), [
    ({"event": "bounce", "type": "bounce", "reason": "550 5.1.1 no such user"}, 2),
    ({"event": "dropped", "reason": "Bounced Address"}, 2),
    ({"event": "spamreport"}, 1),
    ({"event": "bounce", "type": "blocked", "reason": "450 try later"}, None),
])
def test_sendgrid_signed_events(client, session, sent, event, dnc_reason):
    stat, cid = sent
    events = [{"event": "delivered", "email": "ann@example.com", "sg_event_id": "sg-0"},
              event | {"email": "ann@example.com", "sg_event_id": "sg-1", "smtp-id": stat.message_id}]
    r = _sendgrid(client, events)
    assert r.status_code == 200, r.text
    assert _sendgrid(client, events).status_code == 200  # SendGrid's retry counts once
    with session() as s:
        rows = s.exec(select(EmailBounce)).all()
    assert [(b.provider, b.stat_id, b.event_key) for b in rows] == [("sendgrid", stat.id, "sendgrid:sg-1")]
    dnc = _dnc(session, cid)
    assert (dnc.reason if dnc else None) == dnc_reason


@pytest.mark.parametrize("tamper", ["key", "body", "unsigned", "old", "garbage"])
def test_sendgrid_unsigned_or_stale_or_malformed_stores_nothing(client, session, sent, tamper):
    _stat, cid = sent
    events = [{"event": "bounce", "type": "bounce", "email": "ann@example.com", "sg_event_id": "sg-x"}]
    if tamper == "key":
        r = _sendgrid(client, events, key=ec.generate_private_key(ec.SECP256R1()))
    elif tamper == "body":
        r = _sendgrid(client, events, signed=b"[]")
    elif tamper == "unsigned":
        r = client.post("/mailer/sendgrid/callback", json=events)
    elif tamper == "old":
        r = _sendgrid(client, events, age=3600)
    else:
        r = _sendgrid(client, None, body=b"{nope")  # signed, but not events
    assert r.status_code == (400 if tamper == "garbage" else 403), r.text
    with session() as s:
        assert s.exec(select(EmailBounce)).all() == []
    assert _dnc(session, cid) is None


CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
SUBSCRIBE_URL = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"


def _certificate(key) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


SNS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SNS_CERT = _certificate(SNS_KEY)
REAL_FETCH = email_webhooks.fetch


@pytest.fixture
def fetched(monkeypatch) -> list[str]:
    """Every URL the SNS callback fetched; the certificate URL answers with our own self-signed certificate."""
    urls: list[str] = []

    def fake(url: str) -> bytes:
        urls.append(url)
        return SNS_CERT if url.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"

    monkeypatch.setattr(email_webhooks, "fetch", fake)
    email_webhooks._sns_key.cache_clear()
    yield urls
    email_webhooks._sns_key.cache_clear()


def _sns(kind: str = "Notification", *, message: str = "{}", version: str = "2", key=SNS_KEY, cert_url: str = CERT_URL,
         subscribe_url: str = SUBSCRIBE_URL, topic: str = TOPIC, age: dt.timedelta = dt.timedelta(seconds=3)) -> dict:
    """An SNS message signed as SNS signs it, ``age`` ago: its fields in a fixed order, SHA1 (version 1) or SHA256
    (version 2) with RSA."""
    signed_at = (dt.datetime.now(dt.UTC) - age).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    m = {"Type": kind, "MessageId": "m-1", "TopicArn": topic, "Message": message, "Timestamp": signed_at,
         "SignatureVersion": version, "SigningCertURL": cert_url}
    if kind == "Notification":
        m["Subject"] = "Amazon SES Email Event Notification"
    else:
        m |= {"SubscribeURL": subscribe_url, "Token": "t"}
    text = "".join(f"{k}\n{m[k]}\n" for k in email_webhooks.SNS_SIGNED[kind] if k in m)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    return m | {"Signature": base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()}


def _ses(kind: str, stat, **detail) -> str:
    body = {"Bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "ann@example.com", "diagnosticCode": "smtp; 550 5.1.1"}]},
            "Complaint": {"complainedRecipients": [{"emailAddress": "ann@example.com"}], "complaintFeedbackType": "abuse"}}[kind]
    return json.dumps({"notificationType": kind, kind.lower(): body | {"feedbackId": "fb-1"} | detail,
                       "mail": {"messageId": "ses-1", "headers": [{"name": "Message-ID", "value": stat.message_id}]}})


@pytest.mark.parametrize(("kind", "version", "dnc_reason"), [("Bounce", "2", 2), ("Complaint", "1", 1)])
def test_ses_signed_notification_sets_do_not_contact(client, session, sent, fetched, kind, version, dnc_reason):
    stat, cid = sent
    body = _sns(message=_ses(kind, stat), version=version)
    assert client.post("/mailer/amazon/callback", json=body).status_code == 200
    assert client.post("/mailer/amazon/callback", json=body).status_code == 200  # SNS's retry counts once
    assert fetched == [CERT_URL]  # and the certificate is fetched once
    with session() as s:
        rows = s.exec(select(EmailBounce)).all()
    assert [(b.provider, b.stat_id, b.event_key) for b in rows] == [("amazon", stat.id, "ses:fb-1:ann@example.com")]
    assert _dnc(session, cid).reason == dnc_reason


def test_ses_replay_of_an_old_signed_message_is_refused(client, session, sent, fetched):
    stat, cid = sent
    assert client.post("/mailer/amazon/callback", json=_sns(message=_ses("Bounce", stat), age=dt.timedelta(hours=2))).status_code == 403
    assert fetched == []  # refused before any certificate is fetched
    assert client.post("/mailer/amazon/callback", json=_sns(message=_ses("Bounce", stat), age=dt.timedelta(minutes=50))).status_code == 200


def test_ses_transient_bounce_only_counts(client, session, sent, fetched):
    stat, cid = sent
    r = client.post("/mailer/amazon/callback", json=_sns(message=_ses("Bounce", stat, bounceType="Transient")))
    assert r.status_code == 200
    with session() as s:
        assert [b.kind for b in s.exec(select(EmailBounce)).all()] == ["soft"]
    assert _dnc(session, cid) is None


@pytest.mark.parametrize("cert_url", [
    "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem", "https://evil.example/sns.eu-west-1.amazonaws.com.pem",
    "http://sns.eu-west-1.amazonaws.com/cert.pem", "https://user@sns.eu-west-1.amazonaws.com/cert.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/cert.pem", "https://sns.eu-west-1.amazonaws.com/cert.txt",
    "https://sqs.eu-west-1.amazonaws.com/cert.pem",
])
def test_ses_certificate_from_a_foreign_address_is_never_fetched(client, session, sent, fetched, cert_url):
    stat, cid = sent
    r = client.post("/mailer/amazon/callback", json=_sns(message=_ses("Bounce", stat), cert_url=cert_url))
    assert r.status_code == 403 and fetched == []
    assert _dnc(session, cid) is None


def test_the_fetcher_itself_refuses_other_hosts():
    with pytest.raises(ValueError):
        REAL_FETCH("https://169.254.169.254/latest/meta-data/x.pem")  # refused before any connection


@pytest.mark.parametrize("tamper", ["key", "message", "version"])
def test_ses_bad_signature_is_refused(client, session, sent, fetched, tamper):
    stat, cid = sent
    if tamper == "key":
        body = _sns(message=_ses("Bounce", stat), key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif tamper == "message":
        body = _sns(message=_ses("Bounce", stat)) | {"Message": _ses("Complaint", stat)}
    else:
        body = _sns(message=_ses("Bounce", stat)) | {"SignatureVersion": "3"}
    assert client.post("/mailer/amazon/callback", json=body).status_code == 403
    with session() as s:
        assert s.exec(select(EmailBounce)).all() == []
    assert _dnc(session, cid) is None


def test_ses_subscription_is_confirmed_only_on_an_sns_host(client, sent, fetched):
    r = client.post("/mailer/amazon/callback", json=_sns("SubscriptionConfirmation", subscribe_url="https://evil.example/?confirm"))
    assert r.status_code == 403 and "https://evil.example/?confirm" not in fetched
    r = client.post("/mailer/amazon/callback", json=_sns("SubscriptionConfirmation"))
    assert r.status_code == 200 and fetched[-1] == SUBSCRIBE_URL


def test_ses_other_topic_is_refused_when_one_is_set(client, session, sent, fetched):
    stat, cid = sent
    with session() as s:
        bounces.save_webhook_secrets(session=s, values=bounces.webhook_secrets(session=s) | {"ses_topic_arn": TOPIC})
    body = _sns(message=_ses("Bounce", stat), topic=TOPIC.replace("ses-bounces", "other"))
    assert client.post("/mailer/amazon/callback", json=body).status_code == 403 and fetched == []
    assert client.post("/mailer/amazon/callback", json=_sns(message=_ses("Bounce", stat))).status_code == 200
    assert _dnc(session, cid).reason == 2


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"Type": "Other"}', "signed-garbage"])
def test_ses_malformed_is_refused(client, session, sent, fetched, body):
    if body == "signed-garbage":
        body = json.dumps(_sns(message="{not json")).encode()
    r = client.post("/mailer/amazon/callback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    with session() as s:
        assert s.exec(select(EmailBounce)).all() == []


def test_webhook_secrets_refuse_a_key_or_topic_that_could_never_match(session):
    good = {"mailgun_signing_key": " k ", "sendgrid_public_key": SENDGRID_PUBLIC, "ses_topic_arn": TOPIC, "other": "x"}
    with session() as s:
        assert bounces.save_webhook_secrets(session=s, values=good) == {}
        errors = bounces.save_webhook_secrets(session=s, values={"sendgrid_public_key": "not-a-key", "ses_topic_arn": "https://x"})
        assert set(errors) == {"sendgrid_public_key", "ses_topic_arn"}
        assert bounces.webhook_secrets(session=s) == {"mailgun_signing_key": "k", "sendgrid_public_key": SENDGRID_PUBLIC,
                                                      "ses_topic_arn": TOPIC}  # unchanged; unknown keys dropped, blanks trimmed
