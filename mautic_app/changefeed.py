"""The change feed: publish a topic when data changes, subscribe to topics to hear about it.

Redis pub/sub when ``MAUTIC_REDIS_URL`` is set; otherwise the ``change_feed`` table, polled,
which also works across processes (the Celery worker and the web server share the database).
Publishing from a service happens after its transaction commits, so a page never refreshes
before the data it is told about is visible.

Topics in use: ``contacts`` ({"ids": [...], "action": ...}), ``companies``, ``stages``,
``fields``, ``imports`` ({"id": n}), ``segments`` (segment ids), ``segment_members`` (contact ids
whose segments changed), ``forms``, ``focus``, ``tracking_settings``, ``users``. Every process
hears every topic for its named caches (:mod:`mautic_app.cache`, through :func:`hear` and :func:`follow`).
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import json
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from redis.connection import parse_url
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from mautic_app import db
from mautic_app.models import ChangeFeedEntry
from mautic_app.models.base import utcnow
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "mautic:"
POLL_SECONDS = 0.25
LOOK_BACK = 200  # ids a poll looks behind the highest seen (see _Hub._poll_table)
RETRY_MAX_SECONDS = 4  # the longest wait between tries to reach a Redis or database that is away
KEEP_FOR = timedelta(minutes=10)
_ENTRIES: sa.Table = ChangeFeedEntry.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it
Message = tuple[str, dict[str, Any]]  # (topic, payload)
_redis_client: redis.Redis | None = None
_redis_lock = threading.Lock()


def _redis(url: str) -> redis.Redis:
    """This process's client, made for the first Redis URL asked for."""
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            _redis_client = redis.Redis.from_url(url)
        return _redis_client


def _prefix() -> str:
    """Pub/sub channels are shared by every database of a Redis server: apps on different database
    numbers (staging beside production, parallel test runs) must not hear each other."""
    return f"{CHANNEL_PREFIX}{parse_url(get_settings().redis_url or 'redis://localhost').get('db', 0)}:"


def publish(topic: str, payload: dict[str, Any] | None = None) -> None:
    """Tell every subscriber of ``topic`` now. Never raises: a lost live update is not worth a failed write."""
    payload = payload or {}
    try:
        url = get_settings().redis_url
        if url:
            _redis(url).publish(_prefix() + topic, json.dumps(payload, default=str))
        else:
            with db.get_engine().begin() as conn:
                conn.execute(sa.insert(_ENTRIES).values(topic=topic, payload=payload, created_at=utcnow()))
    except Exception:  # noqa: BLE001
        log.exception("change feed publish failed for %s", topic)


def publish_after_commit(session: OrmSession, topic: str, payload: dict[str, Any]) -> None:
    """Queue a publication that goes out once ``session`` commits (merged per topic).

    Without Redis the entries are written by the committing transaction itself, on its own
    connection; with Redis they are published once the connection is back in the pool. Either way
    nothing here ever takes a second connection while the session holds one.
    """
    pending = db.scratch(session, "changefeed")
    if not pending:
        db.call(session, lambda: _announce(session), key="changefeed")
    pending.setdefault(topic, []).append(payload)


# Background work that follows a topic, as "module:function" (imported when first needed, so this
# module stays below the services): contacts changed anywhere have their segments re-evaluated.
WATCHERS: dict[str, tuple[str, ...]] = {"contacts": ("mautic_app.tasks.segments:contacts_changed",),
                                         "segments": ("mautic_app.tasks.campaigns:segments_changed",)}


