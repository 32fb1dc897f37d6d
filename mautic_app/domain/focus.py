"""Focus items: what a marketer may configure, when a visitor sees one, and the script a site embeds.

Pure code (no Reflex, Celery or HTTP): the settings a focus item keeps in ``properties`` are
checked and normalised here, the frequency and stop rules are decided here (the script mirrors
them in the browser), ``show_on`` URL patterns are compiled here for the tracking route, and the
``/focus/{id}.js`` script is rendered here with its configuration embedded as inert JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlsplit

TYPES: dict[str, str] = {"notice": "Notice", "link": "Link", "form": "Form"}
TYPE_HELP: dict[str, str] = {
    "notice": "Tell visitors something: a headline, a tagline and an optional button.",
    "link": "Send visitors somewhere: a button that opens a link.",
    "form": "Collect details: one of your forms inside the item.",
}
STYLES: dict[str, str] = {"bar": "Bar", "modal": "Modal", "notification": "Notification", "page": "Full page"}
PLACEMENTS: dict[str, dict[str, str]] = {
    "bar": {"top": "Top", "bottom": "Bottom"},
    "modal": {"top": "Top", "middle": "Middle", "bottom": "Bottom"},
    "notification": {"top_left": "Top left", "top_right": "Top right", "bottom_left": "Bottom left", "bottom_right": "Bottom right"},
    "page": {"full": "Whole page"},
}
WHEN: dict[str, str] = {
    "immediately": "Immediately", "scroll_slight": "After a slight scroll", "scroll_middle": "After scrolling to the middle",
    "scroll_bottom": "After scrolling to the bottom", "leave": "When the visitor is about to leave (exit intent)",
    "timeout": "After a number of seconds",
}
# How far down (share of the scrollable height) each scroll trigger waits for; the script uses the same.
SCROLL_SHARE = {"scroll_slight": 0.1, "scroll_middle": 0.5, "scroll_bottom": 0.9}
# Seconds that must pass after a showing before the next; None: never again.
FREQUENCY: dict[str, tuple[str, int | None]] = {
    "everypage": ("Every page", 0), "once": ("Once", None), "q2minute": ("Every 2 minutes", 120),
    "q15minute": ("Every 15 minutes", 900), "hourly": ("Every hour", 3600), "daily": ("Every day", 86400),
}
STAT_TYPES = ("view", "click", "conversion")
COLOUR_NAMES = {"primary": "Background", "text": "Text", "button": "Button", "button_text": "Button text"}
DEFAULT_COLOURS = {"primary": "#4e5d9d", "text": "#ffffff", "button": "#fdb933", "button_text": "#ffffff"}
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_TIMEOUT = 3600
MAX_PATTERNS = 20  # page addresses of one item
MAX_LIVE_PATTERNS = 50  # of all published items together: what one tracked hit is matched against
MAX_WILDCARDS = 5  # per address
MAX_MATCHED_URL = 2048  # characters of a page address looked at (a longer one is matched as if cut there)
LIMITS = {"headline": 255, "tagline": 1000, "button_text": 100, "link_url": 2000, "pattern": 500}
COOKIE_PREFIX = "mautic_focus_"

DEFAULTS: dict[str, Any] = {
    "placement": "top", "when": "immediately", "timeout": 5, "frequency": "everypage",
    "stop_after_conversion": True, "stop_after_close": False, "animate": True, "link_activation": False,
    "colors": dict(DEFAULT_COLOURS), "headline": "", "tagline": "", "button_text": "", "link_url": "",
    "link_new_window": True, "show_on": [],
}
_RUNTIME = Path(__file__).resolve().parents[2] / "assets" / "focus.js"
_CONFIG_SLOT = "__FOCUS_CONFIG__"


class FocusError(ValueError):
    """Input a marketer (or an API client) must fix: field name → message."""

    def __init__(self, errors: dict[str, str], status: int = 400) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


# ------------------------------------------------------------------ checking what was typed


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).replace("\x00", "").strip()[:limit]


def safe_link(value: object) -> str:
    """``value`` when it is an absolute http(s) address, else "" (``javascript:``, ``data:``, relative...)."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url or len(url) > LIMITS["link_url"] or any(ord(c) < 32 or c.isspace() for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or parts.netloc.startswith("@"):
        return ""
    return url


