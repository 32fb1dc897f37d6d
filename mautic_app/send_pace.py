"""The transport's rate limit ("messages per second at most"), shared by everything that sends through it:
every broadcast running at once, template e-mails, tests.

Each sender reserves its batch's slots before sending and waits until they start. A reservation moves the
transport's "next free moment" on by ``count / rate`` seconds, so senders queue behind each other whatever
process they run in. With Redis the moment is one key, moved by an atomic script (every worker shares it);
without Redis (the embedded default runs one worker process) it lives in this process. If Redis cannot be
reached the batch goes at its own pace: an outage must not stop sending.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import cast

import redis

from mautic_app.settings import get_settings

log = logging.getLogger(__name__)

# KEYS[1]: the transport's next free moment; ARGV: now, the batch's seconds. Returns the wait before the batch.
_RESERVE = """
local now = tonumber(ARGV[1])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local after = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil((after - now) * 1000) + 60000)
return tostring(start - now)
"""
_local_next: dict[str, float] = {}
_local_lock = threading.Lock()


@functools.cache
def _client(url: str) -> redis.Redis:
    """One client (and its connection pool) per process, not a connection per batch."""
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def reserve(transport: str, count: int, rate_per_second: float) -> float:
    """Reserve ``count`` messages on ``transport`` at ``rate_per_second``; returns the seconds to wait before
    sending them (0 without a limit)."""
    if rate_per_second <= 0 or count <= 0:
        return 0.0
    seconds, now = count / rate_per_second, time.time()
    url = get_settings().redis_url
    if url:
        try:
            wait = cast(str, _client(url).eval(_RESERVE, 1, f"mautic:send_pace:{transport}", now, seconds))  # a sync client
            return max(0.0, float(wait))
        except redis.RedisError as exc:
            log.warning("the shared send rate is unreachable (%s): this batch keeps its own pace", exc)
            return 0.0
    with _local_lock:
        start = max(now, _local_next.get(transport, 0.0))
        _local_next[transport] = start + seconds
    return start - now
