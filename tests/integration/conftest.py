"""Database fixtures for integration tests, on SQLite and on PostgreSQL.

Every test gets a fresh, migrated and bootstrapped database, copied from a template built
once per session (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL),
so tests never see each other's rows and set-up stays cheap.

Code reads settings through ``get_settings()``, so a test swaps them with ``use_settings`` (undone by
``monkeypatch`` at the end of the test).

Fixtures for other tests to use:
- ``database``: parametrized over ``sqlite`` and ``postgresql``; the app is pointed at it.
- ``override_settings(**changes)``: change settings (e.g. ``api_enabled=False``) for one test.
- ``client``: a TestClient on ``build_public_app()`` without credentials.
- ``api``: the same, authenticated with the admin's Basic credentials.
- ``admin_credentials``: the bootstrapped admin's (username, password).
- ``session``: ``mautic_app.db.session_scope`` (one unit of work per ``with``).

Helpers: ``visitor_browser(...)`` (a visitor's browser on a site, for the public routes),
``visit(client, url)`` (a tracked page view, stored before it returns), ``error_of(response, status)``
(the one error of a Mautic-shaped error reply), ``new_contact``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

import mautic_app.settings as settings_module
from mautic_app import cache
from mautic_app import db as db_module

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette nags that it prefers httpx2; its client works the same on httpx
    from starlette.testclient import TestClient

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-123"
PG_SERVER = os.environ.get("MAUTIC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
# A Redis database of the tests' own (an app started with MAUTIC_REDIS_URL=redis://127.0.0.1:6379/0, the
# usual choice, never sees their queues, locks or Celery messages); MAUTIC_TEST_REDIS names another.
REDIS_URL = os.environ.get("MAUTIC_TEST_REDIS", "redis://127.0.0.1:6379/15")
RUN_ID = uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Database:
    backend: str
    url: str


def _apply_settings(monkeypatch: pytest.MonkeyPatch, new) -> None:
    """Put ``new`` in force for this test, and drop what was built from the old."""
    monkeypatch.setattr(settings_module, "_current", settings_module.get_settings())  # put back afterwards
    settings_module.use_settings(new)
    db_module.get_engine.cache_clear()
    cache.clear_all()


def _bootstrap(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from mautic_app.services import setup

    _apply_settings(monkeypatch, settings)
    setup.migrate()
    with db_module.session_scope() as session:
        setup.bootstrap(session=session, admin_user=ADMIN_USER, admin_password=ADMIN_PASSWORD)
    db_module.get_engine().dispose()


def _as_admin(sql: str, **params: str) -> list:
    """Run one statement on the server's ``postgres`` database (outside a transaction, as CREATE and DROP
    DATABASE need) and return its rows, on an engine of its own: the copies are made on other threads."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result.scalars()) if result.returns_rows else []
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    base = settings_module.get_settings()
    with pytest.MonkeyPatch.context() as mp:
        _bootstrap(dataclasses.replace(base, data_dir=folder, database_url=f"sqlite:///{path}", redis_url=None), mp)
    db_module.get_engine.cache_clear()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated, bootstrapped PostgreSQL database other test databases are copied from."""
    name = f"mautic_test_{RUN_ID}_tpl"
    _as_admin(f'CREATE DATABASE "{name}"')
    base = settings_module.get_settings()
    try:
        with pytest.MonkeyPatch.context() as mp:
            _bootstrap(dataclasses.replace(base, database_url=f"{PG_SERVER}/{name}", redis_url=REDIS_URL), mp)
        db_module.get_engine.cache_clear()
        yield name
    finally:
        _as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


AHEAD = 2  # copies in the making at once


class _Copies:
    """Copies of the PostgreSQL template, made ``AHEAD`` tests ahead and dropped after use, on threads of their own.

    Copying and dropping a database take a third of a second, most of a PostgreSQL test's set-up; made while the
    test before runs, they cost it nothing. A copy that failed (a test restarts PostgreSQL) is made again at once.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self.worker = ThreadPoolExecutor(AHEAD, thread_name_prefix="test-databases")
        self.ready = [self.worker.submit(self._create) for _ in range(AHEAD)]

    def _create(self) -> str:
        name = f"mautic_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        _as_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def _drop(self, name: str) -> None:
        _as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def take(self) -> str:
        first = self.ready.pop(0)
        try:
            name = first.result()
        except sa.exc.SQLAlchemyError:
            name = self._create()
        self.ready.append(self.worker.submit(self._create))
        return name

    def give_back(self, name: str) -> None:
        self.worker.submit(self._drop, name)

    def close(self) -> None:
        """Drop every copy of this run still there (one a restart of PostgreSQL kept from being dropped, too)."""
        self.worker.shutdown(wait=True)
        for name in _as_admin("SELECT datname FROM pg_database WHERE datname LIKE :run AND datname <> :tpl",
                              run=f"mautic_test_{RUN_ID}_%", tpl=self.template):
            self._drop(name)


