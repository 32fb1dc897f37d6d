"""Numbers, dates and days in each user's locale and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mautic_app.domain import locale_format as lf


def test_numbers_and_rates_read_as_each_locale_writes_them():
    assert lf.number(1_000_300, "en_US") == "1,000,300"
    assert lf.number(1_000_300, "de_DE") == "1.000.300"
    assert lf.number(1_000_300, "fr_FR").replace("\u202f", " ") == "1 000 300"
    assert lf.rate(1, 8, "en_US") == "12.5%"
    assert lf.rate(0, 0, "en_US") == "0.0%"
    assert lf.number(5, "xx_NOPE") == "5"  # an unknown locale falls back to en_US
    assert lf.day(date(2026, 12, 4), "en_US") == "Dec 4, 2026"


def test_only_known_locales_and_zones_are_taken():
    assert lf.check_locale("fr_FR") is None and lf.check_locale("klingon") is not None
    assert lf.check_timezone("Europe/Paris") is None and lf.check_timezone("Mars/Olympus") is not None


def test_a_users_days_begin_at_their_midnight_dst_included():
    lo, hi = lf.day_bounds(date(2026, 3, 29), date(2026, 3, 29), "Europe/Paris")  # 23 hours long: clocks go forward
    assert (lo, hi) == (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))
    assert lf.local_today("Pacific/Auckland", datetime(2026, 12, 4, 20, tzinfo=UTC)) == date(2026, 12, 5)
    assert lf.local_day("2026-12-04 23:30:00.000000", "Europe/Paris") == "2026-12-05"
    assert lf.local_day("2026-12-04 23:30:00", "UTC") == "2026-12-04"
    assert lf.local_day(None, "UTC") is None


def test_a_moment_is_shown_in_the_users_zone_and_words():
    at = datetime(2026, 12, 5, 22, 49, 36, tzinfo=UTC)
    assert lf.moment(at, "en_US", "Europe/Paris").replace("\u202f", " ") == "Dec 5, 2026, 11:49:36 PM"
    assert lf.moment(at.replace(tzinfo=None), "de_DE", "UTC") == "05.12.2026, 22:49:36"


def test_a_locale_is_named_in_its_own_language():
    assert lf.locale_name("de_DE") == "Deutsch (Deutschland) · de_DE"
    assert lf.locale_name("nope") == "nope"
