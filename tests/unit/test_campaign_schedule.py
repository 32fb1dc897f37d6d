"""When campaign events run: Mautic's own scheduling tests, ported, and properties checked over random times, zones,
hours, windows and weekdays (DST changes included)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mautic_app.domain.campaign_schedule import Timing, after, is_due, scheduled_at

UTC = ZoneInfo("UTC")
ZONES = ("UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham",
         "America/Sao_Paulo")


def at(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, as the engine passes them


# ------------------------------------------------------------------ Mautic's tests


def test_an_hour_makes_the_scheduled_date_that_hour_of_that_day():
    t = Timing(mode="interval", interval=1, unit="d", hour=time(16))
    assert scheduled_at(t, at(2018, 10, 18, 9), at(2018, 10, 18, 9), None) == at(2018, 10, 19, 16)


@pytest.mark.parametrize("clock", [time(10), time(12)])
def test_a_time_at_or_after_the_window_moves_to_the_next_days_start(clock):
    t = Timing(window_start=time(8), window_stop=time(10))
    now = datetime.combine(datetime(2018, 10, 18).date(), clock)
    assert scheduled_at(t, now, now, None) == at(2018, 10, 19, 8)


def test_a_time_before_the_window_moves_to_its_start_and_inside_stays():
    t = Timing(window_start=time(8), window_stop=time(10))
    assert scheduled_at(t, at(2018, 10, 18, 6), at(2018, 10, 18, 6), None) == at(2018, 10, 18, 8)
    assert scheduled_at(t, at(2018, 10, 18, 9, 15), at(2018, 10, 18, 9, 15), None) == at(2018, 10, 18, 9, 15)


def test_a_reversed_window_is_swapped():
    t = Timing(window_start=time(10), window_stop=time(8))
    assert scheduled_at(t, at(2018, 10, 18, 12), at(2018, 10, 18, 12), None) == at(2018, 10, 19, 8)


def test_sunday_with_wednesday_and_friday_allowed_moves_to_wednesday():
    t = Timing(weekdays=(3, 5))
    assert scheduled_at(t, at(2018, 10, 21, 12), at(2018, 10, 21, 12), None) == at(2018, 10, 24, 12)


def test_saturday_noon_with_a_morning_window_and_friday_saturday_moves_to_friday_morning():
    t = Timing(window_start=time(8), window_stop=time(10), weekdays=(5, 6))
    assert scheduled_at(t, at(2018, 10, 20, 12), at(2018, 10, 20, 12), None) == at(2018, 10, 26, 8)


def test_a_contact_in_new_york_is_scheduled_in_new_york_time():
    t = Timing(hour=time(9))
    # 2018-10-20 06:00 UTC is 02:00 in New York (EDT, UTC-4): 09:00 there is 13:00 UTC the same day.
    assert scheduled_at(t, at(2018, 10, 20, 6), at(2018, 10, 20, 6), "America/New_York") == at(2018, 10, 20, 13)
    # In winter (EST, UTC-5) it is 14:00 UTC.
    assert scheduled_at(t, at(2018, 12, 20, 6), at(2018, 12, 20, 6), "America/New_York") == at(2018, 12, 20, 14)
    # No zone, or a zone that does not exist: the default zone.
    assert scheduled_at(t, at(2018, 12, 20, 6), at(2018, 12, 20, 6), "Mars/Olympus") == at(2018, 12, 20, 9)


def test_seconds_are_ignored_when_comparing():
    assert is_due(at(2018, 10, 18, 9, 20, 45), at(2018, 10, 18, 9, 20, 30))
    assert not is_due(at(2018, 10, 18, 9, 21, 45), at(2018, 10, 18, 9, 20, 30))


def test_intervals_and_dates():
    ref = at(2026, 1, 31, 10)
    assert scheduled_at(Timing(mode="interval", interval=1, unit="m"), ref, ref, None) == at(2026, 2, 28, 10)
    assert scheduled_at(Timing(mode="interval", interval=90, unit="i"), ref, ref, None) == at(2026, 1, 31, 11, 30)
    assert scheduled_at(Timing(mode="interval", interval=1, unit="y"), at(2024, 2, 29), at(2024, 2, 29), None) == at(2025, 2, 28)
    # Already past: now.
    assert scheduled_at(Timing(mode="interval", interval=1, unit="h"), ref, ref + timedelta(hours=5), None) == ref + timedelta(hours=5)
    assert scheduled_at(Timing(mode="date", date=at(2026, 3, 1, 9)), ref, ref, None) == at(2026, 3, 1, 9)
    assert scheduled_at(Timing(mode="date", date=at(2025, 3, 1, 9)), ref, ref, None) == ref  # overdue: now
    assert after(at(2026, 3, 31), 1, "m") == at(2026, 4, 30)


def test_timing_from_and_to_mauticss_keys():
    t = Timing.from_mautic({"triggerMode": "interval", "triggerInterval": "2", "triggerIntervalUnit": "h", "triggerHour": "16:00",
                            "triggerRestrictedDaysOfWeek": ["1", 3, "junk", 9]})
    assert (t.mode, t.interval, t.unit, t.hour, t.weekdays) == ("interval", 2, "h", time(16), (1, 3))
    assert Timing.from_mautic(t.to_mautic()) == t
    assert t.describe() == "2 hours after, at 16:00, on Mon, Wed"
    assert Timing.from_mautic({}).describe() == "Immediately"
    with pytest.raises(ValueError, match="Unknown timing"):
        Timing.from_mautic({"triggerMode": "sometimes"})


def test_a_time_the_clocks_skip_becomes_the_first_instant_after_the_gap():
    # 2026-03-08 02:30 does not exist in New York (02:00 → 03:00 EDT): it runs at 03:00 EDT, 07:00 UTC.
    t = Timing(hour=time(2, 30))
    assert scheduled_at(t, at(2026, 3, 8, 5), at(2026, 3, 8, 5), "America/New_York") == at(2026, 3, 8, 7)


# ------------------------------------------------------------------ properties


def _local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))
# Near the DST changes of the zones above, where mistakes hide.
switches = st.sampled_from([datetime(2026, 3, 8, 6), datetime(2026, 3, 29, 0), datetime(2026, 10, 25, 0), datetime(2026, 11, 1, 5),
                            datetime(2026, 4, 5, 14), datetime(2026, 9, 27, 13), datetime(2018, 11, 4, 6)]).flatmap(
    lambda d: st.integers(-36 * 60, 36 * 60).map(lambda m: d + timedelta(minutes=m)))
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@settings(max_examples=300, deadline=None)
@given(reference=st.one_of(times, switches), wait=st.integers(0, 60 * 24 * 10), zone=st.sampled_from(ZONES),
       hour=st.one_of(st.none(), clock_times), window=st.one_of(st.none(), st.tuples(clock_times, clock_times)),
       weekdays=st.sets(st.integers(0, 6), max_size=6), late=st.integers(0, 60 * 24 * 3))
def test_never_early_always_inside_the_window_and_on_an_allowed_day(reference, wait, zone, hour, window, weekdays, late):
    start, stop = window if window and window[0] != window[1] else (None, None)
    t = Timing(mode="interval", interval=wait, unit="i", hour=hour, window_start=start, window_stop=stop, weekdays=tuple(sorted(weekdays)))
    now = reference + timedelta(minutes=late)
    out = scheduled_at(t, reference, now, zone)
    required = max(reference + timedelta(minutes=wait), now).replace(second=0, microsecond=0)
    assert out >= required
    local = _local(out, zone)
    if weekdays:
        assert local.isoweekday() % 7 in weekdays
    if hour:
        # that time of day, or the first instant after it when the clocks skipped it
        after_gap = (datetime.combine(local.date(), hour) + timedelta(hours=1)).time()
        assert local.time() == hour or hour < local.time() <= after_gap
    elif start and stop:
        low, high = min(start, stop), max(start, stop)
        gap_end = (datetime.combine(local.date(), low) + timedelta(hours=1)).time()  # a start the clocks skipped: just after it
        assert low <= local.time() < max(high, gap_end)
    # and not later than needed: within eight days of what was asked
    assert out - required <= timedelta(days=8)


@settings(max_examples=200, deadline=None)
@given(reference=st.one_of(times, switches), zone=st.sampled_from(ZONES))
def test_an_unrestricted_event_ignores_the_zone(reference, zone):
    t = Timing(mode="interval", interval=3, unit="d")
    assert scheduled_at(t, reference, reference, zone) == scheduled_at(t, reference, reference, None) == reference + timedelta(days=3)
