"""Campaign rules: the events a campaign can hold (Mautic's type keys and property names), how they hang
together, what must be true before a campaign is published, and which events follow a finished one.

Pure: the engine (``services.campaign_engine``) and the dry run call these with plain values, so the real run
and the simulation decide paths and timing with the same code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

from mautic_app.domain.campaign_schedule import Timing
from mautic_app.domain.segments import check_regexp

ACTION, DECISION, CONDITION = "action", "decision", "condition"
KINDS = (ACTION, DECISION, CONDITION)
YES, NO = "yes", "no"
THIS_CAMPAIGN = "this"
MAX_WAIT = {"i": 100 * 366 * 24 * 60, "h": 100 * 366 * 24, "d": 100 * 366, "m": 1200, "y": 100}  # by interval unit


@dataclass(frozen=True)
class Setting:
    """One setting of an event type, as the side panel shows it and validation checks it."""

    key: str  # Mautic's property name
    label: str
    kind: str  # email | emails | form | forms | segments | tags | number | text | select | field | stage | user | users
    #           | company | group | campaigns | event | url | channels | json | bool | focus | textlist
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""


@dataclass(frozen=True)
class EventType:
    key: str
    kind: str
    label: str
    group: str
    settings: tuple[Setting, ...] = ()
    channel: str = ""
    follows: tuple[str, ...] = ()  # decisions that only make sense under these actions (opens e-mail → send e-mail)
    description: str = ""


_EMAIL_TYPES = (("marketing", "Marketing (respects unsubscribes and frequency rules)"), ("transactional", "Transactional"))
_DNC_CHANNELS = (("email", "E-mail"), ("sms", "Text message"))
_DNC_REASONS = (("3", "By hand"), ("1", "Unsubscribed"), ("2", "Bounced"))
_POINT_OPS = (("eq", "equals"), ("neq", "not equal"), ("gt", "greater than"), ("gte", "greater than or equal"),
              ("lt", "less than"), ("lte", "less than or equal"))
_WEBHOOK_METHODS = (("post", "POST"), ("get", "GET"), ("put", "PUT"), ("patch", "PATCH"), ("delete", "DELETE"))

EVENT_TYPES: dict[str, EventType] = {t.key: t for t in (
    # ---- actions
    EventType("email.send", ACTION, "Send e-mail", "E-mail", (
        Setting("email", "E-mail", "email", True),
        Setting("email_type", "Type", "select", options=_EMAIL_TYPES)), channel="email"),
    EventType("email.send.to.user", ACTION, "Send e-mail to a user", "E-mail", (
        Setting("useremail", "E-mail", "email", True),
        Setting("user_id", "Users", "users"),
        Setting("to_owner", "The contact's owner", "bool"),
        Setting("to", "Other addresses", "textlist", help="Comma-separated")), channel="email"),
    EventType("lead.changepoints", ACTION, "Adjust contact points", "Contact", (
        Setting("points", "Points", "number", True, help="Negative takes points away"),
        Setting("group", "Point group", "group"))),
    EventType("lead.changelist", ACTION, "Modify contact's segments", "Contact", (
        Setting("addToLists", "Add to segments", "segments"), Setting("removeFromLists", "Remove from segments", "segments"))),
    EventType("lead.updatelead", ACTION, "Update contact", "Contact", (Setting("fields", "Fields", "json", True),)),
    EventType("lead.updatecompany", ACTION, "Update contact's primary company", "Contact", (Setting("fields", "Fields", "json", True),)),
    EventType("lead.changetags", ACTION, "Modify contact's tags", "Contact", (
        Setting("add_tags", "Add tags", "tags"), Setting("remove_tags", "Remove tags", "tags"))),
    EventType("lead.addtocompany", ACTION, "Add to company", "Contact", (Setting("company", "Company", "company", True),)),
    EventType("lead.changeowner", ACTION, "Change contact owner", "Contact", (Setting("owner", "Owner", "user", True),)),
    EventType("lead.scorecontactscompanies", ACTION, "Add to company score", "Contact", (Setting("score", "Score", "number", True),)),
    EventType("lead.adddnc", ACTION, "Add do not contact", "Contact", (
        Setting("channels", "Channels", "channels", True, options=_DNC_CHANNELS), Setting("reason", "Reason", "text"))),
    EventType("lead.removednc", ACTION, "Remove do not contact", "Contact", (
        Setting("channels", "Channels", "channels", True, options=_DNC_CHANNELS),)),
    EventType("lead.deletecontact", ACTION, "Delete contact", "Contact", description="Deletes the contact and stops its campaigns."),
    EventType("stage.change", ACTION, "Change contact's stage", "Contact", (Setting("stage", "Stage", "stage", True),)),
    EventType("campaign.addremovelead", ACTION, "Change campaigns", "Campaign", (
        Setting("addTo", "Add to campaigns", "campaigns"), Setting("removeFrom", "Remove from campaigns", "campaigns"))),
    EventType("campaign.jump_to_event", ACTION, "Jump to event", "Campaign", (Setting("jumpToEvent", "Event", "event", True),)),
    EventType("campaign.sendwebhook", ACTION, "Send a webhook", "Integrations", (
        Setting("url", "URL", "url", True), Setting("method", "Method", "select", options=_WEBHOOK_METHODS),
        Setting("headers", "Headers", "json"), Setting("additional_data", "Data", "json"),
        Setting("timeout", "Timeout (seconds)", "number"))),
    EventType("campaign.sendtrackingevent", ACTION, "Send tracking event", "Integrations", (
        Setting("category", "Event category", "text", True), Setting("action", "Event action", "text", True),
        Setting("label", "Event label", "text"))),
    EventType("focus.show", ACTION, "Show focus item", "Web", (Setting("focus", "Focus item", "focus", True),), channel="focus"),
    # ---- decisions
    EventType("email.open", DECISION, "Opens e-mail", "E-mail", follows=("email.send",), channel="email"),
    EventType("email.click", DECISION, "Clicks e-mail link", "E-mail", (
        Setting("urls", "Only these links", "textlist", help="Blank: any link; * matches anything"),), follows=("email.send",),
        channel="email"),
    EventType("form.submit", DECISION, "Submits form", "Forms", (Setting("forms", "Forms", "forms", help="Blank: any form"),),
              channel="form"),
    EventType("page.pagehit", DECISION, "Visits a page", "Web", (
        Setting("url", "URL", "text", help="* matches anything; several separated by commas"),
        Setting("referer", "Referrer", "text")), channel="page"),
    EventType("page.devicehit", DECISION, "Device visit", "Web", (
        Setting("device_type", "Device types", "textlist"), Setting("device_brand", "Brands", "textlist"),
        Setting("device_os", "Operating systems", "textlist"))),
    # ---- conditions
    EventType("lead.field_value", CONDITION, "Contact field value", "Contact", (
        Setting("field", "Field", "field", True), Setting("operator", "Operator", "select", True),
        Setting("value", "Value", "text"))),
    EventType("lead.device", CONDITION, "Contact device", "Contact", (
        Setting("device_type", "Device types", "textlist"), Setting("device_brand", "Brands", "textlist"),
        Setting("device_os", "Operating systems", "textlist"))),
    EventType("lead.pageHit", CONDITION, "Visited page", "Web", (
        Setting("page_url", "URL", "text", True, help="* matches anything"),
        Setting("startDate", "From", "text"), Setting("endDate", "To", "text"))),
    EventType("lead.tags", CONDITION, "Contact tags", "Contact", (Setting("tags", "Tags", "tags", True),)),
    EventType("lead.segments", CONDITION, "Contact segments", "Contact", (Setting("segments", "Segments", "segments", True),)),
    EventType("lead.stages", CONDITION, "Contact stages", "Contact", (Setting("stages", "Stages", "stage", True),)),
    EventType("lead.owner", CONDITION, "Contact owner", "Contact", (Setting("owner", "Owners", "users", True),)),
    EventType("lead.campaigns", CONDITION, "Contact campaigns", "Campaign", (
        Setting("campaigns", "Campaigns", "campaigns", True),
        Setting("status", "Is", "select", options=(("in", "in any of them"), ("notin", "in none of them"))))),
    EventType("lead.dnc", CONDITION, "Do not contact", "Contact", (
        Setting("channels", "Channels", "channels", True, options=_DNC_CHANNELS),
        Setting("reason", "Reason", "select", options=(("", "Any"), *_DNC_REASONS)))),
    EventType("lead.points", CONDITION, "Contact points", "Contact", (
        Setting("operator", "Operator", "select", True, options=_POINT_OPS), Setting("score", "Points", "number", True),
        Setting("group", "Point group", "group"))),
    EventType("form.field_value", CONDITION, "Form field value", "Forms", (
        Setting("form", "Form", "form", True), Setting("field", "Field alias", "text", True),
        Setting("operator", "Operator", "select", True), Setting("value", "Value", "text"))),
    EventType("email.validate.address", CONDITION, "Has a valid e-mail address", "E-mail"),
)}


def type_of(key: str) -> EventType | None:
    return EVENT_TYPES.get(key)


def palette(kind: str) -> list[EventType]:
    return sorted((t for t in EVENT_TYPES.values() if t.kind == kind), key=lambda t: (t.group, t.label))


# ------------------------------------------------------------------ the graph


@dataclass
class Event:
    """One event as the rules see it (the service builds these from its table)."""

    id: int | str
    kind: str
    type: str
    name: str = ""
    parent: int | str | None = None
    path: str | None = None  # yes | no under a decision or condition
    properties: dict[str, Any] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)


@dataclass
class Graph:
    """A campaign's events, with the lookups the engine needs."""

    events: dict[int | str, Event]
    children_of: dict[int | str | None, list[Event]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[Event]) -> Graph:
        evs = {e.id: e for e in events}
        children: dict[int | str | None, list[Event]] = {}
        for e in evs.values():
            children.setdefault(e.parent if e.parent in evs else None, []).append(e)
        return cls(evs, children)

    def roots(self) -> list[Event]:
        return self.children_of.get(None, [])

    def next_after(self, event_id: int | str, path: str | None = None) -> list[Event]:
        """What follows an event that ran: after an action its children; after a condition those on the path
        it took; after a decision taken "yes" its yes children. (A decision's no children are scheduled with
        the decision itself, as deadlines, see :func:`waits_for`.)"""
        kids = self.children_of.get(event_id, [])
        parent = self.events[event_id]
        if parent.kind == ACTION:
            return kids
        return [k for k in kids if (k.path or YES) == path]

    def no_path_of(self, decision_id: int | str) -> list[Event]:
        return [k for k in self.children_of.get(decision_id, []) if k.path == NO]

    def decision_of(self, event: Event) -> Event | None:
        """The decision whose no path ``event`` hangs on, if it does."""
        parent = self.events.get(event.parent) if event.parent is not None else None
        return parent if parent is not None and parent.kind == DECISION and event.path == NO else None


