"""When campaign events run: Mautic's own scheduling tests ported, the daylight-saving cases spelled out, and
properties checked over random times, zones, hours, windows and days (clock changes included)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from mautic_app.domain.campaign_schedule import Timing, after, is_due, next_retry, scheduled_at

UTC = ZoneInfo("UTC")
NEW_YORK = "America/New_York"
ZONES = ("UTC", NEW_YORK, "Europe/London", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham",
         "America/Sao_Paulo")
MINUTE = timedelta(minutes=1)


def at(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, as the engine passes them


def clock(text: str) -> time:
    return time.fromisoformat(text)


def wall(moment: datetime, zone: str) -> datetime:
    """``moment`` (naive UTC) on the contact's clock, naive."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def skipped(day: date, when: time, zone: str) -> bool:
    """The clocks jump over ``when`` on ``day`` (spring forward)."""
    local = datetime.combine(day, when)
    return wall(local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None), zone) != local


def just_after_the_gap(out: datetime, day: date, when: time, zone: str) -> bool:
    """``out`` is the first minute after a gap that swallowed ``when``."""
    return skipped(day, when, zone) and wall(out - MINUTE, zone) < datetime.combine(day, when) < wall(out, zone)


# ------------------------------------------------------------------ Mautic's tests (IntervalTest, EventSchedulerTest)

# Mautic's IntervalTest::provideBatchReschedulingData: (expected on the contact's clock, scheduled (UTC), contact zone,
# hour, window start, window stop, days). Its default zone is New York; a window needs both ends.
MAUTIC_BATCH = {
    "on specified hour": ("2018-10-18 16:00", "2018-10-18 16:00", "UTC", "16:00", None, None, ()),
    "on start time": ("2018-10-19 10:00", "2018-10-19 10:00", "UTC", None, "10:00", None, ()),
    "on before start time": ("2018-10-19 08:00", "2018-10-19 08:00", "UTC", None, "10:00", None, ()),
    "on after start time": ("2018-10-19 12:00", "2018-10-19 12:00", "UTC", None, "10:00", None, ()),
    "on end time": ("2018-10-19 10:00", "2018-10-19 10:00", "UTC", None, None, "10:00", ()),
    "on after end time": ("2018-10-19 12:00", "2018-10-19 12:00", "UTC", None, None, "10:00", ()),
    "in time range": ("2018-10-20 08:00", "2018-10-19 10:00", "UTC", None, "08:00", "10:00", ()),
    "on before time range": ("2018-10-19 10:00", "2018-10-19 10:00", "UTC", None, "10:00", "11:00", ()),
    "on after end time range": ("2018-10-20 08:00", "2018-10-19 12:00", "UTC", None, "08:00", "10:00", ()),
    "on after end time range next day": ("2018-10-21 08:00", "2018-10-20 12:00", "UTC", None, "08:00", "10:00", ()),
    "on allowed day": ("2018-10-21 08:00", "2018-10-21 08:00", "UTC", None, None, None, (0,)),
    "on restricted days": ("2018-10-24 08:00", "2018-10-21 08:00", "UTC", None, None, None, (3, 5)),
    "on all restricted days": ("2018-10-21 08:00", "2018-10-21 08:00", "UTC", None, None, None, ()),
    "in between wrong start/end time order": ("2018-10-20 08:00", "2018-10-19 10:00", "UTC", None, "10:00", "08:00", ()),
    "combination of rules": ("2018-10-26 08:00", "2018-10-20 12:00", "UTC", None, "08:00", "10:00", (5, 6)),
    "valid timezone": ("2018-10-19 08:00", "2018-10-19 09:00", NEW_YORK, None, "08:00", "10:00", ()),
    "invalid timezone": ("2018-10-19 09:00", "2018-10-19 13:00", "UTC2", None, "08:00", "10:00", ()),
}


