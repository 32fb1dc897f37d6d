"""Mautic's published security advisories, replayed as the requests an attacker would send.

Each section names the advisory (or class of them) and checks that the hostile input is refused
with a clear error, or stored inert and given back as data, and that whatever HTML or script the
app renders of it is escaped.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mautic_app import db
from mautic_app.models import Contact, ContactEvent, FieldDefinition, FocusStat, FormSubmission, PageHit, User
from mautic_app.queues import form_posts, hits, redis_queue
from mautic_app.services import contacts, focus, forms, timeline, tracking, users
from tests.integration.conftest import visitor_browser

SITE = "https://shop.example"
VISITOR_IP = "203.0.113.21"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SCRIPT_TITLE = "</title><script>alert(document.cookie)</script>"
SCRIPT_URL = f'{SITE}/p?q="><script>alert(1)</script>&x=<img src=x onerror=alert(2)>'
# What a database, driver or framework says when SQL goes wrong: none of it may reach an attacker.
LEAKS = re.compile(r"sqlite|psycopg|postgres|syntax error|traceback|sqlalchemy|operationalerror|programmingerror|\[sql:", re.I)


@pytest.fixture
def site(database, monkeypatch, override_settings) -> Iterator:
    """A visitor's browser on another site (the writers' queues drained by the tests when Redis is on)."""
    override_settings(form_submits_per_minute=0)
    with visitor_browser(monkeypatch, origin=SITE, ip=VISITOR_IP) as c:
        yield c


@pytest.fixture(autouse=True)
def segments_build_at_once(monkeypatch):
    """Saving a segment queues its rebuild; here it runs at once instead of on a worker."""
    from mautic_app.tasks import segments as segment_tasks

    monkeypatch.setattr(db, "send_task", lambda task, *args: segment_tasks.rebuild(*args) if task == "mautic.segments.rebuild" else None)
    monkeypatch.setattr(segment_tasks, "contacts_changed", lambda payload: None)


def flush() -> None:
    """What the Celery writers do between a request and the marketer's screen (nothing to do on SQLite)."""
    if redis_queue.enabled():
        hits.drain(linger=0)
        form_posts.drain_submissions(linger=0)


def track(client, **params):
    r = client.post("/mtc/event", data={"page_title": "A page", **params})
    flush()
    return r


def contact_id_of(session, public_id: str) -> int:
    with session() as s:
        return s.execute(sa.select(Contact.id).where(Contact.public_id == public_id)).scalar_one()


def count(session, model, *where) -> int:
    with session() as s:
        return s.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def make_form(session, **values) -> int:
    fields = [
        {"label": "E-mail", "alias": "email", "type": "email", "is_required": True, "mapped_object": "contact", "mapped_field": "email"},
        {"label": "First name", "alias": "firstname", "type": "text", "mapped_object": "contact", "mapped_field": "firstname"},
        {"label": "CV", "alias": "cv", "type": "file", "properties": {"allowed_extensions": ["pdf", "txt"]}},
        {"label": "Submit", "alias": "submit", "type": "button"},
    ]
    with session() as s:
        form = forms.save_form(session=s, form_id=None, values={"name": "Contact us", **values}, fields=fields, actions=[])
        s.commit()
        return form.id


def submit(client, form_id: int, ajax: bool = True, files=None, **fields):
    data = {f"mauticform[{k}]": v for k, v in fields.items()} | {"mauticform[formId]": str(form_id)}
    r = client.post("/form/submit" + ("?ajax=1" if ajax else ""), data=data, files=files, follow_redirects=False)
    flush()
    return r


def leaks(response, probe: str) -> bool:
    """Whether an answer shows database internals (the probe itself may be echoed back as data)."""
    return bool(LEAKS.search(response.text.replace(json.dumps(probe)[1:-1], "")))


def no_live_markup(text: str) -> None:
    """Nothing a browser would run: no tag from the payloads survives unescaped."""
    lowered = text.lower()
    for marker in ("<script>alert", "<img src=x", "</title><script", "onerror=alert(2)>"):
        assert marker not in lowered, marker