def after_run(graph: Graph, event: Event, path: str | None) -> tuple[list[Event], list[Event]]:
    """What a finished event leads to: (events to schedule, decisions that start waiting).

    Decisions are never scheduled: they wait for the contact to act. Their no-path events are scheduled as
    deadlines at the same time (see the engine), and run only if the decision is still waiting then."""
    scheduled: list[Event] = []
    waiting: list[Event] = []
    for nxt in graph.next_after(event.id, path):
        if nxt.kind == DECISION:
            waiting.append(nxt)
            scheduled.extend(graph.no_path_of(nxt.id))
        else:
            scheduled.append(nxt)
    return scheduled, waiting


# ------------------------------------------------------------------ validation


@dataclass(frozen=True)
class Problem:
    event: int | str | None  # None: the campaign as a whole
    message: str


def problems(graph: Graph, *, sources: int, exists: Mapping[str, set[int]] | None = None) -> list[Problem]:
    """Why this campaign cannot be published, event by event (empty: it can be)."""
    out: list[Problem] = []
    if sources == 0:
        out.append(Problem(None, "Add a source: a segment or a form that brings contacts in."))
    if not graph.events:
        out.append(Problem(None, "Add at least one event."))
    for e in graph.events.values():
        out.extend(Problem(e.id, m) for m in event_problems(graph, e, exists or {}))
    return out


