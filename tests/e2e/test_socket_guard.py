"""The event socket as an attacker uses it: every registered handler, called by name with no session
(and the admin pages' handlers as a signed-in non-admin), answers with a refusal, sends back no data
and changes no table.

The handlers come from Reflex's own registry, so a handler added tomorrow is called here too; only
the login page and Reflex's hydration are expected to be open, and that list lives in this file,
not in the guard. A control run with an admin's session proves the harness sees data and writes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sqlite3
import threading
import time
import typing
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from sqlalchemy import create_engine
from sqlmodel import Session

from mautic_app.services import users

pytestmark = pytest.mark.timeout(600)

# Expected open without a session: Reflex's hydration and page-load plumbing, and the login page.
OPEN = {
    "reflex___state____state.hydrate",
    "reflex___state____state.hydrate_and_load",
    "reflex___state____state.set_is_hydrated",
    "reflex___state____state.reflex___state____on_load_internal_state.on_load_internal",
    "reflex___state____state.reflex___state____on_load_internal_state.set_is_hydrated",
    "reflex___state____state.reflex___state____update_vars_internal_state.update_vars_internal",
    "reflex___state____state.reflex___state____frontend_event_exception_state.handle_frontend_exception",
    "reflex___state____state.mautic_app___ui___pages___login____login_state.load",
}
ROOT = "reflex___state____state"
SESSION = f"{ROOT}.mautic_app___ui___session____session_state"
# What may come back from a refused call: who the tab is (signed out) and the router's own data.
REFUSAL_KEYS = {ROOT, SESSION}
# Tables a running app rewrites on its own clock (the change feed is pruned every minute).
CLOCK_TABLES = {"change_feed", "alembic_version"}
SAMPLE_FORM = {
    "name": "Probe", "label": "Probe", "alias": "probe", "email": "probe@example.com", "username": "probe-user",
    "password": "probe-password-1", "first_name": "Probe", "q": "a", "contact": "1", "segment": "1", "weight": "1",
    "is_published": "1", "is_admin": "1", "type": "text", "delta": "5", "company": "1", "allowed_sites": "https://evil.example",
}


def _registered_handlers() -> dict[str, Any]:
    from reflex_base.registry import RegistrationContext

    import mautic_app.mautic_app  # noqa: F401  (registers every page's states)

    return dict(RegistrationContext.get().event_handlers)


def _sample(annotation: Any) -> Any:
    origin = typing.get_origin(annotation) or annotation
    if origin in (dict, typing.Mapping) or "FormData" in str(annotation):
        return dict(SAMPLE_FORM)
    if origin is bool:
        return True
    if origin is int:
        return 1
    if origin in (list, tuple):
        return ["1"]
    return "1"


def _payload(registered: Any) -> dict[str, Any]:
    fn = registered.handler.fn
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001  (an unresolvable hint gets a string)
        hints = {}
    params = list(inspect.signature(fn).parameters.values())[1:]
    return {p.name: _sample(hints.get(p.name, str)) for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


class Tab:
    """One browser tab's socket, spoken to as a script would: any handler by name, any payload."""

    def __init__(self, base_url: str, *, cookie: str | None = None, token: str | None = None, path: str = "/",
                 hydrate: bool = True) -> None:
        self.token = token or str(uuid.uuid4())
        self.frames: list[dict[str, Any]] = []
        self._arrived = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._on_event, namespace="/_event")
        headers = {"Cookie": f"{users.SESSION_COOKIE}={cookie}"} if cookie else {}
        self.sio.connect(f"{base_url}?token={self.token}", socketio_path="/_event", namespaces=["/_event"],
                         transports=["websocket"], headers=headers, wait_timeout=10)
        if hydrate:  # as a browser does first
            self.hydration = self.call(f"{ROOT}.hydrate_and_load", path=path, until=lambda f: bool(f))

    def _on_event(self, data: Any) -> None:
        frame = json.loads(data) if isinstance(data, str) else data
        with self._arrived:
            self.frames.append(frame)
            self._arrived.notify_all()

    def call(self, name: str, payload: dict[str, Any] | None = None, *, path: str = "/",
             until: typing.Callable[[list[dict[str, Any]]], bool] | None = None, timeout: float = 5) -> list[dict[str, Any]]:
        """Send one event; return the frames that came back (until ``until`` holds, then a short grace)."""
        with self._arrived:
            start = len(self.frames)
        self.sio.emit("event", {"name": name, "payload": payload or {},
                                "router_data": {"pathname": path, "asPath": path, "query": {}}}, namespace="/_event")
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not (until or _answered)(self.frames[start:]) and time.monotonic() < deadline:
                self._arrived.wait(0.1)
        time.sleep(0.15)
        with self._arrived:
            return list(self.frames[start:])

    def close(self) -> None:
        self.sio.disconnect()


