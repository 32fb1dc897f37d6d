"""Tracking input: turn a hostile request's parameters into a bounded, inert hit record.

Pure: the HTTP routes feed it request data, the writer (``services.tracking``) reads what it
returns. Nothing here trusts the browser: every string is length-capped, ids must have our
own shape, and anything else is dropped rather than stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from mautic_app.domain.forms import safe_return_url, web_url

# The parameters mtc.js and Mautic's pixel send; everything else is a contact field.
PAGE_PARAMS = (
    "page_title", "page_language", "preferred_locale", "page_referrer", "page_url", "counter",
    "timezone_offset", "timezone", "resolution", "platform", "do_not_track",
)
# A site's proof that its signed-in visitor owns the e-mail it names (see :func:`sign_email`).
SIGNATURE_PARAM = "email_signature"
# Sent by Mautic's scripts, ours or both, and never a contact field.
IGNORED_PARAMS = {"mautic_device_id", "mtc_id", "mtc_sid", "sid", "id", "device_id", "ct", "d", "mauticform", SIGNATURE_PARAM}
MAX_URL = 4096
MAX_TEXT = 255
MAX_FIELD_VALUE = 1024
MAX_FIELDS = 50
MAX_BODY_BYTES = 32 * 1024
UTM_KEYS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term")
ID_RE = re.compile(r"^[A-Za-z0-9]{20,64}$")
FIELD_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# A cheap first screen in the request path (substring tests: no regex on the hot path); the
# writer also asks the user-agent parser.
BOT_MARKERS = (
    "bot", "crawl", "spider", "slurp", "facebookexternalhit", "embedly", "preview", "curl/", "wget/",
    "python-requests", "python-urllib", "httpclient", "go-http-client", "okhttp", "java/", "libwww", "scrapy",
    "phantomjs", "lighthouse",
)
TOKEN_SALT = "mautic.contact-token"


class TrackingInputError(ValueError):
    """The request cannot be a tracking hit (the route answers 400 with this message)."""


@dataclass
class Hit:
    """One accepted hit, ready to queue: only bounded strings and numbers."""

    at: str  # ISO-8601 UTC
    ip: str | None
    user_agent: str
    page: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)
    tags: str | None = None
    token: str | None = None  # a signed contact token (``ct``) found in the request or page URL
    signature: str | None = None  # the site's signature of the e-mail in ``fields``
    browser_languages: list[str] = field(default_factory=list)
    source: str = "mtc"
    device_id: str = ""
    contact_id: str = ""  # the contact's public id
    new_device: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at, "ip": self.ip, "ua": self.user_agent, "page": self.page, "fields": self.fields,
            "tags": self.tags, "ct": self.token, "sig": self.signature, "langs": self.browser_languages, "source": self.source,
            "device": self.device_id, "pid": self.contact_id, "new": self.new_device,
        }


def new_id() -> str:
    """A random id for devices and contacts' public ids: 24 characters, nothing to guess from."""
    return secrets.token_hex(12)


def valid_id(value: Any) -> str | None:
    return value if isinstance(value, str) and ID_RE.match(value) else None


def _text(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    s = str(value).replace("\x00", "").strip()
    return s[:limit] if s else None


def _int(value: Any, low: int, high: int) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if low <= n <= high else None


def _web_url(value: Any) -> str | None:
    """Only http(s) URLs are kept; ``javascript:`` and friends become nothing."""
    s = _text(value, MAX_URL)
    if not s:
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    return s if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def browser_languages(accept_language: str | None) -> list[str]:
    """``Accept-Language`` as a short list of language tags, best first."""
    out = []
    for part in (accept_language or "")[:256].split(","):
        tag = part.split(";", 1)[0].strip()
        if tag and re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*|\*", tag):
            out.append(tag)
    return out[:10]


def build_hit(
    params: dict[str, Any], *, ip: str | None, user_agent: str | None, accept_language: str | None,
    at: datetime, source: str = "mtc",
) -> Hit:
    """Validate a tracking request's parameters into a :class:`Hit` (``ip`` already :func:`clean_ip`'d).

    Raises :class:`TrackingInputError` only when nothing usable is left (no page URL); bad
    optional values are dropped, so a sloppy site still gets tracked.
    """
    page_url = _web_url(params.get("page_url") or params.get("url"))
    if not page_url:
        raise TrackingInputError("page_url must be an http(s) URL of at most 4096 characters.")
    page: dict[str, Any] = {
        "url": page_url,
        "title": _text(params.get("page_title") or params.get("title"), MAX_TEXT),
        "referrer": _web_url(params.get("page_referrer") or params.get("referrer")),
        "language": _text(params.get("page_language"), 32),
        "locale": _text(params.get("preferred_locale"), 32),
        "counter": _int(params.get("counter"), 0, 1_000_000),
        "timezone_offset": _int(params.get("timezone_offset"), -1000, 1000),
        "timezone": _text(params.get("timezone"), 64),
        "resolution": _text(params.get("resolution"), 32),
        "platform": _text(params.get("platform"), 64),
        "do_not_track": _int(params.get("do_not_track"), 0, 1),
    }
    fields: dict[str, str] = {}
    tags = None
    for key, value in params.items():
        if key in PAGE_PARAMS or key in IGNORED_PARAMS or key in ("url", "title", "referrer") or not isinstance(key, str):
            continue
        if key == "tags":
            tags = _tags(value)
            continue
        if not FIELD_KEY_RE.match(key) or len(fields) >= MAX_FIELDS:
            continue
        text = _text(value, MAX_FIELD_VALUE)
        if text is not None:
            fields[key.lower()] = text
    token = _text(params.get("ct"), 2048) or (token_in_url(page_url) if "ct=" in page_url else None)
    return Hit(
        at=at.isoformat(), ip=ip, user_agent=(user_agent or "")[:1024], page=page, fields=fields,
        tags=tags, token=token, signature=_text(params.get(SIGNATURE_PARAM), 128), browser_languages=browser_languages(accept_language), source=source,
    )


def _tags(value: Any) -> str | None:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value if isinstance(v, str | int))
    text = _text(value, MAX_FIELD_VALUE)
    return text


