"""On the embedded default, a write that cannot get SQLite's lock in time is refused, never acknowledged."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from mautic_app import db as db_module
from mautic_app.models import FormSubmission, PageHit
from tests.integration.conftest import visitor_browser
from tests.integration.test_forms import make_form

SITE = "https://shop.example"
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def lock_held(database, monkeypatch):
    """Another process holds SQLite's write lock (a long import batch, say) past a short busy timeout."""
    monkeypatch.setattr(db_module, "SQLITE_BUSY_SECONDS", 0.3)
    db_module.get_engine.cache_clear()
    blocker = sqlite3.connect(database.url.split("///", 1)[1], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    yield
    blocker.execute("ROLLBACK")
    blocker.close()


def test_a_hit_that_cannot_be_written_in_time_is_answered_503_and_not_stored(database, session, monkeypatch, lock_held):
    with visitor_browser(monkeypatch, origin=SITE) as site:
        r = site.post("/mtc/event", data={"page_url": f"{SITE}/locked"})
    assert r.status_code == 503 and r.headers["Retry-After"]
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(PageHit).where(PageHit.url == f"{SITE}/locked")).scalar() == 0


def test_a_form_post_that_cannot_be_written_in_time_is_answered_503_and_not_stored(database, session, monkeypatch):
    form_id = make_form(session)
    monkeypatch.setattr(db_module, "SQLITE_BUSY_SECONDS", 0.3)
    db_module.get_engine.cache_clear()
    blocker = sqlite3.connect(database.url.split("///", 1)[1], isolation_level=None)
    with visitor_browser(monkeypatch, origin=SITE) as site:
        site.get(f"/form/generate.js?id={form_id}")  # the form is read (and cached) before the lock is taken
        blocker.execute("BEGIN IMMEDIATE")
        try:
            r = site.post("/form/submit?formId=" + str(form_id), data={"mauticform[formId]": str(form_id),
                                                                         "mauticform[email]": "locked@example.com"},
                          headers={"X-Requested-With": "XMLHttpRequest"})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    assert r.status_code == 503 and r.headers["Retry-After"], r.text
    with session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(FormSubmission)).scalar() == 0
