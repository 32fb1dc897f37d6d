"""When a campaign event runs: immediately, after an interval, or at a date; then, if asked, at an hour of the
day, inside a window of hours and on chosen weekdays, all in the contact's time zone. Pure; naive UTC in and out."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MODES = ("immediate", "interval", "date")
UNITS = {"i": "minutes", "h": "hours", "d": "days", "m": "months", "y": "years"}
WEEKDAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Timing:
    mode: str = "immediate"
    interval: int = 0
    unit: str = "d"
    date: datetime | None = None
    hour: time | None = None
    window_start: time | None = None
    window_stop: time | None = None
    weekdays: tuple[int, ...] = ()  # 0 Sunday ... 6 Saturday

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"Unknown timing {self.mode!r}: use immediate, interval or date.")
        if self.unit not in UNITS:
            raise ValueError(f"Unknown interval unit {self.unit!r}: use i, h, d, m or y.")

    @property
    def restricted(self) -> bool:
        return self.mode != "date" and bool(self.hour or (self.window_start and self.window_stop) or self.weekdays)

    @classmethod
    def from_mautic(cls, props: dict[str, Any]) -> Timing:
        mode = str(props.get("triggerMode") or "immediate")
        unit = str(props.get("triggerIntervalUnit") or "d")
        try:
            interval = max(0, int(str(props.get("triggerInterval") or 0)))
        except ValueError:
            interval = 0
        return cls(mode=mode, interval=interval, unit=unit, date=_datetime(props.get("triggerDate")),
                   hour=_clock(props.get("triggerHour")), window_start=_clock(props.get("triggerRestrictedStartHour")),
                   window_stop=_clock(props.get("triggerRestrictedStopHour")),
                   weekdays=tuple(sorted({d for d in (_int(v) for v in props.get("triggerRestrictedDaysOfWeek") or ()) if d is not None and 0 <= d <= 6})))

    def to_mautic(self) -> dict[str, Any]:
        return {"triggerMode": self.mode, "triggerInterval": self.interval, "triggerIntervalUnit": self.unit,
                "triggerDate": self.date.isoformat() if self.date else None,
                "triggerHour": self.hour.strftime("%H:%M") if self.hour else None,
                "triggerRestrictedStartHour": self.window_start.strftime("%H:%M") if self.window_start else None,
                "triggerRestrictedStopHour": self.window_stop.strftime("%H:%M") if self.window_stop else None,
                "triggerRestrictedDaysOfWeek": list(self.weekdays)}

    def describe(self) -> str:
        if self.mode == "date":
            return f"At {self.date:%Y-%m-%d %H:%M} UTC" if self.date else "At a date (not set)"
        if self.mode == "interval" and self.interval:
            unit = UNITS[self.unit].rstrip("s") if self.interval == 1 else UNITS[self.unit]
            text = f"{self.interval} {unit} after"
        else:
            text = "Immediately"
        if self.hour:
            text += f", at {self.hour:%H:%M}"
        elif self.window_start and self.window_stop:
            text += f", between {self.window_start:%H:%M} and {self.window_stop:%H:%M}"
        if self.weekdays:
            text += ", on " + ", ".join(WEEKDAY_NAMES[d] for d in self.weekdays)
        return text


def _int(v: Any) -> int | None:
    try:
        return int(str(v))
    except ValueError:
        return None


def _clock(v: Any) -> time | None:
    if isinstance(v, time):
        return v
    text = str(v or "").strip()
    if not text:
        return None
    try:
        parts = text.split(":")
        return time(int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except (ValueError, IndexError):
        return None


def _datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
    text = str(v or "").strip()
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return d.astimezone(UTC).replace(tzinfo=None) if d.tzinfo else d


def zone_of(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def _minute(d: datetime) -> datetime:
    return d.replace(second=0, microsecond=0)


def is_due(scheduled: datetime, now: datetime) -> bool:
    """Compared to the minute: 09:20:45 is due at 09:20:30, 09:21:45 is not."""
    return _minute(scheduled) <= _minute(now)


def next_retry(now: datetime, wait: timedelta = timedelta(hours=1)) -> datetime:
    return now + wait


def after(moment: datetime, count: int, unit: str) -> datetime:
    """``count`` units after ``moment``; months and years by the calendar (31 January + 1 month = 28/29 February)."""
    if unit in ("m", "y"):
        months = moment.year * 12 + moment.month - 1 + count * (12 if unit == "y" else 1)
        year, month = divmod(months, 12)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])
        return moment.replace(year=year, month=month + 1, day=day)
    return moment + timedelta(**{UNITS[unit]: count})


def _local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time in ``tz`` as naive UTC; a time the clocks skip (spring forward) becomes the first instant
    after the gap, an ambiguous one (fall back) its first occurrence."""
    local = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):  # in a gap: move to its end
        utc = datetime.combine(day, at).replace(tzinfo=tz, fold=1).astimezone(UTC)
        after = local.replace(tzinfo=None)
        while utc.astimezone(tz).replace(tzinfo=None) < after:
            utc += timedelta(minutes=1)
    return utc.replace(tzinfo=None)


def scheduled_at(timing: Timing, reference: datetime, now: datetime, zone: str | None, default_zone: str = "UTC") -> datetime:
    """When the event runs (naive UTC): never before ``now`` or before what its timing asks for."""
    if timing.mode == "date":
        return max(timing.date or now, now) if (timing.date is None or not is_due(timing.date, now)) else now
    base = after(reference, timing.interval, timing.unit) if timing.mode == "interval" else reference
    if is_due(base, now):
        base = now
    if not timing.restricted:
        return base
    tz = zone_of(zone, default_zone)
    local = base.replace(tzinfo=UTC).astimezone(tz)
    start, stop = timing.window_start, timing.window_stop
    if start and stop and start > stop:
        start, stop = stop, start
    day, at = local.date(), local.time().replace(second=0, microsecond=0)
    if timing.hour:
        at = timing.hour
        if _local_to_utc(day, at, tz) < _minute(base):
            day += timedelta(days=1)
    elif start and stop and start != stop:
        if at < start:
            at = start
        elif at >= stop:
            day, at = day + timedelta(days=1), start
    if timing.weekdays:
        moved = False
        while (day.isoweekday() % 7) not in timing.weekdays:
            day += timedelta(days=1)
            moved = True
        if moved and not timing.hour and start and stop and start != stop:
            at = start
    out = _local_to_utc(day, at, tz)
    if out < _minute(base):  # the local time was before the base minute (seconds, a DST gap): never earlier than asked
        out = base
    return out
