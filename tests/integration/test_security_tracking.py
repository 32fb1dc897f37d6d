"""What an attacker can get from the tracking routes, sent as an attacker would send it.

Each test runs on SQLite (hits written in the request) and on PostgreSQL with Redis (hits queued
and written by the writer), so both writers must decide alike. ``shop.example`` is the allowed
site of Settings → Tracking; ``evil.example`` is any other site, whose page the visitor's browser
also runs (same cookies, its own ``Origin``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from mautic_app.domain import tracking as rules
from mautic_app.models import Contact, ContactDevice, FieldDefinition, PageHit
from mautic_app.queues import form_posts, hits, redis_queue
from mautic_app.services import contacts, forms, tracking
from mautic_app.services import fields as field_service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
ALLOWED = "https://shop.example"
EVIL = "https://evil.example"
ANN = "ann@example.com"


@pytest.fixture
def browser(database, session, monkeypatch) -> Iterator[Callable[..., TestClient]]:
    """``browser(origin)``: a visitor's browser on a page of ``origin`` (None: a request naming no site).
    Browsers made with ``jar=`` share that one's cookies, as two tabs of one browser do."""
    from mautic_app.web.app import build_public_app

    assert redis_queue.enabled() is (database.backend == "postgresql")  # PostgreSQL runs go through the queue
    monkeypatch.setattr("mautic_app.web.tracking._wake_writer", lambda: None)
    monkeypatch.setattr("mautic_app.web.forms._wake_writer", lambda: None)
    _clear_queues()
    with session() as s:
        assert tracking.save_settings(session=s, values={"allowed_hosts": ["shop.example"]}) == {}
        s.commit()
    app = build_public_app()
    opened: list[TestClient] = []

    def open_browser(origin: str | None, *, jar: TestClient | None = None) -> TestClient:
        headers = {"User-Agent": UA} | ({"Origin": origin} if origin else {})
        client = TestClient(app, client=("203.0.113.20", 50000), headers=headers, cookies=jar.cookies if jar else None)
        opened.append(client.__enter__())
        return client

    yield open_browser
    for client in opened:
        client.__exit__(None, None, None)
    _clear_queues()


def _clear_queues() -> None:
    if redis_queue.enabled():
        redis_queue.sync_client().delete(hits.QUEUE, hits.LOCK, form_posts.QUEUE, form_posts.LOCK)


def flush() -> None:
    """What the Celery writers do after the reply (nothing to do on SQLite)."""
    if redis_queue.enabled():
        hits.drain(linger=0)
        form_posts.drain_submissions(linger=0)


def hit(client: TestClient, path: str = "/", **params) -> dict:
    r = client.post("/mtc/event", data={"page_url": ALLOWED + path, **params})
    assert r.status_code == 200, r.text
    flush()
    return r.json()


def contact_of(session, device: str) -> int | None:
    with session() as s:
        return forms.contact_of_device(session=s, device_id=device)


@pytest.fixture
def ann(session) -> int:
    """A known contact, with fields a tracking hit may set (e-mail, first name) and a tag."""
    with session() as s:
        field = s.execute(sa.select(FieldDefinition).where(FieldDefinition.alias == "firstname")).scalar_one()
        field_service.update_field(session=s, field_id=field.id, is_publicly_updatable=True)
        known, _ = contacts.create(session=s, values={"email": ANN, "firstname": "Ann", "lastname": "Lee"})
        contacts.modify_tags(session=s, contact_ids=[known], tags="customer")
        s.commit()
    return known


def assert_untouched(session, known: int) -> None:
    with session() as s:
        row = s.get(Contact, known)
        assert (row.email, row.firstname, row.lastname) == (ANN, "Ann", "Lee")
        assert contacts.tags_of(session=s, ids=[known])[known] == ["customer"]


def secret(session) -> str:
    with session() as s:
        value = tracking.identity_secret(session=s)
        s.commit()
    return value


# ------------------------------------------------------------------ cross-site reads