def _events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for f in frames for e in f.get("events") or []]


REFUSALS = ("This action is not available.", "Only administrators can do this.")


def _refused(frames: list[dict[str, Any]]) -> bool:
    """The guard answered: a redirect away (to /login, or home for a non-admin), a reload for a clean tab, or its
    refusal message."""
    return any(e.get("name") == "_redirect" or "window.location.reload()" in json.dumps(e)
               or any(r in json.dumps(e) for r in REFUSALS) for e in _events(frames))


def _answered(frames: list[dict[str, Any]]) -> bool:
    """The guard refused, or (when it let the call through) the handler sent back state."""
    return _refused(frames) or bool(_delta_states(frames) - REFUSAL_KEYS)


def _redirect_paths(frames: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("payload", {}).get("path", "")) for e in _events(frames) if e.get("name") == "_redirect"]


def _delta_states(frames: list[dict[str, Any]]) -> set[str]:
    return {key for f in frames for key in (f.get("delta") or {})}


def _snapshot(db: Path) -> dict[str, str]:
    """A hash of every table's rows, so any write shows."""
    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            if table in CLOCK_TABLES:
                continue
            digest = hashlib.sha256()
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):  # noqa: S608 (names from the schema)
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
    return out


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


def _secrets(db: Path) -> list[str]:
    """Values no visitor may ever see: contact e-mails, users' names, segment and form names."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = [r[0] for q in ("SELECT email FROM contacts WHERE email != ''", "SELECT username FROM users",
                               "SELECT name FROM segments", "SELECT name FROM forms") for r in conn.execute(q)]
    return [v for v in rows if v]


def _leaks(frames: list[dict[str, Any]], secrets: list[str]) -> list[str]:
    """Secrets that came back as whole values (a username like "admin" is also part of var names)."""
    text = json.dumps(frames)
    return [s for s in secrets if json.dumps(s) in text]


@contextmanager
def _user_session(db: Path, *, admin: bool) -> Iterator[str]:
    """A live session for a new user of the running app, made through the users service."""
    engine = create_engine(f"sqlite:///{db}", connect_args={"timeout": 15})
    name = f"probe-{'admin' if admin else 'marketer'}-{uuid.uuid4().hex[:6]}"
    with Session(engine) as session:
        user = users.save_user(session=session, user_id=None, username=name, password="probe-password-1", is_admin=admin)
        token = users.start_session(session=session, user=user)
        session.commit()
    try:
        yield token
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def handlers() -> dict[str, Any]:
    return _registered_handlers()


@pytest.fixture(scope="module")
def db(app_server) -> Path:
    return Path(app_server["data_dir"]) / "mautic.db"


TABS_AT_ONCE = 6


def test_no_handler_answers_without_a_session(app_server, handlers, db):
    guarded = sorted(name for name in handlers if name not in OPEN)
    assert len(guarded) > 200, "the registry should list every page's handlers"
    secrets = _secrets(db)
    before = _snapshot(db)
    problems: list[str] = []

    def try_all(names: list[str]) -> None:
        """One visitor's tab calling each handler in turn (several such tabs at once: the calls mostly wait)."""
        tab = Tab(app_server["base_url"])
        try:
            for name in names:
                frames = tab.call(name, _payload(handlers[name]), path="/contacts")
                if not _refused(frames):
                    problems.append(f"{name}: no refusal came back")
                elif not all(p.startswith("/login") for p in _redirect_paths(frames)) or not _redirect_paths(frames):
                    problems.append(f"{name}: refused without sending the visitor to /login: {_redirect_paths(frames)}")
                if extra := _delta_states(frames) - REFUSAL_KEYS:
                    problems.append(f"{name}: state came back: {sorted(extra)}")
                if leaked := _leaks(frames, secrets):
                    problems.append(f"{name}: data came back: {leaked[:3]}")
                if len(problems) >= 10:
                    return  # enough to tell what is wrong
        finally:
            tab.close()

    with ThreadPoolExecutor(TABS_AT_ONCE) as pool:
        list(pool.map(try_all, [guarded[i::TABS_AT_ONCE] for i in range(TABS_AT_ONCE)]))
    assert not problems, "\n".join(problems)
    assert _changed(before, _snapshot(db)) == []


