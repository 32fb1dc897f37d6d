"""Mautic 5's mailer DSN (Symfony Mailer's form): ``smtp://user:pass@host:port``, ``smtps://...`` (TLS from the
first byte), ``mailgun+api://KEY:DOMAIN@default?region=eu``, ``null://null`` (nothing is delivered: the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


class DsnError(ValueError):
    pass


@dataclass(frozen=True)
class Dsn:
    kind: str  # smtp | mailgun | outbox
    host: str = ""
    port: int = 0
    security: str = "auto"  # auto (STARTTLS when offered) | starttls | tls | none
    username: str = ""
    password: str = ""
    api_key: str = ""
    domain: str = ""  # mailgun's sending domain
    region: str = "us"
    pool_size: int = 0  # 0: the default


def parse(dsn: str) -> Dsn:
    if any(c in dsn for c in "\r\n"):
        raise DsnError("The mailer DSN cannot contain a line break.")
    parts = urlsplit(dsn.strip())
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port or 0
    except ValueError as exc:
        raise DsnError(f"The mailer DSN's port is not a number: {exc}") from exc
    pool = query.get("pool_size", "0")
    if not pool.isdigit():
        raise DsnError("pool_size must be a whole number.")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise DsnError("An SMTP DSN names a host: smtp://user:pass@host:port")
        security = "tls" if scheme == "smtps" or port == 465 else query.get("encryption", "auto")
        if security not in ("auto", "starttls", "tls", "none"):
            raise DsnError("encryption must be starttls, tls or none.")
        return Dsn("smtp", parts.hostname, port or (465 if security == "tls" else 25), security, user, password, pool_size=int(pool))
    if scheme in ("mailgun+api", "mailgun+https", "mailgun"):
        if not user or not password:
            raise DsnError("A Mailgun DSN carries the API key and the domain: mailgun+api://KEY:DOMAIN@default")
        region = query.get("region", "us").lower()
        if region not in ("us", "eu"):
            raise DsnError("region must be us or eu.")
        return Dsn("mailgun", api_key=user, domain=password, region=region, host=parts.hostname or "default", pool_size=int(pool))
    if scheme == "null":
        return Dsn("outbox")
    raise DsnError(f"Unknown mailer DSN scheme {scheme!r}: use smtp, smtps, mailgun+api or null.")
