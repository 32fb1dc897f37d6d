"""Point rules: which behaviours score, when a trigger's threshold is met, and what its events do.

Pure: ``services.points`` stores actions, triggers and groups and asks this module whether an
action applies to an event, whether a trigger is due, and whether submitted properties are valid.
Type keys are Mautic's (``url.hit``, ``form.submit``...), so API clients written for Mautic work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

MAX_NAME = 191
MAX_URL = 2048
MAX_IDS = 500
MAX_TAGS = 100
MAX_COUNT = 1_000_000
MAX_SECONDS = 10 * 366 * 24 * 3600  # ten years
MAX_DELTA = 1_000_000
MAX_THRESHOLD = 1_000_000_000
DEFAULT_COLOR = "#a0acb8"
_COLOR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class PointRuleError(ValueError):
    """Submitted rule settings that cannot be used; ``errors`` maps a property to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Property:
    """One setting of an action or trigger event, as the marketer fills it in.

    ``kind`` decides how it is read: ``url_pattern`` (text with ``*`` wildcards), ``count``
    (a whole number of times), ``seconds`` (a duration), ``ids`` (record ids) or ``tags`` (tag names).
    """

    key: str
    label: str
    kind: str
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class RuleType:
    """A kind of point action or trigger event. Unavailable kinds wait for the area they need."""

    key: str
    label: str
    description: str
    properties: tuple[Property, ...] = ()
    context_key: str = ""  # for id-list actions: the event context key holding the record's id
    available: bool = True
    unavailable_reason: str = ""


def _ids(key: str, label: str, any_hint: str) -> Property:
    return Property(key, label, "ids", hint=f"Record ids, comma separated. Leave empty for {any_hint}.")


ACTION_TYPES: dict[str, RuleType] = {
    t.key: t
    for t in (
        RuleType(
            "url.hit", "Visits a URL",
            "Scores a tracked page visit whose address matches the URL pattern.",
            (
                Property("page_url", "URL", "url_pattern", required=True,
                         hint="Use * as a wildcard, e.g. https://example.com/pricing*. Letter case does not matter."),
                Property("page_hits", "Minimum visits", "count", hint="Score only from this visit of the URL on."),
                Property("returns_within", "Comes back within (seconds)", "seconds",
                         hint="Score only when the previous visit of the URL was at most this long ago."),
                Property("returns_after", "Comes back after (seconds)", "seconds",
                         hint="Score only when the previous visit of the URL was at least this long ago."),
            ),
        ),
        RuleType(
            "page.hit", "Visits a landing page",
            "Scores a visit of one of the chosen landing pages.",
            (_ids("pages", "Landing pages", "any landing page"),),
            context_key="page_id",
        ),
        RuleType(
            "email.open", "Opens an e-mail", "Scores opening one of the chosen e-mails (the first open of each message).",
            (_ids("emails", "E-mails", "any e-mail"),), context_key="email_id",
        ),
        RuleType(
            "email.click", "Clicks a link in an e-mail", "Scores clicking a link in one of the chosen e-mails (every click).",
            (_ids("emails", "E-mails", "any e-mail"),), context_key="email_id",
        ),
        RuleType(
            "email.send", "Is sent an e-mail", "Scores being sent one of the chosen e-mails.",
            (_ids("emails", "E-mails", "any e-mail"),), context_key="email_id",
        ),
        RuleType(
            "form.submit", "Submits a form", "Scores submitting one of the chosen forms.",
            (_ids("forms", "Forms", "any form"),), context_key="form_id",
        ),
        RuleType(
            "asset.download", "Downloads an asset", "Scores downloading one of the chosen assets.",
            (_ids("assets", "Assets", "any asset"),), context_key="asset_id",
            available=False, unavailable_reason="Arrives with assets.",
        ),
    )
}

TRIGGER_EVENT_TYPES: dict[str, RuleType] = {
    t.key: t
    for t in (
        RuleType(
            "tags.modify", "Modify tags", "Adds and removes tags on the contact.",
            (
                Property("add_tags", "Tags to add", "tags", hint="Comma separated."),
                Property("remove_tags", "Tags to remove", "tags", hint="Comma separated."),
            ),
        ),
        RuleType(
            "segments.modify", "Modify segments", "Adds the contact to segments and removes it from others.",
            (
                Property("add_to_segments", "Add to segments", "ids", hint="Segment ids (on the Segments page), comma separated."),
                Property("remove_from_segments", "Remove from segments", "ids", hint="Segment ids (on the Segments page), comma separated."),
            ),
        ),
        RuleType(
            "email.send", "Send an e-mail", "Sends template e-mails to the contact.",
            (Property("emails", "E-mails", "ids", hint="Template e-mail ids (on the E-mails page), comma separated."),),
        ),
    )
}
# Mautic's names for the same trigger events, so its API clients can create them.
TRIGGER_EVENT_ALIASES = {"lead.changetags": "tags.modify", "lead.changelists": "segments.modify"}


