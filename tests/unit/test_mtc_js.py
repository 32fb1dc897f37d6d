"""mtc.js in a fake browser: queue replay, parameters, stored ids, pixel fallback, callbacks, no escapes.

The scenarios run in Node (tests/unit/js/mtc_harness.js) against fake window, document, cookies,
localStorage, XMLHttpRequest and Image; this file asserts on what each scenario observed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "assets" / "mtc.js"
HARNESS = Path(__file__).resolve().parent / "js" / "mtc_harness.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: mtc.js cannot be run outside a browser")

PAGE_PARAMS = [
    "page_title", "page_language", "preferred_locale", "page_referrer", "page_url", "counter",
    "timezone_offset", "timezone", "resolution", "platform", "do_not_track",
]
COOKIE_ATTRS = re.compile(r"^(mtc_id|mtc_sid|mautic_device_id)=[^;]+; path=/; max-age=31536000; expires=[^;]+ GMT; SameSite=Lax; Secure$")
CONTACT = "c0ntact1d0paque0000001"
DEVICE = "dev1ce1d0paque0000001"


@pytest.fixture(scope="module")
def runs() -> dict:
    env = dict(os.environ, TZ="America/New_York")
    proc = subprocess.run([NODE, str(HARNESS), str(SCRIPT)], capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for name, result in out.items():
        assert "harnessError" not in result, f"{name}: {result.get('harnessError')}"
    return out


def params(request: dict) -> dict[str, str]:
    return dict(request["params"])


# ---------------------------------------------------------------- the snippet's queue


def test_stub_is_replaced_and_queue_replayed_in_order(runs):
    r = runs["queued"]
    assert r["before"] == {"q": 4, "isStub": True, "name": "mt"}
    assert r["after"] == {"isStub": False, "hasQueue": False, "type": "function"}
    # Two queued pageviews (unknown commands ignored), then one direct call: in order.
    assert [params(q)["counter"] for q in r["requests"]] == ["0", "1", "2"]
    assert params(r["requests"][0])["email"] == "ann@example.com"
    assert params(r["requests"][1])["page_title"] == "Overridden"
    assert r["log"] == [["onload1", CONTACT, DEVICE], ["onload2", "sess2"], ["onload3", 1]]
    assert r["errors"] == []


def test_request_shape(runs):
    for q in runs["queued"]["requests"]:
        assert q["method"] == "POST"
        assert q["url"] == "https://track.example.com/mtc/event"
        assert q["async"] is True
        assert q["withCredentials"] is True
        assert q["headers"] == {"Content-Type": "application/x-www-form-urlencoded"}


def test_page_parameters(runs):
    p = params(runs["queued"]["requests"][0])
    assert list(p)[: len(PAGE_PARAMS)] == PAGE_PARAMS
    assert p["page_title"] == "Pricing \u2013 10% off & more \ufffd"  # a lone surrogate does not break encoding
    assert p["page_language"] == "fr-FR"
    assert p["preferred_locale"] == "fr-CA"
    assert p["page_referrer"] == "https://search.example.net/?q=mautic"
    # The signed contact token from an e-mail link simply travels inside page_url.
    assert p["page_url"] == "https://site.example.com/pricing?ct=eyJpZCI6MX0.sig&utm_source=news"
    assert p["timezone"] == "America/New_York"
    assert p["timezone_offset"] in {"240", "300"}
    assert p["resolution"] == "1920x1080"
    assert p["platform"] == "Linux x86_64"
    assert p["do_not_track"] == "1"


def test_fields_merged_arrays_joined_objects_skipped(runs):
    first, second = (params(q) for q in runs["queued"]["requests"][:2])
    assert first["firstname"] == "Ann"
    assert first["score"] == "5"
    assert first["tags"] == "news,vip,-old"  # array joined; the object element dropped; "-tag" kept as is
    for skipped in ("obj", "fn", "nothing", "undef"):
        assert skipped not in first
    assert second["tags"] == "a,b"
    assert "email" not in second


# ---------------------------------------------------------------- ids kept and sent back


def test_reply_kept_in_local_storage_and_cookies(runs):
    r = runs["queued"]
    expected = {"mtc_id": CONTACT, "mtc_sid": "sess2", "mautic_device_id": DEVICE}
    assert r["storage"] == expected
    assert r["jar"] == expected
    assert r["cookieWrites"]
    for write in r["cookieWrites"]:
        assert COOKIE_ATTRS.match(write), write


def test_device_id_sent_once_known(runs):
    reqs = runs["queued"]["requests"]
    assert "mautic_device_id" not in params(reqs[0])  # a new visitor has none yet
    # The second queued hit waited for the first reply, so it carries the device id.
    assert params(reqs[1])["mautic_device_id"] == DEVICE
    assert params(reqs[2])["mautic_device_id"] == DEVICE


def test_returning_visitor_sends_stored_device_id_with_custom_tracker_name(runs):
    r = runs["returning"]
    assert r["mtxType"] == "function"
    assert r["mtType"] == "undefined"
    assert len(r["requests"]) == 1
    p = params(r["requests"][0])
    assert p["mautic_device_id"] == "prev1ousdev1ce0000001"
    assert p["counter"] == "0"
    assert "mtc_id" not in p  # only the device id travels; the contact id is the server's business
    assert r["errors"] == []


# ---------------------------------------------------------------- storage unavailable


def test_local_storage_access_throwing_falls_back_to_cookies(runs):
    r = runs["storageGetterThrows"]
    assert r["errors"] == []
    assert [params(q)["mautic_device_id"] for q in r["requests"]] == ["c00k1edev1ce000000001", DEVICE]
    assert r["jar"] == {"mtc_id": CONTACT, "mtc_sid": "sess2", "mautic_device_id": DEVICE}
    assert r["log"] == [["onload", "sess1"], ["onload", "sess2"]]


def test_local_storage_methods_throwing(runs):
    r = runs["storageMethodsThrow"]
    assert r["errors"] == []
    assert len(r["requests"]) == 1
    assert r["jar"] == {"mtc_id": CONTACT, "mtc_sid": "sess1", "mautic_device_id": DEVICE}
    assert r["log"] == [["onload", CONTACT]]


# ---------------------------------------------------------------- failures


def test_failed_post_falls_back_to_pixel_and_calls_onerror(runs):
    r = runs["postFails"]
    assert r["errors"] == []
    assert len(r["requests"]) == 3
    assert len(r["images"]) == 2  # the 500 and the network error; not the success
    for req, img in zip(r["requests"][:2], r["images"], strict=True):
        url = urlsplit(img)
        assert f"{url.scheme}://{url.netloc}{url.path}" == "https://track.example.com/mtracking.gif"
        assert parse_qsl(url.query, keep_blank_values=True) == [tuple(kv) for kv in req["params"]]
    # onerror gets the request (status 500, then 0); hooks only run after a success.
    assert r["log"] == [
        ["onerror", 1, 500],
        ["onerror", 2, 0],
        ["onload", 3, CONTACT],
        ["focus", CONTACT],
        ["dwc", CONTACT],
    ]
    assert r["storage"] == {"mtc_id": CONTACT, "mtc_sid": "sess1", "mautic_device_id": DEVICE}


def test_no_xhr_goes_straight_to_pixel(runs):
    r = runs["noXHR"]
    assert r["errors"] == []
    assert r["requests"] == []
    assert len(r["images"]) == 1
    p = dict(parse_qsl(urlsplit(r["images"][0]).query))
    assert p["email"] == "a@example.com"
    assert p["counter"] == "0"
    assert r["log"] == [["onerror", None]]


# ---------------------------------------------------------------- base URL, hooks, robustness


def test_base_found_by_scanning_scripts_without_snippet(runs):
    r = runs["scanBase"]
    assert r["base"] == "https://mkt.example.org/sub"
    assert [q["url"] for q in r["requests"]] == ["https://mkt.example.org/sub/mtc/event"]
    assert r["errors"] == []


def test_hooks_run_and_throwing_callbacks_are_contained(runs):
    r = runs["hooksAndThrowingCallbacks"]
    assert r["errors"] == []
    # Three pageviews (bad fields/callbacks arguments are ignored); empty and null commands do nothing.
    assert len(r["requests"]) == 3
    assert r["log"] == [
        ["onload1"], ["focus", "sess1"], ["dwc", "sess1"],
        ["onload2"], ["focus", "sess2"], ["dwc", "sess2"],
        ["focus", None], ["dwc", None],
    ]


def test_focus_items_named_by_the_reply_are_loaded_once(runs):
    r = runs["focusItems"]
    assert r["errors"] == []
    focus = [src for src in r["inserted"] if "/focus/" in src]
    # Each goes before the first script (so the newest comes first); inserted scripts run async anyway.
    assert focus == ["https://track.example.com/focus/11.js", "https://track.example.com/focus/7.js",
                     "https://track.example.com/focus/3.js"]


def test_loaded_twice_does_not_double_hits(runs):
    r = runs["loadedTwice"]
    assert [params(q)["counter"] for q in r["requests"]] == ["0", "1"]
    assert r["errors"] == []


def test_script_is_plain_es5():
    code = SCRIPT.read_text()
    code = re.sub(r"/\*.*?\*/", "", code, flags=re.S)
    code = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", code)
    for pattern in (r"=>", r"`", r"\b(let|const|class)\s+[A-Za-z_$]", r"\.\.\.", r"\basync\b", r"\bawait\b"):
        assert not re.search(pattern, code), pattern