def test_get_mtc_gives_ids_and_credentials_only_to_allowed_sites(browser):
    shop = browser(ALLOWED)
    mine = hit(shop)
    assert shop.cookies.get("mautic_device_id") == mine["device_id"]

    for origin in (EVIL, "null"):  # a page on any other site, a sandboxed frame
        other = browser(origin, jar=shop)
        r = other.get("/mtc")
        assert r.json() == {"id": None, "sid": None, "device_id": None}
        assert "access-control-allow-origin" not in r.headers and "access-control-allow-credentials" not in r.headers
        assert "access-control-allow-origin" not in other.options("/mtc", headers={"Access-Control-Request-Method": "GET"}).headers

    r = shop.get("/mtc")
    assert r.json() == {"id": mine["id"], "sid": mine["device_id"], "device_id": mine["device_id"]}
    assert r.headers["access-control-allow-origin"] == ALLOWED and r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_an_unlisted_site_is_tracked_but_never_learns_or_plants_the_visitors_cookie(browser, session):
    shop = browser(ALLOWED)
    mine = hit(shop)
    evil = browser(EVIL, jar=shop)  # the same browser, on the other site's page

    first = evil.post("/mtc/event", data={"page_url": EVIL + "/a"})
    flush()
    assert first.status_code == 200 and first.json()["success"] == 1
    assert first.json()["device_id"] != mine["device_id"] and first.json()["id"] != mine["id"]
    assert "set-cookie" not in first.headers  # nothing planted in the visitor's cookie either
    assert first.headers["access-control-allow-origin"] == EVIL  # mtc.js there reads its own ids
    # The site's own pages send back the id they stored: its visitor is followed from page to page.
    again = evil.post("/mtc/event", data={"page_url": EVIL + "/b", "mautic_device_id": first.json()["device_id"]})
    flush()
    assert again.json()["id"] == first.json()["id"] and "set-cookie" not in again.headers
    # Its image fallback neither (an image has no Origin: the page is its Referer, or nobody).
    for headers in ({"Referer": EVIL + "/c"}, {}):
        pixel = browser(None, jar=shop).get("/mtracking.gif", params={"page_url": EVIL + "/c"}, headers=headers)
        assert pixel.content.startswith(b"GIF89a") and "set-cookie" not in pixel.headers
    flush()

    assert shop.cookies.get("mautic_device_id") == mine["device_id"]
    with session() as s:
        mine_contact = forms.contact_of_device(session=s, device_id=mine["device_id"])
        urls = s.execute(sa.select(PageHit.url).where(PageHit.contact_id == mine_contact)).scalars().all()
    assert urls == [ALLOWED + "/"]  # the other site's hits never joined the visitor's own record
    assert contact_of(session, first.json()["device_id"]) != mine_contact


