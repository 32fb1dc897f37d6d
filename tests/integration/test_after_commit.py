"""After-commit work runs once the session has given its connection back, and only after a commit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mautic_app import db
from mautic_app.services import contacts


def test_work_runs_after_the_connection_is_back_and_once_per_key(session):
    seen = []

    def look():
        seen.append(db.get_engine().pool.checkedout())

    with session() as s:
        s.execute(sa.text("SELECT 1"))
        db.call(s, look, key="look")
        db.call(s, look, key="look")
        db.call(s, lambda: seen.append("other"))
        assert seen == []
    assert seen == [0, "other"]


def test_a_rollback_runs_nothing_and_leaves_nothing_for_the_next_transaction(session):
    seen = []
    with pytest.raises(RuntimeError), session() as s:
        contacts.create(session=s, values={"email": "gone@example.com"})
        db.call(s, lambda: seen.append("rolled back"))
        raise RuntimeError("abort")
    assert seen == []
    with db.Session(db.get_engine()) as s:
        s.execute(sa.text("SELECT 1"))
        db.call(s, lambda: seen.append("first"), key="k")
        s.rollback()
        db.call(s, lambda: seen.append("second"), key="k")
        s.commit()
    assert seen == ["second"]


def test_a_task_asked_for_twice_is_sent_once_after_the_commit(session, monkeypatch):
    sent = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: sent.append((task, args)))
    with session() as s:
        db.enqueue(s, "mautic.segments.rebuild", 7)
        db.enqueue(s, "mautic.segments.rebuild", 7)
        db.enqueue(s, "mautic.segments.rebuild", 8)
        assert sent == []
    assert sent == [("mautic.segments.rebuild", (7,)), ("mautic.segments.rebuild", (8,))]


def test_a_thread_holding_a_connection_cannot_take_another(session):
    """The suites' guard (tests/conftest.py) is on: the second checkout fails at once."""
    with session() as s:
        s.execute(sa.text("SELECT 1"))
        with pytest.raises(db.NestedCheckout), db.get_engine().connect():
            pass
    from tests.conftest import _nested

    assert _nested, "the guard did not report it"
    _nested.clear()  # expected here: the test itself must not fail for it
