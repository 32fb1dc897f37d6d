"""Numbers, dates and days as each user reads them: their locale (Babel's data) and their time zone.

Stored times are UTC; a user's day runs from their local midnight to the next, so "today" and a range of days
are bounded by those instants and a count per day groups by the local date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from mautic_app.domain.fields import TIMEZONES

DEFAULT_LOCALE = "en_US"
DEFAULT_TIMEZONE = "UTC"


def check_locale(code: str) -> str | None:
    """Why ``code`` cannot be a user's locale, or None when Babel knows it."""
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return "Choose a locale from the list, such as en_US or fr_FR."
    return None


def check_timezone(name: str) -> str | None:
    return None if name in TIMEZONES else "Choose a time zone from the list, such as Europe/Paris."


def zone(name: str) -> ZoneInfo:
    """The named zone; UTC for a name that is not one (a value stored before a zone was retired)."""
    try:
        return ZoneInfo(name) if name in TIMEZONES else ZoneInfo(DEFAULT_TIMEZONE)
    except ZoneInfoNotFoundError:
        return ZoneInfo(DEFAULT_TIMEZONE)


def locale_name(code: str) -> str:
    """A locale as its speakers name it, with its code: "Deutsch (Deutschland) · de_DE"."""
    try:
        return f"{Locale.parse(code).display_name} · {code}"
    except (ValueError, UnknownLocaleError):
        return code


def _locale(code: str) -> str:
    return code if check_locale(code) is None else DEFAULT_LOCALE


def number(value: int | float, locale: str) -> str:
    """1000300 as the user writes it: 1,000,300 (en_US), 1 000 300 (fr_FR), 1.000.300 (de_DE)."""
    return format_decimal(value, locale=_locale(locale))


def rate(part: int, whole: int, locale: str) -> str:
    """``part`` of ``whole`` as a percentage with one decimal; 0 % of nothing."""
    return format_percent(part / whole if whole else 0, "#,##0.0%", locale=_locale(locale))


def day(value: date, locale: str) -> str:
    """A day in the user's medium form: Dec 4, 2026 (en_US), 4 déc. 2026 (fr_FR)."""
    return format_date(value, "medium", locale=_locale(locale))


def moment(at: datetime, locale: str, timezone: str) -> str:
    """A stored UTC time in the user's zone and words: Dec 5, 2026, 11:49:36 PM (en_US, Europe/Paris)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return format_datetime(at.astimezone(zone(timezone)), "medium", locale=_locale(locale))


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(zone(timezone)).date()


def day_bounds(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants [from, until) of the user's days ``start`` to ``end`` inclusive (DST days included)."""
    tz = zone(timezone)
    lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return lo, hi


def local_day(stored: str | datetime | None, timezone: str) -> str | None:
    """The user's date (ISO) of a stored UTC time: SQLite's ``local_day(column, zone)``."""
    if stored is None:
        return None
    at = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(zone(timezone)).date().isoformat()