# ---------------------------------------------------------------- stored XSS through tracking (CVE-2022-25772, CVE-2024-47050)


def test_a_tracked_title_and_url_with_script_are_stored_inert_and_come_back_as_data(site, session, admin_credentials):
    r = track(site, page_url=SCRIPT_URL, page_title=SCRIPT_TITLE, page_referrer=f"{SITE}/<script>r</script>")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    no_live_markup(r.text)  # the reply echoes none of it
    cid = contact_id_of(session, r.json()["id"])
    with session() as s:
        hit = s.execute(sa.select(PageHit).where(PageHit.contact_id == cid)).scalar_one()
        assert (hit.url, hit.url_title) == (SCRIPT_URL, SCRIPT_TITLE)  # kept exactly, as text
        [event] = timeline.events(session=s, contact_id=cid, types=["page_hit"])
        assert timeline.describe(event) == f"Visited {SCRIPT_TITLE}"  # plain text; pages render it as text

    site.auth = admin_credentials
    activity = site.get(f"/api/contacts/{cid}/activity", params={"filters[includeEvents][]": "page_hit"})
    assert activity.headers["content-type"] == "application/json"
    assert activity.headers["x-content-type-options"] == "nosniff"  # never sniffed into HTML
    [event] = activity.json()["events"]
    assert event["details"]["url"] == SCRIPT_URL and event["details"]["title"] == SCRIPT_TITLE


def test_pages_and_scripts_the_app_renders_escape_hostile_text(site, session):
    """Query strings, form names and focus items come from visitors' links or are shown on any site."""
    form_id = make_form(session, name=SCRIPT_TITLE)
    page = site.get(f"/form/{form_id}", params={"firstname": SCRIPT_TITLE, "x": SCRIPT_URL})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    no_live_markup(page.text)
    assert "&lt;/title&gt;&lt;script&gt;" in page.text  # the form's name, escaped in the page's title
    js = site.get("/form/generate.js", params={"id": form_id, "firstname": SCRIPT_TITLE})
    assert js.status_code == 200 and "</script" not in js.text.lower() and "<script" not in js.text.lower()

    with session() as s:
        item = focus.save_focus(session=s, values={
            "name": SCRIPT_TITLE, "type": "link", "style": "bar",
            "properties": {"placement": "top", "link_url": f"{SITE}/sale", "headline": SCRIPT_TITLE, "tagline": SCRIPT_URL,
                           "show_on": [f"{SITE}/*"]}})
        item_id = item.id
    reply = track(site, page_url=SCRIPT_URL, page_title=SCRIPT_TITLE).json()
    assert reply["focus"] == [item_id]  # ids only, never the item's text
    script = site.get(f"/focus/{item_id}.js")
    assert script.status_code == 200 and "</script" not in script.text.lower() and "<script" not in script.text.lower()
    assert "<img" not in script.text


def test_a_submitted_name_with_script_is_kept_as_text_and_escaped_when_the_form_is_shown_again(site, session):
    form_id = make_form(session)
    refused = submit(site, form_id, ajax=False, email="", firstname=SCRIPT_TITLE)  # shown again with its errors
    assert refused.status_code == 400
    no_live_markup(refused.text)
    assert "&lt;/title&gt;&lt;script&gt;" in refused.text
    ok = submit(site, form_id, email="x@example.com", firstname=SCRIPT_TITLE, mautic_page_url=SCRIPT_URL)
    assert ok.json()["success"] == 1
    with session() as s:
        assert s.execute(sa.select(Contact.firstname).where(Contact.email == "x@example.com")).scalar_one() == SCRIPT_TITLE
    thanks = submit(site, form_id, ajax=False, email="y@example.com", firstname="Y", **{"return": f'{SITE}/"><script>alert(1)</script>'})
    no_live_markup(thanks.text)


# ---------------------------------------------------------------- SQL in filter values and searches


SQL_VALUES = [
    "' OR '1'='1", "x' OR 1=1 --", "'; DROP TABLE contacts; --", "%' OR '1'='1' --", "x\\' OR 1=1 #",
    "1) OR (1=1", "' UNION SELECT password_hash FROM users --", "\" OR \"\"=\"", "x|y' OR 'a'='a",
]