@pytest.mark.parametrize("case", MAUTIC_BATCH.values(), ids=MAUTIC_BATCH.keys())
def test_mautics_batch_rescheduling(case):
    expected, scheduled, zone, hour, start, stop, days = case
    t = Timing(hour=hour and clock(hour), window_start=start and clock(start), window_stop=stop and clock(stop), weekdays=days)
    when = datetime.fromisoformat(scheduled)
    out = scheduled_at(t, when, when, zone, default_zone=NEW_YORK)
    assert wall(out, NEW_YORK if zone == "UTC2" else zone) == datetime.fromisoformat(expected)


def test_hour_16_makes_any_scheduled_date_16_that_day():
    t = Timing(mode="interval", interval=1, unit="d", hour=clock("16:00"))
    assert scheduled_at(t, at(2018, 10, 17, 9), at(2018, 10, 17, 9), None) == at(2018, 10, 18, 16)
    assert scheduled_at(t, at(2018, 10, 17, 21), at(2018, 10, 17, 21), None) == at(2018, 10, 18, 16)  # that day, not the next


@pytest.mark.parametrize("now", [at(2018, 10, 19, 10), at(2018, 10, 19, 12)])
def test_window_8_to_10_moves_10_or_12_to_the_next_day_at_8(now):
    t = Timing(window_start=clock("08:00"), window_stop=clock("10:00"))
    assert scheduled_at(t, now, now, None) == at(2018, 10, 20, 8)


def test_sunday_with_wednesday_and_friday_allowed_moves_to_wednesday():
    t = Timing(weekdays=(3, 5))
    assert scheduled_at(t, at(2018, 10, 21, 8), at(2018, 10, 21, 8), None) == at(2018, 10, 24, 8)


def test_saturday_noon_with_window_8_to_10_on_friday_and_saturday_moves_to_friday_8():
    t = Timing(window_start=clock("08:00"), window_stop=clock("10:00"), weekdays=(5, 6))
    assert scheduled_at(t, at(2018, 10, 20, 12), at(2018, 10, 20, 12), None) == at(2018, 10, 26, 8)


def test_a_contact_in_new_york_is_scheduled_in_new_york_time():
    t = Timing(hour=clock("09:00"))
    assert scheduled_at(t, at(2018, 10, 20, 6), at(2018, 10, 20, 6), NEW_YORK) == at(2018, 10, 20, 13)  # EDT, UTC-4
    assert scheduled_at(t, at(2018, 12, 20, 6), at(2018, 12, 20, 6), NEW_YORK) == at(2018, 12, 20, 14)  # EST, UTC-5
    assert scheduled_at(t, at(2018, 12, 20, 6), at(2018, 12, 20, 6), None) == at(2018, 12, 20, 9)


def test_mautics_contacts_grouped_by_zone_with_a_passed_hour_wait_for_tomorrow():
    # Mautic's testContactsAreGrouped: 06:00 in Los Angeles is 13:00 UTC. Los Angeles contacts run at 06:00 there;
    # for the others 06:00 has passed, and where Mautic runs them right away the spec says tomorrow at 06:00.
    t, when = Timing(hour=clock("06:00")), at(2018, 10, 18, 13)
    assert wall(scheduled_at(t, when, when, "America/Los_Angeles"), "America/Los_Angeles") == at(2018, 10, 18, 6)
    assert wall(scheduled_at(t, when, when, "America/North_Dakota/Center"), "America/North_Dakota/Center") == at(2018, 10, 19, 6)
    for zone in ("", "Bad/Timezone", None):
        assert wall(scheduled_at(t, when, when, zone, NEW_YORK), NEW_YORK) == at(2018, 10, 19, 6)


