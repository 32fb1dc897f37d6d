"""Segment filters: the operators each field type offers, relative dates, and the compiler that
turns a segment's filters into one set-based SQL condition on the contacts table.

Pure: the caller passes the field registry and the tables (custom fields are real columns, see
``services.fields``), so this module never opens a session. Field names only ever come from the
registry and values are always bound parameters: nothing a marketer types becomes SQL.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import re2
import sqlalchemy as sa

# ------------------------------------------------------------------ operators

OPERATORS: dict[str, str] = {
    "=": "equals",
    "!=": "not equal",
    "gt": "greater than",
    "gte": "greater than or equal",
    "lt": "less than",
    "lte": "less than or equal",
    "empty": "empty",
    "!empty": "not empty",
    "like": "like",
    "!like": "not like",
    "between": "between",
    "!between": "not between",
    "in": "including",
    "!in": "excluding",
    "regexp": "regexp",
    "!regexp": "not regexp",
    "startsWith": "starts with",
    "endsWith": "ends with",
    "contains": "contains",
}

# What each operator does, where it is not obvious; the builder shows it beside the operator.
OPERATOR_HELP: dict[str, str] = {
    "!=": "Also matches contacts with no value.",
    "empty": "No value, or an empty one.",
    "like": "% matches any text and _ any one character; without a % the value may appear anywhere.",
    "!like": "Also matches contacts with no value.",
    "!in": "Also matches contacts with no value.",
    "!between": "Also matches contacts with no value.",
    "regexp": "A regular expression, case-insensitive, up to 255 characters, read on the first 4,096 characters of a value; "
              "backreferences and lookarounds are not supported.",
    "!regexp": "Also matches contacts with no value (Mautic leaves those out).",
    "startsWith": "Matched literally: % and _ are ordinary characters here (Mautic treats them as wildcards).",
    "endsWith": "Matched literally: % and _ are ordinary characters here (Mautic treats them as wildcards).",
    "contains": "Matched literally: % and _ are ordinary characters here (Mautic treats them as wildcards).",
}

_TEXT_OPS = ("=", "!=", "empty", "!empty", "like", "!like", "regexp", "!regexp", "startsWith", "endsWith", "contains", "in", "!in")
_COMPARE = ("gt", "gte", "lt", "lte", "between", "!between")
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "text": _TEXT_OPS,
    "textarea": _TEXT_OPS,
    "html": _TEXT_OPS,
    "lookup": _TEXT_OPS,
    "email": _TEXT_OPS,
    "url": _TEXT_OPS,
    "tel": _TEXT_OPS,
    "select": ("=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"),
    "country": ("=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"),
    "region": ("=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"),
    "locale": ("=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"),
    "timezone": ("=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"),
    "boolean": ("=", "!="),
    "multiselect": ("in", "!in", "empty", "!empty"),
    "number": ("=", "!=", *_COMPARE, "empty", "!empty", "like", "!like", "regexp", "!regexp", "startsWith", "endsWith", "contains", "in", "!in"),
    "date": ("=", "!=", *_COMPARE, "empty", "!empty"),
    "datetime": ("=", "!=", *_COMPARE, "empty", "!empty"),
    "time": ("=", "!=", "gt", "gte", "lt", "lte", "empty", "!empty"),
    # Ids picked from a list (owner, stage, segments, tags): any-of for in, none-of for !in.
    "id": ("=", "!=", "empty", "!empty", "in", "!in"),
    "tags": ("in", "!in", "empty", "!empty"),
    "segments": ("in", "!in", "empty", "!empty"),
}
NEGATIVE = {"!=": "=", "!like": "like", "!in": "in", "!between": "between", "!regexp": "regexp", "empty": "!empty"}
MULTI_VALUE = {"in", "!in"}
NO_VALUE = {"empty", "!empty"}
MAX_REGEXP = 255
MAX_REPEAT = 255  # the largest {n} PostgreSQL accepts
MAX_MATCHED_VALUE = 4096  # characters of a value a regular expression reads: its cost grows with the length
MAX_VALUE = 1000
MAX_DEPTH = 5  # segments referring to segments referring to ...


def operators_for(field_type: str) -> tuple[str, ...]:
    return TYPE_OPERATORS.get(field_type, _TEXT_OPS)


class FilterError(ValueError):
    """A filter the marketer must fix; ``index`` says which one (None: the segment as a whole)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


