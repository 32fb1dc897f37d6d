"""Bounces and complaints, from providers' webhooks or the bounce mailbox: each is stored (as text, shown
escaped), a retried callback counts once, and hard bounces and complaints make the contact do-not-contact
by e-mail (reason "bounced", or "unsubscribed" for a complaint); soft bounces only count."""

from __future__ import annotations

import base64
import imaplib
import logging
import re
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.domain import bounces as rules
from mautic_app.models import Contact, EmailBounce, EmailSetting, EmailStat
from mautic_app.models.base import table_of
from mautic_app.services import contacts, email_tracking, timeline

log = logging.getLogger(__name__)
KINDS = ("hard", "soft", "complaint")
SECRET_KEYS = ("mailgun_signing_key", "postmark_token", "sendgrid_public_key", "ses_topic_arn")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")


def webhook_secrets(*, session: Session) -> dict[str, Any]:
    """The providers' webhook secrets (Settings → E-mail keeps them under "webhooks")."""
    row = session.get(EmailSetting, "webhooks")
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def save_webhook_secrets(*, session: Session, values: dict[str, str]) -> dict[str, str]:
    """Replace the secrets with ``values``' known, non-blank ones (a blank or missing key is removed). Returns the
    errors by key (nothing saved then): a SendGrid key or topic ARN that could never match would refuse every callback."""
    kept = {k: str(v).strip() for k, v in values.items() if k in SECRET_KEYS and str(v).strip()}
    errors = {}
    if "sendgrid_public_key" in kept and sendgrid_key(kept["sendgrid_public_key"]) is None:
        errors["sendgrid_public_key"] = "Not SendGrid's verification key: paste the key SendGrid shows (base64, starting MFkw)."
    if "ses_topic_arn" in kept and not TOPIC_ARN.match(kept["ses_topic_arn"]):
        errors["ses_topic_arn"] = "Not an SNS topic ARN (arn:aws:sns:region:account:name)."
    if not errors:
        row = session.get(EmailSetting, "webhooks") or EmailSetting(key="webhooks")
        row.value = kept
        session.add(row)
    return errors


def sendgrid_key(value: str) -> ec.EllipticCurvePublicKey | None:
    """SendGrid's verification key as SendGrid shows it (base64 DER of a P-256 public key), or None."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1) else None


def _stat(session: Session, *, message_id: str, stat_hash: str, address: str) -> EmailStat | None:
    """The send a bounce is about: by our tracking hash, else our Message-ID, else the newest to that address."""
    if stat_hash:
        found = email_tracking.stat_of(session=session, tracking_hash=stat_hash)
        if found is not None:
            return found
    if message_id:
        found = session.exec(select(EmailStat).where(col(EmailStat.message_id) == message_id.strip())).first()
        if found is not None:
            return found
    if address:
        return session.exec(select(EmailStat).where(sa.func.lower(col(EmailStat.email_address)) == address)
                            .order_by(col(EmailStat.id).desc())).first()
    return None


def record(*, session: Session, provider: str, kind: str, email_address: str, reason: str, event_key: str | None = None,
           message_id: str = "", stat_hash: str = "") -> EmailBounce | None:
    """Store one bounce or complaint; None when ``event_key`` was seen already (a provider's retry)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown bounce kind {kind!r}.")
    address = email_address.strip().lower()[:191]
    if event_key and session.exec(select(EmailBounce.id).where(col(EmailBounce.event_key) == event_key[:191])).first() is not None:
        return None
    stat = _stat(session, message_id=message_id, stat_hash=stat_hash, address=address)
    contact_id = stat.contact_id if stat is not None else None
    if contact_id is None and address:
        contact_id = session.exec(select(Contact.id).where(sa.func.lower(col(Contact.email)) == address)).first()
    row = EmailBounce(provider=provider[:32], kind=kind, email_address=address, contact_id=contact_id,
                      stat_id=stat.id if stat is not None else None, reason=reason[:4000], event_key=event_key[:191] if event_key else None)
    session.add(row)
    if stat is not None and kind == "hard":
        stats = table_of(EmailStat)
        session.execute(sa.update(stats).where(stats.c.id == stat.id).values(status="failed", error=f"Bounced: {reason}"[:2000]))
    if contact_id is not None:
        if kind in ("hard", "complaint"):
            contacts.add_dnc(session=session, contact_id=contact_id, channel="email", reason=2 if kind == "hard" else 1,
                             channel_id=stat.email_id if stat is not None else None,
                             comments=(f"Bounced: {reason}" if kind == "hard" else f"Complaint: {reason}")[:1000])
        else:
            timeline.log(session=session, contact_id=contact_id, event_type="email.bounced_soft", details={"reason": reason[:500]})
        changefeed.publish_after_commit(session, "contact_activity", {"ids": [contact_id]})
    if stat is not None:
        changefeed.publish_after_commit(session, f"email:{stat.email_id}", {"activity": "bounce"})
    session.flush()
    return row


def record_reports(*, session: Session, raw_messages: list[bytes]) -> int:
    """The bounce mailbox's new messages: every bounce or complaint in them; what is no report is left alone."""
    found = 0
    for raw in raw_messages:
        for bounce in rules.parse_report(raw):
            if record(session=session, provider="imap", kind=bounce.kind, email_address=bounce.email_address, reason=bounce.reason,
                      message_id=bounce.message_id, stat_hash=bounce.stat_hash) is not None:
                found += 1
    return found


def mailbox_settings(*, session: Session) -> dict[str, Any]:
    row = session.get(EmailSetting, "bounce_mailbox")
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def fetch_unseen(settings: dict[str, Any], limit: int = 200) -> list[bytes]:
    """The bounce mailbox's unseen messages over IMAP (marked seen as they are read). Holds no database connection."""
    host, port = str(settings.get("host") or ""), int(settings.get("port") or 993)
    if not host:
        return []
    security = settings.get("security", "tls")
    imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port) if security == "tls" else imaplib.IMAP4(host, port)
    try:
        if security == "starttls":
            imap.starttls()
        imap.login(str(settings.get("username") or ""), str(settings.get("password") or ""))
        imap.select(str(settings.get("folder") or "INBOX"))
        _typ, data = imap.search(None, "UNSEEN")
        out = []
        for number in (data[0] or b"").split()[:limit]:
            _typ, parts = imap.fetch(number.decode(), "(RFC822)")
            for part in parts:
                if isinstance(part, tuple) and isinstance(part[1], bytes):
                    out.append(part[1])
        return out
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
