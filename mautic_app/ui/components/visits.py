"""Showing tracked visits: plain-text rows for state and the page cell the visitor pages share.

Every URL, title, referrer and browser name came from a visitor's browser. They reach the page
only as text children (React escapes them) and as a link target only when the address is
http or https; chart labels go through :func:`chart_text`, since Plotly reads a few HTML tags.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import reflex as rx


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else ""


def safe_href(url: str) -> str:
    """``url`` when it is an http(s) address with a host, else "" (shown as text, never as a link)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def device_label(device: str, browser: str = "") -> str:
    """"Smartphone · Mobile Safari"; "Unknown device" when the detector could not tell."""
    kind = device.capitalize() if device else "Unknown device"
    return f"{kind} · {browser}" if browser else kind


def chart_text(text: str, limit: int = 60) -> str:
    """Untrusted text for a Plotly label: shortened, with ``<``, ``>`` and ``&`` as entities Plotly shows literally."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def expires_at(rows: list[dict[str, Any]], window: timedelta, count: int) -> float:
    """When the oldest of ``count`` live visitors leaves the window (epoch seconds): known from the rows
    when they are all of them, else "now", so the page checks again whenever the feed is quiet."""
    if count > len(rows):
        return 0.0
    return min(r["date_hit"] for r in rows).timestamp() + window.total_seconds() if rows else math.inf


def visitor_row(row: dict[str, Any], shown_at: Callable[[datetime], str] | None = None) -> dict[str, str]:
    """A ``services.visitors.live_visitors`` row as the strings a page shows; its time by ``shown_at`` if given
    (a user's own zone and words)."""
    return {
        "contact_id": str(row["contact_id"]), "name": row["name"], "identified": "1" if row["identified"] else "",
        "title": row["title"] or row["url"], "url": row["url"], "href": safe_href(row["url"]),
        "device": device_label(row["device"], row["browser"]), "when": (shown_at or when)(row["date_hit"]), "hits": str(row["hits"]),
    }


def visited_page(row: rx.Var) -> rx.Component:
    """A visited page's title over its address: a link out only for http(s) addresses, else plain text."""
    return rx.vstack(
        rx.text(row["title"], size="2", weight="medium", word_break="break-word"),
        rx.cond(
            row["href"] != "",
            rx.el.a(row["url"], href=row["href"], target="_blank", rel="noopener noreferrer nofollow",
                    style={"font_size": "var(--font-size-1)", "word_break": "break-all", "color": "var(--accent-11)"}),
            rx.text(row["url"], size="1", color=rx.color("gray", 11), word_break="break-all"),
        ),
        spacing="0",
        min_width="0",
    )