# ------------------------------------------------------------------ filters


@dataclass(frozen=True)
class SegmentFilter:
    field: str
    operator: str
    value: Any = None
    glue: str = "and"


def parse_filters(raw: Any) -> list[SegmentFilter]:
    """Filters in Mautic's JSON form (``properties.filter`` or the older ``filter``) or ours."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise FilterError("Filters must be a list.")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise FilterError("Each filter must be an object.", i)
        name = item.get("field")
        operator = item.get("operator")
        if not isinstance(name, str) or not name:
            raise FilterError("Choose a field.", i)
        if not isinstance(operator, str) or operator not in OPERATORS:
            raise FilterError(f"Unknown operator {str(operator)[:20]!r}.", i)
        props = item.get("properties")
        value = props["filter"] if isinstance(props, dict) and "filter" in props else item.get("filter", item.get("value"))
        glue = "or" if str(item.get("glue") or "and").lower() == "or" and i > 0 else "and"
        out.append(SegmentFilter(field=name, operator=operator, value=value, glue=glue))
    return out


def to_json(filters: Iterable[SegmentFilter], fields: dict[str, FilterField]) -> list[dict[str, Any]]:
    """Mautic's JSON form, as the API returns it."""
    out = []
    for f in filters:
        spec = fields.get(f.field)
        out.append({
            "glue": f.glue, "field": f.field, "object": spec.object if spec else "lead", "type": spec.type if spec else "text",
            "operator": f.operator, "properties": {"filter": f.value}, "filter": f.value,
        })
    return out


def groups(filters: list[SegmentFilter]) -> list[list[SegmentFilter]]:
    """AND binds tighter than OR: each ``or`` starts a new group; the segment is their union."""
    out: list[list[SegmentFilter]] = []
    for i, f in enumerate(filters):
        if i == 0 or f.glue == "or":
            out.append([])
        out[-1].append(f)
    return out


# ------------------------------------------------------------------ the field registry


@dataclass(frozen=True)
class FilterField:
    """A field a filter can use. ``source`` says where its value lives (see :class:`Compiler`)."""

    key: str
    label: str
    category: str  # what the picker groups by: Contact, Company, Behaviour, ...
    type: str
    source: str  # contact | company | tags | segments | related | count | group_points | email_domain | dnc
    column: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for select-like fields
    object: str = "lead"  # Mautic's name for where the field lives: lead, company, behaviors
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def operators(self) -> tuple[str, ...]:
        return operators_for(self.type)


@dataclass
class Tables:
    """The tables the compiler reads; ``contacts`` and ``companies`` carry the custom columns."""

    contacts: Any
    companies: Any
    company_contacts: Any
    contact_tags: Any
    tags: Any
    segment_contacts: Any
    page_hits: Any
    devices: Any
    utm_tags: Any
    do_not_contact: Any
    group_scores: Any
    form_submissions: Any = None
    # E-mail activity, one row per (contact, e-mail): messages sent, read, and clicked through.
    email_sent: Any = None
    email_read: Any = None
    email_clicked: Any = None


# ------------------------------------------------------------------ relative dates

_UNITS = {"day": 1, "week": 7}
_REL_RE = re.compile(r"^([+-])\s*(\d{1,4})\s*(day|week|month|year)s?$")
_AGO_RE = re.compile(r"^(\d{1,4})\s*(day|week|month|year)s?\s+ago$")
_EDGE_RE = re.compile(r"^(first|last) day of (last|this|next) (week|month|year)$")
_PERIOD_RE = re.compile(r"^(last|this|next) (week|month|year)$")
_ABS_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RELATIVE_VALUES = (
    "today", "tomorrow", "yesterday", "last week", "this week", "next week", "last month", "this month", "next month",
    "last year", "this year", "next year", "anniversary", "+1 day", "-1 day", "30 days ago",
    "first day of this month", "last day of last month",
)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _shift(d: date, sign: int, count: int, unit: str) -> date:
    if unit in _UNITS:
        return d + timedelta(days=sign * count * _UNITS[unit])
    return _add_months(d, sign * count * (12 if unit == "year" else 1))


