"""The change feed: Redis pub/sub with PostgreSQL, the polled table with SQLite."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from mautic_app import changefeed
from mautic_app.services import contacts


def test_committed_changes_reach_subscribers_and_rollbacks_do_not(database, session):
    async def scenario():
        sub = changefeed.Subscription(["contacts"])
        try:
            await asyncio.sleep(0.5)  # let the hub's listener attach

            def rolled_back():
                try:
                    with session() as s:
                        contacts.create(session=s, values={"email": "gone@example.com"})
                        raise RuntimeError("abort")
                except RuntimeError:
                    pass

            await asyncio.to_thread(rolled_back)

            def committed():
                with session() as s:
                    return contacts.create(session=s, values={"email": "kept@example.com"})[0]

            started = time.monotonic()
            cid = await asyncio.to_thread(committed)
            item = await sub.get(timeout=5)
            assert item is not None, f"no change on {database.backend}"
            topic, payload = item
            assert topic == "contacts" and payload["ids"] == [cid] and "created" in payload["actions"]
            assert time.monotonic() - started < 2
            assert await sub.get(timeout=0.5) is None  # nothing from the rolled-back write
        finally:
            sub.close()
            if changefeed._hub.task:
                changefeed._hub.task.cancel()
                changefeed._hub.task = None

    asyncio.run(scenario())


def test_prune_drops_old_table_entries_but_the_newest(database):
    """The newest stays: SQLite would hand an emptied table's ids out again, and pollers skip ids they saw."""
    from datetime import timedelta

    from mautic_app.db import get_engine
    from mautic_app.models import ChangeFeedEntry

    with get_engine().connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(ChangeFeedEntry.__table__)).scalar()  # set-up's
    for n in range(3):
        changefeed.publish("contacts", {"ids": [n]})
    pruned = changefeed.prune(older_than=timedelta(seconds=-1))
    with get_engine().connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(ChangeFeedEntry.__table__)).scalar()
    if database.backend == "sqlite":  # with Redis (the PostgreSQL deployment) nothing goes through the table
        assert (pruned, left) == (before + 2, 1)


def test_savepoints_do_not_publish_early(database, session, monkeypatch):
    sent = []
    monkeypatch.setattr(changefeed, "_notify_watchers", lambda topic, payload: sent.append((topic, payload)))
    with session() as s:
        with s.begin_nested():
            contacts.create(session=s, values={"email": "nested@example.com"})
        assert sent == []
    assert [t for t, _ in sent] == ["contacts"]


def test_apps_on_different_redis_databases_do_not_hear_each_other(override_settings):
    """Redis pub/sub ignores database numbers: the channel names carry them."""
    override_settings(redis_url="redis://127.0.0.1:6379/3")
    three = changefeed._prefix()
    override_settings(redis_url="redis://127.0.0.1:6379/4")
    assert three == "mautic:3:" and changefeed._prefix() == "mautic:4:"