def safe_colour(value: Any, default: str) -> str:
    return value.lower() if isinstance(value, str) and COLOUR_RE.match(value) else default


def clean_properties(style: str, raw: Mapping[str, Any] | None, *, item_type: str = "notice") -> tuple[dict[str, Any], dict[str, str]]:
    """The stored ``properties`` for an item of ``style``: (normalised values, field → message)."""
    raw = dict(raw or {})
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    placements = PLACEMENTS.get(style, {})
    placement = str(raw.get("placement") or "").strip().replace("-", "_") or next(iter(placements), "")
    if placements and placement not in placements:
        errors["placement"] = f"A {STYLES.get(style, style).lower()} can be placed: {', '.join(placements)}."
    out["placement"] = placement
    when = str(raw.get("when") or DEFAULTS["when"])
    if when not in WHEN:
        errors["when"] = "Choose when to show it: " + ", ".join(WHEN) + "."
    out["when"] = when
    try:
        timeout = int(str(raw.get("timeout", DEFAULTS["timeout"]) or 0).strip() or 0)
        if not 0 <= timeout <= MAX_TIMEOUT:
            raise ValueError
    except (TypeError, ValueError):
        errors["timeout"] = f"Enter a whole number of seconds from 0 to {MAX_TIMEOUT}."
        timeout = DEFAULTS["timeout"]
    out["timeout"] = timeout
    frequency = str(raw.get("frequency") or DEFAULTS["frequency"])
    if frequency not in FREQUENCY:
        errors["frequency"] = "Choose how often: " + ", ".join(FREQUENCY) + "."
    out["frequency"] = frequency
    for key in ("stop_after_conversion", "stop_after_close", "animate", "link_activation", "link_new_window"):
        out[key] = _flag(raw.get(key), DEFAULTS[key])
    colours: dict[str, Any] = raw["colors"] if isinstance(raw.get("colors"), dict) else {}
    out["colors"] = {}
    for key, default in DEFAULT_COLOURS.items():
        value = colours.get(key, raw.get(f"color_{key}"))
        if value in (None, ""):
            out["colors"][key] = default
        elif isinstance(value, str) and COLOUR_RE.match(value.strip()):
            out["colors"][key] = value.strip().lower()
        else:
            errors[f"color_{key}"] = f"{COLOUR_NAMES[key]} colour must look like #1a2b3c."
            out["colors"][key] = default
    for key in ("headline", "tagline", "button_text"):
        value = raw.get(key)
        if isinstance(value, str) and len(value.strip()) > LIMITS[key]:
            errors[key] = f"Keep it under {LIMITS[key]} characters."
        out[key] = _text(value, LIMITS[key])
    link = _text(raw.get("link_url"), LIMITS["link_url"] + 1)
    if link and not safe_link(link):
        errors["link_url"] = "The link must be a full http:// or https:// address."
        link = ""
    if item_type == "link" and not link and "link_url" not in errors:
        errors["link_url"] = "A link item needs the address to open."
    out["link_url"] = link
    patterns = raw.get("show_on") or []
    if isinstance(patterns, str):
        patterns = patterns.splitlines()
    if not isinstance(patterns, list):
        errors["show_on"] = "Give the page addresses as a list."
        patterns = []
    clean = [p for p in (_text(p, LIMITS["pattern"] + 1) for p in patterns) if p]
    if len(clean) > MAX_PATTERNS:
        errors["show_on"] = f"Give at most {MAX_PATTERNS} page addresses."
    elif any(len(p) > LIMITS["pattern"] for p in clean):
        errors["show_on"] = f"Keep each page address under {LIMITS['pattern']} characters."
    elif any(len(re.findall(r"\*+", p)) > MAX_WILDCARDS for p in clean):
        errors["show_on"] = f"Use at most {MAX_WILDCARDS} * wildcards in a page address."
    out["show_on"] = list(dict.fromkeys(clean))[:MAX_PATTERNS]
    return out, errors


