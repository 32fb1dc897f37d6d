"""Providers' bounce and complaint callbacks, at Mautic's ``/mailer/{transport}/callback``. Nothing a callback
says is believed before its signature or secret is checked: Mailgun's HMAC-SHA256 of timestamp and token
with the webhook signing key (and a timestamp at most five minutes old), Postmark's secret token in the URL,
SendGrid's ECDSA signature of timestamp and body (five minutes too), Amazon SNS's RSA signature with a
certificate fetched from Amazon's own SNS hosts only. What it carries is stored as text."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import time
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mautic_app.db import session_scope
from mautic_app.services import bounces

router = APIRouter(include_in_schema=False)
MAX_BODY = 1 << 20
MAX_AGE = 300


def _reply(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValueError("too large")
    return body


async def _json(request: Request) -> Any:
    return json.loads(await _body(request))


def _secrets() -> dict[str, Any]:
    with session_scope() as session:
        return bounces.webhook_secrets(session=session)


def _record(events: list[dict[str, Any]]) -> int:
    with session_scope() as session:
        return sum(1 for e in events if bounces.record(session=session, **e) is not None)


@router.post("/mailer/mailgun/callback")
async def mailgun(request: Request) -> JSONResponse:
    """Mailgun's webhooks (``failed`` permanent / temporary, ``complained``), signed with the signing key."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _reply(413, "Too large.")
    try:
        data = await _json(request)
        signature, event = data["signature"], data["event-data"]
        timestamp, token, given = str(signature["timestamp"]), str(signature["token"]), str(signature["signature"])
    except (ValueError, KeyError, TypeError):
        return _reply(400, "Not a Mailgun webhook.")
    key = str((await run_in_threadpool(_secrets)).get("mailgun_signing_key") or "")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not key or not hmac.compare_digest(expected, given):
        return _reply(403, "The signature does not match the webhook signing key.")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE:
        return _reply(403, "The signature is too old.")
    kind = {"failed": "hard" if event.get("severity") == "permanent" else "soft", "complained": "complaint"}.get(str(event.get("event")))
    if kind is None:
        return _reply(200, "Ignored.")
    status = event.get("delivery-status") or {}
    headers = (event.get("message") or {}).get("headers") or {}
    reason = str(status.get("description") or status.get("message") or event.get("reason") or kind)
    found = await run_in_threadpool(_record, [{
        "provider": "mailgun", "kind": kind, "email_address": str(event.get("recipient") or ""), "reason": reason,
        "event_key": f"mailgun:{event.get('id') or token}", "message_id": str(headers.get("message-id") or ""),
        "stat_hash": str((event.get("user-variables") or {}).get("mautic_stat") or ""),
    }])
    return _reply(200, f"Recorded {found}.")


@router.post("/mailer/postmark/callback")
async def postmark(request: Request) -> JSONResponse:
    """Postmark's bounce and spam-complaint webhooks; the URL carries the secret token (``?token=``)."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _reply(413, "Too large.")
    key = str((await run_in_threadpool(_secrets)).get("postmark_token") or "")
    if not key or not hmac.compare_digest(key, request.query_params.get("token", "")):
        return _reply(403, "The token does not match.")
    try:
        data = await _json(request)
        record_type = str(data.get("RecordType", ""))
    except (ValueError, AttributeError):
        return _reply(400, "Not a Postmark webhook.")
    if record_type == "SpamComplaint":
        kind = "complaint"
    elif record_type == "Bounce":
        kind = "hard" if str(data.get("Type")) in ("HardBounce", "BadEmailAddress", "ManuallyDeactivated") else "soft"
    else:
        return _reply(200, "Ignored.")
    found = await run_in_threadpool(_record, [{
        "provider": "postmark", "kind": kind, "email_address": str(data.get("Email") or ""),
        "reason": str(data.get("Description") or data.get("Details") or data.get("Type") or kind),
        "event_key": f"postmark:{data.get('ID') or data.get('MessageID')}", "message_id": str(data.get("MessageID") or ""),
    }])
    return _reply(200, f"Recorded {found}.")


def _sendgrid_signed(key: str, signature: str, timestamp: str, body: bytes) -> bool:
    """SendGrid's ECDSA (P-256, SHA-256) signature of timestamp + raw body."""
    public = bounces.sendgrid_key(key)
    if public is None:
        return False
    try:
        public.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        return False
    return True