def test_sql_in_segment_filter_values_matches_literally_leaks_nothing_and_drops_nothing(api, session):
    for email, city in (("a@example.com", "Berlin"), ("b@example.com", "Paris"), ("c@example.com", "Rome")):
        assert api.post("/api/contacts/new", json={"email": email, "city": city}).status_code == 201
    for n, value in enumerate(SQL_VALUES):
        for operator in ("=", "!=", "like", "!like", "in", "startsWith", "contains", "gt", "regexp"):
            filters = [{"glue": "and", "field": "city", "object": "lead", "type": "text", "operator": operator,
                        "properties": {"filter": [value] if operator == "in" else value}}]
            r = api.post("/api/segments/new", json={"name": f"Probe {n} {operator}", "filters": filters})
            assert r.status_code in (201, 400), r.text
            assert not leaks(r, value), r.text
            if r.status_code == 400:
                continue
            segment = api.get(f"/api/segments/{r.json()['list']['id']}").json()["list"]
            expected = 3 if operator in ("!=", "!like") else 0  # a literal match: no one's city holds the probe
            assert segment["contactCount"] == expected, (value, operator)
        for field, operator in (("points", "gt"), ("date_added", "lt")):
            filters = [{"field": field, "operator": operator, "properties": {"filter": value}}]
            r = api.post("/api/segments/new", json={"name": f"Probe {n} {field}", "filters": filters})
            assert r.status_code == 400 and not leaks(r, value), r.text  # not a number or a date: a clear error
    assert count(session, Contact) == 3 and count(session, User) == 1


def test_sql_in_contact_searches_and_sort_orders_finds_nobody_and_leaks_nothing(api, session):
    for email in ("a@example.com", "b@example.com"):
        assert api.post("/api/contacts/new", json={"email": email}).status_code == 201
    searches = [*SQL_VALUES, *(f"{prefix}:{value}" for prefix in ("email", "tag", "owner", "company", "segment", "ids")
                                for value in SQL_VALUES[:4]), "ids:1,2) OR (1=1", "is:anonymous' OR '1'='1"]
    for search in searches:
        r = api.get("/api/contacts", params={"search": search})
        assert r.status_code in (200, 400), (search, r.text)
        assert not leaks(r, search), r.text
        if r.status_code == 200:
            assert r.json()["total"] == "0", search
    for order_by in ("email; DROP TABLE contacts", "(CASE WHEN 1=1 THEN email ELSE id END)", "id desc, (select 1)"):
        r = api.get("/api/contacts", params={"orderBy": order_by})
        assert r.status_code == 400 and not leaks(r, order_by), r.text
    assert count(session, Contact) == 2 and count(session, User) == 1
    assert api.get("/api/contacts").json()["total"] == "2"


# ---------------------------------------------------------------- open redirects (mauticform[return])


FOREIGN_RETURNS = [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example/phish", "\\\\evil.example/phish",
    "javascript:alert(document.domain)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "https:evil.example", "https://shop.example@evil.example/", "https://shop.example.evil.example/",
    "http://evil.example%2eshop.example/",
]


def _leaves_for(reply) -> str | None:
    """Where an answer sends the browser: a redirect, the AJAX reply's redirect, or the page's back link."""
    if reply.is_redirect:
        return reply.headers["location"]
    if reply.headers["content-type"].startswith("application/json"):
        return reply.json().get("redirect")
    link = re.search(r'href="([^"]*)"', reply.text)
    return link.group(1) if link else None


@pytest.mark.parametrize("target", FOREIGN_RETURNS)
def test_a_form_never_sends_visitors_to_another_site(site, session, target):
    form_id = make_form(session, post_action="return")
    for ajax in (True, False):
        reply = submit(site, form_id, ajax=ajax, email="r@example.com", **{"return": target})
        assert reply.status_code in (200, 303), reply.text
        assert _leaves_for(reply) is None, (target, ajax)