def token_in_url(url: str) -> str | None:
    """The ``ct`` parameter of a page URL: how a click from an e-mail identifies its reader."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        if key == "ct":
            return value[:2048]
    return None


def utm_values(url: str) -> dict[str, str]:
    """The UTM parameters of a page URL, capped like every other tracked string."""
    found = {}
    for key, value in parse_qsl(urlsplit(url).query):
        if key in UTM_KEYS and value.strip() and key not in found:
            found[key] = value.strip()[:191]
    return found


def query_of(url: str) -> dict[str, str]:
    return {k[:64]: v[:MAX_FIELD_VALUE] for k, v in parse_qsl(urlsplit(url).query)[:50]}


def url_hash(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8", "replace")).hexdigest()


def page_labels(pages: list[tuple[str, str | None]], limit: int = 40) -> list[str]:
    """One label per (address, title) for a chart of pages, no two alike.

    A page reads as its title, or its address when it has none; pages that share a title (a
    landing page with and without campaign tags) read as their addresses. A chart that drew two
    pages under one label would put both bars on one line.
    """
    def short(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def address(url: str) -> str:
        return short(re.sub(r"^https?://", "", url, flags=re.I))

    titles = [short(t.strip()) if t and t.strip() else "" for _, t in pages]
    shared = Counter(titles)
    labels = [t if t and shared[t] == 1 else address(url) for (url, _), t in zip(pages, titles, strict=True)]
    alike, seen = Counter(labels), Counter[str]()
    for i, label in enumerate(labels):  # addresses cut at the same point
        if alike[label] > 1:
            seen[label] += 1
            labels[i] = f"{label} ({seen[label]})"
    return labels


@lru_cache(maxsize=4096)
def clean_ip(value: str | None) -> str | None:
    """An address in its canonical form, or None. Cached: every hit parses its peer's address."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def visitor_ip(peer: str | None, forwarded_for: str | None, trusted: list[str] | tuple[str, ...]) -> str | None:
    """The visitor's address behind our own reverse proxies.

    ``X-Forwarded-For`` is believed only when the connection comes from a trusted proxy, and only
    as far back as the hops trusted proxies appended: walking from the right, the first address
    that is not a trusted proxy is the visitor (anything left of it the visitor could have forged).
    """
    ip = clean_ip(peer)
    if not ip or not forwarded_for or not is_trusted_proxy(ip, trusted):
        return ip
    for hop in reversed(forwarded_for.split(",")[-20:]):
        hop_ip = clean_ip(hop)
        if hop_ip is None:
            break  # garbage before a trusted hop: keep the last address a proxy vouched for
        ip = hop_ip
        if not is_trusted_proxy(ip, trusted):
            break
    return ip


def is_trusted_proxy(ip: str | None, trusted: list[str] | tuple[str, ...]) -> bool:
    """Whether ``ip`` is one of our proxies (addresses or CIDR ranges; wildcards are not trusted)."""
    return bool(ip) and any("*" not in t and ip_matches(ip, [t]) for t in trusted)


def looks_like_bot(user_agent: str | None) -> bool:
    if not user_agent:
        return True
    lowered = user_agent.lower()
    return any(marker in lowered for marker in BOT_MARKERS)


def ip_matches(ip: str | None, patterns: list[str]) -> bool:
    """Whether ``ip`` is on a do-not-track list of addresses, CIDR ranges or ``*`` wildcards."""
    if not ip or not patterns:
        return False
    networks, wildcards = _compiled_patterns(tuple(patterns))
    if wildcards is not None and wildcards.match(ip):
        return True
    addr = ipaddress.ip_address(ip)
    return any(addr in network for network in networks)


