"""Import tasks: thin wrappers that run one batch per task and queue the next (a chain per import)."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from mautic_app.db import get_engine, session_scope
from mautic_app.services import imports
from mautic_app.tasks.celery_app import app

log = logging.getLogger(__name__)
MAX_RETRIES = 5


@app.task(name="mautic.imports.run_batch", bind=True, max_retries=MAX_RETRIES, ignore_result=True)
def run_import_batch(self, import_id: int, offset: int | None = None) -> None:
    """One batch in one transaction; on an error the batch rolls back and is retried with back-off."""
    try:
        with session_scope() as session:
            result = imports.run_batch(session=session, import_id=import_id, expected_offset=offset)
    except Exception as exc:
        if self.request.retries >= MAX_RETRIES:
            log.exception("import %s failed after %s retries", import_id, MAX_RETRIES)
            with session_scope() as session:
                imports.mark_failed(session=session, import_id=import_id, message=f"The import stopped on an error: {exc}")
            return
        raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc
    if result.more:
        run_import_batch.delay(import_id, result.offset)


@app.task(name="mautic.imports.requeue_stalled", ignore_result=True)
def requeue_stalled() -> int:
    """Beat, every minute: restart imports whose chain of batches died with a worker or a lost message."""
    return _requeue(every_active=False)


def _requeue(*, every_active: bool) -> int:
    with session_scope() as session:
        found = imports.stalled(session=session, every_active=every_active)
        for import_id, offset in found:
            imports.enqueue_after_commit(session, import_id, offset)
    if found:
        log.warning("re-queued %s imports: %s", "running" if every_active else "stalled", [i for i, _ in found])
    return len(found)


@signals.worker_ready.connect
def resume_imports(sender: Any = None, **_kwargs: Any) -> None:
    """A worker that takes imports resumes every running one as it starts, at the offset its last batch
    committed: a worker killed half way through an import (SIGKILL, a crash, the machine) took the chain of
    batches with it, and the stalled-import sweep would wait minutes. Should another worker still be running
    that chain, the duplicate batch finds the offset moved on and does nothing."""
    if app.conf.task_default_queue not in (app.amqp.queues.consume_from or {}):
        return  # the writers' worker (-Q writers) runs no import
    try:
        _requeue(every_active=True)
    except Exception:  # noqa: BLE001  (the beat sweep catches up; the worker must start regardless)
        log.exception("could not resume running imports")
    finally:
        get_engine().dispose()  # the worker's main process keeps no connection its pool processes might inherit
