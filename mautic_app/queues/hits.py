"""The queue of tracking hits between the tracking routes and their writer (Redis only; without
Redis the routes hand hits to a ``queues.group_writer.GroupWriter``).

A route pushes each accepted hit (:func:`push`), sharing one round trip with the hits in flight
with it; ``tasks.tracking`` drains the queue (:func:`drain`) through ``services.tracking``. See
``queues.redis_queue`` for what makes an acknowledged hit stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

from redis.exceptions import ResponseError

from mautic_app.db import get_engine, refresh_statistics, session_scope
from mautic_app.queues.redis_queue import (
    DEVICE_KEY,
    DEVICE_TTL,
    LINGER_SECONDS,
    Batch,
    Connection,
    async_client,
    drain_queue,
    item_id,
    length,
    redis_url,
    sync_client,
)
from mautic_app.services import tracking

QUEUE = "mautic:tracking:hits"
LOCK = "mautic:tracking:writer"
BATCH = 1000
# Under steady traffic a batch starts at most this often unless a full one is waiting: a batch
# costs tens of milliseconds whatever its size, so fuller batches cost far less a hit.
BATCH_EVERY_SECONDS = 0.3
_pushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pusher] = weakref.WeakKeyDictionary()

# A hit waiting to be pushed: its JSON, a new device to remember (device id, public id), a known device
# to look up, and its request's answer (whether to wake the writer, the device's public id).
_Waiting = tuple[str, tuple[str, str] | None, str | None, asyncio.Future[tuple[bool, str | None]]]


class _Pusher:
    """Hits from requests in flight together share one Redis round trip (a group commit).

    On this kind of machine a round trip costs far more than the rest of a hit's work, so
    under load each push carries every hit that arrived while the previous one was out.
    Each request still waits for its own hit to be in Redis before it answers.
    """

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.waiting: list[_Waiting] = []
        self.flushing = False

    async def push(self, hit: str, remember: tuple[str, str] | None, lookup: str | None) -> tuple[bool, str | None]:
        future: asyncio.Future[tuple[bool, str | None]] = asyncio.get_running_loop().create_future()
        self.waiting.append((hit, remember, lookup, future))
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self.waiting:
                await asyncio.sleep(0)  # requests already running in this turn of the loop join in
                batch, self.waiting = self.waiting, []
                try:
                    results = await self._send(batch)
                except Exception as exc:  # noqa: BLE001  (each waiting request answers the error)
                    if self.connection is not None and not isinstance(exc, ResponseError):
                        self.connection.close()  # a timed-out or broken connection is not reused
                        self.connection = None
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.flushing = False

    async def _send(self, batch: list[_Waiting]) -> list[tuple[bool, str | None]]:
        if self.connection is None or not self.connection.usable:
            self.connection = await Connection.open(redis_url())
        commands: list[tuple[Any, ...]] = [
            ("SET", DEVICE_KEY + remember[0], remember[1], "EX", DEVICE_TTL) for _, remember, _, _ in batch if remember
        ]
        lookups = [lookup for _, _, lookup, _ in batch if lookup]
        if lookups:
            commands.append(("MGET", *[DEVICE_KEY + d for d in lookups]))
        commands.append(("RPUSH", QUEUE, *[hit for hit, _, _, _ in batch]))
        commands.append(("EXISTS", LOCK))  # after the push: a drainer holding the lock sees these hits before it lets go
        results = await self.connection.send(commands)
        wake = not results[-1]
        found = iter(results[-3] if lookups else [])
        out = []
        for i, (_, _, lookup, _) in enumerate(batch):
            value = next(found) if lookup else None
            out.append((wake and i == 0, value.decode() if isinstance(value, bytes) else value))
        return out


def _pusher() -> _Pusher:
    """This event loop's pusher (its connection must not cross loops)."""
    loop = asyncio.get_running_loop()
    pusher = _pushers.get(loop)
    if pusher is None:
        pusher = _pushers[loop] = _Pusher()
    return pusher


async def push(hit: dict[str, Any], *, remember: tuple[str, str] | None = None, lookup: str | None = None) -> tuple[bool, str | None]:
    """Queue ``hit``; optionally cache a new device's public id, or read a known device's.

    Returns (whether no writer is draining, so one needs waking; the cached public id).
    """
    hit["q"] = item_id()
    return await _pusher().push(json.dumps(hit, separators=(",", ":")), remember, lookup)


async def cached_public_id(device_id: str) -> str | None:
    found = await async_client().get(DEVICE_KEY + device_id)
    return found.decode() if isinstance(found, bytes) else found


async def remember(device_id: str, public_id: str) -> None:
    await async_client().set(DEVICE_KEY + device_id, public_id, ex=DEVICE_TTL)


def backlog() -> int:
    return length(sync_client(), QUEUE)


def drain(*, max_seconds: float = 30.0, linger: float = LINGER_SECONDS) -> tuple[int, bool]:
    """Write queued hits until ``max_seconds`` pass or the queue has stayed empty ``linger`` seconds.

    Returns (hits taken, whether more are waiting). See :func:`drain_queue`.
    """
    def write(hits: list[dict[str, Any]], batch: Batch) -> dict[str, str]:
        refresh_statistics(get_engine(), tracking.STATS_TABLES)  # before the batch: no connection is held yet
        with session_scope() as session:
            if not batch.claim(session):
                return {}
            return tracking.record_hits(session=session, hits=hits)

    return drain_queue(QUEUE, LOCK, write, batch=BATCH, every=BATCH_EVERY_SECONDS, max_seconds=max_seconds, linger=linger)