def test_mautics_window_across_the_autumn_clock_change():
    # testExecutionDateIsValidatedAsExpectedWithStartHourAndDaylightSavingsTimeChange: 15 days after, 08:00-20:00 in New York.
    t = Timing(mode="interval", interval=15, unit="d", window_start=clock("08:00"), window_stop=clock("20:00"))
    assert scheduled_at(t, at(2021, 10, 24, 17), at(2021, 11, 8, 17), NEW_YORK) == at(2021, 11, 8, 17)


def test_mautics_hour_equal_to_now():
    now = at(2026, 5, 5, 10, 17, 40)
    assert scheduled_at(Timing(mode="interval", interval=1, unit="d", hour=clock("10:17")), now, now, "UTC") == at(2026, 5, 6, 10, 17)
    assert scheduled_at(Timing(mode="interval", interval=0, unit="i", hour=clock("10:17")), now, now, "UTC") == at(2026, 5, 5, 10, 17)


def test_seconds_are_ignored_when_comparing():
    assert is_due(at(2018, 10, 18, 9, 20, 45), at(2018, 10, 18, 9, 20, 30))
    assert not is_due(at(2018, 10, 18, 9, 21, 45), at(2018, 10, 18, 9, 20, 30))
    assert not is_due(at(2018, 10, 18, 9, 21), at(2018, 10, 18, 9, 20, 59, 999999))


# ------------------------------------------------------------------ waits and dates


def test_a_wait_counts_from_the_reference_and_an_overdue_one_runs_now():
    ref = at(2026, 1, 31, 10)
    assert scheduled_at(Timing(mode="interval", interval=90, unit="i"), ref, ref, None) == at(2026, 1, 31, 11, 30)
    assert scheduled_at(Timing(mode="interval", interval=3, unit="h"), ref, ref, None) == at(2026, 1, 31, 13)
    assert scheduled_at(Timing(mode="interval", interval=2, unit="d"), ref, ref, None) == at(2026, 2, 2, 10)
    assert scheduled_at(Timing(mode="interval", interval=1, unit="m"), ref, ref, None) == at(2026, 2, 28, 10)
    late = ref + timedelta(hours=5, seconds=12)
    assert scheduled_at(Timing(mode="interval", interval=1, unit="h"), ref, late, None) == late
    # the same minute as now is now, seconds ignored
    assert scheduled_at(Timing(mode="interval", interval=45, unit="i"), at(2026, 1, 1, 9, 0, 45), at(2026, 1, 1, 9, 45, 30), None) \
        == at(2026, 1, 1, 9, 45, 30)


@pytest.mark.parametrize(("start", "count", "unit", "expected"), [
    (at(2026, 1, 31), 1, "m", at(2026, 2, 28)),
    (at(2024, 1, 31), 1, "m", at(2024, 2, 29)),
    (at(2026, 3, 31), 1, "m", at(2026, 4, 30)),
    (at(2026, 12, 15, 8), 1, "m", at(2027, 1, 15, 8)),
    (at(2026, 1, 31), 13, "m", at(2027, 2, 28)),
    (at(2024, 2, 29), 1, "y", at(2025, 2, 28)),
    (at(2024, 2, 29), 4, "y", at(2028, 2, 29)),
    (at(2026, 3, 31), -1, "m", at(2026, 2, 28)),
])
def test_months_and_years_go_by_the_calendar(start, count, unit, expected):
    assert after(start, count, unit) == expected


def test_immediate_runs_now_whatever_the_reference():
    assert scheduled_at(Timing(), at(2030, 1, 1), at(2026, 1, 1, 9, 30, 5), None) == at(2026, 1, 1, 9, 30, 5)
    assert scheduled_at(Timing(), at(2020, 1, 1), at(2026, 1, 1, 9, 30, 5), None) == at(2026, 1, 1, 9, 30, 5)


