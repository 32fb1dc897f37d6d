"""Tracking tasks: the writer that drains queued hits (only when Redis is configured)."""

from __future__ import annotations

from mautic_app import hitqueue
from mautic_app.tasks.celery_app import app


@app.task(name="mautic.tracking.record_queued_hits", ignore_result=True)
def record_queued_hits() -> int:
    """Write queued hits in batches; re-enqueue itself when it stops with hits still waiting.

    A tracking route wakes it when no writer holds the lock; a writer lingers a moment after the
    queue empties, so steady traffic needs no wake-ups. Beat wakes it every few seconds too, so a
    lost wake-up delays hits, never loses them.
    """
    if not hitqueue.enabled():
        return 0
    taken, more = hitqueue.drain()
    if more:
        record_queued_hits.delay()
    return taken