@lru_cache(maxsize=32)
def _compiled_patterns(patterns: tuple[str, ...]) -> tuple[tuple[Any, ...], re.Pattern[str] | None]:
    """A list's networks and one regex for its wildcards, parsed once per list rather than on every hit."""
    networks, wildcards = [], []
    for raw in patterns:
        pattern = raw.strip()
        if not pattern:
            continue
        if "*" in pattern:
            wildcards.append(re.escape(pattern).replace(r"\*", r"[0-9a-fA-F]+"))
            continue
        try:
            networks.append(ipaddress.ip_network(pattern, strict=False))
        except ValueError:
            continue
    return tuple(networks), re.compile("^(?:" + "|".join(wildcards) + ")$") if wildcards else None


def valid_ip_pattern(pattern: str) -> bool:
    """For the settings page: an address, a CIDR range or a wildcard like ``10.0.*.*``."""
    p = pattern.strip()
    if "*" in p:
        return bool(re.fullmatch(r"[0-9a-fA-F:.*]+", p)) and p.count("*") <= 4
    try:
        ipaddress.ip_network(p, strict=False)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------ signed contact tokens


def sign_contact_token(secret: str, public_id: str, channel: str = "email", channel_id: int | None = None) -> str:
    """A token for tracked links: names the contact by its public id, signed so it cannot be forged."""
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT).dumps({"p": public_id, "ch": channel, "cid": channel_id})


def read_contact_token(secret: str, token: str, max_age_seconds: int) -> str | None:
    """The public id a token names, or None when it is forged, altered or too old."""
    try:
        data = URLSafeTimedSerializer(secret, salt=TOKEN_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, ValueError, TypeError):
        return None
    return valid_id(data.get("p")) if isinstance(data, dict) else None


# ------------------------------------------------------------------ who may read what, who may claim whom


@lru_cache(maxsize=1024)
def trusted_site(site: str | None, own: tuple[str, ...], allowed_hosts: tuple[str, ...]) -> bool:
    """Whether the page a request comes from (its ``Origin``, or an image's ``Referer``) may read the
    visitor's ids and pre-fill values: our own origin (``own``: ``host[:port]`` as the browser names
    it) or an allowed site of Settings → Tracking, matched as form redirects are.

    ``null``, a missing header and anything but a plain http(s) address are nobody we trust. Cached:
    the tracking routes ask on every hit.
    """
    url = web_url(site)  # refuses backslashes and user info, on which browsers and parsers disagree
    if not url:
        return False
    if urlsplit(url).netloc.lower() in {o.lower() for o in own if o}:
        return True
    return safe_return_url(url, page_url=None, allowed_hosts=allowed_hosts) is not None


def new_identity_secret() -> str:
    """The secret sites sign their signed-in visitors' e-mails with: 256 random bits, hex."""
    return secrets.token_hex(32)


def sign_email(secret: str, email: str) -> str:
    """HMAC-SHA256 (hex) of the trimmed, lower-cased e-mail: what a site's server computes for its
    signed-in user, as chat widgets verify who their visitors are."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def email_signature_valid(secret: str | None, email: str | None, signature: str | None) -> bool:
    """Whether ``signature`` proves ``email`` (compared in constant time); nothing proves anything without a secret."""
    if not (secret and email and signature):
        return False
    return hmac.compare_digest(sign_email(secret, email).encode(), signature.strip().lower().encode())


@dataclass(frozen=True)
class Claim:
    """What a hit naming someone may do: the contact to merge the visitor into, and the values to write
    on the visitor's contact afterwards (the merged one when there was a merge)."""

    merge_into: int | None
    values: dict[str, Any]


def settle_claim(
    *, visitor: int, visitor_is_anonymous: bool, proven: int | None, has_proof: bool,
    values: dict[str, Any], owners: dict[str, int],
) -> Claim:
    """Decide a tracking hit's claim to be someone (``values``: its publicly updatable fields).

    ``has_proof``: it carried a valid click token or a signed e-mail, naming ``proven`` (None when
    the signed e-mail is nobody's yet). ``owners``: unique identifier alias → the contact that
    already holds the claimed value.

    Proven, the visitor is merged into the contact named, which takes the values except identifiers
    that belong to somebody else. Unproven, anyone could have sent it (an e-mail address is no
    secret): it never merges, never changes a known contact, and fills the visitor's own anonymous
    contact only when it names nobody else; values that describe another contact are not this
    visitor's.
    """
    if has_proof:
        me = proven if proven is not None else visitor
        kept = {k: v for k, v in values.items() if owners.get(k, me) == me}
        return Claim(merge_into=proven if proven not in (None, visitor) else None, values=kept)
    if not visitor_is_anonymous or any(owners.get(k, visitor) != visitor for k in values):
        return Claim(merge_into=None, values={})
    return Claim(merge_into=None, values=dict(values))