def event_problems(graph: Graph, e: Event, exists: Mapping[str, set[int]]) -> list[str]:
    t = EVENT_TYPES.get(e.type)
    if t is None:
        return [f"Unknown event type {e.type!r}."]
    if t.kind != e.kind:
        return [f"{t.label} is a {t.kind}, not a {e.kind}."]
    out: list[str] = []
    parent = graph.events.get(e.parent) if e.parent is not None else None
    if e.parent is not None and parent is None:
        out.append("Its parent event is gone: connect it to an event or a source.")
    if parent is not None and parent.kind in (DECISION, CONDITION) and e.path not in (YES, NO):
        out.append("Choose the yes or the no path of the event above.")
    if parent is not None and parent.kind == ACTION and e.path is not None:
        out.append("An action has no yes or no path.")
    if e.kind == DECISION and t.follows and (parent is None or parent.type not in t.follows):
        names = ", ".join(EVENT_TYPES[f].label for f in t.follows)
        out.append(f"{t.label} must follow: {names}.")
    if parent is not None and parent.kind == DECISION and e.kind == DECISION:
        out.append("A decision cannot follow a decision directly.")
    if parent is not None and parent.kind == DECISION and e.path == NO and e.timing.mode == "immediate":
        out.append("An event on a decision's no path needs a wait (\"has not done it within …\"): choose a delay or a date.")
    for s in t.settings:
        value = e.properties.get(s.key)
        if s.required and _blank(value):
            out.append(f"Set \u201c{s.label}\u201d.")
    out.extend(_specific_problems(graph, e, exists))
    if e.timing.mode == "date" and e.timing.date is None:
        out.append("Choose the date it runs at.")
    if e.timing.mode == "interval" and e.timing.interval < 0:
        out.append("The wait cannot be negative.")
    if e.timing.mode == "interval" and e.timing.interval > MAX_WAIT.get(e.timing.unit, 0):
        out.append("The wait is too long: at most 100 years.")
    return out


