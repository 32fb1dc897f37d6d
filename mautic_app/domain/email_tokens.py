"""Tokens in an e-mail (Mautic's): parsed once per e-mail, filled per contact.

``{contactfield=alias|default}``: the contact's value (falling back to its primary company's), else the
default; a default of ``true`` URL-encodes the value, ``date`` / ``time`` / ``datetime`` format it.
``{ownerfield=alias}``: the contact owner's. Then the links and texts every e-mail may carry:
``{unsubscribe_url}``, ``{unsubscribe_text}``, ``{dnc_url}``, ``{webview_url}``, ``{webview_text}``,
``{tracking_pixel}``, ``{signature}``, ``{subject}``, ``{today}``, and tokens given by the API
(``{anything}``: ``extra``). ``{dynamiccontent=...}``, ``{pagelink=ID}`` and ``{assetlink=ID}`` render
empty until dynamic content, landing pages and assets exist. Unknown tokens are left as written.

Contact and owner values are HTML-escaped in HTML parts; this is what keeps a contact named
``<script>`` inert in every message.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

TOKEN = re.compile(r"\{(contactfield|leadfield|ownerfield)=([A-Za-z0-9_]+)(?:\|([^}]*))?\}|\{([a-z_]+)(?:=([^}]*))?\}")
LATER = {"dynamiccontent", "pagelink", "assetlink"}  # channels that do not exist yet: empty for now

TOKENS: list[tuple[str, str]] = [
    ("{contactfield=firstname}", "Contact: first name"),
    ("{contactfield=lastname}", "Contact: last name"),
    ("{contactfield=email}", "Contact: e-mail"),
    ("{contactfield=company}", "Contact: company"),
    ("{contactfield=city}", "Contact: city"),
    ("{ownerfield=firstname}", "Owner: first name"),
    ("{ownerfield=email}", "Owner: e-mail"),
    ("{unsubscribe_text}", "Unsubscribe text"),
    ("{unsubscribe_url}", "Unsubscribe link"),
    ("{webview_text}", "View in browser text"),
    ("{webview_url}", "View in browser link"),
    ("{signature}", "Signature"),
    ("{subject}", "Subject"),
    ("{today}", "Today's date"),
    ("{tracking_pixel}", "Tracking pixel"),
]

# Owner fields as Mautic names them, to our users' attribute names.
_OWNER = {"firstname": "first_name", "lastname": "last_name", "email": "email", "position": "position", "username": "username"}


@dataclass
class TokenContext:
    contact: dict[str, Any]
    company: dict[str, Any] = field(default_factory=dict)
    owner: dict[str, Any] | None = None
    urls: dict[str, str] = field(default_factory=dict)  # unsubscribe_url, dnc_url, webview_url, tracking_pixel_url
    signature: str = ""
    subject: str = ""
    today: date = field(default_factory=date.today)
    extra: dict[str, Any] = field(default_factory=dict)  # "{name}" or "name" -> value, given by the API


@dataclass(frozen=True)
class _Token:
    kind: str  # contactfield | ownerfield | a simple token's name
    name: str
    default: str
    raw: str


@dataclass(frozen=True)
class Prepared:
    """Text split once into literal parts and tokens (alternating, literals at even places)."""

    parts: tuple[str | _Token, ...]


def prepare(text: str) -> Prepared:
    parts: list[str | _Token] = []
    last = 0
    for m in TOKEN.finditer(text or ""):
        parts.append(text[last:m.start()])
        if m.group(1):
            kind = "contactfield" if m.group(1) in ("contactfield", "leadfield") else "ownerfield"
            parts.append(_Token(kind, m.group(2).lower(), html_lib.unescape(m.group(3) or ""), m.group(0)))
        else:
            parts.append(_Token(m.group(4), m.group(5) or "", "", m.group(0)))
        last = m.end()
    parts.append((text or "")[last:])
    return Prepared(tuple(parts))


def contact_fields(*texts: Prepared) -> frozenset[str]:
    """The contact fields the texts' tokens show: all a sender needs to read of each contact for them."""
    return frozenset(p.name for t in texts for p in t.parts if isinstance(p, _Token) and p.kind == "contactfield")


def _format(value: Any, how: str) -> str | None:
    """A value formatted as a token's default asks (date / time / datetime), or None: not a format."""
    if how not in ("date", "time", "datetime"):
        return None
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(when, datetime):
        return {"date": when.strftime("%B %-d, %Y"), "time": when.strftime("%-I:%M %p"),
                "datetime": when.strftime("%B %-d, %Y %-I:%M %p")}[how]
    if isinstance(when, date):
        return when.strftime("%B %-d, %Y") if how != "time" else ""
    return str(value)


def _field(token: _Token, values: dict[str, Any], fallback: dict[str, Any]) -> str:
    value = values.get(token.name)
    if value in (None, ""):
        value = fallback.get(token.name)
    if token.default == "true":
        return quote(str(value), safe="") if value not in (None, "") else ""
    if value in (None, ""):
        return "" if token.default in ("date", "time", "datetime") else token.default
    formatted = _format(value, token.default)
    return formatted if formatted is not None else (str(value) if not isinstance(value, bool) else ("1" if value else "0"))


def _simple(token: _Token, ctx: TokenContext, html: bool) -> str | None:
    """A link or text token's value (already safe for the part), or None when it is not one of ours."""
    urls = ctx.urls
    name = token.kind
    if name in LATER:
        return ""
    if name in ("unsubscribe_url", "dnc_url", "webview_url"):
        return urls.get(name, "")
    if name == "unsubscribe_text":
        url = urls.get("unsubscribe_url", "")
        return f'<a href="{html_lib.escape(url)}">Unsubscribe</a> from these e-mails.' if html else f"Unsubscribe: {url}"
    if name == "webview_text":
        url = urls.get("webview_url", "")
        return f'<a href="{html_lib.escape(url)}">View this e-mail in your browser</a>.' if html else f"View in your browser: {url}"
    if name == "tracking_pixel":
        url = urls.get("tracking_pixel_url", "")
        return f'<img src="{html_lib.escape(url)}" width="1" height="1" alt="" style="display:none">' if html and url else ""
    if name == "signature":
        return html_lib.escape(ctx.signature).replace("\n", "<br>") if html else ctx.signature
    if name == "subject":
        return html_lib.escape(ctx.subject) if html else ctx.subject
    if name == "today":
        return ctx.today.strftime("%B %-d, %Y")
    return None


def render(prepared: Prepared, ctx: TokenContext, *, html: bool) -> str:
    """The text with every token filled for one contact."""
    out: list[str] = []
    owner = {k: (ctx.owner or {}).get(v, "") for k, v in _OWNER.items()} if ctx.owner else {}
    for part in prepared.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if part.kind == "contactfield":
            value = _field(part, ctx.contact, ctx.company)
        elif part.kind == "ownerfield":
            value = _field(part, owner, {})
        else:
            simple = _simple(part, ctx, html)
            if simple is not None:
                out.append(simple)
                continue
            found = ctx.extra.get(part.raw, ctx.extra.get(part.raw[1:-1]))
            if found is None:
                out.append(part.raw)
                continue
            value = str(found)
        out.append(html_lib.escape(value) if html else value)
    return "".join(out)
