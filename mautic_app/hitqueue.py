"""The queues between the public routes and their writers: tracking hits, and form submissions.

With Redis, a route pushes each accepted hit on a Redis list and answers at once; one Celery
task at a time (a Redis lock) drains the list in batches through ``services.tracking``. A
batch leaves the list only after its transaction commits, so an acknowledged hit is never
lost; and that transaction records the batch (``services.queue_batches``), so a writer killed
between its commit and taking the batch off leaves it to the next writer to take off, never to
write again. Every queued item carries an id of its own (``q``) for that. Devices' public ids
are cached in Redis so the route can answer returning visitors without the database.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from typing import Any

from redis.exceptions import LockError, ResponseError

from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

QUEUE = "mautic:tracking:hits"
LOCK = "mautic:tracking:writer"
DEVICE_KEY = "mautic:tracking:device:"
DEVICE_TTL = 30 * 86400
BATCH = 1000
# Under steady traffic a batch starts at most this often unless a full one is waiting: a batch
# costs tens of milliseconds whatever its size, so fuller batches cost far less a hit.
BATCH_EVERY_SECONDS = 0.3
# A writer renews its lock after every batch. The lock only saves work (two writers on one batch write
# it once: services.queue_batches), so it is short: a writer killed with it held stops the queue this long.
LOCK_SECONDS = 10
LINGER_SECONDS = 2.0  # a drainer waits this long for more hits before it lets go
IDLE_POLL_SECONDS = 0.05
PUSH_TIMEOUT_SECONDS = 5.0  # a hit whose push takes longer answers an error, and the connection is replaced
# A process wakes a queue's writer at most this often: until the woken task takes the lock, every
# push sees none held, and a writers worker that is down would otherwise be sent a task per request.
# Drainers linger longer than this, and beat wakes them too.
WAKE_EVERY_SECONDS = 0.2
_last_wake: dict[str, float] = {}
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop → _LoopState
_sync_client = None


def enabled() -> bool:
    return bool(get_settings().redis_url)


def claim_wake(queue: str) -> bool:
    """Whether this process should wake ``queue``'s writer now (see ``WAKE_EVERY_SECONDS``)."""
    now = time.monotonic()
    if now - _last_wake.get(queue, float("-inf")) < WAKE_EVERY_SECONDS:
        return False
    _last_wake[queue] = now
    return True


def _aredis():
    return _loop_state().client