# ---------------------------------------------------------------- reading submitted values


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_whole(value: Any, *, low: int, high: int, what: str) -> int:
    """A whole number within [low, high] from an int or text; floats with a fraction are refused."""
    if isinstance(value, bool):
        raise ValueError(f"{what} is a whole number.")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{what} is a whole number.")
        value = int(value)
    text = _text(value)
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise ValueError(f"{what} is a whole number.")
    number = int(text)
    if not low <= number <= high:
        raise ValueError(f"{what} must be between {low:,} and {high:,}.")
    return number


def _items(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return list(value.values())
    return [p for p in re.split(r"[,\n|]", str(value))]


def _clean_property(prop: Property, raw: Any) -> Any:
    """The stored form of one property (None when left empty); raises ValueError with the reason."""
    if prop.kind == "url_pattern":
        text = _text(raw)
        if not text:
            return None
        if len(text) > MAX_URL:
            raise ValueError(f"Keep the URL under {MAX_URL:,} characters.")
        if _CONTROL_RE.search(text):
            raise ValueError("The URL cannot contain control characters.")
        return text
    if prop.kind in ("count", "seconds"):
        if raw is None or _text(raw) == "":
            return None
        high = MAX_COUNT if prop.kind == "count" else MAX_SECONDS
        return parse_whole(raw, low=1, high=high, what=prop.label)
    if prop.kind == "ids":
        out: list[int] = []
        for item in _items(raw):
            text = _text(item)
            if not text:
                continue
            if not text.isdigit() or not 0 < int(text) <= 2**31 - 1:
                raise ValueError("Give ids as positive whole numbers, comma separated.")
            if int(text) not in out:
                out.append(int(text))
        if len(out) > MAX_IDS:
            raise ValueError(f"Choose at most {MAX_IDS} records.")
        return out
    if prop.kind == "tags":
        tags: list[str] = []
        for item in _items(raw):
            name = _text(item)
            if not name:
                continue
            if name.startswith("-"):
                raise ValueError("Tag names cannot start with “-”.")
            if len(name) > MAX_NAME:
                raise ValueError(f"Keep each tag under {MAX_NAME} characters.")
            if _CONTROL_RE.search(name):
                raise ValueError("Tag names cannot contain control characters.")
            if name.lower() not in {t.lower() for t in tags}:
                tags.append(name)
        if len(tags) > MAX_TAGS:
            raise ValueError(f"Give at most {MAX_TAGS} tags.")
        return tags
    raise ValueError(f"Unknown property kind {prop.kind}.")


def validate_properties(rule: RuleType, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check the settings a rule type needs and return them clean; unknown keys are dropped.

    Raises PointRuleError keyed by property.
    """
    raw = raw or {}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for prop in rule.properties:
        try:
            value = _clean_property(prop, raw.get(prop.key))
        except ValueError as exc:
            errors[prop.key] = str(exc)
            continue
        if value is None or value == []:
            if prop.required:
                errors[prop.key] = f"{prop.label} is required."
            if prop.kind in ("ids", "tags"):
                clean[prop.key] = []
            continue
        clean[prop.key] = value
    if not errors:
        errors = _cross_checks(rule.key, clean)
    if errors:
        raise PointRuleError(errors)
    return clean


def _cross_checks(key: str, clean: dict[str, Any]) -> dict[str, str]:
    if key == "url.hit":
        within, after = clean.get("returns_within"), clean.get("returns_after")
        if within and after and after > within:
            return {"returns_after": "“Comes back after” must not be longer than “comes back within”."}
    if key == "tags.modify":
        if not clean.get("add_tags") and not clean.get("remove_tags"):
            return {"add_tags": "Give tags to add or to remove."}
        both = {t.lower() for t in clean["add_tags"]} & {t.lower() for t in clean["remove_tags"]}
        if both:
            return {"remove_tags": "A tag cannot be both added and removed: " + ", ".join(sorted(both)) + "."}
    if key == "segments.modify" and not clean.get("add_to_segments") and not clean.get("remove_from_segments"):
        return {"add_to_segments": "Choose segments to add to or to remove from."}
    return {}


def action_type(key: Any) -> RuleType:
    """The registered, available action type called ``key``; raises PointRuleError otherwise."""
    rule = ACTION_TYPES.get(_text(key))
    if rule is None:
        raise PointRuleError({"type": "Choose what the contact does."})
    if not rule.available:
        raise PointRuleError({"type": f"“{rule.label}” cannot be scored yet. {rule.unavailable_reason}"})
    return rule


def trigger_event_type(key: Any) -> RuleType:
    """The registered, available trigger event type (Mautic's names accepted); raises PointRuleError otherwise."""
    text = _text(key)
    rule = TRIGGER_EVENT_TYPES.get(TRIGGER_EVENT_ALIASES.get(text, text))
    if rule is None:
        raise PointRuleError({"type": "Choose what the trigger does."})
    if not rule.available:
        raise PointRuleError({"type": f"“{rule.label}” is not available yet. {rule.unavailable_reason}"})
    return rule


def normalize_color(value: Any) -> str:
    """``#rrggbb`` in lower case from ``rrggbb`` or ``#RRGGBB`` (Mautic stores it without the hash)."""
    text = _text(value)
    if not text:
        return DEFAULT_COLOR
    match = _COLOR_RE.match(text)
    if not match:
        raise ValueError("Give a colour like #3366ff.")
    return "#" + match.group(1).lower()


def parse_when(value: Any) -> datetime | None:
    """A publish date from a datetime or ISO text (``2024-05-31 14:30``); naive means UTC. Blank is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("Enter a date and time like 2024-05-31 14:30.") from exc
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


# ---------------------------------------------------------------- deciding


class Rule(Protocol):
    """What matching needs of a stored action (a ``PointAction`` row fits)."""

    type: str
    properties: dict[str, Any]


def is_live(*, is_published: bool, publish_up: datetime | None, publish_down: datetime | None, at: datetime) -> bool:
    """Published, and ``at`` falls inside the publish window (either end may be open)."""
    if not is_published:
        return False
    at = _aware(at)
    if publish_up is not None and at < _aware(publish_up):
        return False
    return not (publish_down is not None and at >= _aware(publish_down))


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@lru_cache(maxsize=2048)
def _url_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)),
                      re.IGNORECASE | re.DOTALL)


def url_matches(pattern: str, url: str) -> bool:
    """The whole URL matches the pattern, where ``*`` stands for any text (and nothing else is special)."""
    pattern = (pattern or "").strip()
    return bool(pattern) and _url_regex(pattern).fullmatch((url or "").strip()) is not None


def matches(action: Rule, context: Mapping[str, Any]) -> bool:
    """Whether a stored action applies to an event.

    ``context`` for ``url.hit``: ``url``, ``hits`` (this contact's visits of the URL, this one
    included) and ``seconds_since_last`` (since the previous visit of it; None on the first).
    For id-list actions: the record's id under the type's ``context_key`` (``page_id``...).
    """
    rule = ACTION_TYPES.get(action.type)
    if rule is None:
        return False
    props = action.properties or {}
    if rule.key == "url.hit":
        if not url_matches(str(props.get("page_url") or ""), str(context.get("url") or "")):
            return False
        if props.get("page_hits") and int(context.get("hits") or 0) < int(props["page_hits"]):
            return False
        since = context.get("seconds_since_last")
        if props.get("returns_within") and (since is None or since > int(props["returns_within"])):
            return False
        return not (props.get("returns_after") and (since is None or since < int(props["returns_after"])))
    wanted = props.get(rule.properties[0].key) or []
    return not wanted or context.get(rule.context_key) in wanted


def scores_now(*, repeatable: bool, scored_before: bool) -> bool:
    """A repeatable action scores every time it matches; any other only the first time for a contact."""
    return repeatable or not scored_before


def threshold_reached(*, points: int, group_id: int | None, total: int, group_scores: Mapping[int, int]) -> bool:
    """A trigger is due when the contact's total (or, for a group trigger, that group's score) is at least ``points``.

    A contact who has never scored in the group has no group score and is never due for it.
    """
    score = total if group_id is None else group_scores.get(group_id)
    return score is not None and score >= points


def tag_changes(properties: Mapping[str, Any]) -> list[str]:
    """A ``tags.modify`` event's changes in the contacts service's form: ``name`` adds, ``-name`` removes."""
    return [str(t) for t in properties.get("add_tags") or []] + ["-" + str(t) for t in properties.get("remove_tags") or []]


def summary(rule_types: Mapping[str, RuleType], key: str, properties: Mapping[str, Any] | None) -> str:
    """One line saying what a stored action or event does, for lists."""
    rule = rule_types.get(key)
    if rule is None:
        return key
    props = properties or {}
    if key == "url.hit":
        parts = [f"Visits {props.get('page_url', '')}"]
        if props.get("page_hits"):
            parts.append(f"from visit {props['page_hits']}")
        if props.get("returns_within"):
            parts.append(f"back within {_duration(int(props['returns_within']))}")
        if props.get("returns_after"):
            parts.append(f"back after {_duration(int(props['returns_after']))}")
        return ", ".join(parts)
    if key == "tags.modify":
        parts = []
        if props.get("add_tags"):
            parts.append("add " + ", ".join(props["add_tags"]))
        if props.get("remove_tags"):
            parts.append("remove " + ", ".join(props["remove_tags"]))
        return "Tags: " + "; ".join(parts)
    details = [f"{p.label.lower()} {', '.join(str(i) for i in props[p.key])}" for p in rule.properties if props.get(p.key)]
    return rule.label + (f" ({'; '.join(details)})" if details else "")


def _duration(seconds: int) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def labels(rule_types: Mapping[str, RuleType], *, available_only: bool = True) -> dict[str, str]:
    """``{key: label}`` of the rule types, as the API's type listings answer."""
    return {k: t.label for k, t in rule_types.items() if t.available or not available_only}


def property_keys(rule_types: Iterable[RuleType]) -> list[str]:
    """Every property key the given types use, once each (forms keep an error slot per key)."""
    return list(dict.fromkeys(p.key for t in rule_types for p in t.properties))
