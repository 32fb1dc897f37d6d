"""Reading what comes back: delivery status notifications (RFC 3464) and abuse reports (ARF, RFC 5965) from
the bounce mailbox, and the bounce / complaint events providers post to their webhooks.

A report names the failed recipient, how final the failure is (a 5.x.x status is a hard bounce, 4.x.x a soft
one) and, when the original message came back with it, that message's ``Message-ID`` and our
``X-Mautic-Stat`` header, which name the very send."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import flufl.bounce

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_ADDRESS = re.compile(r"[^\s<>;\"']+@[^\s<>;\"']+")


@dataclass(frozen=True)
class Bounce:
    kind: str  # hard | soft | complaint
    email_address: str
    reason: str
    message_id: str = ""
    stat_hash: str = ""


def _address(value: str) -> str:
    found = _ADDRESS.search(value.split(";", 1)[-1]) if value else None
    return found.group(0).strip(".").lower() if found else ""


def _original_headers(report: Message) -> tuple[str, str]:
    """(Message-ID, X-Mautic-Stat) of the original message returned inside the report, if it came back."""
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers"):
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if original is None:
                payload = part.get_payload(decode=True)
                original = message_from_bytes(payload) if isinstance(payload, bytes) else None
            if isinstance(original, Message):
                return str(original.get("Message-ID", "")).strip(), str(original.get("X-Mautic-Stat", "")).strip()
    return "", ""


def _groups(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(payload or "")
    return [message_from_bytes(block.strip().encode()) for block in re.split(r"\r?\n\r?\n", text) if block.strip()]


def parse_report(raw: bytes) -> list[Bounce]:
    """Every failed recipient of a DSN, or the complaint of an ARF report; [] for anything else (an
    auto-reply, a "delivered" or "relayed" notice, mail that is no report at all)."""
    report = message_from_bytes(raw, policy=policy.compat32)
    message_id, stat_hash = _original_headers(report)
    found: list[Bounce] = []
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            fields = _groups(part)
            first = fields[0] if fields else Message()
            recipient = _address(str(first.get("Original-Rcpt-To", "")))
            if not recipient:
                original = next((p for p in report.walk() if p.get_content_type() == "message/rfc822"), None)
                inner = original.get_payload() if original is not None else None
                if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                    recipient = _address(str(inner[0].get("To", "")))
            kind = str(first.get("Feedback-Type", "abuse")).strip().lower()
            found.append(Bounce("complaint", recipient, f"Complaint ({kind})", message_id, stat_hash))
        elif ctype == "message/delivery-status":
            for group in _groups(part):  # a block per recipient (with its Action), after one about the message
                action = str(group.get("Action", "")).strip().lower()
                delayed = action.startswith("delay")
                if not (delayed or action.startswith(("fail", "error"))):
                    continue  # delivered, relayed, expanded: nothing went wrong
                status = _STATUS.search(str(group.get("Status", "")))
                code = status.group(0) if status else ("4.0.0" if delayed else "5.0.0")
                # The address we sent to, when the server kept it (Final-Recipient may be a rewritten mailbox).
                recipient = _address(str(group.get("Original-Recipient", "") or group.get("Final-Recipient", "")))
                diagnostic = " ".join(str(group.get("Diagnostic-Code", "")).split())
                kind = "soft" if delayed else "hard"  # a failure is final whatever its status class; a delay is not
                found.append(Bounce(kind, recipient, f"{code} {diagnostic}".strip()[:1000], message_id, stat_hash))
    found = [b for b in found if b.email_address]
    if found or any(p.get_content_type() in ("message/feedback-report", "message/delivery-status") for p in report.walk()):
        return found
    # Not a standard report (older Postfix, qmail, Exim, Microsoft formats): flufl.bounce knows those.
    try:
        temporary, permanent = flufl.bounce.all_failures(report)
    except (IndexError, ValueError, AttributeError, TypeError, LookupError):  # a detector tripped on mail it was not built for
        return []
    return [Bounce("hard", a.decode(errors="replace").lower(), "Bounce (no delivery status given)", message_id, stat_hash) for a in sorted(permanent)] \
        + [Bounce("soft", a.decode(errors="replace").lower(), "Temporary failure", message_id, stat_hash) for a in sorted(temporary)]


def build_dsn(*, recipient: str, status: str, diagnostic: str, original: EmailMessage | None = None, action: str = "failed") -> bytes:
    """A DSN as a mail server writes one (for tests and for the bench)."""
    original_text = original.as_string() if original is not None else "Subject: (original)\n\n"
    return (
        "From: MAILER-DAEMON@mx.example\nTo: bounces@shop.example\nSubject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\nContent-Type: text/plain\n\nThis is the mail system: your message could not be delivered.\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\nDiagnostic-Code: smtp; {diagnostic}\n\n"
        f"--B\nContent-Type: message/rfc822\n\n{original_text}\n--B--\n"
    ).encode()
