"""Tracking tasks: the writer that drains queued hits (only when Redis is configured)."""

from __future__ import annotations

from typing import Any

from celery import signals

from mautic_app.queues import hits, redis_queue
from mautic_app.services import tracking
from mautic_app.tasks.celery_app import WRITERS_QUEUE, app

# Agents that between them make the user-agent parser load its patterns: a desktop browser (systems and
# browsers), and a reduced Android agent that no device pattern matches (so every one is loaded).
SAMPLE_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
)


@signals.worker_init.connect
def load_agent_patterns(sender: Any = None, **_kwargs: Any) -> None:
    """The writers' worker loads the parser's patterns before it forks its processes, which share them.

    Loaded on first use instead, they held the first hit after a start back by one to two seconds.
    """
    if sender is None or WRITERS_QUEUE not in sender.app.amqp.queues.consume_from:
        return
    for agent in SAMPLE_AGENTS:
        tracking.parse_user_agent(agent)


@app.task(name="mautic.tracking.record_queued_hits", ignore_result=True)
def record_queued_hits() -> int:
    """Write queued hits in batches; re-enqueue itself when it stops with hits still waiting.

    A tracking route wakes it when no writer holds the lock; a writer lingers a moment after the
    queue empties, so steady traffic needs no wake-ups. Beat wakes it every few seconds too, so a
    lost wake-up delays hits, never loses them.
    """
    if not redis_queue.enabled():
        return 0
    taken, more = hits.drain()
    if more:
        record_queued_hits.delay()
    return taken
