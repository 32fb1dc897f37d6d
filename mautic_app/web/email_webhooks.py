"""Providers' bounce and complaint callbacks, at Mautic's ``/mailer/{transport}/callback``. Nothing a callback
says is believed before its signature or secret is checked: Mailgun's HMAC-SHA256 of timestamp and token
with the webhook signing key (and a timestamp at most five minutes old), Postmark's secret token in the URL,
SendGrid's ECDSA signature of timestamp and body (five minutes too), Amazon SNS's RSA signature with a
certificate fetched from Amazon's own SNS hosts only. What it carries is stored as text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
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
    """SendGrid's ECDSA (P-256, SHA-256) signature of timestamp + raw body; the key is base64 DER, as SendGrid shows it."""
    try:
        public = serialization.load_der_public_key(base64.b64decode(key, validate=True))
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
            return False
        public.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (ValueError, UnsupportedAlgorithm, InvalidSignature):
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