def _period_of(today: date, which: str, unit: str) -> tuple[date, date]:
    step = {"last": -1, "this": 0, "next": 1}[which]
    if unit == "week":
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        return start, start + timedelta(days=7)
    if unit == "month":
        start = _add_months(today.replace(day=1), step)
        return start, _add_months(start, 1)
    start = date(today.year + step, 1, 1)
    return start, date(start.year + 1, 1, 1)


def resolve_date(value: Any, today: date) -> tuple[date, date] | str | datetime | None:
    """A filter's date value: ``(first day, day after the last)``, ``"anniversary"``, an exact
    datetime, or None when it is not a date at all."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value, value + timedelta(days=1)
    text = str(value or "").strip()
    low = text.lower()
    if low in ("anniversary", "birthday"):
        return "anniversary"
    day = {"today": today, "tomorrow": today + timedelta(days=1), "yesterday": today - timedelta(days=1)}.get(low)
    if day is None and (m := _REL_RE.match(low)):
        day = _shift(today, 1 if m.group(1) == "+" else -1, int(m.group(2)), m.group(3))
    if day is None and (m := _AGO_RE.match(low)):
        day = _shift(today, -1, int(m.group(1)), m.group(2))
    if day is None and (m := _EDGE_RE.match(low)):
        start, end = _period_of(today, m.group(2), m.group(3))
        day = start if m.group(1) == "first" else end - timedelta(days=1)
    if day is not None:
        return day, day + timedelta(days=1)
    if m := _PERIOD_RE.match(low):
        return _period_of(today, m.group(1), m.group(2))
    if _ABS_DATE_RE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        return d, d + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------ values


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(operator: str, value: str) -> str:
    """``like`` wraps in ``%...%`` unless the value has a ``%``; the others match literally."""
    if operator in ("like", "!like"):
        return value if "%" in value else f"%{value}%"
    text = _escape_like(value)
    return {"startsWith": f"{text}%", "endsWith": f"%{text}", "contains": f"%{text}%"}[operator]


def value_list(value: Any) -> list[Any]:
    """``in`` values: a list, or a string split on ``|`` (Mautic's form)."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        items = list(value)
    elif isinstance(value, str):
        items = value.split("|")
    else:
        items = [value]
    return [v.strip() if isinstance(v, str) else v for v in items if v is not None and (not isinstance(v, str) or v.strip())]


def as_number(value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError
    except ValueError:
        raise ValueError(f"Enter a number, not {str(value)[:40]!r}.") from None
    return number


def as_bool(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("Choose yes or no.")


# Regular expressions run on RE2, whose time grows with the text, never exponentially: SQLite's
# REGEXP calls :func:`sql_regexp`, and PostgreSQL (its own engine) only gets patterns RE2 accepts.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True
_REPEAT_RE = re.compile(r"\{(\d+)(?:,(\d*))?\}")
# What RE2 refuses (it cannot run these in linear time), in the marketer's words.
_REFUSED = (
    (re.compile(r"^invalid escape sequence: \\[1-9]|^invalid perl operator: \(\?P$"), "Backreferences such as \\1 are not supported."),
    (re.compile(r"^invalid perl operator: \(\?<?[=!]"), "Lookarounds such as (?=...) or (?!...) are not supported."),
    (re.compile(r"too large|repetition size"), "This regular expression is too complex: make it shorter or repeat less."),
)
# What RE2 runs but PostgreSQL reads differently or not at all.
_NOT_PORTABLE = re.compile(r"\\[pPX]|\(\?[<P=#]|\(\?[aiLmsux]")


@lru_cache(maxsize=256)
def _engine(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


def check_regexp(value: Any) -> str:
    """The pattern, if both databases can run it in linear time; ValueError says why not."""
    text = str(value or "")
    if not text:
        raise ValueError("Enter a regular expression.")
    if len(text) > MAX_REGEXP:
        raise ValueError(f"A regular expression may be at most {MAX_REGEXP} characters.")
    try:
        _engine(text)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(next((message for rule, message in _REFUSED if rule.search(reason)),
                              f"Not a valid regular expression: {reason}.")) from None
    if _NOT_PORTABLE.search(text):
        raise ValueError("This regular expression uses a feature the database does not support.")
    if any(int(n) > MAX_REPEAT for m in _REPEAT_RE.finditer(text) for n in m.groups() if n):
        raise ValueError(f"Repeat counts such as {{n}} may be at most {MAX_REPEAT}.")
    return text


def sql_regexp(pattern: str | None, value: Any) -> bool | None:
    """SQLite's ``REGEXP`` (``value REGEXP pattern``): RE2 on the first ``MAX_MATCHED_VALUE``
    characters; NULL when either is NULL, as SQL has it."""
    if pattern is None or value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return _engine(str(pattern)).search(text[:MAX_MATCHED_VALUE]) is not None


def check(filters: list[SegmentFilter], fields: dict[str, FilterField]) -> list[tuple[int, str]]:
    """Every problem with the filters, as (filter index, message): empty when they can be saved."""
    problems = []
    for i, f in enumerate(filters):
        try:
            _checked(f, fields)
        except ValueError as exc:
            problems.append((i, str(exc)))
    return problems


def _checked(f: SegmentFilter, fields: dict[str, FilterField]) -> tuple[FilterField, Any]:
    """The filter's field and its value as the compiler uses it; ValueError says what to fix."""
    spec = fields.get(f.field)
    if spec is None:
        raise ValueError(f"Unknown field {f.field[:64]!r}.")
    if f.operator not in spec.operators:
        raise ValueError(f"{spec.label} cannot use the operator {OPERATORS.get(f.operator, f.operator)!r}.")
    return spec, _checked_value(spec, f.operator, f.value)


def _checked_value(spec: FilterField, operator: str, value: Any) -> Any:
    if operator in NO_VALUE:
        return None
    if isinstance(value, str) and len(value) > MAX_VALUE or isinstance(value, list) and len(value) > MAX_VALUE:
        raise ValueError("The value is too long.")
    if operator in ("regexp", "!regexp"):
        return check_regexp(value)
    if operator in MULTI_VALUE:
        items = value_list(value)
        if not items:
            raise ValueError("Choose at least one value.")
        if spec.type in ("number",):
            return [as_number(v) for v in items]
        if spec.type in ("id", "segments", "tags"):
            try:
                return [int(v) for v in items] if spec.type != "tags" else [str(v) for v in items]
            except (TypeError, ValueError) as exc:
                raise ValueError("Choose values from the list.") from exc
        return [str(v) for v in items]
    if operator in ("between", "!between"):
        items = value_list(value) if not isinstance(value, dict) else [value.get("from"), value.get("to")]
        if len(items) != 2:
            raise ValueError("Enter two values: from and to.")
        if spec.type in ("date", "datetime"):
            if any(resolve_date(v, date.today()) in (None, "anniversary") for v in items):
                raise ValueError("Enter two dates.")
            return items
        return [as_number(v) for v in items]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("Enter a value.")
    if spec.type == "boolean":
        return as_bool(value)
    if spec.type == "number" and operator not in ("like", "!like", "startsWith", "endsWith", "contains"):
        return as_number(value)
    if spec.type in ("date", "datetime"):
        resolved = resolve_date(value, date.today())
        if resolved is None:
            raise ValueError("Enter a date (YYYY-MM-DD) or a relative date such as 'today' or '-7 days'.")
        if resolved == "anniversary" and operator not in ("=", "!="):
            raise ValueError("'anniversary' works with equals and not equal only.")
        return value
    if spec.type == "id":
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ValueError("Choose a value from the list.") from exc
    return str(value)


# ------------------------------------------------------------------ the compiler


class Compiler:
    """Compiles filters to a condition on ``tables.contacts`` (SQLAlchemy Core, bound values only).

    ``segment_filters(id)`` returns a referenced segment's filters (or None if there is none);
    segment-in-segment is evaluated from those filters recursively, plus the segment's manual
    members, minus its manual removals. ``today`` is the date relative values start from for
    ``date`` fields (the default time zone's); ``datetime`` fields use UTC.
    """

    def __init__(self, *, fields: dict[str, FilterField], tables: Tables, dialect: str, now: datetime,
                 today: date | None = None, segment_filters: Callable[[int], list[SegmentFilter] | None] | None = None) -> None:
        self.fields = fields
        self.t = tables
        self.dialect = dialect
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.utc_today = self.now.astimezone(UTC).date()
        self.today = today or self.utc_today
        self.segment_filters = segment_filters or (lambda _id: None)
        self._stack: list[int] = []

    # -- public

    def condition(self, filters: list[SegmentFilter], *, segment_id: int | None = None) -> sa.ColumnElement[bool]:
        """The filters as one condition; no filters match nobody. Raises FilterError on a bad one."""
        if segment_id is not None:
            self._stack = [segment_id]
        return self._all(filters)

    def _all(self, filters: list[SegmentFilter], referred: bool = False) -> sa.ColumnElement[bool]:
        """Each filter checked and compiled once; ``referred``: they belong to a segment this one refers to."""
        compiled = {}
        for i, f in enumerate(filters):
            try:
                spec, value = _checked(f, self.fields)
            except ValueError as exc:
                if referred:
                    raise FilterError(f"A segment this one refers to has a filter to fix: {exc}") from None
                raise FilterError(str(exc), i) from None
            compiled[id(f)] = self._one(f, spec, value)
        if not compiled:
            return sa.false()
        return sa.or_(*(sa.and_(*(compiled[id(f)] for f in group)) for group in groups(filters)))

    def matching_ids(self, filters: list[SegmentFilter], *, segment_id: int | None = None) -> sa.Select[int]:
        c = self.t.contacts
        return sa.select(c.c.id).where(self.condition(filters, segment_id=segment_id))

    # -- one filter

    def _one(self, f: SegmentFilter, spec: FilterField, value: Any) -> sa.ColumnElement[bool]:
        c = self.t.contacts
        source = spec.source
        if source == "contact":
            return self._scalar(c.c[spec.column or spec.key], spec.type, f.operator, value)
        if source == "email_domain":
            return self._scalar(self._domain_of(c.c.email), "text", f.operator, value)
        if source == "company":
            return self._company(spec, f.operator, value)
        if source == "tags":
            return self._tags(f.operator, value)
        if source == "segments":
            return self._segments(f.operator, value)
        if source == "related":
            return self._related(spec, f.operator, value)
        if source == "count":
            return self._scalar(self._count(spec), "number", f.operator, value)
        if source == "group_points":
            g = self.t.group_scores
            score = sa.func.coalesce(
                sa.select(g.c.score).where(g.c.contact_id == c.c.id, g.c.group_id == spec.extra["group_id"]).scalar_subquery(), 0)
            return self._scalar(score, "number", f.operator, value)
        if source == "dnc":
            d = self.t.do_not_contact
            exists = sa.exists().where(d.c.contact_id == c.c.id, d.c.channel == spec.extra["channel"], d.c.reason == spec.extra["reason"])
            wanted = bool(value)
            return exists if (f.operator == "=") == wanted else ~exists
        raise FilterError(f"Field {spec.key!r} cannot be filtered.")

    # -- scalar values (a column of the contact, or of one related row)

    def _scalar(self, col: sa.ColumnElement[Any], kind: str, op: str, value: Any) -> sa.ColumnElement[bool]:
        if kind == "multiselect" and op in MULTI_VALUE:
            # Stored "a|b|c": including needs every listed value, excluding needs none of them.
            wrapped = sa.literal("|") + col + sa.literal("|")
            holds = [wrapped.like("%|" + _escape_like(str(v)) + "|%", escape="\\") for v in value]
            return sa.and_(*holds) if op == "in" else sa.or_(col.is_(None), *([sa.and_(*(sa.not_(h) for h in holds))]))
        if op in NEGATIVE and op != "empty":
            return sa.or_(col.is_(None), sa.not_(self._scalar(col, kind, NEGATIVE[op], value)))
        if op == "empty":
            return col.is_(None) if kind not in _TEXTUAL else sa.or_(col.is_(None), col == "")
        if op == "!empty":
            return col.is_not(None) if kind not in _TEXTUAL else sa.and_(col.is_not(None), col != "")
        if kind in ("date", "datetime"):
            return self._dated(col, kind, op, value)
        if kind == "boolean":
            return col == sa.literal(bool(value))
        if kind in ("id",):
            return col.in_(value) if op == "in" else col == value
        if op == "regexp":
            return self._regexp(col, kind, value)
        if kind == "number" and op not in ("like", "startsWith", "endsWith", "contains"):
            if op == "in":
                return col.in_(value)
            if op == "between":
                low, high = sorted(value)
                return col.between(low, high)
            return _COMPARATORS[op](col, value)
        text = sa.func.lower(sa.cast(col, sa.String) if kind == "number" else col)
        if op in ("like", "startsWith", "endsWith", "contains"):
            return text.like(like_pattern(op, str(value)).lower(), escape="\\")
        if op == "in":
            return text.in_([str(v).lower() for v in value])
        if op == "=":
            return text == str(value).lower()
        return _COMPARATORS[op](text, str(value).lower())

    def _regexp(self, col: sa.ColumnElement[Any], kind: str, pattern: str) -> sa.ColumnElement[bool]:
        """Read on the value's first ``MAX_MATCHED_VALUE`` characters on both databases (the cost is bounded, the answer the same)."""
        text = sa.func.substr(sa.cast(col, sa.String) if kind == "number" else col, 1, MAX_MATCHED_VALUE)
        if self.dialect == "sqlite":  # REGEXP is db.py's RE2 function, which takes no flags argument
            return text.regexp_match("(?i)" + pattern)
        return text.regexp_match(pattern, flags="i")

    def _dated(self, col: sa.ColumnElement[Any], kind: str, op: str, value: Any) -> sa.ColumnElement[bool]:
        today = self.today if kind == "date" else self.utc_today
        if op == "between":
            start = self._bounds(kind, resolve_date(value[0], today))[0]
            end = self._bounds(kind, resolve_date(value[1], today))[1]
            return sa.and_(col >= start, col < end) if start != end else col == start
        resolved = resolve_date(value, today)
        if resolved == "anniversary":
            return sa.and_(sa.extract("month", col) == today.month, sa.extract("day", col) == today.day)
        start, end = self._bounds(kind, resolved)
        if start == end:  # an exact moment
            return _COMPARATORS[op](col, start) if op != "=" else col == start
        conditions: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
            "=": lambda: sa.and_(col >= start, col < end),
            "gt": lambda: col >= end,  # after the last second of the period
            "gte": lambda: col >= start,
            "lt": lambda: col < start,
            "lte": lambda: col < end,  # up to its last second
        }
        return conditions[op]()

    def _bounds(self, kind: str, resolved: Any) -> tuple[Any, Any]:
        if isinstance(resolved, datetime):
            return (resolved.date(), resolved.date() + timedelta(days=1)) if kind == "date" else (resolved, resolved)
        start, end = resolved
        if kind == "date":
            return start, end
        return datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)

    def _domain_of(self, email: Any) -> Any:
        if self.dialect == "postgresql":
            return sa.func.split_part(email, "@", 2)
        return sa.func.substr(email, sa.func.instr(email, "@") + 1)

    # -- values in related rows

    def _company(self, spec: FilterField, op: str, value: Any) -> sa.ColumnElement[bool]:
        """The contact's primary company; negative operators match contacts without one."""
        c, cc, co = self.t.contacts, self.t.company_contacts, self.t.companies
        column = co.c[spec.column or spec.key]
        positive = NEGATIVE.get(op, op)
        inner = self._scalar(column, spec.type, positive, value)
        exists = sa.exists().where(cc.c.contact_id == c.c.id, cc.c.is_primary.is_(True), cc.c.company_id == co.c.id, inner)
        return ~exists if op in NEGATIVE else exists

    def _related(self, spec: FilterField, op: str, value: Any) -> sa.ColumnElement[bool]:
        """A row of another table (page hit, device, UTM tag) has the value; a negative operator
        means no such row has it (one matching row excludes the contact)."""
        table = getattr(self.t, spec.extra["table"])
        column = table.c[spec.column or spec.key]
        positive = NEGATIVE.get(op, op)
        inner = self._scalar(column, spec.type, positive, value)
        exists = sa.exists().where(table.c.contact_id == self.t.contacts.c.id, inner)
        return ~exists if op in NEGATIVE else exists

    def _count(self, spec: FilterField) -> Any:
        c, hits = self.t.contacts, self.t.page_hits
        if spec.extra.get("sessions"):
            # A session starts with a hit that has no other hit of the contact in the 30 minutes before it.
            earlier = hits.alias("earlier")
            quiet = ~sa.exists().where(
                earlier.c.contact_id == hits.c.contact_id, earlier.c.date_hit < hits.c.date_hit,
                earlier.c.date_hit >= hits.c.date_hit - sa.literal(timedelta(minutes=30)) if self.dialect == "postgresql"
                else earlier.c.date_hit >= sa.func.datetime(hits.c.date_hit, "-30 minutes"),
            )
            return sa.select(sa.func.count()).where(hits.c.contact_id == c.c.id, quiet).scalar_subquery()
        return sa.select(sa.func.count()).where(hits.c.contact_id == c.c.id).scalar_subquery()

    def _tags(self, op: str, value: Any) -> sa.ColumnElement[bool]:
        c, ct, tags = self.t.contacts, self.t.contact_tags, self.t.tags
        if op in NO_VALUE:
            exists = sa.exists().where(ct.c.contact_id == c.c.id)
            return ~exists if op == "empty" else exists
        names = [str(v).lower() for v in value]
        exists = sa.exists().where(ct.c.contact_id == c.c.id, ct.c.tag_id == tags.c.id, sa.func.lower(tags.c.tag).in_(names))
        return ~exists if op == "!in" else exists

    def _segments(self, op: str, value: Any) -> sa.ColumnElement[bool]:
        if op in NO_VALUE:
            m = self.t.segment_contacts
            exists = sa.exists().where(m.c.contact_id == self.t.contacts.c.id, m.c.manually_removed.is_(False))
            return ~exists if op == "empty" else exists
        member = sa.or_(*(self._member_of(int(s)) for s in value))
        return sa.not_(member) if op == "!in" else member

    def _member_of(self, segment_id: int) -> sa.ColumnElement[bool]:
        if segment_id in self._stack:
            raise FilterError("Segments cannot refer to each other in a circle.")
        if len(self._stack) >= MAX_DEPTH:
            raise FilterError(f"Segments may refer to other segments at most {MAX_DEPTH} deep.")
        filters = self.segment_filters(segment_id)
        if filters is None:
            raise FilterError(f"Segment {segment_id} does not exist.")
        m, c = self.t.segment_contacts, self.t.contacts
        self._stack.append(segment_id)
        try:
            by_filters = self._all(filters, referred=True)
        finally:
            self._stack.pop()
        removed = sa.exists().where(m.c.segment_id == segment_id, m.c.contact_id == c.c.id, m.c.manually_removed.is_(True))
        added = sa.exists().where(m.c.segment_id == segment_id, m.c.contact_id == c.c.id, m.c.manually_added.is_(True),
                                  m.c.manually_removed.is_(False))
        return sa.or_(sa.and_(by_filters, ~removed), added)


_TEXTUAL = {"text", "textarea", "html", "lookup", "email", "url", "tel", "select", "country", "region", "locale", "timezone", "multiselect"}
_COMPARATORS: dict[str, Callable[[sa.ColumnElement[Any], Any], sa.ColumnElement[bool]]] = {
    "=": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