def _merged(pending: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One payload per topic: every id (sorted) and action, and the last value of any other key."""
    out: dict[str, dict[str, Any]] = {}
    for topic, payloads in pending.items():
        ids = sorted({i for p in payloads for i in p.get("ids", [])})
        actions = sorted({p.get("action", "") for p in payloads} - {""})
        merged: dict[str, Any] = {"ids": ids, "actions": actions}
        for p in payloads:
            for k, v in p.items():
                if k not in ("ids", "action"):
                    merged[k] = v
        out[topic] = merged
    return out


@event.listens_for(OrmSession, "before_commit")
def _write_entries(session: OrmSession) -> None:
    """Without Redis: the change feed's rows commit with the data they announce."""
    pending = db.scratch(session, "changefeed")
    if get_settings().redis_url or session.in_nested_transaction() or not pending:
        return
    session.flush()  # the data first: the entry's id is taken as late as can be (see _Hub._poll_table)
    merged = _merged(pending)
    pending.clear()
    db.scratch(session, "changefeed_written").update(merged)
    now = utcnow()
    session.execute(sa.insert(_ENTRIES), [
        {"topic": topic, "payload": {**payload, "ids": payload["ids"][:1000], "origin": _origin()}, "created_at": now}
        for topic, payload in merged.items()])


def _announce(session: OrmSession) -> None:
    """After the commit, with the connection given back: publish (Redis) and run the watchers."""
    merged = db.scratch(session, "changefeed_written")
    if not merged:
        merged = _merged(db.scratch(session, "changefeed"))
        for topic, payload in merged.items():
            publish(topic, {**payload, "ids": payload["ids"][:1000], "origin": _origin()})
    for topic, payload in merged.items():
        _tell_hearers(topic, payload)
        _notify_watchers(topic, payload)


def _notify_watchers(topic: str, payload: dict[str, Any]) -> None:
    """Never raises: the scheduled full rebuilds catch up with anything a watcher missed."""
    for target in WATCHERS.get(topic, ()):
        module, name = target.split(":")
        try:
            getattr(importlib.import_module(module), name)(payload)
        except Exception:  # noqa: BLE001
            log.exception("watcher %s failed for %s", target, topic)


class _Hub:
    """One listener per process fans messages out to every local subscriber's queue."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)
        self.task: asyncio.Task[None] | None = None
        self.heard = False  # listening since the last failure

    def add(self, topics: Iterable[str]) -> asyncio.Queue[Message]:
        q: asyncio.Queue[Message] = asyncio.Queue(maxsize=100)
        for t in topics:
            self.queues[t].add(q)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return q

    def remove(self, q: asyncio.Queue[Message]) -> None:
        for subs in self.queues.values():
            subs.discard(q)

    def _listening(self) -> None:
        """Called once publications from now on will be heard."""

    def _deliver(self, topic: str, payload: dict[str, Any]) -> None:
        for q in list(self.queues.get(topic, ())):
            if q.full():
                try:
                    q.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            q.put_nowait((topic, payload))

    async def _run(self) -> None:
        """Listen for good. While Redis or the database is away, retry after 1, 2, then every 4 seconds,
        with the traceback logged once and a line per try after it (not a traceback a second)."""
        failures = 0
        while True:
            try:
                url = get_settings().redis_url
                if url:
                    await self._listen_redis(url)
                else:
                    await self._poll_table()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                failures = 1 if self.heard else failures + 1
                self.heard = False
                if failures == 1:
                    log.exception("change feed listener failed; retrying")
                else:
                    log.warning("change feed listener still failing (try %d): %s", failures, exc)
                await asyncio.sleep(min(RETRY_MAX_SECONDS, 2 ** (failures - 1)))

    async def _listen_redis(self, url: str) -> None:
        client = aioredis.Redis.from_url(url)
        pubsub = client.pubsub()
        prefix = _prefix()
        await pubsub.psubscribe(prefix + "*")
        self.heard = True
        self._listening()
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
        """Entries commit with the data they announce, so on PostgreSQL a smaller id can become
        visible after a larger one: each look goes back ``LOOK_BACK`` ids and skips those seen."""
        table = _ENTRIES
        engine = db.get_engine()

        def last_id() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0

        def since(after: int) -> Sequence[sa.Row[Any, Any, Any]]:
            with engine.connect() as conn:
                return conn.execute(
                    sa.select(table.c.id, table.c.topic, table.c.payload).where(table.c.id > after).order_by(table.c.id).limit(500)
                ).all()

        top = start = await asyncio.to_thread(last_id)
        self.heard = True
        self._listening()
        seen: collections.deque[int] = collections.deque(maxlen=4 * LOOK_BACK)
        seen_set: set[int] = set()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            rows = await asyncio.to_thread(since, max(0, top - LOOK_BACK))
            for row in rows:
                if row.id <= start or row.id in seen_set:
                    continue
                if len(seen) == seen.maxlen:
                    seen_set.discard(seen[0])
                seen.append(row.id)
                seen_set.add(row.id)
                top = max(top, row.id)
                self._deliver(row.topic, row.payload or {})


_hub = _Hub()

# ---------------------------------------------------------------- hearing every topic in every process

_hearers: list[Callable[[str, dict[str, Any]], None]] = []
# This process's follower: "wanted" (where follow() asked it to listen: redis and database URLs), "where" it
# listens and "ready" (a threading.Event) once it does, its "loop" and "moved" (an asyncio.Event: look at
# "wanted" again).
_follower: dict[str, Any] = {}
_follower_lock = threading.Lock()
_BOOT = uuid.uuid4().hex


def _origin() -> str:
    """This process, as its committed publications name it: it has heard them already (see :func:`_announce`)."""
    return f"{_BOOT}:{os.getpid()}"


def hear(hearer: Callable[[str, dict[str, Any]], None]) -> None:
    """Call ``hearer(topic, payload)`` for every publication: this process's own right after their commit,
    other processes' once :func:`follow` has started hearing them. It must be quick."""
    _hearers.append(hearer)


def _tell_hearers(topic: str, payload: dict[str, Any]) -> None:
    for hearer in _hearers:
        try:
            hearer(topic, payload)
        except Exception:  # noqa: BLE001
            log.exception("change feed hearer %r failed for %s", hearer, topic)


class _Follower(_Hub):
    """Hears every topic for the hearers, in a thread of its own: Celery workers have no event loop."""

    def __init__(self, ready: threading.Event) -> None:
        super().__init__()
        self.ready = ready

    def _listening(self) -> None:
        self.ready.set()

    def _deliver(self, topic: str, payload: dict[str, Any]) -> None:
        if payload.get("origin") != _origin():
            _tell_hearers(topic, payload)


def follow(wait: float = 2.0) -> None:
    """Hear other processes' publications in this one from now on. The first call (and the first after the
    settings moved, as tests move from database to database) waits, at most ``wait`` seconds, until the
    follower listens: a value read after that is cleared by any later change."""
    where = _where()
    with _follower_lock:
        if _follower.get("wanted") == where:
            return
        if not _follower:
            _follower.update(wanted=where, where=None, ready=threading.Event())
            threading.Thread(target=asyncio.run, args=(_follow(),), name="changefeed-follower", daemon=True).start()
        else:
            _follower["wanted"] = where
            if "loop" in _follower:  # else it has yet to look at "wanted" for the first time
                _follower["loop"].call_soon_threadsafe(_follower["moved"].set)
    deadline = time.monotonic() + wait
    while not (_follower["where"] == where and _follower["ready"].is_set()) and time.monotonic() < deadline:
        time.sleep(0.005)


async def _follow() -> None:
    moved = asyncio.Event()
    _follower.update(loop=asyncio.get_running_loop(), moved=moved)
    while True:
        where, ready = _follower["wanted"], threading.Event()
        task = asyncio.get_running_loop().create_task(_Follower(ready)._run()) if where is not None else None
        _follower.update(where=where, ready=ready)
        while True:
            moved.clear()
            if _follower["wanted"] != where:
                break
            await moved.wait()
        if task is not None:
            task.cancel()


def unfollow() -> None:
    """Stop hearing other processes until :func:`follow` is called again: for a process about to drop the
    database its follower listens on (the benchmarks' scratch databases), which would retry it for good."""
    with _follower_lock:
        if _follower:
            _follower["wanted"] = None
            if "loop" in _follower:
                _follower["loop"].call_soon_threadsafe(_follower["moved"].set)


def _where() -> tuple[str | None, str]:
    return get_settings().redis_url, get_settings().database_url


os.register_at_fork(after_in_child=_follower.clear)  # a forked child has none of its parent's threads


class Subscription:
    """A local subscriber: ``await get(timeout)`` returns (topic, payload) or None on timeout."""

    def __init__(self, topics: Iterable[str]) -> None:
        self._queue = _hub.add(topics)

    async def get(self, timeout: float | None = None) -> Message | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[Message]:
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out

    def close(self) -> None:
        _hub.remove(self._queue)


async def subscribe(topics: Iterable[str]) -> AsyncIterator[Message]:
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
    table = _ENTRIES
    newest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
    with db.get_engine().begin() as conn:  # the newest entry stays, so SQLite never hands its id out again (pollers skip ids seen)
        return conn.execute(sa.delete(table).where(table.c.created_at < utcnow() - older_than, table.c.id < newest)).rowcount or 0
