"""Forms: field and action kinds, what a submission may contain, who sees which field, where a
visitor may be sent afterwards, and the form's HTML.

Pure: ``services.forms`` stores forms and submissions; the public routes feed posted data here.
Type keys are Mautic's (``checkboxgrp``, ``lead.changetags``...), so forms and API clients
written for Mautic work unchanged. Nothing posted is trusted: every value is checked against
its field and capped, and everything put into HTML is escaped here.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from mautic_app.domain.fields import COUNTRIES

MAX_VALUE = 4000  # characters of one submitted value
MAX_FIELDS = 100
MAX_OPTIONS = 200
MAX_POST_BYTES = 64 * 1024  # a whole post without files
MAX_FILE_MB = 50.0  # the most a file field may take; a post with files is at most this plus MAX_POST_BYTES
HONEYPOT = "mfhp_website"  # never shown to people; bots that fill every input give themselves away
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,32}$")
SUBMIT_ALIASES = {"formid", "return", "formname", "messenger", HONEYPOT}  # reserved names in mauticform[...]


class FormError(ValueError):
    """Settings that cannot be saved; ``errors`` maps a setting (``fields.2.alias``) to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class FieldType:
    key: str
    label: str
    stores_value: bool = True  # false for layout-only kinds (text blocks, page breaks, the button)
    has_options: bool = False
    multiple: bool = False
    input_type: str = "text"  # the HTML input type


FIELD_TYPES: dict[str, FieldType] = {t.key: t for t in (
    FieldType("text", "Text"),
    FieldType("textarea", "Text area"),
    FieldType("email", "E-mail", input_type="email"),
    FieldType("tel", "Phone", input_type="tel"),
    FieldType("url", "URL", input_type="url"),
    FieldType("number", "Number", input_type="number"),
    FieldType("date", "Date", input_type="date"),
    FieldType("datetime", "Date and time", input_type="datetime-local"),
    FieldType("select", "Select list", has_options=True),
    FieldType("radiogrp", "Radio group", has_options=True),
    FieldType("checkboxgrp", "Checkbox group", has_options=True, multiple=True),
    FieldType("country", "Country"),
    FieldType("companyLookup", "Company lookup"),
    FieldType("hidden", "Hidden", input_type="hidden"),
    FieldType("password", "Password", input_type="password"),
    FieldType("file", "File", input_type="file"),
    FieldType("captcha", "Captcha"),
    FieldType("freetext", "Text block", stores_value=False),
    FieldType("freehtml", "HTML block", stores_value=False),
    FieldType("pagebreak", "Page break", stores_value=False),
    FieldType("button", "Submit button", stores_value=False),
)}
POST_ACTIONS = {"message": "Show a message", "redirect": "Redirect to a URL", "return": "Return to the page"}
FORM_TYPES = {"standalone": "Standalone", "campaign": "Campaign form"}
DEFAULT_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "pdf", "txt", "csv", "doc", "docx", "xls", "xlsx", "odt", "ods")


@dataclass(frozen=True)
class ActionType:
    """A kind of submit action. Unavailable kinds wait for the area they need (e-mail, assets)."""

    key: str
    label: str
    description: str
    properties: tuple[tuple[str, str, str], ...] = ()  # (key, label, kind: number | text | tags | ids | url | addresses)
    available: bool = True
    unavailable_reason: str = ""


ACTION_TYPES: dict[str, ActionType] = {a.key: a for a in (
    ActionType("lead.pointschange", "Change points", "Adds (or with a negative number, takes away) points.",
               (("points", "Points", "number"),)),
    ActionType("lead.changetags", "Modify tags", "Adds and removes tags.",
               (("add_tags", "Tags to add", "tags"), ("remove_tags", "Tags to remove", "tags"))),
    ActionType("lead.changelist", "Modify segments", "Adds to and removes from segments.",
               (("addToLists", "Add to segments", "ids"), ("removeFromLists", "Remove from segments", "ids"))),
    ActionType("lead.addutmtags", "Record UTM tags", "Keeps the UTM tags of the page the form was on."),
    ActionType("lead.removednc", "Remove do not contact", "Lets the contact be e-mailed again."),
    ActionType("lead.scorecontactscompanies", "Add to company score", "Adds points to the contact's primary company.",
               (("score", "Points", "number"),)),
    ActionType("form.repost", "Re-post results to a URL", "Sends the results to another address, in the background.",
               (("post_url", "URL", "url"), ("failure_email", "E-mail on failure", "text"))),
    ActionType("form.email", "E-mail the results", "E-mails the submitted values to addresses.",
               (("to", "To (addresses, comma separated)", "addresses"), ("subject", "Subject", "text"))),
    ActionType("email.send.user", "Send an e-mail to a user", "E-mails users a template e-mail, filled in for the contact.",
               (("email", "E-mail", "number"), ("user_id", "Users", "ids"))),
    ActionType("email.send.lead", "Send an e-mail to the contact", "E-mails the contact a template e-mail.",
               (("email", "E-mail", "number"),)),
    ActionType("asset.download", "Download an asset", "Gives the visitor a file.",
               available=False, unavailable_reason="Arrives with assets."),
)}


