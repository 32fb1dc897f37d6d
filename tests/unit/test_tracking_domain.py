"""Tracking input rules: hostile parameters become bounded, inert hits or a clear refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mautic_app.domain import tracking as rules

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def hit(params, **kw):
    return rules.build_hit(params, ip=rules.clean_ip(kw.get("ip", "203.0.113.9")), user_agent=kw.get("ua", CHROME),
                           accept_language=kw.get("lang", "en-GB,en;q=0.8"), at=NOW)


def test_page_parameters_are_kept_and_the_rest_are_fields():
    h = hit({"page_url": "https://shop.example/p?utm_source=news", "page_title": "Shoes", "page_referrer": "https://google.com/",
             "counter": "2", "timezone_offset": "-60", "resolution": "1920x1080", "email": "ann@example.com",
             "firstname": "Ann", "mautic_device_id": "x" * 24, "tags": ["vip", "-cold"]})
    assert h.page["url"] == "https://shop.example/p?utm_source=news"
    assert h.page["title"] == "Shoes" and h.page["counter"] == 2 and h.page["timezone_offset"] == -60
    assert h.fields == {"email": "ann@example.com", "firstname": "Ann"}
    assert h.tags == "vip,-cold"
    assert h.browser_languages == ["en-GB", "en"]
    assert h.ip == "203.0.113.9"


@pytest.mark.parametrize("url", [None, "", "javascript:alert(1)", "data:text/html,<b>", "/relative", "https://", "x" * 5000])
def test_a_hit_needs_an_http_page_url(url):
    with pytest.raises(rules.TrackingInputError):
        hit({"page_url": url})


def test_hostile_strings_are_capped_and_never_executable_urls():
    h = hit({"page_url": "https://a.example/", "page_title": "<script>alert(1)</script>" * 40,
             "page_referrer": "javascript:alert(1)", "counter": "many", "do_not_track": "7",
             "bad key!": "x", "nested": {"a": 1}, "note": "y" * 5000, "lang": "\x00"})
    assert len(h.page["title"]) == rules.MAX_TEXT
    assert h.page["title"].startswith("<script>")  # kept as text: the UI escapes it
    assert h.page["referrer"] is None
    assert h.page["counter"] is None and h.page["do_not_track"] is None
    assert "bad key!" not in h.fields and "nested" not in h.fields
    assert len(h.fields["note"]) == rules.MAX_FIELD_VALUE
    assert "lang" not in h.fields  # only NUL: nothing left


def test_field_count_is_limited():
    params = {"page_url": "https://a.example/"} | {f"f{i}": "v" for i in range(500)}
    assert len(hit(params).fields) == rules.MAX_FIELDS


def test_bad_ip_and_accept_language_are_dropped():
    h = hit({"page_url": "https://a.example/"}, ip="not-an-ip", lang="en;q=1, <script>, de-DE")
    assert h.ip is None
    assert h.browser_languages == ["en", "de-DE"]


def test_utm_values_and_token_come_from_the_page_url():
    url = "https://a.example/x?utm_source=mail&utm_medium=email&utm_campaign=" + "c" * 300 + "&ct=TOKEN&q=1"
    assert rules.utm_values(url) == {"utm_source": "mail", "utm_medium": "email", "utm_campaign": "c" * 191}
    assert rules.token_in_url(url) == "TOKEN"
    assert hit({"page_url": url}).token == "TOKEN"


@pytest.mark.parametrize("ua,bot", [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
    ("curl/8.5.0", True),
    ("python-requests/2.32", True),
    ("", True),
    (CHROME, False),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", False),
])
def test_bot_screen(ua, bot):
    assert rules.looks_like_bot(ua) is bot


def test_do_not_track_list_matches_addresses_ranges_and_wildcards():
    patterns = ["198.51.100.7", "10.0.0.0/8", "192.168.*.*", "2001:db8::/32", "nonsense"]
    assert rules.ip_matches("198.51.100.7", patterns)
    assert rules.ip_matches("10.200.1.1", patterns)
    assert rules.ip_matches("192.168.4.20", patterns)
    assert rules.ip_matches("2001:db8::1", patterns)
    assert not rules.ip_matches("203.0.113.1", patterns)
    assert not rules.ip_matches(None, patterns)
    assert rules.ip_matches("172.16.9.9", ["10.*.*.*", "172.16.*.*"])  # several wildcards: any of them
    assert not rules.ip_matches("172.16.9.9", ["10.*.*.*", "172.17.*.*"])
    assert not rules.ip_matches("10.0.0.1", [])
    assert rules.valid_ip_pattern("10.0.*.*") and rules.valid_ip_pattern("10.0.0.0/8")
    assert not rules.valid_ip_pattern("10.0.0.0/99") and not rules.valid_ip_pattern("drop table")


def test_ids_are_random_and_checked():
    a, b = rules.new_id(), rules.new_id()
    assert a != b and rules.valid_id(a) == a
    for bad in ["1", "42", "x" * 19, "abc-def" * 5, None, 12345678901234567890123]:
        assert rules.valid_id(bad) is None


def test_contact_tokens_are_signed_and_expire():
    pid = rules.new_id()
    token = rules.sign_contact_token("secret", pid, "email", 3)
    assert rules.read_contact_token("secret", token, 3600) == pid
    assert rules.read_contact_token("other-secret", token, 3600) is None
    assert rules.read_contact_token("secret", token[:-2] + "xx", 3600) is None
    assert rules.read_contact_token("secret", "garbage", 3600) is None
    assert rules.read_contact_token("secret", token, -1) is None  # too old


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("198.51.100.7", None, "198.51.100.7"),  # no proxy in front
    ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # an untrusted peer's header is ignored
    ("10.0.0.2", "203.0.113.9", "203.0.113.9"),  # our proxy says who connected to it
    ("10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the visitor's own forged hop is skipped
    ("10.0.0.2", "203.0.113.9, 10.0.0.5", "203.0.113.9"),  # two proxies of ours
    ("10.0.0.2", "10.0.0.3, 10.0.0.5", "10.0.0.3"),  # only proxies: the farthest one
    ("10.0.0.2", "<script>, 203.0.113.9", "203.0.113.9"),
    ("10.0.0.2", "not-an-ip", "10.0.0.2"),  # garbage from our proxy: the proxy's own address
    ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
])
def test_the_visitors_address_behind_trusted_proxies(peer, forwarded, expected):
    assert rules.visitor_ip(peer, forwarded, ("10.0.0.0/8",)) == expected


def test_wildcards_never_make_a_proxy_trusted():
    assert not rules.is_trusted_proxy("10.0.0.2", ("10.*.*.*",))
    assert rules.visitor_ip("10.0.0.2", "6.6.6.6", ("10.*.*.*",)) == "10.0.0.2"


def test_page_labels_are_titles_unless_two_pages_share_one():
    pages = [
        ("https://shop.example/", "Shop"),
        ("https://shop.example/?utm_campaign=spring", "Shop"),  # the same landing page, with campaign tags
        ("https://shop.example/pricing", "Pricing"),
        ("http://shop.example/untitled", None),
        ("https://shop.example/blank", "   "),
    ]
    assert rules.page_labels(pages) == [
        "shop.example/", "shop.example/?utm_campaign=spring", "Pricing", "shop.example/untitled", "shop.example/blank",
    ]


def test_page_labels_stay_apart_when_cut_short():
    long_path = "https://shop.example/" + "a" * 60
    labels = rules.page_labels([(long_path + "1", None), (long_path + "2", None), ("https://x.example/", "T" * 60)], limit=20)
    assert labels == ["shop.example/aaaaaa… (1)", "shop.example/aaaaaa… (2)", "T" * 19 + "…"]
    assert len(set(labels)) == 3


# ------------------------------------------------------------------ identity and trusted sites

SECRET = "s" * 64


def test_an_email_signature_is_hmac_sha256_hex_of_the_lower_cased_email():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"ann@example.com", hashlib.sha256).hexdigest()
    assert rules.sign_email(SECRET, " Ann@Example.COM ") == expected
    assert rules.email_signature_valid(SECRET, "ann@example.com", expected)
    assert rules.email_signature_valid(SECRET, "ANN@example.com", expected.upper())  # hex in either case


@pytest.mark.parametrize(("secret", "email", "signature"), [
    (SECRET, "bob@example.com", rules.sign_email(SECRET, "ann@example.com")),  # another e-mail's signature
    ("t" * 64, "ann@example.com", rules.sign_email(SECRET, "ann@example.com")),  # an old or other secret
    (SECRET, "ann@example.com", rules.sign_email(SECRET, "ann@example.com")[:-1]),  # cut short
    (SECRET, "ann@example.com", "é" * 64),  # not even hex
    (SECRET, "ann@example.com", ""),
    (None, "ann@example.com", rules.sign_email("", "ann@example.com")),  # no secret yet: nothing is proven
    (SECRET, None, rules.sign_email(SECRET, "")),
])
def test_a_wrong_or_missing_signature_proves_nothing(secret, email, signature):
    assert not rules.email_signature_valid(secret, email, signature)


def test_the_signature_travels_with_the_hit_and_is_never_a_field():
    h = hit({"page_url": "https://a.example/", "email": "ann@example.com", rules.SIGNATURE_PARAM: "ab" * 32})
    assert h.signature == "ab" * 32 and h.fields == {"email": "ann@example.com"}
    assert h.as_dict()["sig"] == "ab" * 32
    assert hit({"page_url": "https://a.example/", rules.SIGNATURE_PARAM: "x" * 5000}).signature == "x" * 128


VISITOR, ANN = 10, 20


def settle(**kw):
    args = {"visitor": VISITOR, "visitor_is_anonymous": True, "proven": None, "has_proof": False, "values": {}, "owners": {}}
    return rules.settle_claim(**(args | kw))


def test_an_unsigned_email_of_a_known_contact_neither_merges_nor_writes():
    claim = settle(values={"email": "ann@example.com", "firstname": "Mallory"}, owners={"email": ANN})
    assert claim == rules.Claim(merge_into=None, values={})


def test_an_unsigned_claim_fills_only_an_anonymous_visitors_own_contact():
    values = {"email": "new@example.com", "firstname": "Nia"}
    assert settle(values=values) == rules.Claim(merge_into=None, values=values)
    assert settle(values=values, visitor_is_anonymous=False) == rules.Claim(merge_into=None, values={})


def test_a_proven_claim_merges_and_writes_all_but_other_contacts_identifiers():
    claim = settle(proven=ANN, has_proof=True, values={"email": "ann@example.com", "phone": "+1 555", "firstname": "Ann"},
                   owners={"email": ANN, "phone": 30})
    assert claim == rules.Claim(merge_into=ANN, values={"email": "ann@example.com", "firstname": "Ann"})


def test_a_signed_email_nobody_has_yet_identifies_the_visitor_itself():
    claim = settle(has_proof=True, visitor_is_anonymous=False, values={"email": "new@example.com"})
    assert claim == rules.Claim(merge_into=None, values={"email": "new@example.com"})
    assert settle(proven=VISITOR, has_proof=True).merge_into is None  # already that contact


@pytest.mark.parametrize(("site", "trusted"), [
    ("https://shop.example", True),
    ("http://shop.example:8080", True),  # allowed sites are host names, as for form redirects
    ("https://www.blog.example", True),  # *.blog.example
    ("https://blog.example", True),
    ("https://app.example:3000", True),  # our own origin
    ("https://shop.example/checkout?x=1", True),  # an image's Referer
    ("https://app.example:4000", False),  # our host, another port: another origin
    ("https://evil.example", False),
    ("https://shop.example.evil.example", False),
    ("https://evilblog.example", False),
    ("null", False),  # sandboxed frames, data: and file: pages
    ("", False),
    (None, False),
    ("javascript:alert(1)", False),
    ("shop.example", False),
    ("https://evil.example\\@shop.example/", False),  # a browser goes to evil.example; Python reads shop.example
    ("https://evil@shop.example", False),
])
def test_only_our_own_origin_and_allowed_sites_are_trusted(site, trusted):
    own = ("app.example:3000", "")
    assert rules.trusted_site(site, own, ("shop.example", "*.blog.example")) is trusted