def _upload(base_url: str, tab: Tab, handler: str, cookie: str | None) -> requests.Response:
    return requests.post(base_url + "/_upload", timeout=10,
                         headers={"reflex-client-token": tab.token, "reflex-event-handler": handler}
                         | ({"Cookie": f"{users.SESSION_COOKIE}={cookie}"} if cookie else {}),
                         files={"files": ("people.csv", b"email\nann@example.com\n" * 1000, "text/csv")})


def test_uploads_need_a_session_of_their_own_for_their_tab(app_server, handlers, db):
    """Reflex's upload route runs a handler for the tab a header names: a tab id alone, or another user's
    session, uploads nothing; the tab's own user does (the control)."""
    name = next(n for n in handlers if n.endswith("imports_state.receive_upload"))
    folder = Path(app_server["data_dir"]) / "imports"
    base = app_server["base_url"]
    with _user_session(db, admin=False) as mine, _user_session(db, admin=False) as theirs:
        before, files_before = _snapshot(db), set(folder.rglob("*"))
        stranger = Tab(base, path="/contacts/import")
        signed_in = Tab(base, cookie=mine, path="/contacts/import")
        try:
            replies = [_upload(base, stranger, name, None), _upload(base, signed_in, name, None),
                       _upload(base, signed_in, name, theirs)]
            time.sleep(1)
            assert [r.status_code for r in replies] == [403, 403, 403]
            assert _changed(before, _snapshot(db)) == []
            assert set(folder.rglob("*")) == files_before
            assert _upload(base, signed_in, name, mine).status_code in (200, 202)
            deadline = time.monotonic() + 10
            while "imports" not in _changed(before, _snapshot(db)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "imports" in _changed(before, _snapshot(db))
        finally:
            stranger.close()
            signed_in.close()


def test_a_tab_whose_session_ended_gets_no_page_data_back(app_server, db):
    """Data a signed-in tab loaded stays on the server: reconnecting the same tab without the session shows none."""
    secrets = _secrets(db)
    with _user_session(db, admin=True) as token:
        tab = Tab(app_server["base_url"], cookie=token, path="/contacts")
        loaded = tab.call(f"{ROOT}.mautic_app___ui___pages___contacts___state____contacts_state.load", path="/contacts",
                          until=lambda f: bool(_leaks(f, secrets)))
        tab.close()
        assert _leaks(loaded, secrets), "the control: a signed-in tab does get contacts"
        again = Tab(app_server["base_url"], token=tab.token, path="/contacts")
        again.close()
    assert again.hydration, "hydration answers"
    assert _leaks(again.hydration, secrets) == []


def test_the_next_user_of_a_tab_sees_nothing_the_last_one_loaded(app_server, db):
    """An admin's tab (users list, identity secret) signed out elsewhere; a marketer signs in on the same tab:
    nothing runs on the admin's page data, and hydration gives none of it."""
    users_state = f"{ROOT}.mautic_app___ui___pages___users____users_state"
    tracking_state = f"{ROOT}.mautic_app___ui___pages___tracking_settings____tracking_settings_state"
    with _user_session(db, admin=True) as admin, _user_session(db, admin=False) as marketer:
        tab = Tab(app_server["base_url"], cookie=admin, path="/settings/users")
        shown = tab.call(f"{users_state}.load", path="/settings/users", until=lambda f: users_state in _delta_states(f))
        shown += tab.call(f"{tracking_state}.load", path="/settings/tracking",
                          until=lambda f: tracking_state in _delta_states(f))
        tab.close()
        # What only an admin sees: other users' names, and the identity secret.
        secrets = [v for v in _secrets(db) if v.startswith("probe-admin-")] + _tracking_secrets(db)
        assert len(_leaks(shown, secrets)) >= 2, "the control: the admin's tab holds users and the identity secret"
        other = Tab(app_server["base_url"], cookie=marketer, token=tab.token, hydrate=False)
        try:
            first = other.call(f"{ROOT}.reflex___state____update_vars_internal_state.update_vars_internal", {"vars": {}},
                               path="/settings/users")
            assert _refused(first) and _delta_states(first) <= REFUSAL_KEYS
            hydrated = other.call(f"{ROOT}.hydrate_and_load", path="/", until=lambda f: bool(f))
        finally:
            other.close()
    assert _leaks(first + hydrated, secrets) == []


def _tracking_secrets(db: Path) -> list[str]:
    """Long secret strings of Settings → Tracking (the identity secret)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        values = [json.loads(v) for (v,) in conn.execute("SELECT value FROM tracking_settings")]
    return [v for v in values if isinstance(v, str) and len(v) >= 32]


def test_admin_pages_refuse_a_signed_in_non_admin(app_server, handlers, db):
    from mautic_app.ui.layout import ADMIN_NAV

    admin_states = _admin_page_states([route for _, route, _ in ADMIN_NAV])
    targets = sorted(n for n in handlers if n.rpartition(".")[0] in admin_states)
    assert {s.rpartition(".")[2] for s in admin_states} >= {
        "mautic_app___ui___pages___users____users_state",
        "mautic_app___ui___pages___fields____fields_state",
        "mautic_app___ui___pages___tracking_settings____tracking_settings_state",
    }
    assert len(targets) >= 20
    before = _snapshot(db)
    problems = []
    with _user_session(db, admin=False) as token:
        tab = Tab(app_server["base_url"], cookie=token, path="/settings/users")
        try:
            for name in targets:
                frames = tab.call(name, _payload(handlers[name]), path="/settings/users")
                if not _refused(frames):
                    problems.append(f"{name}: no refusal came back")
                if extra := _delta_states(frames) - REFUSAL_KEYS:
                    problems.append(f"{name}: state came back: {sorted(extra)}")
        finally:
            tab.close()
    assert not problems, "\n".join(problems)
    changed = _changed(before, _snapshot(db))
    assert changed in ([], ["user_sessions", "users"]), changed  # only the probe user and its session were added


def test_control_an_admin_session_reads_and_writes(app_server, handlers, db):
    """The harness can see data and writes: an admin's tab gets the users list and saves a stage."""
    with _user_session(db, admin=True) as token:
        before = _snapshot(db)
        tab = Tab(app_server["base_url"], cookie=token, path="/settings/users")
        try:
            users_state = f"{ROOT}.mautic_app___ui___pages___users____users_state"
            frames = tab.call(f"{users_state}.load", path="/settings/users",
                              until=lambda f: users_state in _delta_states(f))
            assert users_state in _delta_states(frames)
            stages_state = f"{ROOT}.mautic_app___ui___pages___stages____stages_state"
            saved = tab.call(f"{stages_state}.save", {"form": {"name": f"Probe stage {uuid.uuid4().hex[:6]}", "weight": "1"}},
                             path="/stages", until=lambda f: stages_state in _delta_states(f))
            assert not _refused(saved)
        finally:
            tab.close()
        deadline = time.monotonic() + 10
        while "stages" not in _changed(before, _snapshot(db)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "stages" in _changed(before, _snapshot(db))


def _admin_page_states(routes: list[str]) -> set[str]:
    """Every state an admin page's components name, read from the page itself (not from the guard's list)."""
    from reflex_base.registry import RegistrationContext

    pages = {kwargs["route"]: page for page, kwargs in RegistrationContext.get().decorated_pages}
    found: set[str] = set()
    for route in routes:
        for var in pages[route]()._get_vars(include_children=True):
            data = var._get_all_var_data()
            if data and data.state:
                found.add(data.state)
    return found - {ROOT, SESSION, f"{ROOT}.mautic_app___ui___layout____shell_state"}