def clean_item(values: Mapping[str, Any], *, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check a whole item (name, type, style, form, properties); raises :class:`FocusError`.

    ``current`` holds the stored values a partial change starts from.
    """
    merged = dict(current or {}) | {k: v for k, v in values.items() if k != "properties"}
    before = dict((current or {}).get("properties") or {})
    props = before | dict(values.get("properties") or {})
    if isinstance(before.get("colors"), dict) and isinstance(props.get("colors"), dict):
        props["colors"] = before["colors"] | props["colors"]  # a partial change of one colour keeps the others
    errors: dict[str, str] = {}
    name = _text(merged.get("name"), 1000)
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > 191:
        errors["name"] = "Keep the name under 191 characters."
    item_type = str(merged.get("type") or "notice")
    if item_type not in TYPES:
        errors["type"] = "The type is one of: " + ", ".join(TYPES) + "."
    style = str(merged.get("style") or "bar")
    if style not in STYLES:
        errors["style"] = "The style is one of: " + ", ".join(STYLES) + "."
    form_id = merged.get("form_id")
    if form_id in ("", 0, "0"):
        form_id = None
    if form_id is not None:
        try:
            form_id = int(form_id)
            if form_id < 1:
                raise ValueError
        except (TypeError, ValueError):
            errors["form_id"] = "Choose a form."
            form_id = None
    if item_type == "form" and form_id is None and "form_id" not in errors:
        errors["form_id"] = "A form item needs a form to show."
    properties, prop_errors = clean_properties(style if style in STYLES else "bar", props, item_type=item_type)
    errors |= prop_errors
    if errors:
        raise FocusError(errors)
    return {
        "name": name, "description": _text(merged.get("description"), 10000), "type": item_type, "style": style,
        "form_id": form_id if item_type == "form" else None, "is_published": _flag(merged.get("is_published"), True),
        "properties": properties,
    }


def with_defaults(properties: Mapping[str, Any] | None, style: str = "bar") -> dict[str, Any]:
    """Stored properties with every key present (older or partial rows read safely)."""
    props = dict(DEFAULTS) | dict(properties or {})
    props["colors"] = dict(DEFAULT_COLOURS) | {k: safe_colour(v, DEFAULT_COLOURS.get(k, "#000000"))
                                               for k, v in dict(props.get("colors") or {}).items() if k in DEFAULT_COLOURS}
    if props.get("placement") not in PLACEMENTS.get(style, {}):
        props["placement"] = next(iter(PLACEMENTS.get(style, {"": ""})))
    return props


# ------------------------------------------------------------------ Mautic's JSON form (the API)


def to_mautic(style: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Properties as Mautic's API nests them (``bar.placement``, ``colors``, ``content``...), plus ``show_on``."""
    p = with_defaults(properties, style)
    return {
        "bar": {"placement": p["placement"] if style == "bar" else "top", "allow_hide": True, "push_page": False,
                "sticky": True, "size": "large"},
        "modal": {"placement": p["placement"] if style == "modal" else "top"},
        "notification": {"placement": p["placement"] if style == "notification" else "top_left"},
        "page": [],
        "animate": p["animate"], "link_activation": p["link_activation"],
        "colors": dict(p["colors"]),
        "content": {"headline": p["headline"], "tagline": p["tagline"], "link_text": p["button_text"],
                    "link_url": p["link_url"], "link_new_window": p["link_new_window"], "font": "Arial, Helvetica, sans-serif"},
        "when": p["when"], "timeout": p["timeout"], "frequency": p["frequency"],
        "stop_after_conversion": p["stop_after_conversion"], "stop_after_close": p["stop_after_close"],
        "show_on": list(p["show_on"]),
    }


def from_mautic(style: str, raw: Any) -> dict[str, Any]:
    """Mautic's nested properties (or our flat ones) as the flat form :func:`clean_properties` checks."""
    if not isinstance(raw, dict):
        return {}
    flat = {k: v for k, v in raw.items() if k not in ("bar", "modal", "notification", "page", "content")}
    nested = raw.get(style)
    if isinstance(nested, dict) and "placement" in nested and "placement" not in raw:
        flat["placement"] = nested["placement"]
    content = raw.get("content")
    if isinstance(content, dict):
        for ours, theirs in (("headline", "headline"), ("tagline", "tagline"), ("button_text", "link_text"),
                             ("link_url", "link_url"), ("link_new_window", "link_new_window")):
            if theirs in content and ours not in raw:
                flat[ours] = content[theirs]
    return flat


# ------------------------------------------------------------------ when a visitor sees it


@dataclass(frozen=True)
class VisitorState:
    """What the ``mautic_focus_{id}`` cookie remembers: when it was last shown, converted, closed."""

    shown_at: int | None = None
    converted: bool = False
    closed: bool = False


def parse_state(value: str | None) -> VisitorState:
    """``"1700000000.c.x"``: seconds since the epoch of the last showing, then flags (c converted, x closed)."""
    if not value:
        return VisitorState()
    head, *flags = str(value).split(".")
    return VisitorState(int(head) if head.isdigit() else None, "c" in flags, "x" in flags)


def format_state(state: VisitorState) -> str:
    return ".".join([str(state.shown_at or 0)] + (["c"] if state.converted else []) + (["x"] if state.closed else []))


def should_show(properties: Mapping[str, Any], state: VisitorState, now: float) -> bool:
    """Whether a visitor in ``state`` sees the item now (the script decides the same in the browser)."""
    if properties.get("stop_after_conversion") and state.converted:
        return False
    if properties.get("stop_after_close") and state.closed:
        return False
    if not state.shown_at:
        return True
    gap = FREQUENCY.get(str(properties.get("frequency")), FREQUENCY["everypage"])[1]
    if gap is None:
        return False
    return now - state.shown_at >= gap


# ------------------------------------------------------------------ which pages load it


_SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True)
class PagePattern:
    """One ``show_on`` address, lower-cased: literal pieces around ``*`` wildcards.

    Matching is greedy and never backtracks: the head must start the address, the tail end it,
    and each middle piece is found at its first place after the previous one (which is right for
    patterns whose only wildcard is ``*``). Each piece is a literal, searched for in linear time
    (the regular-expression engine searches a literal with a prefix table, unlike ``str.find``,
    which is quadratic on crafted text), so an address costs at most one pass per pattern.
    """

    head: str
    middle: tuple[re.Pattern[str], ...]
    tail: str
    any_scheme: bool  # written without http:// or https://: either one matches
    wildcard: bool

    def matches(self, url: str) -> bool:
        """Whether ``url`` (lower-cased and cut to ``MAX_MATCHED_URL`` by the caller) is one of its pages."""
        if self.any_scheme:
            if url.startswith("https://"):
                url = url[8:]
            elif url.startswith("http://"):
                url = url[7:]
            else:
                return False
        if not self.wildcard:
            return url == self.head
        end = len(url) - len(self.tail)
        if end < len(self.head) or not url.startswith(self.head) or not url.endswith(self.tail):
            return False
        pos = len(self.head)
        for piece in self.middle:
            found = piece.search(url, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True


def page_pattern(text: str) -> PagePattern | None:
    """The matcher for one typed address; None when it is empty or has too many wildcards."""
    text = re.sub(r"\*+", "*", text.strip()).lower()
    if not text or text.count("*") > MAX_WILDCARDS:
        return None
    head, *rest = text.split("*")
    tail = rest.pop() if rest else ""
    return PagePattern(head=head, middle=tuple(re.compile(re.escape(piece)) for piece in rest), tail=tail,
                       any_scheme=not text.startswith("*") and not _SCHEME_RE.match(text), wildcard="*" in text)


def live_budget_error(own: int, others: int) -> str | None:
    """Why an item with ``own`` page addresses cannot be published beside items using ``others``, if it cannot."""
    if own and own + others > MAX_LIVE_PATTERNS:
        return (f"Published focus items may use at most {MAX_LIVE_PATTERNS} page addresses together; "
                f"the others use {others}, so this one may use {max(0, MAX_LIVE_PATTERNS - others)}.")
    return None


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes (SQLite gives them back so) are UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def is_live(is_published: bool, publish_up: datetime | None, publish_down: datetime | None, now: datetime) -> bool:
    """Published, and inside its publishing window (either end may be open)."""
    up, down = as_utc(publish_up), as_utc(publish_down)
    return bool(is_published) and (up is None or up <= now) and (down is None or now < down)


def parse_when(value: Any) -> datetime | None:
    """A publish date from an API client or a form: ISO 8601 or ``YYYY-MM-DD HH:MM[:SS]`` (UTC when no offset)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))
    except ValueError as exc:
        raise FocusError({"publish": f"Not a date and time: {str(value)[:40]}"}) from exc


@dataclass
class ShowOnIndex:
    """Published items' ``show_on`` patterns, for matching a page address on every tracked hit.

    Each entry is (focus id, patterns, publish from, publish until); the window is checked at match
    time so a cached index starts and stops showing items on time. Its cost is bounded, so it runs
    inline on the tracking route: at most ``MAX_LIVE_PATTERNS`` patterns in all (the first items by
    id keep theirs; saving refuses more), each one pass over at most ``MAX_MATCHED_URL`` characters.
    """

    items: list[tuple[int, tuple[PagePattern, ...], datetime | None, datetime | None]] = field(default_factory=list)

    @classmethod
    def build(cls, rows: Iterable[tuple[int, Iterable[str], datetime | None, datetime | None]]) -> ShowOnIndex:
        items, budget = [], MAX_LIVE_PATTERNS
        for focus_id, texts, up, down in sorted(rows, key=lambda row: row[0]):
            patterns = tuple(p for p in map(page_pattern, list(texts or [])[:MAX_PATTERNS]) if p is not None)[:budget]
            if patterns:
                budget -= len(patterns)
                items.append((focus_id, patterns, as_utc(up), as_utc(down)))
        return cls(items)

    def match(self, url: str | None, now: datetime | None = None) -> list[int]:
        if not url or not self.items:
            return []
        now = now or datetime.now(UTC)
        page = url[:MAX_MATCHED_URL].lower()
        return [focus_id for focus_id, patterns, up, down in self.items
                if (up is None or up <= now) and (down is None or now < down) and any(p.matches(page) for p in patterns)]


# ------------------------------------------------------------------ the script


def safe_json(value: Any) -> str:
    """JSON that stays inert inside a script or a ``<script>`` block: no ``</script>``, no line separators."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@lru_cache(maxsize=1)
def runtime() -> tuple[str, str]:
    """The script's code around the slot its configuration goes in."""
    before, sep, after = _RUNTIME.read_text(encoding="utf-8").partition(_CONFIG_SLOT)
    if not sep or _CONFIG_SLOT in after:
        raise RuntimeError("focus.js must hold the configuration slot exactly once")
    return before, after


def script_config(*, focus_id: int, name: str, item_type: str, style: str, form_id: int | None,
                  properties: Mapping[str, Any], base: str) -> dict[str, Any]:
    """What the browser needs to show one item, re-checked (a row changed by hand renders safely too)."""
    p = with_defaults(properties, style)
    gap = FREQUENCY.get(str(p["frequency"]), FREQUENCY["everypage"])[1]
    return {
        "id": int(focus_id), "name": str(name)[:191], "type": item_type if item_type in TYPES else "notice",
        "style": style if style in STYLES else "bar", "placement": p["placement"],
        "when": p["when"] if p["when"] in WHEN else "immediately",
        "timeout": max(0, min(int(p["timeout"] or 0), MAX_TIMEOUT)) if str(p["timeout"]).isdigit() else 0,
        "scroll": SCROLL_SHARE.get(p["when"], 0), "gap": -1 if gap is None else gap,
        "stopConversion": bool(p["stop_after_conversion"]), "stopClose": bool(p["stop_after_close"]),
        "animate": bool(p["animate"]), "linkActivation": bool(p["link_activation"]),
        "colors": {k: safe_colour(p["colors"].get(k), v) for k, v in DEFAULT_COLOURS.items()},
        "headline": _text(p["headline"], LIMITS["headline"]), "tagline": _text(p["tagline"], LIMITS["tagline"]),
        "button": _text(p["button_text"], LIMITS["button_text"]),
        "link": safe_link(p["link_url"]) if item_type == "link" else "", "newWindow": bool(p["link_new_window"]),
        "formId": int(form_id) if item_type == "form" and form_id else None, "base": base.rstrip("/"),
    }


def render_script(config: Mapping[str, Any]) -> str:
    """The whole ``/focus/{id}.js``: the runtime with ``config`` embedded as inert JSON."""
    before, after = runtime()
    return before + safe_json(dict(config)) + after


def not_found_script(focus_id: Any = None) -> str:
    return "/* Mautic focus item not found */\n"
