"""Focus items' pure rules: what a marketer may save, when a visitor sees one, which pages load it,
and the script a site embeds (its size, and hostile texts kept inert)."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from mautic_app.domain import focus as rules

NOW = 1_700_000_000


def item(**changes) -> dict:
    base = {"name": "Spring sale", "type": "link", "style": "bar",
            "properties": {"placement": "top", "link_url": "https://shop.example/sale", "headline": "20% off"}}
    props = changes.pop("properties", {})
    return base | changes | {"properties": base["properties"] | props}


def errors_of(values: dict) -> dict[str, str]:
    with pytest.raises(rules.FocusError) as exc:
        rules.clean_item(values)
    return exc.value.errors


# ---------------------------------------------------------------- saving


def test_a_valid_item_is_normalised_with_defaults():
    clean = rules.clean_item(item(properties={"color_primary": "#AABBCC", "show_on": "https://a.test/*\n\n https://b.test/x "}))
    p = clean["properties"]
    assert clean["name"] == "Spring sale" and clean["type"] == "link" and clean["form_id"] is None
    assert p["placement"] == "top" and p["when"] == "immediately" and p["frequency"] == "everypage"
    assert p["colors"] == {"primary": "#aabbcc", "text": "#ffffff", "button": "#fdb933", "button_text": "#ffffff"}
    assert p["show_on"] == ["https://a.test/*", "https://b.test/x"]
    assert p["stop_after_conversion"] is True and p["link_new_window"] is True


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox", "//evil.example/x", "/relative", "https://", "ftp://files.example/x", "https://a b.example/",
    "java\tscript:alert(1)", "https://ok.example/\nSet-Cookie:x",
])
def test_links_must_be_http_or_https(link):
    assert "link_url" in errors_of(item(properties={"link_url": link}))
    assert rules.safe_link(link) == ""


def test_http_and_https_links_are_kept():
    for link in ("http://a.example/x?y=1#z", "https://a.example/"):
        assert rules.clean_item(item(properties={"link_url": link}))["properties"]["link_url"] == link


def test_a_link_item_needs_a_link_and_a_form_item_a_form():
    assert "link_url" in errors_of(item(properties={"link_url": ""}))
    assert "form_id" in errors_of(item(type="form"))
    assert rules.clean_item(item(type="form", form_id="4"))["form_id"] == 4
    assert rules.clean_item(item(type="notice", form_id=4))["form_id"] is None  # only forms keep a form


@pytest.mark.parametrize("style, placement", [
    ("bar", "middle"), ("bar", "top_left"), ("modal", "top_right"), ("notification", "top"), ("notification", "middle"),
    ("page", "top"),
])
def test_placements_that_do_not_fit_the_style_are_refused(style, placement):
    assert "placement" in errors_of(item(style=style, properties={"placement": placement}))


@pytest.mark.parametrize("style, placement", [
    ("bar", "bottom"), ("modal", "middle"), ("modal", "bottom"), ("notification", "bottom_right"), ("notification", "top-left"),
    ("page", "full"),
])
def test_placements_that_fit(style, placement):
    assert rules.clean_item(item(style=style, properties={"placement": placement}))["properties"]["placement"] == placement.replace("-", "_")


def test_unknown_type_style_trigger_frequency_are_refused():
    errors = errors_of(item(type="popup", style="banner", properties={"when": "never", "frequency": "weekly"}))
    assert {"type", "style", "when", "frequency"} <= set(errors)


@pytest.mark.parametrize("colour", ["red", "#fff", "#12345g", "#1234567", "url(x)", "#000;background:url(//e)", "1px solid"])
def test_colours_must_be_hex_rrggbb(colour):
    assert "color_primary" in errors_of(item(properties={"colors": {"primary": colour}}))


@pytest.mark.parametrize("timeout", ["-1", "abc", str(rules.MAX_TIMEOUT + 1), "1.5"])
def test_timeout_is_a_whole_number_of_seconds(timeout):
    assert "timeout" in errors_of(item(properties={"when": "timeout", "timeout": timeout}))


def test_name_and_text_limits():
    assert "name" in errors_of(item(name="  "))
    assert "name" in errors_of(item(name="x" * 192))
    assert "headline" in errors_of(item(properties={"headline": "x" * 256}))
    assert "show_on" in errors_of(item(properties={"show_on": ["https://a.test/*" + "*x" * 6]}))
    assert "show_on" in errors_of(item(properties={"show_on": {"not": "a list"}}))


def test_a_partial_change_keeps_the_rest():
    current = rules.clean_item(item(properties={"tagline": "Only today"}))
    changed = rules.clean_item({"properties": {"headline": "30% off"}}, current=current)
    assert changed["properties"]["tagline"] == "Only today" and changed["properties"]["headline"] == "30% off"
    assert changed["name"] == "Spring sale"


def test_mautic_nested_properties_round_trip():
    clean = rules.clean_item(item(style="modal", properties={"placement": "bottom", "tagline": "Hi", "button_text": "Go"}))
    nested = rules.to_mautic("modal", clean["properties"])
    assert nested["modal"] == {"placement": "bottom"} and nested["content"]["link_text"] == "Go"
    assert nested["content"]["link_url"] == "https://shop.example/sale" and nested["colors"]["primary"] == "#4e5d9d"
    back = rules.clean_item(item(style="modal", properties=rules.from_mautic("modal", nested)))
    assert back["properties"] == clean["properties"]


# ---------------------------------------------------------------- frequency and stop rules


@pytest.mark.parametrize("frequency, seconds_later, shows", [
    ("everypage", 0, True), ("once", 10**8, False), ("q2minute", 119, False), ("q2minute", 120, True),
    ("q15minute", 899, False), ("q15minute", 900, True), ("hourly", 3599, False), ("hourly", 3600, True),
    ("daily", 86399, False), ("daily", 86400, True),
])
def test_frequency(frequency, seconds_later, shows):
    props = {"frequency": frequency}
    assert rules.should_show(props, rules.VisitorState(), NOW) is True  # never shown: shows
    assert rules.should_show(props, rules.VisitorState(shown_at=NOW), NOW + seconds_later) is shows


def test_stop_after_conversion_and_after_close():
    converted, closed = rules.VisitorState(NOW, converted=True), rules.VisitorState(NOW, closed=True)
    every = {"frequency": "everypage"}
    assert rules.should_show(every, converted, NOW) and rules.should_show(every, closed, NOW)
    assert not rules.should_show(every | {"stop_after_conversion": True}, converted, NOW)
    assert not rules.should_show(every | {"stop_after_close": True}, closed, NOW)
    assert rules.should_show(every | {"stop_after_close": True}, converted, NOW)


def test_cookie_state_round_trip_and_garbage():
    state = rules.VisitorState(NOW, converted=True, closed=True)
    assert rules.format_state(state) == f"{NOW}.c.x"
    assert rules.parse_state(rules.format_state(state)) == state
    assert rules.parse_state("garbage") == rules.VisitorState() and rules.parse_state(None) == rules.VisitorState()
    assert rules.parse_state(f"{NOW}") == rules.VisitorState(NOW)


# ---------------------------------------------------------------- pages that load an item


@pytest.mark.parametrize("pattern, url, matches", [
    ("https://shop.example/pricing*", "https://shop.example/pricing", True),
    ("https://shop.example/pricing*", "https://shop.example/pricing/team?x=1", True),
    ("https://shop.example/pricing*", "https://shop.example/about", False),
    ("https://shop.example/pricing*", "https://evil.example/?https://shop.example/pricing", False),
    ("shop.example/blog/*", "http://shop.example/blog/post", True),
    ("shop.example/blog/*", "https://SHOP.example/blog/post", True),
    ("shop.example/blog/*", "https://shop.example/blog", False),
    ("*/checkout", "https://any.example/checkout", True),
    ("https://shop.example/a.b", "https://shop.example/aXb", False),  # a dot is a dot, not "any character"
    ("https://shop.example/(x)", "https://shop.example/(x)", True),
    ("https://shop.example/", "https://shop.example/other", False),
])
def test_url_patterns(pattern, url, matches):
    assert bool(rules.ShowOnIndex.build([(1, [pattern], None, None)]).match(url)) is matches


def test_index_matches_every_item_on_the_page_within_its_window():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    index = rules.ShowOnIndex.build([
        (7, ["https://a.test/*"], None, None),
        (3, ["https://b.test/", "https://a.test/x"], None, None),
        (9, [], None, None),  # no patterns: only embedded by hand
        (5, ["https://a.test/*"], now + timedelta(days=1), None),  # not yet
        (6, ["https://a.test/*"], None, now - timedelta(seconds=1)),  # over
        (8, ["https://a.test/*"], now.replace(tzinfo=None) - timedelta(days=1), None),  # naive (SQLite): UTC
    ])
    assert index.match("https://a.test/x", now) == [3, 7, 8]
    assert index.match("https://b.test/", now) == [3]
    assert index.match("", now) == [] and index.match(None, now) == []


# Security: show_on patterns used to become backtracking regular expressions matched against every
# visitor's address on the event loop; these are matched greedily, piece by piece, in one pass.


@pytest.mark.timeout(10)
def test_hostile_addresses_against_the_most_wildcards_allowed_finish():
    index = rules.ShowOnIndex.build([(1, ["*a*a*a*a*b"], None, None)])  # the old regex took 20 s at 200 characters
    assert index.match("https://x.test/" + "a" * 10_000 + "c") == []
    assert index.match("https://x.test/" + "a" * 100 + "b") == [1]


@pytest.mark.timeout(10)
def test_the_worst_pattern_set_allowed_finishes():
    """As many addresses as all live items may have, each made to scan the whole address, several times."""
    patterns = ["*" + "a" * (90 + i % 10) + "b*" + "a" * 90 + "c*d*e*z" for i in range(rules.MAX_LIVE_PATTERNS)]
    per = rules.MAX_PATTERNS
    index = rules.ShowOnIndex.build([(i, patterns[i:i + per], None, None) for i in range(0, len(patterns), per)])
    assert sum(len(p) for _, p, _, _ in index.items) == rules.MAX_LIVE_PATTERNS
    for _ in range(100):
        assert index.match("https://x.test/" + "a" * rules.MAX_MATCHED_URL + "z") == []


@pytest.mark.parametrize("pattern, url, matches", [
    ("https://x.test/(a+)+$", "https://x.test/" + "a" * 40 + "!", False),  # regular-expression signs are plain text
    ("https://x.test/(a+)+$", "https://x.test/(A+)+$", True),
    ("https://x.test/[a-z]?", "https://x.test/b", False),
    ("https://x.test/*/a*b*", "https://x.test/k/ab/", True),
    ("https://x.test/ab*ba", "https://x.test/aba", False),  # the head and the tail may not overlap
    ("https://x.test/ab*ba", "https://x.test/abba", True),
    ("*a*", "https://x.test/", False),
    ("*", "javascript:alert(1)", True),
    ("x.test/*", "ftp://x.test/a", False),
])
def test_patterns_are_plain_text_around_wildcards(pattern, url, matches):
    assert bool(rules.ShowOnIndex.build([(1, [pattern], None, None)]).match(url)) is matches


def test_long_addresses_are_matched_as_cut_at_the_limit():
    index = rules.ShowOnIndex.build([(1, ["https://x.test/pricing*"], None, None), (2, ["*/thanks"], None, None)])
    long = "https://x.test/pricing?utm_content=" + "x" * rules.MAX_MATCHED_URL
    assert index.match(long) == [1]
    assert index.match(long + "/thanks") == [1]  # its end is past the limit: not seen
    assert index.match("https://x.test/a/thanks") == [2]


def test_the_index_keeps_the_live_budget_for_the_first_items():
    per = rules.MAX_PATTERNS
    rows = [(i, [f"https://x.test/{i}/{n}" for n in range(per)], None, None) for i in range(5, 0, -1)]
    index = rules.ShowOnIndex.build(rows)
    kept = {focus_id: len(patterns) for focus_id, patterns, _, _ in index.items}
    assert sum(kept.values()) == rules.MAX_LIVE_PATTERNS
    assert list(kept)[0] == 1 and kept[1] == per  # by id, whatever order the rows came in
    assert index.match(f"https://x.test/5/{per - 1}") == []


def test_the_live_budget_says_what_is_left():
    assert rules.live_budget_error(rules.MAX_PATTERNS, rules.MAX_LIVE_PATTERNS - rules.MAX_PATTERNS) is None
    assert rules.live_budget_error(0, rules.MAX_LIVE_PATTERNS + 5) is None  # an item embedded by hand uses none
    message = rules.live_budget_error(5, rules.MAX_LIVE_PATTERNS - 2)
    assert f"at most {rules.MAX_LIVE_PATTERNS}" in message and "may use 2" in message


def test_too_many_addresses_or_wildcards_are_refused():
    assert "show_on" in errors_of(item(properties={"show_on": [f"https://a.test/{i}" for i in range(rules.MAX_PATTERNS + 1)]}))
    wild = "https://a.test/" + "*x" * rules.MAX_WILDCARDS
    assert rules.clean_item(item(properties={"show_on": [wild]}))["properties"]["show_on"] == [wild]
    assert "show_on" in errors_of(item(properties={"show_on": [wild + "*"]}))
    assert "show_on" in errors_of(item(properties={"show_on": ["https://a.test/" + "x" * rules.LIMITS["pattern"]]}))


# ---------------------------------------------------------------- the script

HOSTILE = "</script><script>alert(1)</script>\u2028\u2029<!--&amp;\"'`${x}"


def script_for(item_type: str = "link", style: str = "modal", **props) -> str:
    clean = rules.clean_item(item(type=item_type, style=style, properties={"placement": rules.DEFAULTS["placement"]
                                                                            if style == "bar" else next(iter(rules.PLACEMENTS[style])),
                                                                            **props}, form_id=2 if item_type == "form" else None))
    return rules.render_script(rules.script_config(focus_id=42, name=clean["name"], item_type=clean["type"], style=clean["style"],
                                                   form_id=clean["form_id"], properties=clean["properties"], base="https://m.example"))


def embedded_config(script: str) -> dict:
    start = script.rindex("})(window, document, ") + len("})(window, document, ")
    return json.loads(script[start:script.rindex(");")])


def test_script_of_a_typical_item_is_under_10_kb_gzipped():
    script = script_for(headline="Spring sale: 20% off everything", tagline="Only this week, while stocks last.",
                        button_text="Shop now", when="timeout", timeout="5", frequency="daily",
                        show_on=["https://shop.example/*"])
    assert len(gzip.compress(script.encode("utf-8"))) < 10 * 1024
    longest = script_for(headline="x" * 255, tagline="y" * 1000, button_text="z" * 100)
    assert len(gzip.compress(longest.encode("utf-8"))) < 10 * 1024


def test_hostile_texts_are_inert_in_the_script():
    script = script_for(headline=HOSTILE, tagline=HOSTILE, button_text=HOSTILE[:100],
                        link_url="https://shop.example/?q=</script><script>alert(1)</script>")
    config_text = script[script.rindex("})(window, document, "):]
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in config_text
    assert "</script" not in script.lower()
    config = embedded_config(script)
    assert config["headline"] == HOSTILE.strip() and config["tagline"] == HOSTILE.strip()
    assert config["link"] == "https://shop.example/?q=</script><script>alert(1)</script>"


def test_the_runtime_builds_the_dom_without_html_parsing():
    runtime = "".join(rules.runtime())
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in runtime, sink
    assert "attachShadow" in runtime and "textContent" in runtime
    assert "aria-modal" in runtime and "'Close'" in runtime and "Escape" in runtime


def test_a_bad_link_or_colour_stored_by_hand_is_dropped_at_render():
    config = rules.script_config(focus_id=1, name="x", item_type="link", style="bar", form_id=None, base="https://m.example",
                                 properties={"link_url": "javascript:alert(1)", "colors": {"primary": "red;x:url(//e)"},
                                             "placement": "sideways", "when": "sometimes", "timeout": "-3"})
    assert config["link"] == "" and config["colors"]["primary"] == "#4e5d9d"
    assert config["placement"] == "top" and config["when"] == "immediately" and config["timeout"] == 0


def test_frequency_and_triggers_reach_the_script():
    config = embedded_config(script_for(when="scroll_middle", frequency="q15minute", stop_after_close=True))
    assert config["scroll"] == 0.5 and config["gap"] == 900 and config["stopClose"] is True
    assert embedded_config(script_for(frequency="once"))["gap"] == -1
    form = embedded_config(script_for("form", "notification"))
    assert form["formId"] == 2 and form["link"] == "" and form["placement"] == "top_left"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_parses_as_javascript():
    script = script_for(headline=HOSTILE)
    proc = subprocess.run(["node", "-e", "new Function(require('fs').readFileSync(0, 'utf8'))"], input=script,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    code = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    for pattern in (r"=>", r"`", r"\b(let|const|class)\s+[A-Za-z_$]"):
        assert not re.search(pattern, code.split("})(window, document, ")[0]), pattern


# ---------------------------------------------------------------- the script in a fake browser

HARNESS = __import__("pathlib").Path(__file__).resolve().parent / "js" / "focus_harness.js"


def run_in_browser(cases: list[dict]) -> list[dict]:
    proc = subprocess.run(["node", str(HARNESS)], input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    for r in results:
        assert r["errors"] == [], r["errors"]
    return results


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_decides_frequency_and_stops_as_the_rules_do():
    cases, expected = [], []
    for frequency in rules.FREQUENCY:
        for stored in (None, f"{NOW}", f"{NOW}.c", f"{NOW}.x", f"{NOW}.c.x", "garbage"):
            for later in (0, 119, 120, 3600, 86400, 10**7):
                for stop_conversion, stop_close in ((False, False), (True, False), (False, True)):
                    props = {"frequency": frequency, "stop_after_conversion": stop_conversion, "stop_after_close": stop_close}
                    script = script_for("notice", "bar", **props)
                    cases.append({"id": 42, "script": script, "now": NOW + later,
                                  "storage": {"mautic_focus_42": stored} if stored else {}})
                    expected.append(rules.should_show(props, rules.parse_state(stored), NOW + later))
    results = run_in_browser(cases)
    assert [r["shown"] for r in results] == expected
    for case, r in zip(cases, results, strict=True):
        if r["shown"]:  # a showing is remembered (keeping the flags) and counted once
            assert rules.parse_state(r["stored"]).shown_at == case["now"]
            assert [p.split("?")[1].split("&")[0] for p in r["pixels"]] == ["type=view"]
            assert r["pixels"][0].startswith("https://m.example/focus/42/viewpixel.gif?")
            assert "mautic_focus_42=" in r["cookie"] and "SameSite=Lax" in r["cookie"]
        else:
            assert r["pixels"] == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_waits_for_the_timeout_moves_focus_into_a_modal_and_escape_closes():
    modal = script_for("link", "modal", when="timeout", timeout="7", button_text="Shop", stop_after_close=True)
    bar = script_for("notice", "bar", when="timeout", timeout="3")
    device = "a1b2c3d4e5f6a1b2c3d4e5f6"
    [m, b] = run_in_browser([
        {"id": 42, "script": modal, "now": NOW, "press": "Escape", "storage": {"mautic_device_id": device}},
        {"id": 42, "script": bar, "now": NOW, "storage": {"mautic_device_id": "forged\"><script>"}},
    ])
    assert m["timers"] == [7000] and m["shown"] and m["focused"] == ["btn"]  # focus on the dialog's action
    assert f"&mautic_device_id={device}&" in m["pixels"][0]
    assert m["afterPress"] == {"shown": False, "stored": f"{NOW}.x"}  # closed, remembered as closed
    assert b["timers"] == [3000] and b["shown"] and b["focused"] == []  # a bar does not take the focus
    assert "mautic_device_id" not in b["pixels"][0]  # a malformed device id is not sent