class _Connection(asyncio.Protocol):
    """One pipelined Redis connection for the pushes, hiredis packing and parsing the protocol.

    A push is the whole of a hit's Redis work, and redis-py's client spent about four times
    the CPU of the round trip itself on it (pools, locks, instrumentation): on a busy site
    that was the largest single cost of answering a hit. Everything else uses redis-py.
    """

    def __init__(self) -> None:
        import hiredis

        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[tuple[asyncio.Future, int, list[Any]]] = collections.deque()

    @classmethod
    async def open(cls, url: str) -> _Connection:
        from redis.asyncio.connection import SSLConnection, parse_url

        options = parse_url(url)
        loop = asyncio.get_running_loop()
        if options.get("path"):
            _, connection = await loop.create_unix_connection(cls, options["path"])
        else:
            ssl = options.get("connection_class") is SSLConnection or None
            _, connection = await loop.create_connection(cls, options.get("host", "localhost"), options.get("port", 6379), ssl=ssl)
        hello = []
        if options.get("password"):
            hello.append(("AUTH", *([options["username"]] if options.get("username") else []), options["password"]))
        if options.get("db"):
            hello.append(("SELECT", options["db"]))
        if hello:
            await connection.send(hello)
        return connection

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future, expected, replies = self.waiting[0]
            replies.append(reply)
            if len(replies) == expected:
                self.waiting.popleft()
                if not future.done():
                    future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self.waiting:
            future, *_ = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError(f"Redis connection lost: {exc or 'closed'}"))

    async def send(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write; their replies, in order (an error reply raises)."""
        import hiredis
        from redis.exceptions import ResponseError

        if not self.usable:
            raise ConnectionError("Redis connection closed")
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((future, len(commands), []))
        self.transport.write(b"".join(hiredis.pack_command(c) for c in commands))
        async with asyncio.timeout(PUSH_TIMEOUT_SECONDS):
            replies = await future
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise ResponseError(str(reply))
        return replies

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Pusher:
    """Hits from requests in flight together share one Redis round trip (a group commit).

    On this kind of machine a round trip costs far more than the rest of a hit's work, so
    under load each push carries every hit that arrived while the previous one was out.
    Each request still waits for its own hit to be in Redis before it answers.
    """

    def __init__(self) -> None:
        self.connection: _Connection | None = None
        self.waiting: list[tuple[str, tuple[str, str] | None, str | None, asyncio.Future]] = []
        self.flushing = False

    async def push(self, hit: str, remember: tuple[str, str] | None, lookup: str | None) -> tuple[bool, str | None]:
        future = asyncio.get_running_loop().create_future()
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

    async def _send(self, batch) -> list[tuple[bool, str | None]]:
        if self.connection is None or not self.connection.usable:
            self.connection = await _Connection.open(get_settings().redis_url)
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


class _LoopState:
    """A Redis client and a pusher for one event loop (a client must not cross loops)."""

    def __init__(self) -> None:
        import redis.asyncio as aredis

        self.client = aredis.Redis.from_url(get_settings().redis_url)
        self.pusher = _Pusher()
        self.form_connection: _Connection | None = None  # form submissions' pushes


def _loop_state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _async_clients.get(loop)
    if state is None:
        state = _async_clients[loop] = _LoopState()
    return state


def _redis():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(get_settings().redis_url)
    return _sync_client


async def push(hit: dict[str, Any], *, remember: tuple[str, str] | None = None, lookup: str | None = None) -> tuple[bool, str | None]:
    """Queue ``hit``; optionally cache a new device's public id, or read a known device's.

    Returns (whether no writer is draining, so one needs waking; the cached public id).
    """
    hit["q"] = _item_id()
    return await _loop_state().pusher.push(json.dumps(hit, separators=(",", ":")), remember, lookup)


def _item_id() -> str:
    """Every queued item is unique, so a batch is known by its first item (``services.queue_batches``)."""
    return secrets.token_hex(12)


async def cached_public_id(device_id: str) -> str | None:
    found = await _aredis().get(DEVICE_KEY + device_id)
    return found.decode() if isinstance(found, bytes) else found


async def remember(device_id: str, public_id: str) -> None:
    await _aredis().set(DEVICE_KEY + device_id, public_id, ex=DEVICE_TTL)


def backlog() -> int:
    return int(_redis().llen(QUEUE))


def drain(*, max_seconds: float = 30.0, linger: float = LINGER_SECONDS) -> tuple[int, bool]:
    """Write queued hits until ``max_seconds`` pass or the queue has stayed empty ``linger`` seconds.

    Returns (hits taken, whether more are waiting). See :func:`drain_queue`.
    """
    from mautic_app.db import get_engine, refresh_statistics, session_scope
    from mautic_app.services import tracking

    def write(hits: list[dict[str, Any]], batch: Batch) -> dict[str, str]:
        refresh_statistics(get_engine(), tracking.STATS_TABLES)  # before the batch: no connection is held yet
        with session_scope() as session:
            if not batch.claim(session):
                return {}
            return tracking.record_hits(session=session, hits=hits)

    return drain_queue(QUEUE, LOCK, write, batch=BATCH, every=BATCH_EVERY_SECONDS, max_seconds=max_seconds, linger=linger)


class Batch:
    """The batch a writer is storing: ``claim`` it first thing in its transaction (``services.queue_batches``)."""

    def __init__(self, queue: str, raw: list[bytes], forget: list[str]) -> None:
        from mautic_app.services import queue_batches

        self.first = raw[0]
        self.items = len(raw)
        self.key = queue_batches.key_of(queue, raw[0])
        self.forget = forget
        self.written_before: int | None = None  # items an earlier run took, when it had committed this batch

    def claim(self, session) -> bool:
        """Whether to write the batch: False when an earlier run (a writer killed before it took the batch
        off the queue, or one racing this one) already committed it."""
        from mautic_app.services import queue_batches

        self.written_before = queue_batches.claim(session=session, key=self.key, items=self.items, forget=self.forget)
        return self.written_before is None

    @property
    def taken(self) -> int:
        """How many items, from the head of the queue, the committed batch holds."""
        return self.items if self.written_before is None else self.written_before


# Take a committed batch off the queue: only if it still starts the queue (a writer racing this one may
# have taken it off already; trimming again would drop items nobody wrote).
_TRIM = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
  return 1
end
return 0
"""


def _trim(r, queue: str, batch: Batch, updates: dict[str, str]) -> None:
    pipe = r.pipeline(transaction=False)
    for device_id, public_id in updates.items():
        pipe.set(DEVICE_KEY + device_id, public_id, ex=DEVICE_TTL)
    pipe.eval(_TRIM, 1, queue, batch.first, batch.taken)
    pipe.execute()


def drain_queue(
    queue: str, lock_key: str, write: Callable[[list[dict[str, Any]], Batch], dict[str, str]], *, batch: int, every: float,
    max_seconds: float = 30.0, linger: float = LINGER_SECONDS,
) -> tuple[int, bool]:
    """Drain ``queue`` through ``write`` (one batch, one transaction, which claims the :class:`Batch`
    first) until ``max_seconds`` pass or it has stayed empty ``linger`` seconds; ``write`` returns
    device id → public id for the routes' cache.

    Returns (items taken, whether more are waiting). Only one drainer per queue runs at a time; a
    second one returns at once. Items leave the queue only after ``write`` committed them, and a
    batch committed once is never written again (see :class:`Batch`). While a drainer holds the lock,
    routes do not wake another; it lingers so a steady stream needs no wake-ups at all. The lock is
    released before the final look at the queue, so an item pushed at that moment is either seen
    here or finds the lock free and wakes a new drainer.
    """
    r = _redis()
    lock = r.lock(lock_key, timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0, False
    taken, started = 0, time.monotonic()
    idle_since, next_batch = None, 0.0
    done: list[str] = []  # markers of batches taken off the queue: the next batch deletes them
    try:
        while time.monotonic() - started < max_seconds:
            waiting = r.llen(queue)
            if not waiting:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= linger:
                    break
                time.sleep(IDLE_POLL_SECONDS)
                continue
            idle_since = None
            if waiting < batch and (early := next_batch - time.monotonic()) > 0:
                time.sleep(min(early, IDLE_POLL_SECONDS))
                continue
            next_batch = time.monotonic() + every
            raw = r.lrange(queue, 0, batch - 1)
            if not raw:
                continue
            items = []
            for item in raw:
                try:
                    items.append(json.loads(item))
                except ValueError:
                    log.warning("unreadable queued item dropped from %s", queue)
            current = Batch(queue, raw, done)
            updates = write(items, current)
            if current.written_before is not None:
                log.warning("%s: a batch of %s items was already stored (its writer stopped before taking it off the "
                            "queue); taken off, not written again", queue, current.written_before)
            _trim(r, queue, current, updates)
            done = [current.key]
            taken += current.taken
            try:
                lock.reacquire()
            except LockError:  # it expired during a long batch: another drainer may be at work now
                break
    finally:
        with contextlib.suppress(LockError):  # it expired: another drainer may hold it now
            lock.release()
    return taken, bool(r.llen(queue))


# ------------------------------------------------------------------ form submissions

FORM_QUEUE = "mautic:forms:submissions"
FORM_LOCK = "mautic:forms:writer"
FORM_BATCH = 200
FORM_RATE_KEY = "mautic:forms:rate:"
# Rate limit, push and "is a writer draining?" in one round trip: -1 when over the limit, else
# whether the writer's lock is held (0: wake one).
_FORM_PUSH = """
local limit = tonumber(ARGV[2])
if limit > 0 then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('EXPIRE', KEYS[2], 60) end
  if n > limit then return -1 end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
return redis.call('EXISTS', KEYS[3])
"""


async def push_submission(item: dict[str, Any], *, rate_key: str, limit: int) -> int | None:
    """Queue a checked form submission: None when over the per-minute ``limit``, else 1 when a
    writer is draining and 0 when one needs waking. Over the lean connection the hits use."""
    state = _loop_state()
    connection = state.form_connection
    if connection is None or not connection.usable:
        connection = state.form_connection = await _Connection.open(get_settings().redis_url)
    payload = json.dumps({**item, "q": _item_id()}, separators=(",", ":"), default=str)
    try:
        (answer,) = await connection.send(
            [("EVAL", _FORM_PUSH, 3, FORM_QUEUE, FORM_RATE_KEY + rate_key, FORM_LOCK, payload, limit)])
    except Exception:
        connection.close()  # a timed-out or broken connection is not reused (posts sharing it fail with it)
        if state.form_connection is connection:
            state.form_connection = None
        raise
    return None if int(answer) < 0 else int(answer)


def drain_submissions(*, max_seconds: float = 5.0, linger: float = 0.5) -> tuple[int, bool]:
    """Store queued form submissions in turns of at most five seconds, as often as beat starts one."""
    from mautic_app.services import forms

    return drain_queue(FORM_QUEUE, FORM_LOCK, lambda items, batch: forms.record_queued(items=items, batch=batch),
                       batch=FORM_BATCH, every=0.2, max_seconds=max_seconds, linger=linger)