def _sendgrid_kind(event: dict[str, Any]) -> str | None:
    name = event.get("event")
    if name == "bounce":
        return "soft" if event.get("type") == "blocked" else "hard"
    if name == "dropped":
        return "hard" if event.get("reason") in ("Bounced Address", "Invalid") else None
    return "complaint" if name == "spamreport" else None


@router.post("/mailer/sendgrid/callback")
async def sendgrid(request: Request) -> JSONResponse:
    """SendGrid's Signed Event Webhook: bounces (blocks are soft), drops of bad addresses, spam reports."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _reply(413, "Too large.")
    try:
        body = await _body(request)
    except ValueError:
        return _reply(413, "Too large.")
    key = str((await run_in_threadpool(_secrets)).get("sendgrid_public_key") or "")
    timestamp = request.headers.get("x-twilio-email-event-webhook-timestamp", "")
    signature = request.headers.get("x-twilio-email-event-webhook-signature", "")
    if not key or not _sendgrid_signed(key, signature, timestamp, body):
        return _reply(403, "The signature does not match the verification key.")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE:
        return _reply(403, "The signature is too old.")
    try:
        events = json.loads(body)
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValueError("not a list of events")
    except ValueError:
        return _reply(400, "Not a SendGrid event webhook.")
    found = await run_in_threadpool(_record, [{
        "provider": "sendgrid", "kind": kind, "email_address": str(e.get("email") or ""), "reason": str(e.get("reason") or kind),
        "event_key": f"sendgrid:{e['sg_event_id']}" if e.get("sg_event_id") else None,
        "message_id": str(e.get("smtp-id") or e.get("sg_message_id") or ""),
    } for e in events if (kind := _sendgrid_kind(e))])
    return _reply(200, f"Recorded {found}.")


SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SNS_SIGNED = {  # the fields SNS signs, in its order (a Notification's Subject only when it has one)
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
SNS_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
SNS_MAX_AGE = 3600 + MAX_AGE  # SNS retries an HTTPS delivery for an hour at most; older signed messages are replays


def is_sns_url(url: str) -> bool:
    """An https address on Amazon SNS's own hosts (no user, no port): the only kind a callback can make us fetch.
    Parsed by httpx, which fetches it, so the check and the request see the same host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    return parsed.scheme == "https" and not parsed.userinfo and parsed.port is None and bool(SNS_HOST.fullmatch(parsed.host))


def fetch(url: str) -> bytes:
    """GET an Amazon SNS address (a signing certificate, a subscription confirmation); tests replace it."""
    if not is_sns_url(url):
        raise ValueError(f"Not an Amazon SNS address: {url!r}")
    with httpx.Client(timeout=5.0, follow_redirects=False, trust_env=False) as client:
        response = client.get(url)
        response.raise_for_status()
        return response.content[:MAX_BODY]


@functools.lru_cache(maxsize=32)
def _sns_key(url: str) -> rsa.RSAPublicKey:
    """The public key of SNS's signing certificate at ``url``, fetched once per process."""
    key = x509.load_pem_x509_certificate(fetch(url)).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Not an RSA certificate.")
    return key


def _sns_recent(message: dict[str, Any]) -> bool:
    """The message was signed at most an hour (SNS's retries) ago, give or take five minutes of clock."""
    try:
        signed = datetime.fromisoformat(str(message.get("Timestamp")))
    except ValueError:
        return False
    return signed.tzinfo is not None and abs(time.time() - signed.timestamp()) <= SNS_MAX_AGE


