"""Segment filters: operators per type, values, relative dates and filter checks (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mautic_app.domain import segments as rules

WED = date(2026, 11, 25)  # a Wednesday


def field(key="city", type_="text", source="contact"):
    return rules.FilterField(key, key.title(), "Contact", type_, source)


FIELDS = {f.key: f for f in (field(), field("points", "number"), field("colors", "multiselect"), field("birthday", "date"),
                             field("date_identified", "datetime"), field("active", "boolean"), field("owner_id", "id"),
                             field("tags", "tags", "tags"), field("country", "country"))}


def test_operators_follow_the_field_type():
    assert "startsWith" in rules.operators_for("text") and "gt" not in rules.operators_for("text")
    assert rules.operators_for("boolean") == ("=", "!=")
    assert set(rules.operators_for("multiselect")) == {"in", "!in", "empty", "!empty"}
    assert {"gt", "between", "like"} <= set(rules.operators_for("number"))
    assert "like" not in rules.operators_for("select") and "in" in rules.operators_for("country")


def test_mautic_value_building():
    assert rules.like_pattern("like", "Test string") == "%Test string%"
    assert rules.like_pattern("like", "Test% string") == "Test% string"  # a value with % is kept
    assert rules.like_pattern("startsWith", "50%") == "50\\%%"  # ours: matched literally
    assert rules.like_pattern("endsWith", "a_b") == "%a\\_b"
    assert rules.like_pattern("contains", "x") == "%x%"
    assert rules.check_regexp("Test \\s") == "Test \\s"
    assert rules.value_list("a|b| c") == ["a", "b", "c"]
    assert rules.value_list(["x", "", None]) == ["x"]


def test_filters_in_mautic_json_form_are_read():
    parsed = rules.parse_filters([
        {"glue": "and", "field": "city", "object": "lead", "type": "text", "operator": "startsWith", "properties": {"filter": "Prague"}},
        {"glue": "or", "field": "points", "operator": "gte", "filter": 20},
    ])
    assert parsed == [rules.SegmentFilter("city", "startsWith", "Prague", "and"), rules.SegmentFilter("points", "gte", 20, "or")]
    assert [len(g) for g in rules.groups(parsed)] == [1, 1]
    # The first glue is always "and"; AND binds tighter than OR.
    three = rules.parse_filters([{"glue": "or", "field": "city", "operator": "=", "value": "a"},
                                 {"glue": "and", "field": "city", "operator": "=", "value": "b"},
                                 {"glue": "or", "field": "city", "operator": "=", "value": "c"}])
    assert [[f.value for f in g] for g in rules.groups(three)] == [["a", "b"], ["c"]]


@pytest.mark.parametrize("raw, message", [
    ("nope", "must be a list"),
    ([{"field": "city", "operator": "drop table"}], "Unknown operator"),
    ([{"operator": "="}], "Choose a field"),
])
def test_malformed_filters_are_refused(raw, message):
    with pytest.raises(rules.FilterError, match=message):
        rules.parse_filters(raw)


def test_checks_say_what_to_fix():
    problems = rules.check([
        rules.SegmentFilter("nosuch", "=", "x"),
        rules.SegmentFilter("active", "like", "x"),
        rules.SegmentFilter("points", "gte", "lots"),
        rules.SegmentFilter("city", "regexp", "(unclosed"),
        rules.SegmentFilter("city", "regexp", "a" * 300),
        rules.SegmentFilter("birthday", "=", "someday"),
        rules.SegmentFilter("city", "in", []),
        rules.SegmentFilter("points", "between", [1]),
        rules.SegmentFilter("city", "=", ""),
        rules.SegmentFilter("city", "empty", None),
        rules.SegmentFilter("tags", "in", ["vip"]),
    ], FIELDS)
    assert [i for i, _ in problems] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert "Unknown field" in problems[0][1] and "cannot use" in problems[1][1]
    assert "regular expression" in problems[3][1] and "255" in problems[4][1]


@pytest.mark.parametrize("value, expected", [
    ("today", (date(2026, 11, 25), date(2026, 11, 26))),
    ("tomorrow", (date(2026, 11, 26), date(2026, 11, 27))),
    ("yesterday", (date(2026, 11, 24), date(2026, 11, 25))),
    ("last week", (date(2026, 11, 16), date(2026, 11, 23))),
    ("this week", (date(2026, 11, 23), date(2026, 11, 30))),
    ("next month", (date(2026, 12, 1), date(2027, 1, 1))),
    ("last year", (date(2025, 1, 1), date(2026, 1, 1))),
    ("+5 days", (date(2026, 11, 30), date(2026, 12, 1))),
    ("-4 days", (date(2026, 11, 21), date(2026, 11, 22))),
    ("3 months ago", (date(2026, 8, 25), date(2026, 8, 26))),
    ("+1 month", (date(2026, 12, 25), date(2026, 12, 26))),
    ("first day of next month", (date(2026, 12, 1), date(2026, 12, 2))),
    ("last day of last month", (date(2026, 10, 31), date(2026, 11, 1))),
    ("2026-02-03", (date(2026, 2, 3), date(2026, 2, 4))),
    ("anniversary", "anniversary"),
    ("2026-02-30", None),
    ("sometime", None),
])
def test_relative_dates(value, expected):
    assert rules.resolve_date(value, WED) == expected


def test_month_arithmetic_keeps_to_the_month_end():
    assert rules.resolve_date("+1 month", date(2026, 1, 31)) == (date(2026, 2, 28), date(2026, 3, 1))
    assert rules.resolve_date("2026-03-04T10:00:00", WED) == datetime(2026, 3, 4, 10, tzinfo=UTC)


# ---------------------------------------------------------------- regular expressions (security)
# A regexp filter used to run Python's backtracking engine per row on SQLite: a crafted pattern or
# value could stall the server. Patterns now run on RE2, and only those it can run are saved.


@pytest.mark.parametrize("pattern, message", [
    ("(a)\\1", "Backreferences"),
    ("(?P<x>a)(?P=x)", "Backreferences"),
    ("foo(?=bar)", "Lookarounds"),
    ("foo(?!bar)", "Lookarounds"),
    ("(?<=a)b", "Lookarounds"),
    ("(?<!a)b", "Lookarounds"),
    ("a{1001}", "too complex"),
    ("((a{100}){100}){100}", "too complex"),
    ("a{256}", "at most 255"),
    ("a{1,300}", "at most 255"),
    ("(?i)abc", "feature the database"),
    ("\\pL", "feature the database"),
    ("(unclosed", "Not a valid regular expression: missing \\)"),
    ("", "Enter a regular expression"),
])
def test_patterns_that_cannot_run_in_linear_time_everywhere_are_refused(pattern, message):
    with pytest.raises(ValueError, match=message):
        rules.check_regexp(pattern)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)*b", "^[0-9]{3}-[0-9]{4}$", "(x+x+)+y", "a{2,255}", "\\\\1", "[[:alpha:]]+"])
def test_patterns_that_backtrack_elsewhere_are_kept(pattern):
    assert rules.check_regexp(pattern) == pattern


@pytest.mark.timeout(10)
def test_the_sqlite_function_runs_catastrophic_patterns_in_linear_time():
    value = "a" * (rules.MAX_MATCHED_VALUE - 1) + "!"  # Python's re would take longer than the universe's age
    assert rules.sql_regexp("(?i)(a+)+$", value) is False
    assert rules.sql_regexp("(?i)(a+)+$", value.upper()[:-1]) is True
    assert rules.sql_regexp("(?i)(x+x+)+y", "x" * 100_000) is False


def test_the_sqlite_function_reads_a_bounded_value_and_keeps_null():
    assert rules.sql_regexp("x", None) is None and rules.sql_regexp(None, "x") is None
    assert rules.sql_regexp("^1.5$", 1.5) is True and rules.sql_regexp("^b", b"bytes") is True
    huge = "a" * rules.MAX_MATCHED_VALUE + "needle"
    assert rules.sql_regexp("needle", huge) is False  # past what is read
    assert rules.sql_regexp("needle", huge[-rules.MAX_MATCHED_VALUE:]) is True
