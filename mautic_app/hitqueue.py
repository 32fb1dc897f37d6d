"""The queue between the tracking routes and the hit writer.

With Redis, a route pushes each accepted hit on a Redis list and answers at once; one Celery
task at a time (a Redis lock) drains the list in batches through ``services.tracking``. A
batch leaves the list only after its transaction commits, so an acknowledged hit is never
lost (a crash between commit and trim can write a batch twice, never zero times). Devices'
public ids are cached in Redis so the route can answer returning visitors without the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from typing import Any

from redis.exceptions import LockError

from mautic_app.settings import settings

log = logging.getLogger(__name__)

QUEUE = "mautic:tracking:hits"
LOCK = "mautic:tracking:writer"
DEVICE_KEY = "mautic:tracking:device:"
DEVICE_TTL = 30 * 86400
BATCH = 500
LOCK_SECONDS = 60
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one per event loop
_sync_client = None


def enabled() -> bool:
    return bool(settings.redis_url)


def _aredis():
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        import redis.asyncio as aredis

        client = _async_clients[loop] = aredis.Redis.from_url(settings.redis_url)
    return client


def _redis():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(settings.redis_url)
    return _sync_client


async def push(hit: dict[str, Any], *, remember: tuple[str, str] | None = None, lookup: str | None = None) -> tuple[int, str | None]:
    """Queue ``hit`` in one round trip; optionally cache a new device's public id or read a known one.

    Returns (queue length after the push, the cached public id for ``lookup``).
    """
    pipe = _aredis().pipeline(transaction=False)
    if remember:
        pipe.set(DEVICE_KEY + remember[0], remember[1], ex=DEVICE_TTL)
    if lookup:
        pipe.get(DEVICE_KEY + lookup)
    pipe.rpush(QUEUE, json.dumps(hit, separators=(",", ":")))
    results = await pipe.execute()
    found = results[-2] if lookup else None
    return results[-1], found.decode() if isinstance(found, bytes) else found


async def cached_public_id(device_id: str) -> str | None:
    found = await _aredis().get(DEVICE_KEY + device_id)
    return found.decode() if isinstance(found, bytes) else found


async def remember(device_id: str, public_id: str) -> None:
    await _aredis().set(DEVICE_KEY + device_id, public_id, ex=DEVICE_TTL)


def backlog() -> int:
    return int(_redis().llen(QUEUE))


def drain(*, max_seconds: float = 30.0) -> tuple[int, bool]:
    """Write queued hits until the queue is empty or ``max_seconds`` pass.

    Returns (hits taken, whether more are waiting). Only one drainer runs at a time; a second
    one returns at once. The lock is released before the final look at the queue, so a hit
    pushed at that moment is either seen here or wakes a new drainer.
    """
    from mautic_app.db import session_scope
    from mautic_app.services import tracking

    r = _redis()
    lock = r.lock(LOCK, timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0, False
    taken, started = 0, time.monotonic()
    try:
        while time.monotonic() - started < max_seconds:
            raw = r.lrange(QUEUE, 0, BATCH - 1)
            if not raw:
                break
            hits = []
            for item in raw:
                try:
                    hits.append(json.loads(item))
                except ValueError:
                    log.warning("unreadable queued hit dropped")
            with session_scope() as session:
                updates = tracking.record_hits(session=session, hits=hits)
            pipe = r.pipeline(transaction=False)
            for device_id, public_id in updates.items():
                pipe.set(DEVICE_KEY + device_id, public_id, ex=DEVICE_TTL)
            pipe.ltrim(QUEUE, len(raw), -1)
            pipe.execute()
            lock.reacquire()
            taken += len(raw)
    finally:
        with contextlib.suppress(LockError):  # it expired: another drainer may hold it now
            lock.release()
    return taken, bool(r.llen(QUEUE))