def test_a_backslash_before_userinfo_does_not_smuggle_another_host_past_the_return_check(site, session):
    form_id = make_form(session, post_action="return")
    reply = submit(site, form_id, ajax=False, email="r@example.com", **{"return": "https://evil.example\\@shop.example/"})
    assert _leaves_for(reply) is None


# ---------------------------------------------------------------- guessable ids (contacts impersonated by id+1)


def _mautic_click_token(contact_id: int) -> str:
    """Mautic's own ``ct`` parameter: a base64 PHP-serialized array naming the contact."""
    return base64.b64encode(f'a:2:{{s:6:"source";a:2:{{i:0;s:5:"email";i:1;i:1;}}s:4:"lead";i:{contact_id};}}'.encode()).decode()


def trust_the_site(session) -> None:
    """The shop is one of Settings → Tracking's allowed sites: its visitors' cookies and ids are trusted."""
    with session() as s:
        tracking.save_settings(session=s, values={"allowed_hosts": ["shop.example"]})


def test_contact_ids_from_tracking_requests_attach_nobody_to_that_contact(site, session):
    trust_the_site(session)
    victim = track(site, page_url=f"{SITE}/account").json()
    victim_id = contact_id_of(session, victim["id"])
    assert site.get("/mtc").json()["id"] == victim["id"]  # the victim's own browser is recognised
    hits_before = count(session, PageHit, PageHit.contact_id == victim_id)
    for guess in (victim_id, victim_id + 1, victim_id - 1):
        for params, cookies in (
            ({"mtc_id": str(guess)}, {}),
            ({"mautic_device_id": str(guess)}, {}),
            ({}, {"mtc_id": str(guess), "mautic_device_id": str(guess)}),
            ({"contact_id": str(guess), "lead_id": str(guess), "leadId": str(guess), "id": str(guess)}, {}),
            ({"ct": _mautic_click_token(guess)}, {}),
        ):
            site.cookies.clear()
            r = site.post("/mtc/event", data={"page_url": f"{SITE}/guess", "page_title": "Guess", **params}, cookies=cookies)
            flush()
            assert r.status_code in (200, 400), r.text
            if r.status_code == 200:
                assert r.json()["id"] != victim["id"], (guess, params, cookies)
            site.cookies.clear()
            assert site.get("/mtc", params={"mautic_device_id": str(guess)}, cookies=cookies).json()["id"] is None
    assert count(session, PageHit, PageHit.contact_id == victim_id) == hits_before


def test_a_guessed_device_id_reads_and_writes_nothing_of_that_contact(site, session):
    trust_the_site(session)
    form_id = make_form(session, in_kiosk_mode=False)
    with session() as s:
        victim_id, _ = contacts.create(session=s, values={"email": "known@example.com", "firstname": "Known"})
        item_id = focus.save_focus(session=s, values={"name": "Bar", "type": "notice", "style": "bar",
                                                      "properties": {"headline": "Hello"}}).id
    site.cookies.clear()
    for guess in (str(victim_id), str(victim_id + 1), "0" * 24):
        prefill = site.get("/form/prefill", params={"id": form_id, "mautic_device_id": guess}).json()
        assert prefill == {"hide": [], "values": {}}
        reply = site.post("/form/submit?ajax=1", data={"mauticform[formId]": str(form_id), "mauticform[email]": f"g{guess}@example.com",
                                                        "mautic_device_id": guess}, cookies={"mautic_device_id": guess, "mtc_id": guess})
        flush()
        assert reply.json()["success"] == 1
        assert site.get(f"/focus/{item_id}/viewpixel.gif", params={"mautic_device_id": guess}).status_code == 200
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission)
                         .where(FormSubmission.contact_id == victim_id)).scalar_one() == 0
        assert s.get(Contact, victim_id).firstname == "Known"
        kinds = set(s.execute(sa.select(ContactEvent.event_type).where(ContactEvent.contact_id == victim_id)).scalars())
        assert not kinds & {"form_submitted", "focus_view", "page_hit", "merged"}
    assert count(session, FocusStat) == 3 and count(session, FocusStat, FocusStat.contact_id.is_not(None)) == 0  # anonymous views