@dataclass
class Field:
    """A form field as the rules read it (services build these from rows)."""

    alias: str
    label: str
    type: str
    id: int | None = None
    order: int = 0
    show_label: bool = True
    default_value: str = ""
    help_message: str = ""
    is_required: bool = False
    validation_message: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    mapped_object: str = ""
    mapped_field: str = ""
    is_auto_fill: bool = False
    show_when_value_exists: bool = True
    show_after_x_submissions: int | None = None
    always_display: bool = False
    parent_alias: str = ""
    conditions: dict[str, Any] = field(default_factory=dict)
    save_result: bool = True

    @property
    def kind(self) -> FieldType:
        return FIELD_TYPES[self.type]

    def option_values(self) -> frozenset[str]:
        """The values a post may choose (read once per field: a country list is long, and posts are many)."""
        cached = self.__dict__.get("_option_values")
        if cached is None:
            cached = self.__dict__["_option_values"] = frozenset(v for v, _ in self.options())
        return cached

    def options(self) -> list[tuple[str, str]]:
        """(value, label) pairs of a list field; countries for ``country``."""
        if self.type == "country":
            return [(c, c) for c in COUNTRIES]
        out = []
        for item in self.properties.get("options") or []:
            if isinstance(item, Mapping):
                value, label = str(item.get("value", "")), str(item.get("label", item.get("value", "")))
            else:
                value = label = str(item)
            out.append((value, label))
        return out


# ------------------------------------------------------------------ settings


def _text(value: Any, limit: int) -> str:
    return str(value if value is not None else "").replace("\x00", "").strip()[:limit]


