"""Sign-in rate limits, per account and per address: the API's Basic auth and the login form use them.

A few failures are free (5 for an account, 20 for an address); each one after that imposes a
wait that doubles from 1 s up to 15 minutes. While a wait runs a sign-in is refused before its
password is checked, so guessing costs the guesser time and us no argon2, and a refused try
changes nothing. Failures are forgotten 15 minutes after the last one (or after the wait it
imposed ends), or at once when the account or address signs in.

With Redis (``settings.redis_url``) every web process shares the counts: one atomic script per
try, keys that expire by themselves. If Redis is unreachable, sign-ins go ahead with a logged
warning: an outage must not lock everyone out. Without Redis (the embedded default, one web
process) the counts live in this process, in a bounded table.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

FREE_FAILURES_PER_ACCOUNT = 5
FREE_FAILURES_PER_ADDRESS = 20
FORGET_AFTER_SECONDS = 15 * 60
FIRST_WAIT_SECONDS = 1
LONGEST_WAIT_SECONDS = 15 * 60
MEMORY_RECORDS = 10_000  # accounts and addresses remembered in process memory, at most
REDIS_TIMEOUT_SECONDS = 0.5  # a sign-in waits at most this long on an unwell Redis before going ahead
WARN_EVERY_SECONDS = 60.0
T = TypeVar("T")


def attempt(*, username: str, ip: str) -> int:
    """Take one sign-in try before its password is checked.

    Returns the wait still running (the try is refused and nothing is recorded), or 0: the try may go
    on and is already counted as a failure, so a burst of tries cannot all pass before the first is
    counted. A right password then calls :func:`succeeded`, which clears the count.
    """
    return _store().attempt(_keys(username, ip))


def wait_seconds(*, username: str, ip: str) -> int:
    """0 if a sign-in may be tried now, else the whole seconds to wait (rounded up)."""
    return _store().wait(_keys(username, ip))


def succeeded(*, username: str, ip: str) -> None:
    """Forget the account's and the address's failures."""
    _store().clear(_keys(username, ip))


def wait_after(failures: int, free: int) -> int:
    """Seconds to wait after the ``failures``-th failure in a row of an account or address allowed ``free``."""
    if failures <= free:
        return 0
    doubled: int = 2 ** min(failures - free - 1, 30)  # typeshed types int ** int as Any: a negative power is a float
    return min(LONGEST_WAIT_SECONDS, FIRST_WAIT_SECONDS * doubled)


@dataclass(frozen=True)
class _Key:
    name: str
    free: int


def _keys(username: str, ip: str) -> list[_Key]:
    """The account (user names are matched without case) and, when known, the address.

    Names are hashed: keys stay short whatever is sent, and no user name is kept in clear. The
    installation's database is part of the hash, so installations sharing a Redis count apart.
    """
    def hashed(kind: str, value: str) -> str:
        digest = hashlib.blake2b(f"{get_settings().database_url}\0{kind}\0{value}".encode(), digest_size=16).hexdigest()
        return f"mautic:signin:{kind}:{digest}"

    keys = [_Key(hashed("account", username.strip().lower()), FREE_FAILURES_PER_ACCOUNT)]
    if ip:
        keys.append(_Key(hashed("address", ip), FREE_FAILURES_PER_ADDRESS))
    return keys


def _store() -> _RedisStore | _MemoryStore:
    url = get_settings().redis_url
    return _redis_store(url) if url else _memory


# ------------------------------------------------------------------ process memory


@dataclass
class _Record:
    failures: int
    wait_until: float
    forget_at: float


class _MemoryStore:
    """The embedded default's one web process: a table of at most ``MEMORY_RECORDS``, oldest change dropped first."""

    def __init__(self, size: int = MEMORY_RECORDS) -> None:
        self.size = size
        self.records: OrderedDict[str, _Record] = OrderedDict()
        self.lock = threading.Lock()

    def wait(self, keys: list[_Key]) -> int:
        now = time.monotonic()
        with self.lock:
            left = max((r.wait_until - now for k in keys if (r := self.records.get(k.name))), default=0.0)
        return math.ceil(left) if left > 0 else 0

    def attempt(self, keys: list[_Key]) -> int:
        now = time.monotonic()
        with self.lock:
            left = max((r.wait_until - now for k in keys if (r := self.records.get(k.name))), default=0.0)
            if left > 0:
                return math.ceil(left)
            for key in keys:
                record = self.records.pop(key.name, None)
                if record is None or record.forget_at <= now:
                    record = _Record(0, now, now)
                record.failures += 1
                record.wait_until = max(record.wait_until, now + wait_after(record.failures, key.free))
                record.forget_at = record.wait_until + FORGET_AFTER_SECONDS
                self.records[key.name] = record
            self._bound(now)
        return 0

    def clear(self, keys: list[_Key]) -> None:
        with self.lock:
            for key in keys:
                self.records.pop(key.name, None)

    def _bound(self, now: float) -> None:
        if len(self.records) <= self.size:
            return
        for name in [n for n, r in self.records.items() if r.forget_at <= now]:
            del self.records[name]
        while len(self.records) > self.size:
            self.records.popitem(last=False)