def _specific_problems(graph: Graph, e: Event, exists: Mapping[str, set[int]]) -> list[str]:
    p = e.properties
    out: list[str] = []
    if e.type == "lead.changetags" and _blank(p.get("add_tags")) and _blank(p.get("remove_tags")):
        out.append("Choose tags to add or remove.")
    if e.type == "lead.changelist" and _blank(p.get("addToLists")) and _blank(p.get("removeFromLists")):
        out.append("Choose segments to add to or remove from.")
    if e.type == "campaign.addremovelead" and _blank(p.get("addTo")) and _blank(p.get("removeFrom")):
        out.append("Choose campaigns to add to or remove from.")
    if e.type == "lead.changepoints" and not _is_int(p.get("points")):
        out.append("Points must be a whole number.")
    if e.type == "campaign.jump_to_event":
        target = p.get("jumpToEvent")
        if target not in graph.events and str(target) not in {str(k) for k in graph.events}:
            out.append("Choose an event of this campaign to jump to.")
        elif str(target) == str(e.id):
            out.append("An event cannot jump to itself.")
    if e.type == "lead.field_value" and p.get("operator") in ("regexp", "!regexp"):
        try:
            check_regexp(p.get("value"))
        except ValueError as exc:  # the segment rules' own refusal
            out.append(str(exc))
    if e.type == "campaign.sendwebhook":
        problem = webhook_url_problem(str(p.get("url") or ""))
        if problem and p.get("url"):
            out.append(problem)
    for kind, key in (("email", "email"), ("email", "useremail"), ("form", "form"), ("stage", "stage"), ("segments", "addToLists")):
        known = exists.get(kind)
        if known is not None and key in p and any(i not in known for i in ids_of(p.get(key))):
            out.append(f"The chosen {kind.rstrip('s')} no longer exists.")
    return out


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_int(value: Any) -> bool:
    try:
        return int(str(value)) == float(str(value))
    except (TypeError, ValueError):
        return False


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, dict):  # Mautic nests some pickers: {"email": 3}
        value = next(iter(value.values()), None)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def ids_of(value: Any) -> list[int]:
    """A picker's ids, however the client sent them: 3, "3", [3, "4"], {"list": [...]}."""
    if isinstance(value, dict):
        value = value.get("list", list(value.values()))
    items = value if isinstance(value, list | tuple) else [value]
    out: list[int] = []
    for item in items:
        n = _int_or_none(item)
        if n is not None and n not in out:
            out.append(n)
    return out


