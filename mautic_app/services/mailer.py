"""Where messages go: the transport (SMTP with a pool of connections, Mailgun's HTTP API, or the built-in
outbox when nothing is configured), its settings, and each message's outcome.

``MAUTIC_MAILER_DSN`` (Mautic 5's form) overrides the settings page. An outcome is "sent", "temporary" (the
server refused for now with a 4xx: certainly not accepted, safe to try again), "permanent" (5xx: never try
again) or "unknown" (the connection broke once the message was handed over: it may have been delivered, so
it is never sent again automatically).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from email import message_from_bytes
from typing import Any, Protocol

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from mautic_app import changefeed, db, send_pace
from mautic_app.domain import mailer_dsn
from mautic_app.domain.email_message import Outgoing, build_message, check_header
from mautic_app.models import EmailSetting, OutboxMessage

log = logging.getLogger(__name__)

DEFAULT_POOL = 4
SMTP_TIMEOUT = 30.0
PERIODS = {"DAY": timedelta(days=1), "WEEK": timedelta(days=7), "MONTH": timedelta(days=30)}
MAILGUN_HOSTS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


class MailerError(ValueError):
    """Settings that cannot work, in the administrator's words."""


@dataclass(frozen=True)
class TransportConfig:
    kind: str = "outbox"  # smtp | mailgun | outbox
    host: str = ""
    port: int = 0
    security: str = "auto"
    username: str = ""
    password: str = ""
    api_key: str = ""
    domain: str = ""
    region: str = "us"
    pool_size: int = DEFAULT_POOL
    rate_per_second: float = 0.0  # 0: as fast as the transport takes them
    from_address: str = "no-reply@localhost"
    from_name: str = "Mautic"
    source: str = "default"  # environment | settings | default


@dataclass(frozen=True)
class Result:
    outcome: str  # sent | temporary | permanent | unknown
    answer: str


# ---------------------------------------------------------------- settings


def _stored(session: Session, key: str) -> dict[str, Any]:
    row = session.get(EmailSetting, key)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def _store(session: Session, key: str, value: dict[str, Any]) -> None:
    row = session.get(EmailSetting, key) or EmailSetting(key=key)
    row.value = value
    session.add(row)


def config(*, session: Session) -> TransportConfig:
    """The transport in force: the environment's DSN, else the settings page's, else the outbox."""
    sender = _stored(session, "sender")
    stored = _stored(session, "transport")
    base = TransportConfig(from_address=sender.get("from_address") or "no-reply@localhost", from_name=sender.get("from_name") or "Mautic",
                           rate_per_second=float(stored.get("rate_per_second") or 0))
    dsn = os.environ.get("MAUTIC_MAILER_DSN", "").strip()
    if dsn:
        parsed = mailer_dsn.parse(dsn)
        return replace(base, kind=parsed.kind, host=parsed.host, port=parsed.port, security=parsed.security, username=parsed.username,
                       password=parsed.password, api_key=parsed.api_key, domain=parsed.domain, region=parsed.region,
                       pool_size=parsed.pool_size or DEFAULT_POOL, source="environment")
    kind = stored.get("kind") or "outbox"
    if kind == "outbox":
        return replace(base, source="settings" if stored else "default")
    return replace(base, kind=kind, host=stored.get("host", ""), port=int(stored.get("port") or 0), security=stored.get("security", "auto"),
                   username=stored.get("username", ""), password=stored.get("password", ""), api_key=stored.get("api_key", ""),
                   domain=stored.get("domain", ""), region=stored.get("region", "us"),
                   pool_size=int(stored.get("pool_size") or DEFAULT_POOL), source="settings")