def test_a_date_is_that_date_or_now_when_overdue_and_ignores_restrictions_and_zones():
    t = Timing(mode="date", date=at(2026, 3, 1, 9), hour=clock("16:00"), weekdays=(3,))
    assert not t.restricted
    assert scheduled_at(t, at(2026, 1, 1), at(2026, 1, 1), "Pacific/Chatham") == at(2026, 3, 1, 9)
    assert scheduled_at(t, at(2026, 1, 1), at(2026, 4, 1, 7, 5), NEW_YORK) == at(2026, 4, 1, 7, 5)
    almost = Timing(mode="date", date=at(2026, 3, 1, 9, 20, 45))
    assert scheduled_at(almost, at(2026, 1, 1), at(2026, 3, 1, 9, 20, 30), None) == at(2026, 3, 1, 9, 20, 30)
    assert scheduled_at(Timing(mode="date"), at(2026, 1, 1), at(2026, 2, 2), None) == at(2026, 2, 2)


def test_a_failed_action_is_retried_after_a_wait():
    assert next_retry(at(2026, 1, 1, 9)) == at(2026, 1, 1, 10)
    assert next_retry(at(2026, 1, 1, 9), timedelta(minutes=15)) == at(2026, 1, 1, 9, 15)


# ------------------------------------------------------------------ the contact's clock


@pytest.mark.parametrize("zone", [None, "", "  ", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "zone.tab", "America"])
def test_a_missing_or_unknown_zone_is_the_default(zone):
    t, now = Timing(hour=clock("09:00")), at(2026, 12, 20, 6)
    assert scheduled_at(t, now, now, zone, NEW_YORK) == at(2026, 12, 20, 14)
    assert scheduled_at(t, now, now, zone, "Nowhere/Else") == at(2026, 12, 20, 9)  # and an unknown default is UTC


def test_a_window_keeps_times_inside_it_and_moves_early_ones_to_its_start():
    t = Timing(window_start=clock("08:00"), window_stop=clock("10:00"))
    assert scheduled_at(t, at(2018, 10, 18, 6), at(2018, 10, 18, 6), None) == at(2018, 10, 18, 8)
    assert scheduled_at(t, at(2018, 10, 18, 9, 15), at(2018, 10, 18, 9, 15), None) == at(2018, 10, 18, 9, 15)


def test_an_empty_window_is_that_very_time():
    t = Timing(window_start=clock("10:00"), window_stop=clock("10:00"))
    assert scheduled_at(t, at(2018, 10, 18, 9), at(2018, 10, 18, 9), None) == at(2018, 10, 18, 10)
    assert scheduled_at(t, at(2018, 10, 18, 11), at(2018, 10, 18, 11), None) == at(2018, 10, 19, 10)
    assert t.describe() == "At 10:00"


def test_a_window_with_one_end_is_no_window():
    t = Timing(window_start=clock("08:00"))
    assert not t.restricted
    assert scheduled_at(t, at(2018, 10, 18, 12), at(2018, 10, 18, 12), None) == at(2018, 10, 18, 12)


def test_a_day_moved_for_the_weekdays_keeps_its_time_of_day():
    t = Timing(window_start=clock("08:00"), window_stop=clock("10:00"), weekdays=(3,))
    assert scheduled_at(t, at(2018, 10, 21, 9, 30), at(2018, 10, 21, 9, 30), None) == at(2018, 10, 24, 9, 30)


def test_a_passed_hour_on_a_day_not_allowed_goes_to_the_next_allowed_day_at_that_hour():
    t = Timing(hour=clock("16:00"), weekdays=(1,))
    assert scheduled_at(t, at(2018, 10, 20, 17), at(2018, 10, 20, 17), None) == at(2018, 10, 22, 16)


def test_a_daily_send_at_nine_stays_at_nine_across_the_clock_change():
    # Sent at 09:00 EST on Saturday; "1 day after, at 09:00" is 09:00 EDT on Sunday, 23 hours later.
    t = Timing(mode="interval", interval=1, unit="d", hour=clock("09:00"))
    assert scheduled_at(t, at(2026, 3, 7, 14), at(2026, 3, 7, 14), NEW_YORK) == at(2026, 3, 8, 13)
    # and the event before running a few minutes late does not push it a day
    assert scheduled_at(t, at(2026, 3, 7, 14, 7), at(2026, 3, 7, 14, 7), NEW_YORK) == at(2026, 3, 8, 13)