def texts_of(value: Any) -> list[str]:
    """A list of words (tags, URLs) from a list or a comma-separated string."""
    if isinstance(value, dict):
        value = value.get("list", list(value.values()))
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(i).strip() for i in items if str(i).strip()]


# ------------------------------------------------------------------ decisions


def wildcard(pattern: str) -> re.Pattern[str]:
    """Mautic's URL patterns: ``*`` matches anything, the rest literally, whole string, any case."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


def decision_matches(event: Event, data: Mapping[str, Any]) -> bool:
    """Does what the contact did (``data``, from tracking, forms or e-mail) satisfy this decision?

    ``data`` keys by decision type: email.open/email.click: ``event_id`` (the send e-mail event the message came
    from) and for clicks ``url``; form.submit: ``form_id``; page.pagehit: ``url``, ``referer``;
    page.devicehit: ``device_type``, ``device_brand``, ``device_os``."""
    p = event.properties
    if event.type in ("email.open", "email.click"):
        if str(data.get("event_id")) != str(event.parent):
            return False
        if event.type == "email.click":
            urls = texts_of(p.get("urls"))
            return not urls or any(wildcard(u).match(str(data.get("url") or "")) for u in urls)
        return True
    if event.type == "form.submit":
        forms = ids_of(p.get("forms"))
        return not forms or _int_or_none(data.get("form_id")) in forms
    if event.type == "page.pagehit":
        urls, referers = texts_of(p.get("url")), texts_of(p.get("referer"))
        url_ok = not urls or any(wildcard(u).match(str(data.get("url") or "")) for u in urls)
        ref_ok = not referers or any(wildcard(r).match(str(data.get("referer") or "")) for r in referers)
        return url_ok and ref_ok
    if event.type == "page.devicehit":
        for key in ("device_type", "device_brand", "device_os"):
            wanted = {w.lower() for w in texts_of(p.get(key))}
            if wanted and str(data.get(key) or "").lower() not in wanted:
                return False
        return True
    return False


DECISION_SIGNALS: dict[str, tuple[str, ...]] = {
    "email.open": ("email.open",), "email.click": ("email.click",), "form.submit": ("form.submit",),
    "page.pagehit": ("page.pagehit",), "page.devicehit": ("page.devicehit", "page.pagehit"),
}


# ------------------------------------------------------------------ conditions as segment filters


def condition_filters(event: Event) -> list[dict[str, Any]] | None:
    """The segment filters a condition amounts to (so it offers every segment operator and relative date),
    or None for the conditions the engine checks another way (campaigns, form field value, valid e-mail)."""
    p = event.properties
    t = event.type
    if t == "lead.field_value":
        operator = _MAUTIC_OPERATORS.get(str(p.get("operator") or "="), str(p.get("operator") or "="))
        return [{"field": str(p.get("field") or ""), "operator": operator, "filter": p.get("value")}]
    if t == "lead.tags":
        return [{"field": "tags", "operator": "in", "filter": texts_of(p.get("tags"))}]
    if t == "lead.segments":
        return [{"field": "leadlist", "operator": "in", "filter": [str(i) for i in ids_of(p.get("segments"))]}]
    if t == "lead.stages":
        return [{"field": "stage", "operator": "in", "filter": [str(i) for i in ids_of(p.get("stages"))]}]
    if t == "lead.owner":
        return [{"field": "owner_id", "operator": "in", "filter": [str(i) for i in ids_of(p.get("owner"))]}]
    if t in ("lead.device",):
        out = []
        for key in ("device_type", "device_brand", "device_os"):
            wanted = texts_of(p.get(key))
            if wanted:
                out.append({"field": key, "operator": "in", "filter": wanted})
        return out or [{"field": "device_type", "operator": "!empty", "filter": None}]
    if t == "lead.pageHit":
        url = str(p.get("page_url") or "")
        like = url.replace("%", r"\%").replace("_", r"\_").replace("*", "%")
        return [{"field": "hit_url", "operator": "like", "filter": like or "%"}]
    if t == "lead.dnc":
        out = []
        reason = str(p.get("reason") or "")
        for channel in texts_of(p.get("channels")) or ["email"]:
            suffix = "" if channel == "email" else "_sms"
            keys = {"1": f"dnc_unsubscribed{suffix}", "2": f"dnc_bounced{suffix}", "3": f"dnc_manual_{'email' if channel == 'email' else 'sms'}"}
            chosen = [keys[reason]] if reason in keys else list(keys.values())
            out.extend({"field": k, "operator": "=", "filter": "1", "glue": "or" if out else "and"} for k in chosen)
        return out
    if t == "lead.points":
        op = {"eq": "=", "neq": "!=", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}.get(str(p.get("operator") or "gte"), "gte")
        group = _int_or_none(p.get("group"))
        return [{"field": f"group_points_{group}" if group else "points", "operator": op, "filter": p.get("score")}]
    return None


_MAUTIC_OPERATORS = {"eq": "=", "neq": "!=", "notIn": "!in", "notLike": "!like", "notEmpty": "!empty", "isEmpty": "empty"}


def valid_email(address: str | None) -> bool:
    """A plain syntax check (the engine has no DNS): local@domain.tld."""
    return bool(address) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address or "") is not None


# ------------------------------------------------------------------ webhooks


def webhook_url_problem(url: str) -> str:
    """Why a webhook URL is not even an address (blank: it is one). Whether its host is public is checked by
    ``outgoing`` when it is saved and again at every send."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "The webhook URL is not a valid address."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The webhook URL must start with http:// or https:// and name a host."
    if parts.username or parts.password:
        return "Put credentials in a header, not in the webhook URL."
    return ""