@pytest.fixture(scope="session")
def postgres_copies(postgres_template) -> Iterator[_Copies]:
    copies = _Copies(postgres_template)
    yield copies
    copies.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch) -> Iterator[Database]:
    """A fresh database for this test, with the app's settings pointed at it."""
    base = settings_module.get_settings()
    if request.param == "sqlite":
        path = tmp_path / "mautic.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        _apply_settings(monkeypatch, dataclasses.replace(base, data_dir=tmp_path, database_url=url, redis_url=None))
        yield Database("sqlite", url)
        db_module.get_engine().dispose()
        return
    copies = request.getfixturevalue("postgres_copies")
    name = copies.take()
    url = f"{PG_SERVER}/{name}"
    _apply_settings(monkeypatch, dataclasses.replace(base, data_dir=tmp_path, database_url=url, redis_url=REDIS_URL))
    try:
        yield Database("postgresql", url)
    finally:
        db_module.get_engine().dispose()
        copies.give_back(name)


@pytest.fixture
def override_settings(database, monkeypatch) -> Callable[..., None]:
    """Change settings fields for the rest of this test, e.g. ``override_settings(api_enabled=False)``."""

    def apply(**changes) -> None:
        _apply_settings(monkeypatch, dataclasses.replace(settings_module.get_settings(), **changes))

    return apply


@pytest.fixture
def session(database):
    return db_module.session_scope


@pytest.fixture
def client(database) -> Iterator[TestClient]:
    from mautic_app.web.app import build_public_app

    with TestClient(build_public_app()) as c:
        yield c


@pytest.fixture
def api(client) -> TestClient:
    client.auth = (ADMIN_USER, ADMIN_PASSWORD)
    return client


@pytest.fixture
def admin_credentials() -> tuple[str, str]:
    return ADMIN_USER, ADMIN_PASSWORD


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


@contextmanager
def visitor_browser(monkeypatch: pytest.MonkeyPatch, *, origin: str, ip: str = "203.0.113.9") -> Iterator[TestClient]:
    """A visitor's browser on ``origin`` talking to the public routes, without credentials. The writers are
    not woken (tests drain the Redis queues themselves) and the queues and in-process caches start empty."""
    from mautic_app.queues import form_posts, hits, redis_queue
    from mautic_app.web.app import build_public_app

    def empty_queues() -> None:
        if redis_queue.enabled():
            r = redis_queue.sync_client()
            r.delete(hits.QUEUE, hits.LOCK, form_posts.QUEUE, form_posts.LOCK, *r.keys(form_posts.RATE_KEY + "*"))

    monkeypatch.setattr("mautic_app.web.tracking._wake_writer", lambda: None)
    monkeypatch.setattr("mautic_app.web.forms._wake_writer", lambda: None)
    empty_queues()
    cache.clear_all()
    with TestClient(build_public_app(), client=(ip, 50000), headers={"User-Agent": BROWSER, "Origin": origin}) as c:
        yield c
    empty_queues()


def visit(client: TestClient, url: str) -> dict:
    """One tracked page view, stored before this returns (the queue drained when Redis is on)."""
    from mautic_app.queues import hits, redis_queue

    r = client.post("/mtc/event", data={"page_url": url, "page_title": "A page"})
    assert r.status_code == 200, r.text
    if redis_queue.enabled():
        hits.drain(linger=0)
    return r.json()


def error_of(response, status: int) -> dict:
    """The one error of a Mautic-shaped error reply (JSON, ``type`` null, a message), checked to carry ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["code"] == status and error["type"] is None and error["message"]
    return error


def new_contact(api, **values) -> int:
    r = api.post("/api/contacts/new", json=values)
    assert r.status_code == 201, r.text
    return r.json()["contact"]["id"]