def test_prefill_values_go_only_to_allowed_sites(browser, session):
    fields = [
        {"label": "E-mail", "alias": "email", "type": "email", "mapped_object": "contact", "mapped_field": "email"},
        {"label": "First name", "alias": "firstname", "type": "text", "mapped_object": "contact", "mapped_field": "firstname",
         "is_auto_fill": True},
        {"label": "Company", "alias": "company", "type": "text", "mapped_object": "contact", "mapped_field": "company",
         "show_when_value_exists": False},
        {"label": "Submit", "alias": "submit", "type": "button"},
    ]
    with session() as s:
        form_id = forms.save_form(session=s, form_id=None, values={"name": "Newsletter"}, fields=fields, actions=[]).id
        s.commit()
    shop = browser(ALLOWED)
    device = hit(shop)["device_id"]
    shop.post("/form/submit?ajax=1", data={"mauticform[formId]": form_id, "mauticform[email]": "hal@example.com",
                                           "mauticform[firstname]": "Hal", "mauticform[company]": "Acme",
                                           "mautic_device_id": device})
    flush()
    query = f"/form/prefill?id={form_id}&mautic_device_id={device}"

    # A server that learnt the device id, a sandboxed frame: nothing at all.
    for origin in (None, "null"):
        r = browser(origin, jar=shop).get(query)
        assert r.json() == {"hide": [], "values": {}}, origin
        assert "access-control-allow-origin" not in r.headers and "access-control-allow-credentials" not in r.headers
    # Another site's page: never a value, nor credentials; it may learn which fields to hide only for
    # the device id it names itself (its own pages keep it), never for the visitor's cookie.
    evil = browser(EVIL, jar=shop)
    assert evil.get(f"/form/prefill?id={form_id}").json() == {"hide": [], "values": {}}
    r = evil.get(query)
    assert r.json() == {"hide": ["company"], "values": {}}
    assert r.headers["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in r.headers

    r = shop.get(query)
    assert r.json() == {"hide": ["company"], "values": {"firstname": "Hal"}}
    assert r.headers["access-control-allow-origin"] == ALLOWED and r.headers["access-control-allow-credentials"] == "true"


# ------------------------------------------------------------------ claiming to be someone


@pytest.mark.parametrize("route", ["event", "pixel"])
def test_an_unsigned_email_claim_takes_over_nobody(browser, session, ann, route):
    attacker = browser(ALLOWED)  # even on an allowed site: knowing an e-mail proves nothing
    device = hit(attacker, "/first")["device_id"]
    claim = {"email": ANN.upper(), "firstname": "Mallory", "tags": "-customer,owned", "mautic_device_id": device}
    if route == "event":
        reply = hit(attacker, "/claim", **claim)
        assert reply["device_id"] == device
    else:
        attacker.get("/mtracking.gif", params={"page_url": ALLOWED + "/claim", **claim})
        flush()

    assert_untouched(session, ann)
    mallory = contact_of(session, device)
    assert mallory is not None and mallory != ann
    with session() as s:
        row = s.get(Contact, mallory)
        assert row.email is None and row.firstname is None  # a claim about Ann says nothing about this visitor
        assert contacts.tags_of(session=s, ids=[mallory])[mallory] == ["owned"]  # tags stay with the visitor
        assert s.execute(sa.select(sa.func.count()).select_from(PageHit).where(PageHit.contact_id == ann)).scalar() == 0
    mine = attacker.get("/mtc").json()
    with session() as s:
        assert mine["id"] == s.get(Contact, mallory).public_id != s.get(Contact, ann).public_id
    assert attacker.get(f"/form/prefill?id=1&mautic_device_id={device}").json()["values"] == {}


def test_an_unsigned_claim_may_name_a_new_visitor_but_never_rename_a_known_one(browser, session, ann):
    visitor = browser(ALLOWED)
    reply = hit(visitor, email="nia@example.com", firstname="Nia")
    nia = contact_of(session, reply["device_id"])
    hit(visitor, "/later", email="mallory@example.com", firstname="Mallory", mautic_device_id=reply["device_id"])
    with session() as s:
        assert (s.get(Contact, nia).email, s.get(Contact, nia).firstname) == ("nia@example.com", "Nia")
    assert_untouched(session, ann)


def test_a_correctly_signed_claim_merges_and_a_wrongly_signed_one_does_not(browser, session, ann):
    key = secret(session)
    visitor = browser(ALLOWED)
    device = hit(visitor, "/first")["device_id"]
    for wrong in (rules.sign_email("another secret", ANN), rules.sign_email(key, "bob@example.com"), "0" * 64):
        hit(visitor, "/wrong", email=ANN, firstname="Mallory", email_signature=wrong, mautic_device_id=device)
    assert_untouched(session, ann)
    assert contact_of(session, device) != ann

    reply = hit(visitor, "/signed", email=ANN, firstname="Annie", tags="vip", email_signature=rules.sign_email(key, ANN),
                mautic_device_id=device)
    assert contact_of(session, device) == ann
    with session() as s:
        assert reply["id"] == s.get(Contact, ann).public_id
        assert s.get(Contact, ann).firstname == "Annie"
        assert contacts.tags_of(session=s, ids=[ann])[ann] == ["customer", "vip"]
        urls = s.execute(sa.select(PageHit.url).where(PageHit.contact_id == ann).order_by(PageHit.id)).scalars().all()
        assert urls == [ALLOWED + p for p in ("/first", "/wrong", "/wrong", "/wrong", "/signed")]  # every hit came along
        assert s.execute(sa.select(sa.func.count()).select_from(Contact)).scalar() == 1


def test_a_new_secret_voids_the_old_signatures(browser, session, ann):
    old = secret(session)
    assert secret(session) == old  # made once, then kept
    with session() as s:
        new = tracking.new_identity_secret(session=s)
        s.commit()
    assert new != old and secret(session) == new
    visitor = browser(ALLOWED)
    device = hit(visitor, email=ANN, email_signature=rules.sign_email(old, ANN))["device_id"]
    assert contact_of(session, device) != ann
    hit(visitor, email=ANN, email_signature=rules.sign_email(new, ANN), mautic_device_id=device)
    assert contact_of(session, device) == ann


def test_a_known_visitor_signing_in_as_someone_else_hands_over_only_its_device(browser, session, ann):
    """A shared computer: the device moves to the contact that signed in; the first contact keeps its record."""
    key = secret(session)
    with session() as s:
        bob, _ = contacts.create(session=s, values={"email": "bob@example.com", "firstname": "Bob"})
        s.commit()
    visitor = browser(ALLOWED)
    device = hit(visitor, email="bob@example.com", email_signature=rules.sign_email(key, "bob@example.com"))["device_id"]
    assert contact_of(session, device) == bob
    hit(visitor, email=ANN, email_signature=rules.sign_email(key, ANN), mautic_device_id=device)
    assert contact_of(session, device) == ann
    with session() as s:
        assert s.get(Contact, bob).email == "bob@example.com"
        assert s.execute(sa.select(ContactDevice).where(ContactDevice.contact_id == bob)).first() is None