@pytest.mark.parametrize(("zone", "reference", "hour", "expected"), [
    (NEW_YORK, at(2026, 3, 8, 5), "02:30", at(2026, 3, 8, 7)),  # 02:00 → 03:00 EDT
    ("Europe/Berlin", at(2026, 3, 28, 23, 30), "02:30", at(2026, 3, 29, 1)),  # 02:00 → 03:00 CEST
    ("Australia/Lord_Howe", at(2026, 10, 3, 12), "02:15", at(2026, 10, 3, 15, 30)),  # 02:00 → 02:30, half an hour
    ("Pacific/Chatham", at(2026, 9, 26, 12), "03:00", at(2026, 9, 26, 14)),  # 02:45 → 03:45
    ("America/Sao_Paulo", at(2018, 11, 3, 12), "00:00", at(2018, 11, 4, 3)),  # midnight skipped: 00:00 → 01:00
])
def test_an_hour_the_clocks_skip_is_the_first_instant_after_the_gap(zone, reference, hour, expected):
    assert scheduled_at(Timing(hour=clock(hour)), reference, reference, zone) == expected


def test_an_hour_the_clocks_repeat_is_its_first_occurrence_unless_that_has_passed():
    t = Timing(hour=clock("01:30"))  # New York, 2026-11-01: 01:00-02:00 happens at 05:00-06:00 and 06:00-07:00 UTC
    assert scheduled_at(t, at(2026, 11, 1, 4), at(2026, 11, 1, 4), NEW_YORK) == at(2026, 11, 1, 5, 30)
    assert scheduled_at(t, at(2026, 11, 1, 5, 45), at(2026, 11, 1, 5, 45), NEW_YORK) == at(2026, 11, 1, 6, 30)
    assert scheduled_at(t, at(2026, 11, 1, 6, 45), at(2026, 11, 1, 6, 45), NEW_YORK) == at(2026, 11, 2, 6, 30)


def test_a_window_in_the_repeated_hour_is_never_earlier_than_asked():
    t = Timing(window_start=clock("01:55"), window_stop=clock("03:00"))
    # 06:50 UTC is 01:50 EST, the second time round: the window opens at 01:55 EST, not at 01:55 EDT an hour before.
    assert scheduled_at(t, at(2026, 11, 1, 6, 50), at(2026, 11, 1, 6, 50), NEW_YORK) == at(2026, 11, 1, 6, 55)
    inside = Timing(window_start=clock("01:00"), window_stop=clock("02:00"))
    assert scheduled_at(inside, at(2026, 11, 1, 6, 20), at(2026, 11, 1, 6, 20), NEW_YORK) == at(2026, 11, 1, 6, 20)


# ------------------------------------------------------------------ Mautic's keys and the canvas text


def test_timing_from_mautics_keys():
    t = Timing.from_mautic({"triggerMode": "interval", "triggerInterval": "2", "triggerIntervalUnit": "H", "triggerHour": "16:00",
                            "triggerRestrictedStartHour": "1970-01-01T08:00:00+00:00", "triggerRestrictedStopHour": "9:30:00",
                            "triggerRestrictedDaysOfWeek": ["3", 1, "junk", 9, 1]})
    assert t == Timing(mode="interval", interval=2, unit="h", hour=clock("16:00"), window_start=clock("08:00"),
                       window_stop=clock("09:30"), weekdays=(1, 3))
    assert Timing.from_mautic({"triggerMode": "date", "triggerDate": "2026-12-24T10:00:00+01:00"}).date == at(2026, 12, 24, 9)
    assert Timing.from_mautic({"triggerMode": "date", "triggerDate": "2026-12-24 09:00"}).date == at(2026, 12, 24, 9)


