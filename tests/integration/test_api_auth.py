"""Who may do what through the API: admins-only writes, users losing access at once, sign-in rate limits."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa

from mautic_app.models import Contact, FieldDefinition
from mautic_app.services import users
from tests.integration.conftest import error_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

MARKETER = ("marketer", "marketer-password-1")
ATTACKER_IP = "198.51.100.66"


def save_user(session, username: str, password: str, **flags) -> int:
    with session() as s:
        existing = s.execute(sa.select(users.User.id).where(users.User.username == username)).scalar()
        return users.save_user(session=s, user_id=existing, username=username, password=password, **flags).id


@pytest.fixture
def from_address(database):
    """A client connecting from a given address (the test client's own peer is no address at all)."""
    from mautic_app.web.app import build_public_app

    opened = []

    def open_client(ip: str, auth: tuple[str, str] | None = None) -> TestClient:
        c = TestClient(build_public_app(), client=(ip, 50000))
        c.auth = auth
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        c.close()


@pytest.fixture
def marketer(from_address, session) -> TestClient:
    """An API user who is not an administrator."""
    save_user(session, *MARKETER)
    return from_address("192.0.2.1", MARKETER)


class HashChecks:
    """Counts argon2 verifications: a refused try must not cost one."""

    def __init__(self, hasher) -> None:
        self.hasher, self.calls = hasher, 0

    def __getattr__(self, name):
        return getattr(self.hasher, name)

    def verify(self, *args, **kwargs):
        self.calls += 1
        return self.hasher.verify(*args, **kwargs)


@pytest.fixture
def hash_checks(monkeypatch) -> HashChecks:
    spy = HashChecks(users._hasher)
    monkeypatch.setattr(users, "_hasher", spy)
    return spy


# ---------------------------------------------------------------- admins only


def test_a_non_admin_api_user_may_read_fields_but_every_write_is_refused_and_changes_nothing(api, marketer, session):
    r = api.post("/api/fields/contact/new", json={"label": "Shoe size", "type": "number"})
    assert r.status_code == 201, r.text
    shoe = r.json()["field"]
    contact = api.post("/api/contacts/new", json={"email": "feet@example.com", "shoe_size": 42}).json()["contact"]
    company_field = api.post("/api/fields/company/new", json={"label": "Fleet"}).json()["field"]

    assert marketer.get("/api/fields/contact").status_code == 200
    assert marketer.get(f"/api/fields/contact/{shoe['id']}").json()["field"]["alias"] == "shoe_size"
    writes = [
        ("POST", "/api/fields/contact/new", {"label": "Backdoor", "type": "text", "isPubliclyUpdatable": True}),
        ("PATCH", f"/api/fields/contact/{shoe['id']}/edit", {"isPubliclyUpdatable": True}),
        ("PUT", f"/api/fields/contact/{shoe['id']}/edit", {"label": "Renamed", "isPubliclyUpdatable": True}),
        ("PUT", "/api/fields/contact/999999/edit", {"label": "Created by PUT"}),
        ("DELETE", f"/api/fields/contact/{shoe['id']}/delete", None),
        ("DELETE", f"/api/fields/company/{company_field['id']}/delete", None),
    ]
    for method, url, body in writes:
        error = error_of(marketer.request(method, url, json=body), 403)
        assert "only administrators" in error["message"], (method, url)

    with session() as s:
        field = s.get(FieldDefinition, shoe["id"])
        assert field.label == "Shoe size" and not field.is_publicly_updatable
        assert s.get(FieldDefinition, company_field["id"]) is not None
        aliases = set(s.execute(sa.select(FieldDefinition.alias)).scalars())
        assert not {"backdoor", "created_by_put"} & aliases
        columns = {c["name"] for c in sa.inspect(s.connection()).get_columns(Contact.__tablename__)}
        assert "shoe_size" in columns
    assert api.get(f"/api/contacts/{contact['id']}").json()["contact"]["fields"]["all"]["shoe_size"] == 42


def test_a_demoted_admin_loses_field_writes_at_once_despite_the_cached_password_check(client, session):
    save_user(session, "deputy", "deputy-password-1", is_admin=True)
    client.auth = ("deputy", "deputy-password-1")
    assert client.post("/api/fields/contact/new", json={"label": "Plan"}).status_code == 201
    save_user(session, "deputy", "", is_admin=False)
    error_of(client.post("/api/fields/contact/new", json={"label": "Tier"}), 403)
    assert client.get("/api/fields/contact").status_code == 200


# ---------------------------------------------------------------- access ends at once


def test_a_disabled_user_loses_api_access_at_once(marketer, session, hash_checks):
    assert marketer.get("/api/contacts").status_code == 200
    assert marketer.get("/api/contacts").status_code == 200
    assert hash_checks.calls == 1  # the second request was answered from the cache
    save_user(session, *MARKETER, is_active=False)
    error_of(marketer.get("/api/contacts"), 401)
    save_user(session, *MARKETER, is_active=True)
    assert marketer.get("/api/contacts").status_code == 200


def test_a_new_password_ends_the_old_ones_access_at_once(marketer, session):
    assert marketer.get("/api/contacts").status_code == 200
    save_user(session, MARKETER[0], "a-brand-new-password")
    error_of(marketer.get("/api/contacts"), 401)
    marketer.auth = (MARKETER[0], "a-brand-new-password")
    assert marketer.get("/api/contacts").status_code == 200


# ---------------------------------------------------------------- sign-in rate limits


def test_after_five_failures_an_account_is_refused_with_retry_after_and_no_password_check(from_address, admin_credentials,
                                                                                        hash_checks):
    import time

    attacker = from_address(ATTACKER_IP, (admin_credentials[0], "guess"))
    for _ in range(5):
        error_of(attacker.get("/api/contacts"), 401)
    r = attacker.get("/api/contacts")
    error = error_of(r, 429)
    assert r.headers["retry-after"] == "1"
    assert error["message"] == "Too many failed sign-ins for this account or address; try again in 1 seconds."
    # During the wait even the right password is refused, from anywhere, and no password is checked.
    checked = hash_checks.calls
    owner = from_address("192.0.2.10", admin_credentials)
    for client in (attacker, owner):
        assert client.get("/api/contacts").status_code == 429
    assert hash_checks.calls == checked
    time.sleep(1.05)
    assert owner.get("/api/contacts").status_code == 200  # the wait is over; success clears the failures
    for _ in range(5):
        error_of(attacker.get("/api/contacts"), 401)


def test_after_twenty_failures_an_address_is_refused_whatever_the_account(from_address, admin_credentials):
    attacker = from_address(ATTACKER_IP)
    for n in range(20):
        attacker.auth = (f"user{n}", "guess")
        error_of(attacker.get("/api/contacts"), 401)
    attacker.auth = ("user20", "guess")
    error_of(attacker.get("/api/contacts"), 429)
    attacker.auth = admin_credentials
    error_of(attacker.get("/api/contacts"), 429)
    # A forged X-Forwarded-For from an address that is not our proxy changes nothing.
    error_of(attacker.get("/api/contacts", headers={"X-Forwarded-For": "192.0.2.99"}), 429)
    assert from_address("192.0.2.20", admin_credentials).get("/api/contacts").status_code == 200