_memory = _MemoryStore()


# ------------------------------------------------------------------ Redis

# KEYS: each rule's failure count and its wait, in turn. ARGV: forget-after, first and longest wait
# (ms), then each rule's free failures. Returns the longest wait already running (ms): the try is
# refused and nothing changes; else 0, with the try counted as a failure. Same rules as
# ``wait_after``; one script, so concurrent tries are counted one after another.
_ATTEMPT_SCRIPT = """
local forget, first, longest_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local running = 0
for i = 1, #KEYS, 2 do
  running = math.max(running, redis.call('PTTL', KEYS[i + 1]))
end
if running > 0 then
  return running
end
for i = 1, #KEYS, 2 do
  local failures = redis.call('INCR', KEYS[i])
  local free = tonumber(ARGV[3 + (i + 1) / 2])
  local left = 0
  if failures > free then
    left = math.floor(math.min(longest_wait, first * 2 ^ math.min(failures - free - 1, 30)))
    redis.call('SET', KEYS[i + 1], failures, 'PX', left)
  end
  redis.call('PEXPIRE', KEYS[i], left + forget)
end
return 0
"""


class _RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                           socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self.attempt_script = self.client.register_script(_ATTEMPT_SCRIPT)
        self.warned_at = -math.inf

    def wait(self, keys: list[_Key]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(f"{key.name}:wait")
        left = self._safely(lambda: max(pipe.execute()), 0)
        return math.ceil(left / 1000) if left > 0 else 0

    def attempt(self, keys: list[_Key]) -> int:
        names = [n for key in keys for n in (f"{key.name}:failures", f"{key.name}:wait")]
        args = [FORGET_AFTER_SECONDS * 1000, FIRST_WAIT_SECONDS * 1000, LONGEST_WAIT_SECONDS * 1000,
                *(key.free for key in keys)]
        left = self._safely(lambda: int(self.attempt_script(keys=names, args=args)), 0)
        return math.ceil(left / 1000) if left > 0 else 0

    def clear(self, keys: list[_Key]) -> None:
        self._safely(lambda: self.client.delete(*(n for key in keys for n in (f"{key.name}:failures", f"{key.name}:wait"))),
                     None)

    def _safely(self, work: Callable[[], T], fallback: T) -> T:
        """Redis's answer, or ``fallback`` (no limit) when it cannot answer: an outage must not lock everyone out."""
        try:
            return work()
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self.warned_at >= WARN_EVERY_SECONDS:
                self.warned_at = now
                log.warning("Sign-in limits are off: Redis did not answer (%s)", exc)
            return fallback


_redis_stores: dict[str, _RedisStore] = {}
_redis_lock = threading.Lock()


def _redis_store(url: str) -> _RedisStore:
    with _redis_lock:
        if url not in _redis_stores:
            _redis_stores[url] = _RedisStore(url)
        return _redis_stores[url]