def web_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None.

    Backslashes, control characters and user info are refused: browsers read ``https://evil\\@shop/``
    as a path on evil, while Python's parser sees the host shop, so a host check could be passed.
    """
    s = _text(value, 2048)
    if "\\" in s or any(ord(c) <= 32 or ord(c) == 127 for c in s):
        return None
    try:
        parts = urlsplit(s)
    except ValueError:
        return None
    return s if parts.scheme.lower() in ("http", "https") and parts.hostname and "@" not in parts.netloc else None


def alias_from_label(label: str, taken: Iterable[str] = ()) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")[:50] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"[:50]
    taken = set(taken) | SUBMIT_ALIASES
    alias, n = base, 1
    while alias in taken:
        n += 1
        alias = f"{base}{n}"
    return alias


def alias_after_relabel(*, alias: str, old_label: str, new_label: str, taken: Iterable[str]) -> str:
    """A field's alias once its label changes: it follows the label while it is still the one made from the old
    label ("Text" → ``text``, relabelled "First name" → ``first_name``), and stays once the marketer chose it."""
    taken = list(taken)
    return alias_from_label(new_label, taken) if alias == alias_from_label(old_label, taken) else alias


def check_fields(raw: Sequence[Mapping[str, Any]], *, contact_fields: set[str], company_fields: set[str]) -> list[Field]:
    """Submitted field settings as :class:`Field` s in order, or :class:`FormError` per setting."""
    errors: dict[str, str] = {}
    out: list[Field] = []
    if len(raw) > MAX_FIELDS:
        raise FormError({"fields": f"A form has at most {MAX_FIELDS} fields."})
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"fields.{i}"
        ftype = _text(item.get("type"), 32)
        if ftype not in FIELD_TYPES:
            errors[f"{key}.type"] = "Choose a field type."
            continue
        label = _text(item.get("label"), 255)
        if not label:
            errors[f"{key}.label"] = "Give the field a label."
        alias = _text(item.get("alias"), 64) or alias_from_label(label or ftype, seen)
        if not ALIAS_RE.match(alias) or alias in SUBMIT_ALIASES:
            errors[f"{key}.alias"] = "Use lower-case letters, digits and underscores, starting with a letter."
        elif alias in seen:
            errors[f"{key}.alias"] = "Another field of this form already uses this alias."
        seen.add(alias)
        mapped_object, mapped_field = _text(item.get("mapped_object"), 16), _text(item.get("mapped_field"), 64)
        if mapped_field:
            allowed = contact_fields if mapped_object == "contact" else company_fields if mapped_object == "company" else set()
            if mapped_field not in allowed:
                errors[f"{key}.mapped_field"] = "Map to an existing contact or company field."
            elif not FIELD_TYPES[ftype].stores_value:
                errors[f"{key}.mapped_field"] = "This kind of field holds no value to map."
        else:
            mapped_object = ""
        props = dict(item.get("properties") or {})
        if FIELD_TYPES[ftype].has_options:
            options = _options(props.get("options"))
            if not options:
                errors[f"{key}.options"] = "Add at least one option."
            props["options"] = options
        if ftype == "captcha" and not _text(props.get("captcha"), 255):
            errors[f"{key}.captcha"] = "Give the answer visitors must type."
        if ftype == "file":
            props["allowed_extensions"] = [e for e in (_text(x, 10).lower().lstrip(".") for x in props.get("allowed_extensions")
                                                       or DEFAULT_EXTENSIONS) if re.fullmatch(r"[a-z0-9]{1,10}", e)]
            try:
                props["max_size_mb"] = max(0.01, min(float(props.get("max_size_mb") or 1), MAX_FILE_MB))
            except (TypeError, ValueError):
                errors[f"{key}.max_size_mb"] = "Enter a size in MB."
        try:
            after = item.get("show_after_x_submissions")
            after = int(after) if after not in (None, "") else None
            if after is not None and not 0 <= after <= 1000:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"{key}.show_after_x_submissions"] = "Enter a whole number from 0 to 1000."
            after = None
        parent = _text(item.get("parent_alias"), 64)
        conditions = item.get("conditions") or {}
        values = [_text(v, 255) for v in (conditions.get("values") or []) if _text(v, 255)][:MAX_OPTIONS]
        expr = "notIn" if str(conditions.get("expr") or "").lower() == "notin" else "in"  # Mautic's two
        out.append(Field(
            alias=alias, label=label, type=ftype, id=item.get("id") if isinstance(item.get("id"), int) else None, order=i,
            show_label=bool(item.get("show_label", True)), default_value=_text(item.get("default_value"), MAX_VALUE),
            help_message=_text(item.get("help_message"), 1000), is_required=bool(item.get("is_required")) and FIELD_TYPES[ftype].stores_value,
            validation_message=_text(item.get("validation_message"), 255), properties=props,
            mapped_object=mapped_object, mapped_field=mapped_field, is_auto_fill=bool(item.get("is_auto_fill")),
            show_when_value_exists=bool(item.get("show_when_value_exists", True)), show_after_x_submissions=after,
            always_display=bool(item.get("always_display")), parent_alias=parent,
            conditions={"any": bool(conditions.get("any")), "expr": expr, "values": values} if parent else {},
            save_result=bool(item.get("save_result", True)),
        ))
    aliases = {f.alias: f for f in out}
    for i, f in enumerate(out):
        if f.parent_alias:
            parent_field = aliases.get(f.parent_alias)
            if parent_field is None or parent_field is f or not parent_field.kind.stores_value:
                errors[f"fields.{i}.parent_alias"] = "Show this field depending on another field of this form."
            elif not f.conditions.get("any") and not f.conditions.get("values"):
                errors[f"fields.{i}.conditions"] = "Choose the values that show this field, or any value."
    if errors:
        raise FormError(errors)
    return out


def _options(raw: Any) -> list[dict[str, str]]:
    if isinstance(raw, str):  # one per line, "value|label" or just the label
        raw = [line for line in raw.splitlines() if line.strip()]
    out = []
    for item in (raw or [])[:MAX_OPTIONS]:
        if isinstance(item, Mapping):
            label, value = _text(item.get("label"), 255), _text(item.get("value"), 255)
        else:
            text = _text(item, 511)
            value, _, label = text.partition("|") if "|" in text else (text, "", text)
            value, label = value.strip()[:255], (label.strip() or value.strip())[:255]
        if label or value:
            out.append({"value": value or label, "label": label or value})
    return out


def check_actions(raw: Sequence[Mapping[str, Any]], *, url_refusal: Callable[[str], str | None] = lambda url: None,
                  ) -> list[dict[str, Any]]:
    """Submitted actions as ``{"type", "name", "properties"}``, or :class:`FormError`.

    ``url_refusal`` says why the server will not send to a URL (``outgoing.url_refusal``: its host is private).
    """
    errors: dict[str, str] = {}
    out = []
    for i, item in enumerate(raw[:50]):
        key = f"actions.{i}"
        kind = ACTION_TYPES.get(_text(item.get("type"), 48))
        if kind is None:
            errors[f"{key}.type"] = "Choose an action."
            continue
        if not kind.available:
            errors[f"{key}.type"] = f"{kind.label} is not available yet: {kind.unavailable_reason}"
            continue
        props_in = item.get("properties") or {}
        props: dict[str, Any] = {}
        for pkey, label, pkind in kind.properties:
            value: Any = props_in.get(pkey)
            if pkind == "number":
                try:
                    props[pkey] = int(float(value))
                    if abs(props[pkey]) > 1_000_000:
                        raise ValueError
                except (TypeError, ValueError):
                    errors[f"{key}.{pkey}"] = f"{label}: enter a whole number."
            elif pkind == "tags":
                tags = value.split(",") if isinstance(value, str) else list(value or [])
                props[pkey] = [t for t in (_text(t, 191) for t in tags) if t][:100]
            elif pkind == "ids":
                ids = value.split(",") if isinstance(value, str) else list(value or [])
                try:
                    props[pkey] = sorted({int(x) for x in ids if str(x).strip()})[:500]
                except (TypeError, ValueError):
                    errors[f"{key}.{pkey}"] = f"{label}: choose from the list."
            elif pkind == "addresses":
                given = value.split(",") if isinstance(value, str) else list(value or [])
                props[pkey] = [a for a in (_text(a, 191) for a in given) if a][:20]
                if not props[pkey] or not all(_is_address(a) for a in props[pkey]):
                    errors[f"{key}.{pkey}"] = f"{label}: enter e-mail addresses, comma separated."
            elif pkind == "url":
                url = web_url(value)
                if not url:
                    errors[f"{key}.{pkey}"] = f"{label}: enter an http(s) address."
                elif reason := url_refusal(url):
                    errors[f"{key}.{pkey}"] = f"{label}: {reason}"
                props[pkey] = url or ""
            else:
                props[pkey] = _text(value, 255)
        if kind.key == "lead.changetags" and not (props["add_tags"] or props["remove_tags"]):
            errors[f"{key}.add_tags"] = "Add or remove at least one tag."
        if kind.key == "lead.changelist" and not (props["addToLists"] or props["removeFromLists"]):
            errors[f"{key}.addToLists"] = "Choose at least one segment."
        if kind.key == "email.send.user" and not props["user_id"]:
            errors[f"{key}.user_id"] = "Choose at least one user."
        out.append({"type": kind.key, "name": _text(item.get("name"), 191) or kind.label, "properties": props,
                    "id": item.get("id") if isinstance(item.get("id"), int) else None})
    if errors:
        raise FormError(errors)
    return out


def _is_address(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# ------------------------------------------------------------------ submissions


@dataclass
class Checked:
    """A post read against the form: stored values, contact and company values, per-field errors."""

    values: dict[str, Any] = field(default_factory=dict)  # alias → value, for the results
    contact: dict[str, Any] = field(default_factory=dict)  # contact field → value
    company: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # alias → message


def is_shown_by_parent(f: Field, posted: Mapping[str, Any]) -> bool:
    """A conditional field counts only when its parent's posted value matches."""
    if not f.parent_alias:
        return True
    value = posted.get(f.parent_alias)
    given = [str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
    if f.conditions.get("any"):
        return bool(given)
    wanted = set(f.conditions.get("values") or [])
    matches = any(v in wanted for v in given)
    return not matches if f.conditions.get("expr") == "notIn" else matches


def check_post(fields: list[Field], posted: Mapping[str, Any], *, hidden: AbstractSet[str] = frozenset()) -> Checked:
    """Read ``mauticform[...]`` values against the fields; unknown names are ignored.

    ``hidden``: aliases progressive profiling did not show this visitor, so not required.
    Files arrive as ``{"filename", "size"}`` mappings (the route stores the bytes).
    """
    out = Checked()
    for f in fields:
        kind = f.kind
        if not kind.stores_value:
            continue
        raw = posted.get(f.alias)
        if f.type == "captcha":
            answer = _text(f.properties.get("captcha"), 255)
            if not isinstance(raw, str) or raw.strip().lower() != answer.lower():
                out.errors[f.alias] = f.validation_message or "That is not the right answer."
            continue
        if not is_shown_by_parent(f, posted):
            continue
        try:
            value = _value(f, raw)
        except ValueError as exc:
            out.errors[f.alias] = f.validation_message or str(exc)
            continue
        if value in (None, "", []):
            if f.is_required and f.alias not in hidden:
                out.errors[f.alias] = f.validation_message or f"{f.label} is required."
            continue
        if f.save_result and f.type != "password":
            out.values[f.alias] = value
        if f.mapped_field:
            target = out.contact if f.mapped_object == "contact" else out.company
            target[f.mapped_field] = ", ".join(value) if isinstance(value, list) and f.mapped_field != "tags" else value
    return out


def _value(f: Field, raw: Any) -> Any:
    """One posted value, checked for its kind; raises ValueError with a readable reason."""
    kind = f.kind
    if f.type == "file":
        if not raw:
            return None
        if not isinstance(raw, Mapping):
            raise ValueError("Choose a file to upload.")
        name = _text(raw.get("filename"), 255)
        if problem := upload_refusal(f, name, int(raw.get("size") or 0)):
            raise ValueError(problem)
        return {"filename": name, "stored": _text(raw.get("stored"), 255)}
    if kind.multiple:
        items = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
        if any(not isinstance(i, str) for i in items):
            raise ValueError("Choose from the list.")
        allowed = f.option_values()
        chosen = [i for i in items if i != ""][:MAX_OPTIONS]
        if any(i not in allowed for i in chosen):
            raise ValueError("Choose from the list.")
        return chosen
    if isinstance(raw, list):
        raw = raw[-1] if raw else None
    if raw is not None and not isinstance(raw, str):
        raise ValueError("Enter text.")
    text = (raw or "").replace("\x00", "").strip()
    if len(text) > MAX_VALUE:
        raise ValueError(f"Enter at most {MAX_VALUE} characters.")
    if not text:
        return None
    if kind.has_options or f.type == "country":
        if text not in f.option_values():
            raise ValueError("Choose from the list.")
        return text
    if f.type == "email":
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError("Enter a valid e-mail address.") from exc
    if f.type == "tel":
        if not PHONE_RE.match(text):
            raise ValueError("Enter a valid phone number.")
        return text
    if f.type == "url":
        if not web_url(text):
            raise ValueError("Enter a web address starting with http:// or https://.")
        return text
    if f.type == "number":
        try:
            number = float(text.replace(",", "."))
        except ValueError as exc:
            raise ValueError("Enter a number.") from exc
        if number != number or abs(number) > 1e15:
            raise ValueError("Enter a number.")
        return int(number) if number.is_integer() else number
    if f.type == "date":
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError as exc:
            raise ValueError("Enter a date (YYYY-MM-DD).") from exc
    if f.type == "datetime":
        try:
            return datetime.fromisoformat(text[:25]).isoformat(timespec="minutes")
        except ValueError as exc:
            raise ValueError("Enter a date and time.") from exc
    if f.type not in ("textarea",):
        text = text.replace("\r", " ").replace("\n", " ")
    return text[:255] if f.type not in ("textarea", "hidden") else text


def upload_refusal(f: Field, filename: str, size: int) -> str | None:
    """Why a file field cannot take this file, or None: checked before a byte of it is kept."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in (f.properties.get("allowed_extensions") or DEFAULT_EXTENSIONS):
        return "This kind of file is not accepted."
    if size > float(f.properties.get("max_size_mb") or 1) * 1024 * 1024:
        return f"The file is larger than {f.properties.get('max_size_mb') or 1} MB."
    return None


def read_post(pairs: Iterable[tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """``mauticform[alias]`` / ``mauticform[alias][]`` pairs → (values by alias, the form's own keys).

    The form's own keys are ``formId``, ``return``, ``formName``, ``messenger`` and the honeypot.
    Anything not under ``mauticform`` is ignored, as Mautic does.
    """
    values: dict[str, Any] = {}
    meta: dict[str, str] = {}
    for key, value in pairs:
        m = re.fullmatch(r"mauticform\[([A-Za-z0-9_]{1,64})\](\[\])?", key)
        if not m:
            continue
        name, many = m.group(1), bool(m.group(2))
        if name.lower() in SUBMIT_ALIASES:
            meta[name.lower()] = value if isinstance(value, str) else ""
            continue
        if many or name in values:
            prev = values.get(name)
            values[name] = ([] if prev is None else prev if isinstance(prev, list) else [prev]) + [value]
        else:
            values[name] = value
    return values, meta


def visible_fields(
    fields: list[Field], *, known: Mapping[str, Any], submissions: int, kiosk: bool, limit: int | None,
) -> list[Field]:
    """Progressive profiling: which fields this visitor is shown.

    A field whose mapped value is already known is hidden unless it is auto-filled or set to show
    anyway; a field with "show after N submissions" waits for them; at most ``limit`` input fields
    are shown (layout fields and always-displayed fields do not count). Kiosk mode shows all.
    """
    if kiosk:
        return list(fields)
    out, shown = [], 0
    for f in fields:
        if not f.kind.stores_value or f.type in ("hidden", "captcha") or f.always_display:
            out.append(f)
            continue
        if f.show_after_x_submissions and submissions < f.show_after_x_submissions:
            continue
        if f.mapped_field and not f.show_when_value_exists and not f.is_auto_fill and known.get(f.mapped_field) not in (None, ""):
            continue
        if limit and shown >= limit:
            continue
        shown += 1
        out.append(f)
    return out


def safe_return_url(target: str | None, *, page_url: str | None, allowed_hosts: Iterable[str]) -> str | None:
    """Where a visitor may be sent back to: the page the form was on, or a host in settings.

    Mautic only checked the scheme of ``mauticform[return]``, so any site could use it to bounce
    visitors anywhere; here a target must be http(s) and on the submitting page's host or an
    allowed one (``*.example.com`` allows sub-domains).
    """
    url = web_url(target)
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    page_host = (urlsplit(page_url).hostname or "").lower() if web_url(page_url) else ""
    if host and host == page_host:
        return url
    for allowed in allowed_hosts:
        allowed = allowed.strip().lower()
        if not allowed:
            continue
        if allowed.startswith("*.") and (host == allowed[2:] or host.endswith(allowed[1:])):
            return url
        if host == allowed:
            return url
    return None


def after_submit(post_action: str, post_action_property: str, *, return_to: str, page: str | None,
                 allowed_hosts: Iterable[str]) -> dict[str, Any]:
    """Mautic's AJAX answer to an accepted post: a redirect (only to safe places) or a message.

    ``return`` (kept out of the JSON) is where a page without JavaScript links back to.
    """
    reply: dict[str, Any] = {"success": 1, "message": "", "redirect": None}
    if post_action == "redirect":
        reply["redirect"] = safe_return_url(post_action_property, page_url=page, allowed_hosts=allowed_hosts)
    elif post_action == "return":
        reply["redirect"] = safe_return_url(return_to, page_url=page, allowed_hosts=allowed_hosts)
    if not reply["redirect"]:
        reply["message"] = post_action_property if post_action == "message" and post_action_property else "Thank you."
        reply["return"] = safe_return_url(return_to, page_url=page, allowed_hosts=allowed_hosts)
    return reply


def check_allowed_hosts(raw: Iterable[str]) -> tuple[list[str], list[str]]:
    """(valid host patterns, the invalid ones) for the allowed-hosts setting."""
    good, bad = [], []
    for item in raw:
        host = _text(item, 255).lower()
        if not host:
            continue
        if re.fullmatch(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", host):
            good.append(host)
        else:
            bad.append(host)
    return good[:200], bad


# ------------------------------------------------------------------ HTML


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def sanitize_html(value: str) -> str:
    """A marketer's free HTML block, with scripts, handlers and unsafe URLs removed."""
    import nh3

    return nh3.clean(value or "", url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer")


# How a form looks where the site adds no CSS of its own: the public form page and the builder's preview (whose app
# theme would otherwise leave inputs without border or background). Every rule is under Mautic's own classes.
FORM_CSS = (
    ".mauticform_wrapper{max-width:36rem;color:#1c2024;font-family:system-ui,sans-serif}"
    ".mauticform-row{margin:0 0 1rem;display:flex;flex-direction:column;gap:.25rem}"
    ".mauticform-label{font-weight:600}.mauticform-helpmessage{color:#60646c;font-size:.875em}"
    ".mauticform-errormsg{color:#b00020}"
    ".mauticform_wrapper .mauticform-input{box-sizing:border-box;width:100%;padding:.45rem .6rem;font:inherit;color:#1c2024;"
    "background:#fff;border:1px solid #8b8d98;border-radius:6px}"
    ".mauticform_wrapper textarea.mauticform-input{min-height:5rem}"
    ".mauticform_wrapper .mauticform-input:focus{outline:2px solid #0d74ce;outline-offset:1px;border-color:#0d74ce}"
    ".mauticform_wrapper .mauticform-button,.mauticform_wrapper .mauticform-pagebreak{padding:.5rem 1.1rem;font:inherit;"
    "font-weight:600;color:#fff;background:#0d74ce;border:1px solid #0d74ce;border-radius:6px;cursor:pointer}"
    ".mauticform_wrapper .mauticform-button:focus-visible,.mauticform_wrapper .mauticform-pagebreak:focus-visible"
    "{outline:2px solid #1c2024;outline-offset:2px}"
)


def iframe_code(*, src: str, title: str) -> str:
    """An iframe showing a form's own page, for sites that take no scripts (Mautic offers the same)."""
    return (f'<iframe src="{e(src)}" title="{e(title)}" width="100%" height="600" style="border:0">'
            f'<a href="{e(src)}">{e(title)}</a></iframe>')


def manual_html(*, form_id: int, alias: str, name: str, fields: list[Field], base: str) -> str:
    """The form's HTML with its styles, to paste and restyle by hand: it posts to ``base`` like any HTML form."""
    return f"<style>{FORM_CSS}</style>\n" + render_form(form_id=form_id, alias=alias, name=name, fields=fields,
                                                         action=f"{base}/form/submit?formId={form_id}")


def render_form(
    *, form_id: int, alias: str, name: str, fields: list[Field], action: str, prefill: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None, message: str = "", return_url: str = "",
) -> str:
    """The form's HTML (Mautic's ids and classes, so sites' CSS still applies); everything escaped.

    Multi-step forms: each page break closes a page; the script shows one page at a time.
    """
    prefill, errors = prefill or {}, errors or {}
    fid = f"mauticform_{e(alias)}"
    pages: list[list[str]] = [[]]
    page_buttons: list[Field] = []
    for f in fields:
        if f.type == "pagebreak":
            page_buttons.append(f)
            pages.append([])
            continue
        pages[-1].append(_render_field(alias, f, prefill.get(f.alias, f.default_value), errors.get(f.alias)))
    parts = [
        f'<div id="{fid}_wrapper" class="mauticform_wrapper">',
        f'<form autocomplete="on" role="form" method="post" action="{e(action)}" id="{fid}" data-mautic-form="{e(alias)}" '
        f'data-form-id="{int(form_id)}" enctype="multipart/form-data" novalidate aria-label="{e(name)}">',
        f'<div class="mauticform-error" id="{fid}_error" role="alert">{e(errors.get("_form", ""))}</div>',
        f'<div class="mauticform-message" id="{fid}_message" role="status">{e(message)}</div>',
        '<div class="mauticform-innerform">',
    ]
    for n, page in enumerate(pages, start=1):
        hidden = ' style="display:none"' if n > 1 else ""
        parts.append(f'<div class="mauticform-page-wrapper mauticform-page-{n}" data-mautic-form-page="{n}"{hidden}>')
        parts.extend(page)
        if n <= len(page_buttons):
            b = page_buttons[n - 1]
            prev = _text(b.properties.get("prev_page_label"), 64) or "Previous"
            nxt = _text(b.properties.get("next_page_label"), 64) or "Next"
            parts.append('<div class="mauticform-pagebreak-wrapper">')
            if n > 1:
                parts.append(f'<button type="button" class="mauticform-pagebreak" data-mautic-form-pagebreak-prev="{n - 1}">{e(prev)}</button>')
            parts.append(f'<button type="button" class="mauticform-pagebreak" data-mautic-form-pagebreak-next="{n + 1}">{e(nxt)}</button>')
            parts.append("</div>")
        elif n > 1:
            parts.append(f'<button type="button" class="mauticform-pagebreak" data-mautic-form-pagebreak-prev="{n - 1}">Previous</button>')
        parts.append("</div>")
    parts += [
        "</div>",
        # The honeypot: off-screen (not display:none, which some bots skip), unlabelled for people, skipped by tab.
        f'<div aria-hidden="true" style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden">'
        f'<input type="text" name="mauticform[{HONEYPOT}]" tabindex="-1" autocomplete="off" value=""></div>',
        f'<input type="hidden" name="mauticform[formId]" id="{fid}_id" value="{int(form_id)}">',
        f'<input type="hidden" name="mauticform[return]" id="{fid}_return" value="{e(return_url)}">',
        f'<input type="hidden" name="mauticform[formName]" id="{fid}_name" value="{e(alias)}">',
        "</form>",
        "</div>",
    ]
    if not any(f.type == "button" for f in fields):
        parts.insert(-3, '<div class="mauticform-row mauticform-button-wrapper"><button type="submit" '
                         'name="mauticform[submit]" class="mauticform-button btn btn-default">Submit</button></div>')
    return "".join(parts)


def _render_field(form_alias: str, f: Field, value: Any, error: str | None) -> str:
    fid = f"mauticform_{e(form_alias)}_{e(f.alias)}"
    # The control's own id, as Mautic names it: with fid alone a field named "message" took the id of the form's
    # message (mauticform_<form>_message), and its label pointed there.
    control_id = f"mauticform_input_{e(form_alias)}_{e(f.alias)}"
    name = f"mauticform[{e(f.alias)}]"
    required = " required" if f.is_required else ""
    cond = ""
    if f.parent_alias:
        cond = (f' data-mautic-form-show-on="{e(f.parent_alias)}" data-mautic-form-expr="{e("any" if f.conditions.get("any") else f.conditions.get("expr") or "in")}"'
                f' data-mautic-form-values="{e(json.dumps(f.conditions.get("values") or []))}"')
    label = ""
    label_for = control_id if f.type not in ("radiogrp", "checkboxgrp") else ""
    if f.show_label and f.type not in ("hidden", "button", "freehtml", "pagebreak"):
        star = ' <span class="mauticform-required" aria-hidden="true">*</span>' if f.is_required else ""
        label = (f'<label for="{label_for}" class="mauticform-label">{e(f.label)}{star}</label>' if label_for
                 else f'<span class="mauticform-label" id="{fid}_label">{e(f.label)}{star}</span>')
    described = f' aria-describedby="{fid}_help {fid}_error"' if f.help_message else f' aria-describedby="{fid}_error"'
    aria_label = f' aria-label="{e(f.label)}"' if not f.show_label else ""
    placeholder = _text(f.properties.get("placeholder"), 255)
    ph = f' placeholder="{e(placeholder)}"' if placeholder else ""
    invalid = ' aria-invalid="true"' if error else ""
    common = f'id="{control_id}" name="{name}"{required}{described}{aria_label}{ph}{invalid} class="mauticform-input"'
    text_value = "" if isinstance(value, list | dict) or value is None else str(value)
    if f.type == "freetext":
        body = f'<div class="mauticform-freetext" id="{control_id}">{e(f.properties.get("text") or f.label)}</div>'
        label = ""
    elif f.type == "freehtml":
        body = f'<div class="mauticform-freehtml" id="{control_id}">{sanitize_html(str(f.properties.get("text") or ""))}</div>'
    elif f.type == "button":
        body = f'<button type="submit" name="{name}" id="{control_id}" class="mauticform-button btn btn-default">{e(f.label)}</button>'
        label = ""
    elif f.type == "textarea":
        body = f"<textarea {common}>{e(text_value)}</textarea>"
    elif f.type in ("select", "country"):
        opts = [f'<option value="">{e(placeholder or "Choose…")}</option>']
        opts += [f'<option value="{e(v)}"{" selected" if v == text_value else ""}>{e(lbl)}</option>' for v, lbl in f.options()]
        body = f"<select {common}>{''.join(opts)}</select>"
    elif f.type in ("radiogrp", "checkboxgrp"):
        kind = "radio" if f.type == "radiogrp" else "checkbox"
        chosen = set(value if isinstance(value, list) else [text_value])
        suffix = "[]" if kind == "checkbox" else ""
        items = []
        for i, (v, lbl) in enumerate(f.options()):
            oid = f"{fid}_{kind}_{i}"
            checked = " checked" if v in chosen else ""
            items.append(f'<label for="{oid}" class="mauticform-{kind}-label"><input type="{kind}" id="{oid}" name="{name}{suffix}" '
                         f'value="{e(v)}"{checked} class="mauticform-{kind}"> {e(lbl)}</label>')
        req = ' aria-required="true"' if f.is_required else ""
        body = f'<div role="group" aria-labelledby="{fid}_label"{req} class="mauticform-{kind}grp">{"".join(items)}</div>'
    elif f.type == "captcha":
        question = _text(f.properties.get("question"), 255)
        help_q = f'<span class="mauticform-captcha-question">{e(question)}</span>' if question else ""
        body = help_q + f'<input type="text" {common} autocomplete="off" value="">'
    elif f.type == "file":
        exts = ",".join("." + x for x in f.properties.get("allowed_extensions") or DEFAULT_EXTENSIONS)
        body = f'<input type="file" {common} accept="{e(exts)}">'
    elif f.type == "companyLookup":
        body = f'<input type="text" {common} autocomplete="organization" value="{e(text_value)}">'
    else:
        input_type = f.kind.input_type
        body = f'<input type="{input_type}" {common} value="{e("" if f.type == "password" else text_value)}">'
    help_html = f'<span class="mauticform-helpmessage" id="{fid}_help">{e(f.help_message)}</span>' if f.help_message else ""
    err = f'<span class="mauticform-errormsg" id="{fid}_error" role="alert">{e(error or "")}</span>'
    hidden = ' style="display:none"' if f.type == "hidden" else ""
    row_class = f"mauticform-row mauticform-{e(f.type)} mauticform-field-{e(f.alias)}" + (" mauticform-required" if f.is_required else "")
    return f'<div id="{fid}_row" class="{row_class}"{cond}{hidden}>{label}{body}{help_html}{err}</div>'
