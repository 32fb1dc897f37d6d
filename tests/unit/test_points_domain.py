"""Point rules: URL wildcards, visit conditions, id lists, thresholds, publish windows and property validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mautic_app.domain import points as rules


@dataclass
class Action:
    type: str
    properties: dict[str, Any] = field(default_factory=dict)


def url_action(**props) -> Action:
    return Action("url.hit", rules.validate_properties(rules.ACTION_TYPES["url.hit"], props))


@pytest.mark.parametrize(("pattern", "url", "expected"), [
    ("https://example.com/pricing", "https://example.com/pricing", True),
    ("https://example.com/pricing", "https://example.com/pricing/", False),
    ("https://example.com/pricing*", "https://example.com/pricing?plan=pro", True),
    ("https://example.com/pricing*", "https://example.com/about", False),
    ("*example.com/blog/*", "http://www.example.com/blog/post-1", True),
    ("*example.com/blog/*", "http://www.example.com/blogging", False),
    ("https://EXAMPLE.com/Pricing", "https://example.com/pricing", True),
    ("https://example.com/a?b=1", "https://example.com/aXb=1", False),  # ? is literal, not a wildcard
    ("https://example.com/[x]", "https://example.com/[x]", True),  # so are brackets
    ("https://example.com/a.b", "https://example.com/aXb", False),  # and dots
    ("*", "https://anything.example/", True),
    ("", "https://example.com/", False),
])
def test_url_wildcards(pattern, url, expected):
    assert rules.url_matches(pattern, url) is expected


def test_url_hit_visit_conditions():
    base = {"url": "https://example.com/pricing"}
    assert rules.matches(url_action(page_url="*pricing"), base | {"hits": 1, "seconds_since_last": None})
    assert not rules.matches(url_action(page_url="*pricing"), {"url": "https://example.com/about"})

    third_visit = url_action(page_url="*pricing", page_hits=3)
    assert not rules.matches(third_visit, base | {"hits": 2})
    assert rules.matches(third_visit, base | {"hits": 3})
    assert rules.matches(third_visit, base | {"hits": 7})

    within_hour = url_action(page_url="*pricing", returns_within=3600)
    assert not rules.matches(within_hour, base | {"hits": 1, "seconds_since_last": None})  # a first visit is no return
    assert rules.matches(within_hour, base | {"hits": 2, "seconds_since_last": 3600})
    assert not rules.matches(within_hour, base | {"hits": 2, "seconds_since_last": 3601})

    after_day = url_action(page_url="*pricing", returns_after=86400)
    assert not rules.matches(after_day, base | {"hits": 2, "seconds_since_last": 60})
    assert rules.matches(after_day, base | {"hits": 2, "seconds_since_last": 90000})
    assert not rules.matches(after_day, base | {"hits": 1, "seconds_since_last": None})


def test_id_list_actions_match_their_records_or_any():
    any_page = Action("page.hit", {"pages": []})
    some_pages = Action("page.hit", {"pages": [3, 5]})
    assert rules.matches(any_page, {"page_id": 9})
    assert rules.matches(some_pages, {"page_id": 5})
    assert not rules.matches(some_pages, {"page_id": 4})
    assert not rules.matches(some_pages, {})
    assert rules.matches(Action("form.submit", {"forms": [2]}), {"form_id": 2})
    assert not rules.matches(Action("email.open", {"emails": [1]}), {"email_id": 2})
    assert not rules.matches(Action("no.such.type"), {"url": "x"})


def test_url_hit_properties_are_validated():
    kind = rules.ACTION_TYPES["url.hit"]
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(kind, {})
    assert err.value.errors == {"page_url": "URL is required."}
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(kind, {"page_url": "x" * 3000, "page_hits": "two", "returns_within": 0, "returns_after": 1.5})
    assert set(err.value.errors) == {"page_url", "page_hits", "returns_within", "returns_after"}
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(kind, {"page_url": "https://a.example/\x00"})
    assert "control" in err.value.errors["page_url"]
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(kind, {"page_url": "*", "returns_within": 60, "returns_after": 120})
    assert set(err.value.errors) == {"returns_after"}
    clean = rules.validate_properties(kind, {"page_url": "  https://a.example/*  ", "page_hits": "3", "returns_within": 7200.0,
                                             "returns_after": "", "first_time": True, "evil": "<script>"})
    assert clean == {"page_url": "https://a.example/*", "page_hits": 3, "returns_within": 7200}


def test_id_and_tag_lists_are_validated():
    pages = rules.ACTION_TYPES["page.hit"]
    assert rules.validate_properties(pages, {"pages": "3, 5,3"}) == {"pages": [3, 5]}
    assert rules.validate_properties(pages, {"pages": [7, "8"]}) == {"pages": [7, 8]}
    assert rules.validate_properties(pages, {}) == {"pages": []}
    for bad in ("1; DROP TABLE", [-1], ["x"], [2**40], list(range(1, rules.MAX_IDS + 2))):
        with pytest.raises(rules.PointRuleError):
            rules.validate_properties(pages, {"pages": bad})

    tags = rules.TRIGGER_EVENT_TYPES["tags.modify"]
    assert rules.validate_properties(tags, {"add_tags": "hot, VIP ,hot", "remove_tags": ["cold"]}) == {
        "add_tags": ["hot", "VIP"], "remove_tags": ["cold"]}
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(tags, {})
    assert set(err.value.errors) == {"add_tags"}
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(tags, {"add_tags": ["hot"], "remove_tags": ["HOT"]})
    assert set(err.value.errors) == {"remove_tags"}
    with pytest.raises(rules.PointRuleError):
        rules.validate_properties(tags, {"add_tags": ["-sneaky"]})
    with pytest.raises(rules.PointRuleError):
        rules.validate_properties(tags, {"add_tags": ["x" * 192]})
    assert rules.tag_changes({"add_tags": ["hot"], "remove_tags": ["cold"]}) == ["hot", "-cold"]


def test_types_and_their_availability():
    assert rules.action_type("url.hit").key == "url.hit"
    assert rules.action_type("form.submit").available  # forms have landed
    for key in ("email.open", "email.click", "email.send"):
        assert rules.action_type(key).available  # e-mails have landed
    for key in ("asset.download",):
        assert not rules.ACTION_TYPES[key].available and rules.ACTION_TYPES[key].unavailable_reason
        with pytest.raises(rules.PointRuleError) as err:
            rules.action_type(key)
        assert "yet" in err.value.errors["type"]
    with pytest.raises(rules.PointRuleError):
        rules.action_type("<script>")
    assert rules.trigger_event_type("lead.changetags").key == "tags.modify"  # Mautic's name
    assert rules.trigger_event_type("lead.changelists").key == "segments.modify"  # segments have landed
    assert rules.trigger_event_type("email.send").available
    assert rules.labels(rules.TRIGGER_EVENT_TYPES) == {"tags.modify": "Modify tags", "segments.modify": "Modify segments",
                                                      "email.send": "Send an e-mail"}
    with pytest.raises(rules.PointRuleError) as err:
        rules.validate_properties(rules.TRIGGER_EVENT_TYPES["segments.modify"], {"add_to_segments": "1, two"})
    assert "ids" in err.value.errors["add_to_segments"]


def test_repeatable_versus_once():
    assert rules.scores_now(repeatable=False, scored_before=False)
    assert not rules.scores_now(repeatable=False, scored_before=True)
    assert rules.scores_now(repeatable=True, scored_before=False)
    assert rules.scores_now(repeatable=True, scored_before=True)


@pytest.mark.parametrize(("points", "group_id", "total", "scores", "expected"), [
    (10, None, 9, {}, False),
    (10, None, 10, {}, True),
    (10, None, 50, {1: 0}, True),
    (10, 1, 50, {1: 9}, False),  # a group trigger looks at the group's score only
    (10, 1, 0, {1: 10}, True),
    (0, 1, 100, {}, False),  # never scored in the group: never due
    (-5, None, -5, {}, True),
])
def test_thresholds(points, group_id, total, scores, expected):
    assert rules.threshold_reached(points=points, group_id=group_id, total=total, group_scores=scores) is expected


def test_publish_window():
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert rules.is_live(is_published=True, publish_up=None, publish_down=None, at=now)
    assert not rules.is_live(is_published=False, publish_up=None, publish_down=None, at=now)
    assert not rules.is_live(is_published=True, publish_up=now + hour, publish_down=None, at=now)
    assert rules.is_live(is_published=True, publish_up=now - hour, publish_down=now + hour, at=now)
    assert not rules.is_live(is_published=True, publish_up=None, publish_down=now, at=now)
    assert rules.is_live(is_published=True, publish_up=(now - hour).replace(tzinfo=None), publish_down=None, at=now)


def test_numbers_colours_and_dates():
    assert rules.parse_whole("-15", low=-100, high=100, what="Delta") == -15
    assert rules.parse_whole(4.0, low=0, high=10, what="Delta") == 4
    for bad in ("1.5", 1.5, True, "", "1e3", "99999999999999", 101):
        with pytest.raises(ValueError):
            rules.parse_whole(bad, low=-100, high=100, what="Delta")
    assert rules.normalize_color("FF8800") == "#ff8800"
    assert rules.normalize_color("#00aa11") == "#00aa11"
    assert rules.normalize_color("") == rules.DEFAULT_COLOR
    for bad in ("red", "#12345", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            rules.normalize_color(bad)
    assert rules.parse_when("2025-05-31 14:30") == datetime(2025, 5, 31, 14, 30, tzinfo=UTC)
    assert rules.parse_when("2025-05-31T14:30:00+02:00") == datetime(2025, 5, 31, 12, 30, tzinfo=UTC)
    assert rules.parse_when("") is None
    with pytest.raises(ValueError):
        rules.parse_when("next tuesday")


def test_summaries_say_what_a_rule_does():
    assert rules.summary(rules.ACTION_TYPES, "url.hit", {"page_url": "*pricing", "page_hits": 2, "returns_within": 7200}) == (
        "Visits *pricing, from visit 2, back within 2 hours")
    assert rules.summary(rules.ACTION_TYPES, "page.hit", {"pages": [1, 2]}) == "Visits a landing page (landing pages 1, 2)"
    assert rules.summary(rules.ACTION_TYPES, "page.hit", {"pages": []}) == "Visits a landing page"
    assert rules.summary(rules.TRIGGER_EVENT_TYPES, "tags.modify", {"add_tags": ["hot"], "remove_tags": ["cold"]}) == (
        "Tags: add hot; remove cold")
