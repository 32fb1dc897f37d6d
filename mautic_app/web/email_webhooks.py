"""Providers' bounce and complaint callbacks, at Mautic's ``/mailer/{transport}/callback``. Nothing a callback
says is believed before its signature or secret is checked: Mailgun's HMAC-SHA256 of timestamp and token
with the webhook signing key (and a timestamp at most five minutes old), Postmark's secret token in the URL.
What it carries is stored as text."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

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


async def _json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValueError("too large")
    return json.loads(body)


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
