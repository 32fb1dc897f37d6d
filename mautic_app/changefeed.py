"""The change feed: publish a topic when data changes, subscribe to topics to hear about it.

Redis pub/sub when ``MAUTIC_REDIS_URL`` is set; otherwise the ``change_feed`` table, polled,
which also works across processes (the Celery worker and the web server share the database).
Publishing from a service happens after its transaction commits, so a page never refreshes
before the data it is told about is visible.

Topics in use: ``contacts`` ({"ids": [...], "action": ...}), ``companies``, ``stages``,
``fields``, ``imports`` ({"id": n}), ``segments`` (segment ids), ``segment_members`` (contact ids
whose segments changed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from mautic_app.settings import settings

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "mautic:"
POLL_SECONDS = 0.25
KEEP_FOR = timedelta(minutes=10)
_redis_client = None
_redis_lock = threading.Lock()


def _redis():
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(settings.redis_url)
        return _redis_client


def _prefix() -> str:
    """Pub/sub channels are shared by every database of a Redis server: apps on different database
    numbers (staging beside production, parallel test runs) must not hear each other."""
    from redis.connection import parse_url

    return f"{CHANNEL_PREFIX}{parse_url(settings.redis_url or 'redis://localhost').get('db', 0)}:"


def publish(topic: str, payload: dict[str, Any] | None = None) -> None:
    """Tell every subscriber of ``topic`` now. Never raises: a lost live update is not worth a failed write."""
    payload = payload or {}
    try:
        if settings.redis_url:
            _redis().publish(_prefix() + topic, json.dumps(payload, default=str))
        else:
            from mautic_app.db import get_engine
            from mautic_app.models import ChangeFeedEntry

            with get_engine().begin() as conn:
                conn.execute(sa.insert(ChangeFeedEntry.__table__).values(topic=topic, payload=payload, created_at=_now()))
    except Exception:  # noqa: BLE001
        log.exception("change feed publish failed for %s", topic)


def publish_after_commit(session: OrmSession, topic: str, payload: dict[str, Any]) -> None:
    """Queue a publication that goes out once ``session`` commits (merged per topic)."""
    if not event.contains(session, "after_commit", _flush):
        event.listen(session, "after_commit", _flush)
        event.listen(session, "after_rollback", _drop)
    session.info.setdefault("changefeed", {}).setdefault(topic, []).append(payload)


# Background work that follows a topic, as "module:function" (imported when first needed, so this
# module stays below the services): contacts changed anywhere have their segments re-evaluated.
WATCHERS: dict[str, tuple[str, ...]] = {"contacts": ("mautic_app.tasks.segments:contacts_changed",)}


def _flush(session: OrmSession) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy also calls after_commit when a savepoint is released
    pending = session.info.pop("changefeed", {})
    for topic, payloads in pending.items():
        ids = sorted({i for p in payloads for i in p.get("ids", [])})
        actions = sorted({p.get("action", "") for p in payloads} - {""})
        merged: dict[str, Any] = {"ids": ids[:1000], "actions": actions}
        for p in payloads:
            for k, v in p.items():
                if k not in ("ids", "action"):
                    merged[k] = v
        publish(topic, merged)
        _notify_watchers(topic, {**merged, "ids": ids})


def _notify_watchers(topic: str, payload: dict[str, Any]) -> None:
    """Never raises: the scheduled full rebuilds catch up with anything a watcher missed."""
    import importlib

    for target in WATCHERS.get(topic, ()):
        module, name = target.split(":")
        try:
            getattr(importlib.import_module(module), name)(payload)
        except Exception:  # noqa: BLE001
            log.exception("watcher %s failed for %s", target, topic)


def _drop(session: OrmSession) -> None:
    if not session.in_nested_transaction():
        session.info.pop("changefeed", None)


def _now():
    from mautic_app.models.base import utcnow

    return utcnow()


class _Hub:
    """One listener per process fans messages out to every local subscriber's queue."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.task: asyncio.Task | None = None

    def add(self, topics: Iterable[str]) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=100)
        for t in topics:
            self.queues[t].add(q)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return q

    def remove(self, q: asyncio.Queue) -> None:
        for subs in self.queues.values():
            subs.discard(q)

    def _deliver(self, topic: str, payload: dict[str, Any]) -> None:
        for q in list(self.queues.get(topic, ())):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait((topic, payload))

    async def _run(self) -> None:
        while True:
            try:
                if settings.redis_url:
                    await self._listen_redis()
                else:
                    await self._poll_table()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("change feed listener failed; retrying")
                await asyncio.sleep(1)

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.redis_url)
        pubsub = client.pubsub()
        prefix = _prefix()
        await pubsub.psubscribe(prefix + "*")
        try:
            async for msg in pubsub.listen():
                if msg.get("type") != "pmessage":
                    continue
                topic = msg["channel"].decode()[len(prefix):]
                try:
                    payload = json.loads(msg["data"])
                except ValueError:
                    continue
                self._deliver(topic, payload)
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _poll_table(self) -> None:
        from mautic_app.db import get_engine
        from mautic_app.models import ChangeFeedEntry

        table = ChangeFeedEntry.__table__
        engine = get_engine()

        def last_id() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0

        def since(after: int):
            with engine.connect() as conn:
                return conn.execute(
                    sa.select(table.c.id, table.c.topic, table.c.payload).where(table.c.id > after).order_by(table.c.id).limit(500)
                ).all()

        seen = await asyncio.to_thread(last_id)
        while True:
            await asyncio.sleep(POLL_SECONDS)
            rows = await asyncio.to_thread(since, seen)
            for row in rows:
                seen = row.id
                self._deliver(row.topic, row.payload or {})


_hub = _Hub()


class Subscription:
    """A local subscriber: ``await get(timeout)`` returns (topic, payload) or None on timeout."""

    def __init__(self, topics: Iterable[str]) -> None:
        self._queue = _hub.add(topics)

    async def get(self, timeout: float | None = None) -> tuple[str, dict[str, Any]] | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    def close(self) -> None:
        _hub.remove(self._queue)


async def subscribe(topics: Iterable[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Yield (topic, payload) for every publication on ``topics`` until the caller stops."""
    sub = Subscription(topics)
    try:
        while True:
            item = await sub.get()
            if item is not None:
                yield item
    finally:
        sub.close()


def prune(*, older_than: timedelta = KEEP_FOR) -> int:
    """Drop old table entries (a beat task calls this); Redis keeps nothing to prune."""
    from mautic_app.db import get_engine
    from mautic_app.models import ChangeFeedEntry

    table = ChangeFeedEntry.__table__
    with get_engine().begin() as conn:
        return conn.execute(sa.delete(table).where(table.c.created_at < _now() - older_than)).rowcount or 0
