"""When a campaign event runs: immediately, after a wait or at a date; then, if the marketer asked, at an hour of the
day, inside a window of hours and on chosen days of the week, read on the contact's own clock.

Pure rules, naive UTC in and out, so the engine, the dry run and the builder agree and the tests need no clock."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MODES = ("immediate", "interval", "date")
UNITS = {"i": "minutes", "h": "hours", "d": "days", "m": "months", "y": "years"}
WEEKDAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # Mautic's numbering: 0 Sunday ... 6 Saturday
WORKING_DAYS = (1, 2, 3, 4, 5)
EVERY_WORKING_DAY = 7  # Mautic's "weekdays" box, stored next to the days it stands for
UTC = ZoneInfo("UTC")
ONE_DAY = timedelta(days=1)
_CLOCK = re.compile(r"(?:\d{4}-\d\d-\d\d[T ])?(\d\d?):(\d\d)")  # "16:00", "9:30:00", "1970-01-01T16:00:00+00:00"


@dataclass(frozen=True)
class Timing:
    """When an event runs after the one before it (Mautic's trigger settings). The hour, the window and the days
    are read on the contact's clock and apply to "immediate" and "interval"; a date is a moment, the same for all."""

    mode: str = "immediate"  # immediate | interval | date
    interval: int = 0
    unit: str = "d"  # i minutes, h hours, d days, m months, y years
    date: datetime | None = None  # naive UTC
    hour: time | None = None
    window_start: time | None = None
    window_stop: time | None = None
    weekdays: tuple[int, ...] = ()  # 0 Sunday ... 6 Saturday; none: any day

    def __post_init__(self) -> None:
        """Refuse what cannot be scheduled, and keep the days in one spelling so equal timings compare equal."""
        if self.mode not in MODES:
            raise ValueError(f"Unknown timing {self.mode[:40]!r}: use immediate, interval or date.")
        if self.unit not in UNITS:
            raise ValueError(f"Unknown unit of time {self.unit[:40]!r}: use i (minutes), h, d, m (months) or y.")
        object.__setattr__(self, "weekdays", _days(self.weekdays))

    @classmethod
    def from_mautic(cls, props: Mapping[str, Any]) -> Timing:
        """From Mautic's event keys (API, imports, the builder). Blanks and junk fall back to the defaults so an odd
        export still loads; only an unknown mode or unit is refused (ValueError): guessing would run it at the wrong
        time. A negative wait is kept, for validation to name."""
        return cls(mode=_text(props.get("triggerMode")).lower() or "immediate",
                   interval=_number(props.get("triggerInterval")) or 0,
                   unit=_text(props.get("triggerIntervalUnit")).lower() or "d",
                   date=_moment(props.get("triggerDate")),
                   hour=_clock(props.get("triggerHour")),
                   window_start=_clock(props.get("triggerRestrictedStartHour")),
                   window_stop=_clock(props.get("triggerRestrictedStopHour")),
                   weekdays=_days(props.get("triggerRestrictedDaysOfWeek")))

    def to_mautic(self) -> dict[str, Any]:
        """Mautic's keys again: times as "HH:MM", the date as ISO with its UTC offset, unset ones as None."""
        return {"triggerMode": self.mode, "triggerInterval": self.interval, "triggerIntervalUnit": self.unit,
                "triggerDate": self.date.replace(tzinfo=UTC).isoformat() if self.date is not None else None,
                "triggerHour": _hhmm(self.hour), "triggerRestrictedStartHour": _hhmm(self.window_start),
                "triggerRestrictedStopHour": _hhmm(self.window_stop), "triggerRestrictedDaysOfWeek": list(self.weekdays)}

    def describe(self) -> str:
        """One line for the canvas: "Immediately", "2 days after, between 08:00 and 10:00, on Mon, Wed", "At …"."""
        if self.mode == "date":
            return f"At {self.date:%Y-%m-%d %H:%M} UTC" if self.date is not None else "At a date not chosen yet"
        parts = []
        if self.mode == "interval" and self.interval:
            unit = UNITS[self.unit][:-1] if self.interval == 1 else UNITS[self.unit]
            parts.append(f"{self.interval} {unit} after")
        hour, window = _clock_rules(self)
        if hour is not None:
            parts.append(f"at {hour:%H:%M}")
        if window:
            parts.append(f"between {window[0]:%H:%M} and {window[1]:%H:%M}")
        if self.weekdays:
            parts.append("on weekdays" if self.weekdays == WORKING_DAYS else "on " + ", ".join(WEEKDAY_NAMES[d] for d in self.weekdays))
        text = ", ".join(parts) or "immediately"
        return text[0].upper() + text[1:]

    @property
    def restricted(self) -> bool:
        """An hour, a window or days apply, so each contact's time zone matters (a date is the same for everyone)."""
        hour, window = _clock_rules(self)
        return self.mode != "date" and (hour is not None or window is not None or bool(self.weekdays))


def scheduled_at(timing: Timing, reference: datetime, now: datetime, zone: str | None, default_zone: str = "UTC") -> datetime:
    """When an event runs, as naive UTC. ``reference`` is when the event before it ran (or when the contact entered),
    ``zone`` the contact's IANA zone (blank or unknown: ``default_zone``). Never before ``now``, nor before the wait
    ends (to the minute) except that a fixed hour is that hour on the wait's last day; then at the hour, inside the
    window and on an allowed day on the contact's clock."""
    if timing.mode == "date":
        return timing.date if timing.date is not None and not is_due(timing.date, now) else now
    earliest = after(reference, timing.interval, timing.unit) if timing.mode == "interval" else now
    if is_due(earliest, now):
        earliest = now
    return _on_the_contacts_clock(timing, earliest, now, _zone(zone, default_zone)) if timing.restricted else earliest


def is_due(scheduled: datetime, now: datetime) -> bool:
    """Compared to the minute, as Mautic does: 09:20:45 is due at 09:20:30, 09:21:45 is not."""
    return _minute(scheduled) <= _minute(now)


def next_retry(now: datetime, wait: timedelta = timedelta(hours=1)) -> datetime:
    """When a failed action is tried again: after a wait, so a passing outage does not burn every attempt."""
    return now + wait


def after(moment: datetime, count: int, unit: str) -> datetime:
    """``count`` units after ``moment``. Months and years go by the calendar, a day the month lacks becoming its last
    (31 January + 1 month = 28 or 29 February, where PHP would overflow into March)."""
    if unit in ("m", "y"):
        months = moment.year * 12 + moment.month - 1 + count * (12 if unit == "y" else 1)
        year, month = divmod(months, 12)
        return moment.replace(year=year, month=month + 1, day=min(moment.day, calendar.monthrange(year, month + 1)[1]))
    return moment + timedelta(**{UNITS[unit]: count})


# ------------------------------------------------------------------ the contact's clock


def _on_the_contacts_clock(timing: Timing, earliest: datetime, now: datetime, tz: ZoneInfo) -> datetime:
    """The first whole minute from ``earliest`` that keeps to the hour, window and days, worked out on the wall clock
    of ``tz`` so "09:00" stays 09:00 for the contact across daylight-saving changes. A fixed hour is that hour on the
    day the wait ends, or the next day once it is past: "1 day after, at 09:00" is 09:00 the next day even when the
    event before ran at 09:05 (and when the clocks changed overnight), not a day later."""
    hour, window = _clock_rules(timing)
    floor = _minute(now if hour is not None else earliest)
    local = _minute(earliest).replace(tzinfo=UTC).astimezone(tz)
    day, clock = local.date(), local.time().replace(fold=0)
    if hour is not None:
        clock = hour
        if _instant(day, clock, tz, floor) < floor:  # already past: tomorrow
            day += ONE_DAY
    elif window is not None:
        start, stop = window
        if clock < start:
            clock = start
        elif clock >= stop:
            day, clock = day + ONE_DAY, start
    while timing.weekdays and day.isoweekday() % 7 not in timing.weekdays:
        day += ONE_DAY  # the time of day is kept, as in Mautic
    return _instant(day, clock, tz, floor)


def _instant(day: date, clock: time, tz: ZoneInfo, floor: datetime) -> datetime:
    """``clock`` on ``day`` in ``tz`` as naive UTC. A time the clocks skip (spring forward) becomes the first instant
    after the gap, never before the time asked for; a time they repeat (fall back) is its first occurrence, or its
    second when the first is before ``floor``."""
    wall = datetime.combine(day, clock)
    while _wall(_utc(wall, tz, fold=0), tz) != wall:  # skipped: try the next minute
        wall += timedelta(minutes=1)
    first, second = _utc(wall, tz, fold=0), _utc(wall, tz, fold=1)
    return second if first < floor <= second else first


def _utc(wall: datetime, tz: ZoneInfo, fold: int) -> datetime:
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC).replace(tzinfo=None)


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def _zone(name: str | None, default: str) -> ZoneInfo:
    """The contact's zone; a blank or unknown one (Mautic keeps whatever was typed) gives the default, then UTC."""
    for candidate in (name, default):
        try:
            return ZoneInfo((candidate or "").strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return UTC


def _clock_rules(timing: Timing) -> tuple[time | None, tuple[time, time] | None]:
    """The fixed hour and the window (earliest end first) the event keeps to. The hour wins over a window; a window
    needs both ends; a reversed one is swapped, as in Mautic, not read as crossing midnight; an empty one (start =
    stop) is that very time."""
    if timing.hour is not None:
        return timing.hour, None
    if timing.window_start is None or timing.window_stop is None:
        return None, None
    start, stop = sorted((timing.window_start, timing.window_stop))
    return (start, None) if start == stop else (None, (start, stop))


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# ------------------------------------------------------------------ reading Mautic's values leniently


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _number(value: Any) -> int | None:
    """A whole number from 2, "2" or "2.0" (a fraction is cut, as PHP's (int) does); None for anything else."""
    try:
        return int(float(_text(value)))
    except (ValueError, OverflowError):
        return None


def _clock(value: Any) -> time | None:
    """A time of day from "16:00", "9:30:00", a date and time (Mautic's API writes its time columns so) or a time."""
    if isinstance(value, datetime | time):
        return time(value.hour, value.minute)
    found = _CLOCK.match(_text(value))
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        return None
    return time(int(found[1]), int(found[2]))


def _moment(value: Any) -> datetime | None:
    """A date and time as naive UTC; one without an offset is taken as UTC already."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(_text(value))
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except (ValueError, OverflowError):  # not a date, or an offset pushing it past year 1 or 9999
        return None


def _days(value: Any) -> tuple[int, ...]:
    """Days of the week, sorted, from a list, a PHP array that became an object ({"1": 3}), a comma list or one day.
    Mautic's "weekdays" box (7) stands for Monday to Friday; other numbers are dropped."""
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.values()
    elif isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = value
    else:
        items = (value,)
    days: set[int] = set()
    for number in map(_number, items):
        if number == EVERY_WORKING_DAY:
            days.update(WORKING_DAYS)
        elif number is not None and 0 <= number <= 6:
            days.add(number)
    return tuple(sorted(days))


def _hhmm(clock: time | None) -> str | None:
    return clock.strftime("%H:%M") if clock is not None else None