def settings_values(*, session: Session) -> dict[str, Any]:
    """What the settings page shows: never a password or key, only whether one is set."""
    stored, sender, freq = _stored(session, "transport"), _stored(session, "sender"), _stored(session, "frequency")
    return {
        "kind": stored.get("kind") or "outbox", "host": stored.get("host", ""), "port": str(stored.get("port") or ""),
        "security": stored.get("security", "auto"), "username": stored.get("username", ""),
        "password_set": bool(stored.get("password")), "api_key_set": bool(stored.get("api_key")),
        "domain": stored.get("domain", ""), "region": stored.get("region", "us"), "pool_size": str(stored.get("pool_size") or DEFAULT_POOL),
        "rate_per_second": str(stored.get("rate_per_second") or ""), "from_address": sender.get("from_address", ""),
        "from_name": sender.get("from_name", ""), "frequency_number": str(freq.get("number") or ""),
        "frequency_time": freq.get("time") or "DAY", "environment": bool(os.environ.get("MAUTIC_MAILER_DSN", "").strip()),
    }


def save_settings(*, session: Session, values: dict[str, Any]) -> dict[str, str]:
    """Check and store the settings page; returns errors by field (nothing stored when there are any).
    A blank password or key keeps the stored one."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, str) and ("\r" in value or "\n" in value):
            errors[name] = "No line breaks here."
    kind = str(values.get("kind") or "outbox")
    if kind not in ("smtp", "mailgun", "outbox"):
        errors["kind"] = "Choose SMTP, Mailgun or the outbox."

    def number(name: str, low: float, high: float, whole: bool = True) -> float:
        raw = str(values.get(name) or "").strip()
        if not raw:
            return 0
        try:
            n = int(raw) if whole else float(raw)
        except ValueError:
            errors[name] = "Enter a number."
            return 0
        if not low <= n <= high:
            errors[name] = f"Between {low:g} and {high:g}."
        return n

    port, pool = number("port", 1, 65535), number("pool_size", 1, 32)
    rate, freq_n = number("rate_per_second", 0, 100000, whole=False), number("frequency_number", 0, 1000)
    host = str(values.get("host") or "").strip()
    if kind == "smtp" and not host:
        errors["host"] = "The SMTP server's host is required."
    security = str(values.get("security") or "auto")
    if security not in ("auto", "starttls", "tls", "none"):
        errors["security"] = "Choose how the connection is secured."
    from_address = str(values.get("from_address") or "").strip()
    if from_address and ("@" not in from_address or " " in from_address):
        errors["from_address"] = "Enter an e-mail address."
    freq_time = str(values.get("frequency_time") or "DAY")
    if freq_time not in PERIODS:
        errors["frequency_time"] = "Per day, week or month."
    if kind == "mailgun" and not str(values.get("domain") or "").strip():
        errors["domain"] = "Mailgun needs the sending domain."
    if errors:
        return errors
    old = _stored(session, "transport")
    _store(session, "transport", {
        "kind": kind, "host": host, "port": int(port) or None, "security": security, "username": str(values.get("username") or "").strip(),
        "password": str(values.get("password") or "") or old.get("password", ""), "api_key": str(values.get("api_key") or "") or old.get("api_key", ""),
        "domain": str(values.get("domain") or "").strip(), "region": "eu" if values.get("region") == "eu" else "us",
        "pool_size": int(pool) or DEFAULT_POOL, "rate_per_second": rate or None,
    })
    _store(session, "sender", {"from_address": from_address, "from_name": str(values.get("from_name") or "").strip()})
    _store(session, "frequency", {"number": int(freq_n) or None, "time": freq_time})
    return {}


def frequency_rule(*, session: Session) -> tuple[int, timedelta] | None:
    """The installation's limit on marketing e-mails per contact (N per period), if any."""
    freq = _stored(session, "frequency")
    if freq.get("number") and freq.get("time") in PERIODS:
        return int(freq["number"]), PERIODS[freq["time"]]
    return None


# ---------------------------------------------------------------- transports


class Transport(Protocol):
    def send_many(self, messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]: ...


def _code_outcome(code: int, text: str) -> Result:
    return Result("permanent" if code >= 500 else "temporary", f"{code} {text}".strip())


def _text(message: bytes | str) -> str:
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