@pytest.mark.parametrize("junk", [
    {}, {"triggerMode": None, "triggerInterval": None, "triggerIntervalUnit": None, "triggerDate": None, "triggerHour": None},
    {"triggerMode": "", "triggerInterval": "", "triggerIntervalUnit": "", "triggerHour": "", "triggerRestrictedDaysOfWeek": ""},
    {"triggerInterval": "soon", "triggerDate": "tomorrow", "triggerHour": "25:00", "triggerRestrictedStartHour": "noon",
     "triggerRestrictedStopHour": "12:75", "triggerRestrictedDaysOfWeek": "Mon"},
    {"triggerInterval": "nan", "triggerDate": "0001-01-01T00:00:00+05:00", "triggerHour": 16, "triggerRestrictedDaysOfWeek": 42},
    {"triggerInterval": [1], "triggerDate": {"date": "2026"}, "triggerHour": ["16:00"], "triggerRestrictedDaysOfWeek": {"a": None}},
    {"triggerInterval": True, "triggerRestrictedDaysOfWeek": [None, "", "-1", "7 days"]},
])
def test_junk_falls_back_to_the_defaults(junk):
    assert Timing.from_mautic(junk) == Timing()


def test_lenient_but_not_careless():
    assert Timing.from_mautic({"triggerInterval": "2.0"}).interval == 2
    assert Timing.from_mautic({"triggerInterval": "1.5"}).interval == 1  # cut, as PHP's (int) does
    assert Timing.from_mautic({"triggerInterval": "-3"}).interval == -3  # kept for validation to name
    assert Timing.from_mautic({"triggerRestrictedDaysOfWeek": {"1": 3, "2": 5}}).weekdays == (3, 5)  # a PHP array as object
    assert Timing.from_mautic({"triggerRestrictedDaysOfWeek": "0, 6"}).weekdays == (0, 6)
    assert Timing.from_mautic({"triggerRestrictedDaysOfWeek": [7, 0]}).weekdays == (0, 1, 2, 3, 4, 5)  # Mautic's "weekdays" box
    assert Timing(weekdays=(5, 3, 3)) == Timing(weekdays=(3, 5))


@pytest.mark.parametrize(("props", "message"), [
    ({"triggerMode": "sometimes"}, "Unknown timing 'sometimes'"),
    ({"triggerMode": "optimized"}, "Unknown timing"),
    ({"triggerMode": "interval", "triggerIntervalUnit": "s"}, "Unknown unit of time 's'"),
])
def test_an_unknown_mode_or_unit_is_refused(props, message):
    with pytest.raises(ValueError, match=message):
        Timing.from_mautic(props)


def test_timing_to_mautics_keys():
    t = Timing(mode="date", date=at(2026, 12, 24, 9), hour=clock("16:05"), window_start=clock("08:00"), window_stop=clock("10:00"),
               weekdays=(1, 3))
    assert t.to_mautic() == {"triggerMode": "date", "triggerInterval": 0, "triggerIntervalUnit": "d",
                             "triggerDate": "2026-12-24T09:00:00+00:00", "triggerHour": "16:05", "triggerRestrictedStartHour": "08:00",
                             "triggerRestrictedStopHour": "10:00", "triggerRestrictedDaysOfWeek": [1, 3]}
    assert Timing().to_mautic()["triggerHour"] is None and Timing().to_mautic()["triggerDate"] is None


