"""The queue of checked form submissions between the submit route and their writer (Redis only;
without Redis the route hands them to a ``queues.group_writer.GroupWriter``).

The route rate-limits and pushes a submission in one round trip (:func:`push_submission`);
``tasks.forms`` drains the queue (:func:`drain_submissions`) through ``services.form_batches``. See
``queues.redis_queue`` for what makes an acknowledged submission stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

from mautic_app.queues.redis_queue import Connection, drain_queue, item_id, redis_url
from mautic_app.services import form_batches

QUEUE = "mautic:forms:submissions"
LOCK = "mautic:forms:writer"
BATCH = 200
RATE_KEY = "mautic:forms:rate:"
_connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Connection] = weakref.WeakKeyDictionary()  # its pushes'
# Rate limit, push and "is a writer draining?" in one round trip: -1 when over the limit, else
# whether the writer's lock is held (0: wake one).
_PUSH = """
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
    loop = asyncio.get_running_loop()
    connection = _connections.get(loop)
    if connection is None or not connection.usable:
        connection = _connections[loop] = await Connection.open(redis_url())
    payload = json.dumps({**item, "q": item_id()}, separators=(",", ":"), default=str)
    try:
        (answer,) = await connection.send(
            [("EVAL", _PUSH, 3, QUEUE, RATE_KEY + rate_key, LOCK, payload, limit)])
    except Exception:
        connection.close()  # a timed-out or broken connection is not reused (posts sharing it fail with it)
        if _connections.get(loop) is connection:
            del _connections[loop]
        raise
    return None if int(answer) < 0 else int(answer)


def drain_submissions(*, max_seconds: float = 5.0, linger: float = 0.5) -> tuple[int, bool]:
    """Store queued form submissions in turns of at most five seconds, as often as beat starts one."""
    return drain_queue(QUEUE, LOCK, lambda items, batch: form_batches.record_queued(items=items, batch=batch),
                       batch=BATCH, every=0.2, max_seconds=max_seconds, linger=linger)