# ---------------------------------------------------------------- path traversal (uploads and file routes)


TRAVERSALS = [
    "../../canary.txt", "..%2F..%2Fcanary.txt", "%2e%2e%2f%2e%2e%2fcanary.txt", "%252e%252e%252fcanary.txt",
    "..%5C..%5Ccanary.txt", "%2Fetc%2Fpasswd", "%2F%2Fetc%2Fpasswd", "....//....//canary.txt", "cv%00.txt",
]


@pytest.fixture
def canary(database):
    """A private file in the data folder that no route may serve."""
    from mautic_app.settings import get_settings

    path = get_settings().data_dir / "canary.txt"
    path.write_text("CANARY-SECRET")
    return path


def _marketer_session(session) -> str:
    with session() as s:
        return users.start_session(session=s, user=users.authenticate(session=s, username="admin", password="admin-password-123"))


def test_uploaded_files_stay_in_their_folder_whatever_their_names(site, session, canary):
    from mautic_app.settings import get_settings

    form_id = make_form(session)
    folder = forms.upload_folder(form_id)
    for n, name in enumerate(("../../canary.txt", "..\\..\\evil.txt", "/etc/cron.d/evil.txt", "....//x.txt", "a/../../b.txt")):
        r = submit(site, form_id, email=f"u{n}@example.com", files={"mauticform[cv]": (name, b"payload", "text/plain")})
        assert r.json()["success"] == 1, r.text
    assert canary.read_text() == "CANARY-SECRET"
    outside = [p for p in get_settings().data_dir.rglob("*") if p.is_file() and folder not in p.parents and p != canary]
    assert not [p for p in outside if p.read_bytes() == b"payload"]
    assert len(list(folder.iterdir())) == 5
    # A file field posted as text naming a path stores no file reference at all.
    r = submit(site, form_id, email="t@example.com", cv="../../canary.txt")
    with session() as s:
        values = [v for v in s.execute(sa.select(FormSubmission.values)).scalars() if v.get("email") == "t@example.com"]
    assert r.json()["success"] == 0 or not isinstance(values[0].get("cv"), dict)


def test_file_routes_refuse_paths_that_climb_out(site, session, canary):
    form_id = make_form(session)
    assert submit(site, form_id, email="f@example.com", files={"mauticform[cv]": ("cv.txt", b"cv", "text/plain")}).json()["success"] == 1
    with session() as s:
        sub_id = s.execute(sa.select(FormSubmission.id)).scalar_one()
    site.cookies.set("mautic_session", _marketer_session(session))
    assert site.get(f"/forms/{form_id}/results/{sub_id}/files/cv").content == b"cv"
    probes = [f"/forms/{form_id}/results/{sub_id}/files/{t}" for t in TRAVERSALS]
    probes += [f"/form/{t}" for t in TRAVERSALS] + [f"/focus/{t}.js" for t in TRAVERSALS]
    probes += [f"/mtc.js/{t}" for t in TRAVERSALS] + [f"/forms/{form_id}/results/{sub_id}/files/cv/{t}" for t in TRAVERSALS]
    for path in probes:
        r = site.get(path)
        assert r.status_code in (400, 404, 405), (path, r.status_code)
        assert b"CANARY-SECRET" not in r.content and b"root:" not in r.content, path
    assert count(session, FieldDefinition) > 0  # nothing was disturbed on the way


def test_form_results_refuse_a_stored_path_in_place_of_a_file(site, session, canary):
    """Even a submission row holding a hostile file reference (say, from an old import) serves nothing outside."""
    form_id = make_form(session)
    assert submit(site, form_id, email="h@example.com").json()["success"] == 1
    with session() as s:
        sub = s.execute(sa.select(FormSubmission)).scalar_one()
        sub_id = sub.id
        sub.values = {**sub.values, "cv": {"filename": "x.txt", "stored": "../../canary.txt"}}
        s.add(sub)
    site.cookies.set("mautic_session", _marketer_session(session))
    r = site.get(f"/forms/{form_id}/results/{sub_id}/files/cv")
    assert r.status_code == 404 and b"CANARY-SECRET" not in r.content