def _in_lanes(pool: ThreadPoolExecutor, lanes: int, send_one: Callable[[Outgoing], Result],
              messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]:
    """Send over ``lanes`` connections at once, each taking every n-th message in one task: a task per message
    costs a future and a thread wake-up each, which a broadcast of 100,000 feels."""
    lanes = max(1, min(lanes, len(messages)))
    shares = [pool.submit(lambda lane: [send_one(m) for m, _ in messages[lane::lanes]], lane) for lane in range(lanes)]
    done = [share.result() for share in shares]
    return [done[i % lanes][i // lanes] for i in range(len(messages))]


class SmtpTransport:
    """A pool of SMTP connections, one per worker thread, kept open across messages and batches."""

    def __init__(self, cfg: TransportConfig) -> None:
        self.cfg = cfg
        self.local = threading.local()
        self.opened: list[smtplib.SMTP] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=max(1, cfg.pool_size), thread_name_prefix="smtp")

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        smtp: smtplib.SMTP
        if cfg.security == "tls":  # the context (it reads the system's certificates) only for a connection that uses it
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port or 465, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port or 25, timeout=SMTP_TIMEOUT)
            smtp.ehlo()
            if cfg.security == "starttls" or (cfg.security == "auto" and smtp.has_extn("starttls")):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        if cfg.username:
            smtp.login(cfg.username, cfg.password)
        with self.lock:
            self.opened.append(smtp)
        return smtp

    def _drop(self) -> None:
        smtp = getattr(self.local, "smtp", None)
        self.local.smtp = None
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass

    def _send_one(self, message: Outgoing) -> Result:
        """MAIL, RCPT, DATA by hand, so a failure before DATA (safe to retry) is told from one during it."""
        for attempt in (1, 2):  # a pooled connection the server closed meanwhile is replaced once
            try:
                smtp = getattr(self.local, "smtp", None) or self._connect()
                self.local.smtp = smtp
                code, text = smtp.mail(message.sender)
                if code != 250:
                    smtp.rset()
                    return _code_outcome(code, _text(text))
                accepted = 0
                refusal: Result | None = None
                for rcpt in message.recipients:
                    code, text = smtp.rcpt(rcpt)
                    if code in (250, 251):
                        accepted += 1
                    elif rcpt == message.recipients[0]:
                        refusal = _code_outcome(code, _text(text))
                if refusal is not None or not accepted:
                    smtp.rset()
                    return refusal or Result("permanent", "no recipient accepted")
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                self._drop()
                if attempt == 2:
                    return Result("temporary", f"connection lost before the message was sent: {exc}")
                continue
            except smtplib.SMTPResponseException as exc:
                self._drop()
                return _code_outcome(exc.smtp_code, _text(exc.smtp_error))
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                return Result("temporary", f"could not reach the SMTP server: {exc}")
            try:
                code, text = smtp.data(message.data)
            except smtplib.SMTPResponseException as exc:
                self._drop()
                return _code_outcome(exc.smtp_code, _text(exc.smtp_error))
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                return Result("unknown", f"the connection broke while the message was being handed over: {exc}")
            return Result("sent", f"{code} {_text(text)}")
        raise AssertionError("unreachable")

    def send_many(self, messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]:
        return _in_lanes(self.pool, self.cfg.pool_size, self._send_one, messages)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        with self.lock:
            for smtp in self.opened:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    pass
            self.opened.clear()


