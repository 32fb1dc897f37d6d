"""Patterns that cannot stall the server, on both databases, sent as an attacker would send them.

Focus items' ``show_on`` addresses were backtracking regular expressions matched against every
tracked visitor's address, and segment ``regexp`` filters ran Python's backtracking engine per row on
SQLite. Now: ``show_on`` is plain text around ``*`` wildcards, matched in one pass per address within
fixed limits; a ``regexp`` filter must be one RE2 runs (linear time), SQLite's REGEXP is RE2 on a
bounded value, and PostgreSQL gets only patterns both RE2 and it accept, under a statement timeout.
A stall fails these tests through their timeout marker; timings are not asserted.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import col

from mautic_app import db
from mautic_app.domain import focus as focus_rules
from mautic_app.domain import segments as segment_rules
from mautic_app.models import PageHit
from mautic_app.services import segments
from tests.integration.conftest import error_of, new_contact, visit, visitor_browser

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SITE = "https://shop.example"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
CATASTROPHIC = "(a+)+$"  # Python's re takes minutes on 30 a's and a "!"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Saving a segment queues a rebuild; here it runs at once instead of on a worker."""
    from mautic_app.tasks import segments as segment_tasks

    monkeypatch.setattr(db, "send_task", lambda task, *args: segment_tasks.rebuild(*args) if task == "mautic.segments.rebuild" else None)
    monkeypatch.setattr(segment_tasks, "contacts_changed", lambda payload: None)


@pytest.fixture
def site(database, monkeypatch) -> Iterator[TestClient]:
    """A visitor's browser on the customer's site (no credentials)."""
    with visitor_browser(monkeypatch, origin=SITE) as c:
        yield c




def regexp_segment(api, pattern: str, *, field: str = "city", operator: str = "regexp", name: str = "Pattern"):
    return api.post("/api/segments/new", json={"name": name, "filters": [
        {"glue": "and", "field": field, "object": "lead", "type": "text", "operator": operator, "properties": {"filter": pattern}}]})


def members(api, segment_id: int) -> int:
    return api.get(f"/api/segments/{segment_id}").json()["list"]["contactCount"]


# ---------------------------------------------------------------- segment regexp filters


@pytest.mark.timeout(60)
def test_a_catastrophic_regexp_filter_is_evaluated_in_linear_time(api, session):
    new_contact(api, email="hostile@example.com", city="a" * 60 + "!")
    plain = new_contact(api, email="plain@example.com", city="A" * 60)
    new_contact(api, email="nocity@example.com")
    r = regexp_segment(api, CATASTROPHIC)
    assert r.status_code == 201, r.text
    assert members(api, r.json()["list"]["id"]) == 1
    negative = regexp_segment(api, CATASTROPHIC, operator="!regexp", name="Not pattern").json()["list"]
    assert members(api, negative["id"]) == 2  # the hostile value, and the contact with no city
    with session() as s:
        count = segments.preview(session=s, filters=[{"field": "city", "operator": "regexp", "value": CATASTROPHIC}])
    assert count["total"] == 1 and [c["id"] for c in count["sample"]] == [plain]


@pytest.mark.parametrize("pattern, message", [
    ("(a)\\1", "Backreferences"),
    ("(?P<x>a+)(?P=x)$", "Backreferences"),
    ("^(?=a)", "Lookarounds"),
    ("(?<!x)a+$", "Lookarounds"),
    ("((a{100}){100}){100}", "too complex"),
    ("a{9999}", "too complex"),
])
def test_patterns_re2_cannot_run_are_refused_through_the_api(api, pattern, message):
    err = error_of(regexp_segment(api, pattern), 400)
    assert message in err["details"]["filters"][0] and message in err["message"]
    saved = regexp_segment(api, "^a", name="Kept").json()["list"]
    err = error_of(api.patch(f"/api/segments/{saved['id']}/edit", json={"filters": [
        {"glue": "and", "field": "city", "operator": "regexp", "properties": {"filter": pattern}}]}), 400)
    assert message in err["details"]["filters"][0]
    assert api.get(f"/api/segments/{saved['id']}").json()["list"]["filters"][0]["properties"]["filter"] == "^a"


def test_each_database_refuses_what_its_engine_cannot_run(api, database):
    """``\\x{41}`` is RE2's (SQLite runs RE2); PostgreSQL's engine has no such escape."""
    new_contact(api, email="a@example.com", city="A")
    r = regexp_segment(api, "^\\x{41}$")
    if database.backend == "postgresql":
        assert "database cannot run" in error_of(r, 400)["details"]["filters"][0]
    else:
        assert r.status_code == 201, r.text
        assert members(api, r.json()["list"]["id"]) == 1