@pytest.mark.parametrize(("timing", "text"), [
    (Timing(), "Immediately"),
    (Timing(mode="interval", interval=0), "Immediately"),
    (Timing(mode="interval", interval=1, unit="d"), "1 day after"),
    (Timing(mode="interval", interval=90, unit="i"), "90 minutes after"),
    (Timing(mode="interval", interval=1, unit="m"), "1 month after"),
    (Timing(mode="interval", interval=2, unit="y"), "2 years after"),
    (Timing(mode="date", date=at(2026, 12, 24, 9)), "At 2026-12-24 09:00 UTC"),
    (Timing(mode="date", date=at(2026, 12, 24, 9), hour=clock("16:00")), "At 2026-12-24 09:00 UTC"),
    (Timing(mode="date"), "At a date not chosen yet"),
    (Timing(mode="interval", interval=3, unit="h", hour=clock("16:00")), "3 hours after, at 16:00"),
    (Timing(mode="interval", interval=2, unit="d", window_start=clock("10:00"), window_stop=clock("08:00"), weekdays=(3, 1)),
     "2 days after, between 08:00 and 10:00, on Mon, Wed"),
    (Timing(hour=clock("09:00"), window_start=clock("08:00"), window_stop=clock("10:00")), "At 09:00"),
    (Timing(weekdays=(1, 2, 3, 4, 5)), "On weekdays"),
    (Timing(window_start=clock("08:00"), window_stop=clock("18:00"), weekdays=(0, 6)), "Between 08:00 and 18:00, on Sun, Sat"),
])
def test_describe(timing, text):
    assert timing.describe() == text


# ------------------------------------------------------------------ properties


def _switches(zone: str, year: int) -> list[datetime]:
    """The minutes (naive UTC) the zone's clocks change in ``year``: day by day, then hour by hour, then by the minute."""
    def offset(moment: datetime) -> timedelta | None:
        return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).utcoffset()

    found = []
    for day in (datetime(year, 1, 1) + timedelta(days=n) for n in range(366)):
        if offset(day) != offset(day + timedelta(days=1)):
            hour = next(day + timedelta(hours=h) for h in range(24) if offset(day + timedelta(hours=h)) != offset(day + timedelta(hours=h + 1)))
            found.append(next(hour + MINUTE * m for m in range(1, 61) if offset(hour + MINUTE * m) != offset(hour)))
    return found


SWITCHES = sorted({s for zone in ZONES for year in (2018, 2026, 2039) for s in _switches(zone, year)})


def test_the_clock_changes_under_test_are_real():
    assert {at(2026, 3, 8, 7), at(2026, 11, 1, 6), at(2026, 3, 29, 1), at(2026, 10, 25, 1), at(2026, 10, 3, 15, 30),
            at(2018, 11, 4, 3)} <= set(SWITCHES)


def _reference() -> st.SearchStrategy[datetime]:
    """Any time from 2000 to 2040, or one in the three days before (or the day after) a clock change."""
    near_a_switch = st.sampled_from(SWITCHES).flatmap(
        lambda s: st.integers(-3 * 24 * 60, 24 * 60).map(lambda m: s + MINUTE * m)).flatmap(
        lambda d: st.integers(0, 59).map(lambda sec: d.replace(second=sec)))
    return st.one_of(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)), near_a_switch)


WAITS = {"i": 3 * 24 * 60, "h": 72, "d": 10, "m": 14, "y": 2}
UNIT_NAMES = {"i": "minutes", "h": "hours", "d": "days", "m": "months", "y": "years"}
waits = st.sampled_from(sorted(WAITS)).flatmap(lambda u: st.tuples(st.just(u), st.integers(0, WAITS[u])))
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
restrictions = st.fixed_dictionaries({
    "hour": st.one_of(st.none(), clock_times),
    "window": st.one_of(st.none(), st.tuples(clock_times, clock_times)),  # reversed and empty ones too
    "weekdays": st.sets(st.integers(0, 6), max_size=7).map(lambda d: tuple(sorted(d))),
})


def _timing(mode: str, wait: tuple[str, int], r: dict) -> Timing:
    start, stop = r["window"] or (None, None)
    return Timing(mode=mode, unit=wait[0], interval=wait[1], hour=r["hour"], window_start=start, window_stop=stop, weekdays=r["weekdays"])