# ------------------------------------------------------------------ timing from the table's columns


def timing_of(mode: str, interval: int, unit: str, date: datetime | None, hour: str, start: str, stop: str,
              weekdays: Iterable[int]) -> Timing:
    return Timing(mode=mode or "immediate", interval=int(interval or 0), unit=unit or "d", date=date,
                  hour=_time(hour), window_start=_time(start), window_stop=_time(stop), weekdays=tuple(sorted(set(weekdays or ()))))


def _time(text: str | None) -> time | None:
    if not text:
        return None
    try:
        hours, minutes = str(text).split(":")[:2]
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def value_matches(value: Any, operator: str, wanted: Any) -> bool:
    """A submitted form value against a condition (Mautic's form field value operators)."""
    text, target = ("" if value is None else str(value)).strip(), "" if wanted is None else str(wanted).strip()
    op = _MAUTIC_OPERATORS.get(operator, operator)
    if op == "empty":
        return text == ""
    if op == "!empty":
        return text != ""
    if op in ("=", "!="):
        return (text.lower() == target.lower()) == (op == "=")
    if op in ("like", "!like", "contains"):
        return (target.lower().strip("%") in text.lower()) == (op != "!like")
    if op == "startsWith":
        return text.lower().startswith(target.lower())
    if op == "endsWith":
        return text.lower().endswith(target.lower())
    if op in ("in", "!in"):
        return (text.lower() in {t.lower() for t in texts_of(wanted)}) == (op == "in")
    if op in ("gt", "gte", "lt", "lte"):
        try:
            a, b = float(text), float(target)
        except ValueError:
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    return False