@pytest.mark.timeout(60)
def test_huge_values_are_read_up_to_the_limit(api, session):
    """A page address far longer than anything the tracker accepts, written straight to the table."""
    cid = new_contact(api, email="visitor@example.com")
    huge = "https://shop.example/?q=" + "a" * 1_000_000 + "needle"
    with session() as s:
        s.add(PageHit(contact_id=cid, url=huge, url_hash="x"))
    assert members(api, regexp_segment(api, "needle", field="hit_url", name="Past the limit").json()["list"]["id"]) == 0
    assert members(api, regexp_segment(api, "^https://shop", field="hit_url", name="Head").json()["list"]["id"]) == 1
    assert members(api, regexp_segment(api, CATASTROPHIC, field="hit_url", name="Catastrophic").json()["list"]["id"]) == 1
    # Read as if it ended at the limit: a pattern anchored at the end sees a's, not the needle.
    assert members(api, regexp_segment(api, "a{255}$", field="hit_url", name="End of what is read").json()["list"]["id"]) == 1


@pytest.mark.timeout(120)
def test_a_slow_live_count_is_cut_off(api, session, monkeypatch):
    """Linear is not free: a pattern made to keep both engines busy on long random values. The
    builder's count gives up after its time and says so (PostgreSQL's statement timeout, SQLite's
    progress handler), and the connection goes back to the pool without the limit."""
    rng = random.Random(7)
    cid = new_contact(api, email="visitor@example.com")
    with session() as s:
        for _ in range(100):
            s.add(PageHit(contact_id=cid, url="https://x.test/" + "".join(rng.choice("ab") for _ in range(4000)), url_hash="x"))
    filters = [{"field": "hit_url", "operator": "regexp", "value": "[ab]*a[ab]{255}x"}]
    monkeypatch.setattr(segments, "COUNT_SECONDS", 0.05)
    with pytest.raises(segment_rules.FilterError, match="Counting took longer"), session() as s:
        segments.preview(session=s, filters=filters)
    with session() as s:
        assert segments.preview(session=s, filters=[{"field": "email", "operator": "like", "value": "visitor"}])["total"] == 1
        # The limit was for the count: the same slow work afterwards, on the same connection, runs to its end.
        slow = sa.select(sa.func.count()).select_from(PageHit).where(col(PageHit.url).regexp_match("[ab]*a[ab]{255}x"))
        assert s.execute(slow).scalar_one() == 0


# ---------------------------------------------------------------- focus show_on addresses


def focus_item(api, show_on: list[str], name: str = "Sale bar", **extra):
    return api.post("/api/focus/new", json={"name": name, "type": "notice", "style": "bar",
                                             "properties": {"bar": {"placement": "top"}, "show_on": show_on}} | extra)


@pytest.mark.timeout(60)
def test_show_on_patterns_are_plain_text_and_hostile_addresses_finish(api, site):
    literal = focus_item(api, [f"{SITE}/{CATASTROPHIC}"]).json()["focus"]["id"]
    wild = focus_item(api, ["*a*a*a*a*b"], name="Most wildcards").json()["focus"]["id"]  # the old regex: 20 s at 200 characters
    assert visit(site, f"{SITE}/" + "a" * 4000 + "!")["focus"] == []
    assert visit(site, f"{SITE}/" + "a" * 2000 + "b")["focus"] == [wild]
    assert visit(site, f"{SITE}/" + "a" * 4000 + "b")["focus"] == []  # read as if cut at the limit: no b at its end
    assert visit(site, f"{SITE}/{CATASTROPHIC}")["focus"] == [literal]
    assert visit(site, f"{SITE}/" + "a" * 30)["focus"] == []


def test_show_on_over_the_limits_is_refused_through_the_api(api, site):
    too_wild = "https://shop.example/" + "*x" * (focus_rules.MAX_WILDCARDS + 1)
    assert "show_on" in error_of(focus_item(api, [too_wild]), 400)["details"]
    many = [f"{SITE}/{i}" for i in range(focus_rules.MAX_PATTERNS + 1)]
    assert "show_on" in error_of(focus_item(api, many), 400)["details"]
    per = focus_rules.MAX_PATTERNS
    first = None
    for n in range(focus_rules.MAX_LIVE_PATTERNS // per):
        r = focus_item(api, [f"{SITE}/{n}/{i}" for i in range(per)], name=f"Item {n}")
        assert r.status_code == 201, r.text
        first = first or r.json()["focus"]["id"]
    left = focus_rules.MAX_LIVE_PATTERNS % per
    over = [f"{SITE}/last/{i}" for i in range(left + 1)]
    err = error_of(focus_item(api, over, name="One too many"), 400)
    assert f"may use {left}" in err["details"]["show_on"][0]
    hidden = focus_item(api, over, name="Not published", isPublished=False)
    assert hidden.status_code == 201, hidden.text  # an unpublished item is matched against no hit
    error_of(api.patch(f"/api/focus/{hidden.json()['focus']['id']}/edit", json={"isPublished": True}), 400)
    assert focus_item(api, over[:left], name="Just fits").status_code == 201
    assert visit(site, f"{SITE}/0/0")["focus"] == [first]