def _sns_signed(message: dict[str, Any]) -> bool:
    """SNS's SHA1withRSA (version 1) or SHA256withRSA (version 2) signature of the message's canonical text."""
    algorithm, url = SNS_HASHES.get(str(message.get("SignatureVersion"))), str(message.get("SigningCertURL") or "")
    if algorithm is None or not is_sns_url(url) or not httpx.URL(url).path.endswith(".pem"):
        return False
    text = "".join(f"{k}\n{message[k]}\n" for k in SNS_SIGNED[message["Type"]] if message.get(k) is not None)
    try:
        _sns_key(url).verify(base64.b64decode(str(message.get("Signature") or ""), validate=True), text.encode(),
                             padding.PKCS1v15(), algorithm())
    except (ValueError, InvalidSignature, httpx.HTTPError):
        return False
    return True


def _ses_events(note: dict[str, Any]) -> list[dict[str, Any]]:
    """The bounces or complaints in an SES notification (or configuration-set event), one per recipient."""
    kind_of = note.get("notificationType") or note.get("eventType")
    if kind_of == "Bounce":
        detail = note.get("bounce") or {}
        kind, recipients = ("hard" if detail.get("bounceType") == "Permanent" else "soft"), detail.get("bouncedRecipients")
    elif kind_of == "Complaint":
        detail = note.get("complaint") or {}
        kind, recipients = "complaint", detail.get("complainedRecipients")
    else:
        return []
    mail = note.get("mail") or {}
    headers = {str(h.get("name")).lower(): str(h.get("value")) for h in mail.get("headers") or [] if isinstance(h, dict)}
    out = []
    for r in recipients if isinstance(recipients, list) else []:
        address = parseaddr(str(r.get("emailAddress") or ""))[1] if isinstance(r, dict) else ""
        if address:
            out.append({"provider": "amazon", "kind": kind, "email_address": address,
                        "reason": str(r.get("diagnosticCode") or detail.get("bounceSubType") or detail.get("complaintFeedbackType") or kind),
                        "event_key": f"ses:{detail.get('feedbackId')}:{address.lower()}",
                        "message_id": headers.get("message-id") or str(mail.get("messageId") or ""),
                        "stat_hash": headers.get("x-mautic-stat", "")})
    return out


@router.post("/mailer/amazon/callback")
async def amazon(request: Request) -> JSONResponse:
    """Amazon SES's bounces and complaints through an SNS topic; confirms the topic's subscription when SNS asks."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _reply(413, "Too large.")
    try:
        message = await _json(request)
        if not isinstance(message, dict) or message.get("Type") not in SNS_SIGNED:
            raise ValueError("not an SNS message")
    except ValueError:
        return _reply(400, "Not an Amazon SNS message.")
    topic = str((await run_in_threadpool(_secrets)).get("ses_topic_arn") or "")
    if topic and message.get("TopicArn") != topic:
        return _reply(403, "Not the configured topic.")
    if not _sns_recent(message):  # before the signature, which may fetch a certificate
        return _reply(403, "The message is more than an hour old (a replay).")
    if not await run_in_threadpool(_sns_signed, message):
        return _reply(403, "The signature is not Amazon SNS's.")
    if message["Type"] == "SubscriptionConfirmation":
        url = str(message.get("SubscribeURL") or "")
        if not is_sns_url(url):
            return _reply(403, "The subscription address is not Amazon SNS's.")
        try:
            await run_in_threadpool(fetch, url)
        except (ValueError, httpx.HTTPError):
            return _reply(502, "The subscription could not be confirmed.")
        return _reply(200, "Subscribed.")
    if message["Type"] == "UnsubscribeConfirmation":
        return _reply(200, "Ignored.")
    try:
        note = json.loads(str(message.get("Message")))
        if not isinstance(note, dict):
            raise ValueError("not an SES notification")
    except ValueError:
        return _reply(400, "Not an SES notification.")
    found = await run_in_threadpool(_record, _ses_events(note))
    return _reply(200, f"Recorded {found}.")