def _wait_ends(t: Timing, reference: datetime, now: datetime) -> datetime:
    """The earliest the timing allows, to the minute, worked out with dateutil rather than the module's own arithmetic."""
    if t.mode == "immediate":
        return now.replace(second=0, microsecond=0)
    return max(reference + relativedelta(**{UNIT_NAMES[t.unit]: t.interval}), now).replace(second=0, microsecond=0)


@settings(max_examples=300, deadline=None)
@given(reference=_reference(), mode=st.sampled_from(["immediate", "interval"]), wait=waits, r=restrictions, zone=st.sampled_from(ZONES),
       late=st.integers(-60, 3 * 24 * 60))
def test_never_early_at_the_hour_inside_the_window_and_on_an_allowed_day(reference, mode, wait, r, zone, late):
    t = _timing(mode, wait, r)
    now = reference + MINUTE * late
    out = scheduled_at(t, reference, now, zone)
    required = _wait_ends(t, reference, now)
    local, start_of_day = wall(out, zone), wall(required, zone).replace(hour=0, minute=0)
    hour = r["hour"] or (r["window"][0] if r["window"] and r["window"][0] == r["window"][1] else None)
    if hour is not None:  # that hour on the wait's last day or later, never before now
        assert out >= now.replace(second=0, microsecond=0) and local >= start_of_day
        assert local.time() == hour or just_after_the_gap(out, local.date(), hour, zone)
    else:
        assert out >= required
        if r["window"]:
            low, high = sorted(r["window"])
            assert low <= local.time() < high or just_after_the_gap(out, local.date(), low, zone)
    if r["weekdays"]:
        assert local.isoweekday() % 7 in r["weekdays"]
    if not t.restricted:  # exactly when the wait ends, or now once it has
        ends = reference + relativedelta(**{UNIT_NAMES[t.unit]: t.interval}) if mode == "interval" else now
        assert out == (ends if ends.replace(second=0, microsecond=0) > now.replace(second=0, microsecond=0) else now)
    assert local - start_of_day < timedelta(days=8)  # and no later than needed: the first allowed day


@settings(max_examples=300, deadline=None)
@given(reference=_reference(), wait=waits, r=restrictions, zone=st.sampled_from(ZONES))
def test_a_scheduled_time_already_keeps_every_rule(reference, wait, r, zone):
    # Scheduling again from the time found changes nothing: it is the first allowed moment, not merely a later one.
    out = scheduled_at(_timing("interval", wait, r), reference, reference, zone)
    assert scheduled_at(_timing("immediate", wait, r), out, out, zone) == out


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)), wait=waits)
def test_after_agrees_with_dateutil(start, wait):
    unit, count = wait
    assert after(start, count, unit) == start + relativedelta(**{UNIT_NAMES[unit]: count})


@settings(max_examples=300, deadline=None)
@given(mode=st.sampled_from(["immediate", "interval", "date"]), wait=waits, r=restrictions,
       when=st.one_of(st.none(), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)).map(
           lambda d: d.replace(microsecond=0))))
def test_mautics_keys_round_trip(mode, wait, r, when):
    t = Timing(mode=mode, interval=wait[1], unit=wait[0], date=when, hour=r["hour"], window_start=(r["window"] or (None, None))[0],
               window_stop=(r["window"] or (None, None))[1], weekdays=r["weekdays"])
    assert Timing.from_mautic(t.to_mautic()) == t
    assert t.describe()


@settings(max_examples=300, deadline=None)
@given(props=st.dictionaries(st.sampled_from(["triggerInterval", "triggerDate", "triggerHour", "triggerRestrictedStartHour",
                                              "triggerRestrictedStopHour", "triggerRestrictedDaysOfWeek"]),
                             st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                                          max_leaves=8)))
def test_junk_never_raises(props):
    Timing.from_mautic(props).describe()
