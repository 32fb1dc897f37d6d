"""What the Redis queues between the public routes and their writers share (see ``queues.hits`` and
``queues.form_posts``).

A route pushes each accepted item on a Redis list and answers at once; one Celery task at a time (a
Redis lock) drains the list in batches (:func:`drain_queue`). A batch leaves the list only after its
transaction commits, so an acknowledged item is never lost; and that transaction records the batch
(``services.queue_batches``), so a writer killed between its commit and taking the batch off leaves
it to the next writer to take off, never to write again. Every queued item carries an id of its own
(``q``) for that. Devices' public ids are cached in Redis so the hit route can answer returning
visitors without the database.
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
from typing import Any, cast

import hiredis
import redis
import redis.asyncio as aredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import LockError, ResponseError
from sqlmodel import Session

from mautic_app.services import queue_batches
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

DEVICE_KEY = "mautic:tracking:device:"
DEVICE_TTL = 30 * 86400
# A writer renews its lock after every batch. The lock only saves work (two writers on one batch write
# it once: services.queue_batches), so it is short: a writer killed with it held stops the queue this long.
LOCK_SECONDS = 10
LINGER_SECONDS = 2.0  # a drainer waits this long for more items before it lets go
IDLE_POLL_SECONDS = 0.05
PUSH_TIMEOUT_SECONDS = 5.0  # a push that takes longer answers an error, and the connection is replaced
# A process wakes a queue's writer at most this often: until the woken task takes the lock, every
# push sees none held, and a writers worker that is down would otherwise be sent a task per request.
# Drainers linger longer than this, and beat wakes them too.
WAKE_EVERY_SECONDS = 0.2
_last_wake: dict[str, float] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = weakref.WeakKeyDictionary()
_sync_client: redis.Redis | None = None


def enabled() -> bool:
    return bool(get_settings().redis_url)


def redis_url() -> str:
    """The queues' Redis: they are used only when one is configured (:func:`enabled`)."""
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("the Redis queues are used without a Redis URL (MAUTIC_REDIS_URL)")
    return url


def claim_wake(queue: str) -> bool:
    """Whether this process should wake ``queue``'s writer now (see ``WAKE_EVERY_SECONDS``)."""
    now = time.monotonic()
    if now - _last_wake.get(queue, float("-inf")) < WAKE_EVERY_SECONDS:
        return False
    _last_wake[queue] = now
    return True


def async_client() -> aredis.Redis:
    """This event loop's redis-py client (a client must not cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = aredis.Redis.from_url(redis_url())
    return client


def sync_client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(redis_url())
    return _sync_client


# redis-py types a reply as "a value or an Awaitable" (one signature for its sync and async clients):
# these are the sync client's replies, typed once.


def length(r: redis.Redis, queue: str) -> int:
    """How many items wait in ``queue``."""
    return cast(int, r.llen(queue))


def head(r: redis.Redis, queue: str, count: int) -> list[bytes]:
    """The first ``count`` items of ``queue``, as queued."""
    return cast(list[bytes], r.lrange(queue, 0, count - 1))


class Connection(asyncio.Protocol):
    """One pipelined Redis connection for the pushes, hiredis packing and parsing the protocol.

    A push is the whole of a hit's Redis work, and redis-py's client spent about four times
    the CPU of the round trip itself on it (pools, locks, instrumentation): on a busy site
    that was the largest single cost of answering a hit. Everything else uses redis-py.
    """

    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[tuple[asyncio.Future[list[Any]], int, list[Any]]] = collections.deque()

    @classmethod
    async def open(cls, url: str) -> Connection:
        options = parse_url(url)
        loop = asyncio.get_running_loop()
        if options.get("path"):
            _, connection = await loop.create_unix_connection(cls, options["path"])
        else:
            ssl = options.get("connection_class") is SSLConnection or None
            _, connection = await loop.create_connection(cls, options.get("host", "localhost"), options.get("port", 6379), ssl=ssl)
        hello: list[tuple[Any, ...]] = []
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

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's

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
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ConnectionError("Redis connection closed")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append((future, len(commands), []))
        transport.write(b"".join(hiredis.pack_command(c) for c in commands))
        async with asyncio.timeout(PUSH_TIMEOUT_SECONDS):
            replies = await future
        for reply in replies:
            if isinstance(reply, hiredis.ReplyError):
                raise ResponseError(str(reply))
        return replies

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def item_id() -> str:
    """Every queued item is unique, so a batch is known by its first item (``services.queue_batches``)."""
    return secrets.token_hex(12)


class Batch:
    """The batch a writer is storing: ``claim`` it first thing in its transaction (``services.queue_batches``)."""

    def __init__(self, queue: str, raw: list[bytes], forget: list[str]) -> None:
        self.first = raw[0]
        self.items = len(raw)
        self.key = queue_batches.key_of(queue, raw[0])
        self.forget = forget
        self.written_before: int | None = None  # items an earlier run took, when it had committed this batch

    def claim(self, session: Session) -> bool:
        """Whether to write the batch: False when an earlier run (a writer killed before it took the batch
        off the queue, or one racing this one) already committed it."""
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


def trim(r: redis.Redis, queue: str, batch: Batch, updates: dict[str, str]) -> None:
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
    r = sync_client()
    lock = r.lock(lock_key, timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0, False
    taken, started = 0, time.monotonic()
    idle_since, next_batch = None, 0.0
    done: list[str] = []  # markers of batches taken off the queue: the next batch deletes them
    try:
        while time.monotonic() - started < max_seconds:
            waiting = length(r, queue)
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
            raw = head(r, queue, batch)
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
            trim(r, queue, current, updates)
            done = [current.key]
            taken += current.taken
            try:
                lock.reacquire()
            except LockError:  # it expired during a long batch: another drainer may be at work now
                break
    finally:
        with contextlib.suppress(LockError):  # it expired: another drainer may hold it now
            lock.release()
    return taken, bool(length(r, queue))