class MailgunTransport:
    """Mailgun's HTTP API, the raw message as it would go over SMTP (``messages.mime``)."""

    def __init__(self, cfg: TransportConfig, base_url: str | None = None, client: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self.url = f"{base_url or MAILGUN_HOSTS[cfg.region]}/v3/{cfg.domain}/messages.mime"
        self.client = client or httpx.Client(timeout=SMTP_TIMEOUT, auth=("api", cfg.api_key))
        self.pool = ThreadPoolExecutor(max_workers=max(1, cfg.pool_size), thread_name_prefix="mailgun")

    def _send_one(self, message: Outgoing) -> Result:
        try:
            reply = self.client.post(self.url, data={"to": list(message.recipients)}, files={"message": ("message.eml", message.data)})
        except httpx.TimeoutException as exc:
            return Result("unknown", f"no answer from Mailgun: {exc}")
        except httpx.HTTPError as exc:
            return Result("temporary", f"could not reach Mailgun: {exc}")
        answer = f"{reply.status_code} {reply.text[:500]}"
        if reply.status_code < 300:
            return Result("sent", answer)
        return Result("temporary" if reply.status_code in (429,) or reply.status_code >= 500 else "permanent", answer)

    def send_many(self, messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]:
        return _in_lanes(self.pool, self.cfg.pool_size, self._send_one, messages)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()


class OutboxTransport:
    """No transport configured: messages are kept in the outbox, to be read in the app, never delivered.
    It writes in a transaction of its own (the sender holds no connection while it sends)."""

    def send_many(self, messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]:
        if not messages:
            return []
        with db.session_scope() as session:
            for message, stat_id in messages:
                session.add(OutboxMessage(stat_id=stat_id, to_address=message.recipients[0][:191], subject=message.subject[:191],
                                          message=message.data.decode("utf-8", errors="replace")))
            changefeed.publish_after_commit(session, "outbox", {"added": len(messages)})
        return [Result("sent", "kept in the outbox (no e-mail transport is configured)") for _ in messages]

    def close(self) -> None:
        pass


class PacedTransport:
    """A transport that keeps to its "messages per second at most", shared with every other sender through it
    (see ``send_pace``): each batch waits for its turn before it goes."""

    def __init__(self, inner: Transport, cfg: TransportConfig) -> None:
        self.inner, self.rate, self.key = inner, cfg.rate_per_second, f"{cfg.kind}:{cfg.host or cfg.domain}"  # closed by open_transport

    def send_many(self, messages: Sequence[tuple[Outgoing, int | None]]) -> list[Result]:
        wait = send_pace.reserve(self.key, len(messages), self.rate)
        if wait > 0:
            time.sleep(wait)
        return self.inner.send_many(messages)


def batch_for(cfg: TransportConfig, batch: int) -> int:
    """A broadcast's batch under the rate limit: at most ten seconds' worth, so a batch never waits out its lease."""
    return min(batch, max(1, int(cfg.rate_per_second * 10))) if cfg.rate_per_second else batch


@contextmanager
def open_transport(cfg: TransportConfig) -> Iterator[Transport]:
    transport: SmtpTransport | MailgunTransport | OutboxTransport
    if cfg.kind == "smtp":
        transport = SmtpTransport(cfg)
    elif cfg.kind == "mailgun":
        transport = MailgunTransport(cfg)
    else:
        transport = OutboxTransport()
    try:
        yield PacedTransport(transport, cfg) if cfg.rate_per_second else transport
    finally:
        transport.close()


def send_test(*, cfg: TransportConfig, to_address: str) -> Result:
    """A short message through ``cfg`` to check the settings; the result carries the server's answer."""
    check_header("The address", to_address)
    message = build_message(from_address=cfg.from_address, from_name=cfg.from_name, to_address=to_address, to_name="",
                            subject="Test message from Mautic", html="<p>Your e-mail settings work.</p>",
                            text="Your e-mail settings work.", message_id=f"<test.{os.getpid()}.{threading.get_ident()}@{cfg.from_address.rpartition('@')[2] or 'localhost'}>")
    with open_transport(cfg) as transport:
        return transport.send_many([(message, None)])[0]


# ---------------------------------------------------------------- the outbox


def outbox_page(*, session: Session, start: int = 0, limit: int = 30) -> tuple[int, list[OutboxMessage]]:
    total = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).offset(start).limit(limit)).all()
    return int(total), list(rows)


def outbox_message(*, session: Session, message_id: int) -> dict[str, str] | None:
    """One kept message: its headers and its HTML and text parts, decoded."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return None
    parsed = message_from_bytes(row.message.encode("utf-8", errors="replace"))
    parts = {"text/html": "", "text/plain": ""}
    for part in parsed.walk():
        if part.get_content_type() in parts and not parts[part.get_content_type()]:
            payload = part.get_payload(decode=True)
            parts[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return {"to": row.to_address, "subject": row.subject, "from": str(parsed.get("From", "")), "date": row.date_added.isoformat(),
            "html": parts["text/html"], "text": parts["text/plain"]}

