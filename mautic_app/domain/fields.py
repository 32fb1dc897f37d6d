"""Field types, the core field catalogue and value validation. Pure: no database here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import pycountry
from email_validator import EmailNotValidError, validate_email

FIELD_TYPES: dict[str, str] = {
    "text": "Text",
    "textarea": "Text area",
    "select": "Select",
    "multiselect": "Select - multiple",
    "boolean": "Boolean",
    "lookup": "Lookup",
    "date": "Date",
    "datetime": "Date / time",
    "time": "Time",
    "timezone": "Timezone",
    "email": "Email",
    "html": "HTML",
    "number": "Number",
    "tel": "Phone",
    "url": "URL",
    "country": "Country",
    "region": "Region",
    "locale": "Locale",
}
FIELD_GROUPS = ("core", "social", "personal", "professional")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names the tables already use for themselves, or that SQL keeps for itself.
RESERVED_ALIASES = {
    "id", "owner_id", "stage_id", "created_by", "modified_by", "date_added", "date_modified",
    "date_identified", "is_identified", "color", "preferred_profile_image", "public_id", "score", "tags",
    "stage", "owner", "select", "from", "where", "order", "group", "table", "user", "all",
    "and", "or", "not", "null", "limit", "offset", "index", "primary", "key", "default",
}


@dataclass(frozen=True)
class FieldSpec:
    """What validation and storage need to know about a field."""

    alias: str
    label: str
    type: str
    group: str = "core"
    object: str = "contact"
    is_required: bool = False
    is_unique_identifier: bool = False
    is_publicly_updatable: bool = False
    is_listable: bool = True
    is_visible: bool = True
    is_fixed: bool = False
    default_value: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    order: int = 0


def _core(alias: str, label: str, type_: str = "text", group: str = "core", **kw: Any) -> FieldSpec:
    return FieldSpec(alias=alias, label=label, type=type_, group=group, is_fixed=True, **kw)


CORE_CONTACT_FIELDS: tuple[FieldSpec, ...] = (
    _core("title", "Title", "lookup", properties={"list": ["Mr", "Mrs", "Miss"]}),
    _core("firstname", "First Name"),
    _core("lastname", "Last Name"),
    _core("company", "Primary company"),
    _core("position", "Position"),
    _core("email", "Email", "email", is_unique_identifier=True, is_publicly_updatable=True),
    _core("mobile", "Mobile", "tel"),
    _core("phone", "Phone", "tel"),
    _core("points", "Points", "number", default_value="0"),
    _core("fax", "Fax", "tel"),
    _core("address1", "Address Line 1"),
    _core("address2", "Address Line 2"),
    _core("city", "City"),
    _core("state", "State", "region"),
    _core("zipcode", "Zip Code"),
    _core("country", "Country", "country"),
    _core("preferred_locale", "Preferred Locale", "locale"),
    _core("timezone", "Preferred Timezone", "timezone"),
    _core("last_active", "Date Last Active", "datetime"),
    _core("attribution_date", "Attribution Date", "datetime"),
    _core("attribution", "Attribution", "number", properties={"scale": 2}),
    _core("website", "Website", "url"),
    _core("facebook", "Facebook", group="social"),
    _core("foursquare", "Foursquare", group="social"),
    _core("instagram", "Instagram", group="social"),
    _core("linkedin", "LinkedIn", group="social"),
    _core("skype", "Skype", group="social"),
    _core("twitter", "Twitter", group="social"),
)

CORE_COMPANY_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(alias=a, label=lbl, type=t, group=g, object="company", is_fixed=True, **kw)
    for a, lbl, t, g, kw in (
        ("companyname", "Company Name", "text", "core", {"is_required": True, "is_unique_identifier": True}),
        ("companyemail", "Company Email", "email", "core", {}),
        ("companyaddress1", "Address 1", "text", "core", {}),
        ("companyaddress2", "Address 2", "text", "core", {}),
        ("companycity", "City", "text", "core", {}),
        ("companystate", "State", "region", "core", {}),
        ("companyzipcode", "Zip Code", "text", "core", {}),
        ("companycountry", "Country", "country", "core", {}),
        ("companyphone", "Phone", "tel", "core", {}),
        ("companywebsite", "Website", "url", "core", {}),
        ("companynumber_of_employees", "Number of Employees", "number", "professional", {}),
        ("companyfax", "Fax", "tel", "professional", {}),
        ("companyannual_revenue", "Annual Revenue", "number", "professional", {"properties": {"scale": 2}}),
        (
            "companyindustry",
            "Industry",
            "select",
            "professional",
            {
                "properties": {
                    "list": [
                        "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals",
                        "Communications", "Construction", "Education", "Electronics", "Energy",
                        "Engineering", "Entertainment", "Environmental", "Finance",
                        "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance",
                        "Machinery", "Manufacturing", "Media", "Not for Profit", "Recreation",
                        "Retail", "Shipping", "Technology", "Telecommunications",
                        "Transportation", "Utilities", "Other",
                    ]
                }
            },
        ),
        ("companydescription", "Description", "textarea", "professional", {}),
    )
)
# The contact fields whose emptiness makes a contact anonymous (spec: name, company, email, social).
IDENTIFYING_FIELDS = ("firstname", "lastname", "company", "email", "facebook", "foursquare",
                      "instagram", "linkedin", "skype", "twitter")

COUNTRIES: tuple[str, ...] = tuple(sorted(c.name for c in pycountry.countries))
_COUNTRY_LOOKUP = {c.lower(): c for c in COUNTRIES} | {
    c.alpha_2.lower(): c.name for c in pycountry.countries
} | {c.alpha_3.lower(): c.name for c in pycountry.countries}
TIMEZONES: frozenset[str] = frozenset(available_timezones())
SORTED_TIMEZONES: tuple[str, ...] = tuple(sorted(TIMEZONES))
# The locales offered (any ll_CC is accepted).
LOCALES: tuple[str, ...] = (
    "ar_SA", "cs_CZ", "da_DK", "de_AT", "de_CH", "de_DE", "el_GR", "en_AU", "en_CA", "en_GB", "en_IE", "en_IN",
    "en_NZ", "en_US", "en_ZA", "es_AR", "es_ES", "es_MX", "fi_FI", "fr_BE", "fr_CA", "fr_CH", "fr_FR", "he_IL",
    "hi_IN", "hu_HU", "id_ID", "it_IT", "ja_JP", "ko_KR", "nb_NO", "nl_BE", "nl_NL", "pl_PL", "pt_BR", "pt_PT",
    "ro_RO", "ru_RU", "sk_SK", "sv_SE", "th_TH", "tr_TR", "uk_UA", "vi_VN", "zh_CN", "zh_TW",
)


def listed_values(type_: str) -> tuple[str, ...]:
    """The values a field of a listed kind (country, time zone, locale) is picked from; () for other kinds."""
    return {"country": COUNTRIES, "timezone": SORTED_TIMEZONES, "locale": LOCALES}.get(type_, ())
_LOCALE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
_OTHER_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]*:(?!\d)", re.I)  # javascript:, data:, but not host:port
_TEL_RE = re.compile(r"^[0-9+()./\-\s x]{3,40}$")
MAX_TEXT = 191
MAX_LONG_TEXT = 65535


class FieldValueError(ValueError):
    """A value a field cannot hold; the message is shown to the marketer beside the field."""


def options_of(spec: FieldSpec) -> list[str]:
    raw = spec.properties.get("list") or []
    out = []
    for item in raw:
        if isinstance(item, dict):
            out.append(str(item.get("value", item.get("label", ""))))
        else:
            out.append(str(item))
    return out


def _parse_datetime(value: str) -> datetime:
    text = value.strip().replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[:19], fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FieldValueError("Enter a date and time like 2024-05-31 14:30.") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalize_value(spec: FieldSpec, value: Any) -> Any:
    """Turn submitted input into the stored value, or raise FieldValueError with a readable reason.

    ``None`` and blank strings mean "empty"; callers decide whether empty may overwrite.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    t = spec.type
    if t == "number":
        if isinstance(value, bool):
            raise FieldValueError("Enter a number.")
        try:
            number = Decimal(str(value).replace(",", ".")) if isinstance(value, str) else Decimal(value)
        except (InvalidOperation, ValueError) as exc:
            raise FieldValueError("Enter a number.") from exc
        if not number.is_finite():
            raise FieldValueError("Enter a number.")
        scale = int(spec.properties.get("scale") or 0)
        if scale <= 0:
            return int(number.to_integral_value(rounding=ROUND_HALF_UP))
        return float(number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP))
    if t == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "y", "on", str(spec.properties.get("yes", "")).lower()}:
            return True
        if text in {"0", "false", "no", "n", "off", str(spec.properties.get("no", "")).lower()}:
            return False
        raise FieldValueError("Choose yes or no.")
    if t in ("date", "datetime"):
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day, tzinfo=UTC)
        else:
            try:
                dt = _parse_datetime(str(value))
            except FieldValueError as exc:
                raise FieldValueError("Enter a date like 2024-05-31." if t == "date" else str(exc)) from exc
        return dt.date() if t == "date" else dt
    if t == "time":
        if isinstance(value, time):
            return value.strftime("%H:%M:%S")
        try:
            return time.fromisoformat(str(value)).strftime("%H:%M:%S")
        except ValueError as exc:
            raise FieldValueError("Enter a time like 14:30.") from exc
    text = str(value)
    if t in ("textarea", "html"):
        if len(text) > MAX_LONG_TEXT:
            raise FieldValueError(f"Keep this under {MAX_LONG_TEXT} characters.")
        return text
    if t == "multiselect":
        items = value if isinstance(value, list) else [v for v in text.split("|")]
        items = [str(v).strip() for v in items if str(v).strip()]
        allowed = options_of(spec)
        bad = [v for v in items if allowed and v not in allowed]
        if bad:
            raise FieldValueError(f"Not an option: {', '.join(bad)}.")
        return "|".join(items) or None
    if len(text) > MAX_TEXT:
        raise FieldValueError(f"Keep this under {MAX_TEXT} characters.")
    if t == "email":
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise FieldValueError("Enter a valid e-mail address.") from exc
    if t == "url":
        if "://" not in text and _OTHER_SCHEME_RE.match(text):
            raise FieldValueError("Enter a valid web address.")
        parts = urlsplit(text if "://" in text else f"http://{text}")
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
            raise FieldValueError("Enter a valid web address.")
        return text
    if t == "tel":
        if not _TEL_RE.match(text):
            raise FieldValueError("Enter a valid phone number.")
        return text
    if t == "country":
        found = _COUNTRY_LOOKUP.get(text.lower())
        if not found:
            raise FieldValueError("Choose a country from the list.")
        return found
    if t == "timezone":
        if text not in TIMEZONES:
            raise FieldValueError("Choose a timezone such as Europe/Paris.")
        return text
    if t == "locale":
        if not _LOCALE_RE.match(text):
            raise FieldValueError("Enter a locale such as en_US.")
        return text
    if t == "select":
        allowed = options_of(spec)
        if allowed and text not in allowed:
            raise FieldValueError("Choose one of the options.")
        return text
    return text


def is_anonymous(values: dict[str, Any]) -> bool:
    return not any(values.get(alias) not in (None, "") for alias in IDENTIFYING_FIELDS)


def validate_alias(alias: str, taken: set[str]) -> str | None:
    """Why an alias cannot be used, or None when it can."""
    if not ALIAS_RE.match(alias):
        return "Use lower-case letters, digits and underscores, starting with a letter (40 at most)."
    if alias in RESERVED_ALIASES:
        return "This name is reserved."
    if alias in taken:
        return "Another field already uses this alias."
    return None


def alias_from_label(label: str) -> str:
    alias = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    if not alias or not alias[0].isalpha():
        alias = f"f_{alias}"
    return alias[:40]
